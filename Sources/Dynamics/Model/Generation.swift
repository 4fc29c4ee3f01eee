import Foundation

/// How to continue a prompt.
public struct GenerationOptions: Equatable, Sendable {
    /// At most this many new tokens (fewer if the stop token comes or max_seq_len is reached).
    public var maxNewTokens: Int
    /// Softmax temperature τ; 0 means greedy (argmax, first index on ties).
    public var temperature: Double
    /// Sample only among the k most likely tokens; 0 means all.
    public var topK: Int
    /// Generation ends after this token is emitted (it is included in the output).
    public var stopToken: Int

    public init(maxNewTokens: Int, temperature: Double = 0, topK: Int = 0, stopToken: Int = Tokenizer.eos) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.stopToken = stopToken
    }
}

/// A continuation: the new tokens and log π of each under the model at temperature 1 (what GRPO's π_old needs).
public struct Generation: Equatable, Sendable {
    public var tokens: [Int]
    public var logProbs: [Double]
    /// True when the stop token ended the continuation.
    public var stopped: Bool
}

/// Per-layer keys and values of the positions seen so far, so each new token costs one row of work.
final class KVCache {
    let keys: [Ptr], values: [Ptr]  // per layer (T_max, D)
    private let arena: Arena

    init(config c: ModelConfig) {
        arena = Arena(capacity: 2 * c.nLayers * c.maxSeqLen * c.dModel)
        let a = arena
        keys = (0..<c.nLayers).map { _ in a.take(c.maxSeqLen * c.dModel) }
        values = (0..<c.nLayers).map { _ in a.take(c.maxSeqLen * c.dModel) }
    }
}

extension Transformer {
    /// Continues `prompt` token by token with a KV cache: one full forward pass over the prompt, then one
    /// row of work per new token. Sampling draws from `rng`; greedy decoding (temperature 0) needs none.
    public func generate(_ prompt: ModelInput, options: GenerationOptions, rng: RandomStream? = nil) throws -> Generation {
        guard options.temperature >= 0, options.temperature.isFinite, options.topK >= 0, options.maxNewTokens >= 0 else {
            throw GenerationError.invalidOptions("temperature must be finite and ≥ 0, top-k and max new tokens ≥ 0")
        }
        guard options.temperature == 0 || rng != nil else {
            throw GenerationError.invalidOptions("sampling at temperature \(options.temperature) needs a random stream")
        }
        let acts = try forward(prompt)
        let c = config, D = c.dModel, T = prompt.length
        let cache = KVCache(config: c)
        for l in 0..<c.nLayers {
            let qkv = acts.blocks[l].qkv
            for t in 0..<T {
                (cache.keys[l] + t * D).update(from: qkv + t * 3 * D + D, count: D)
                (cache.values[l] + t * D).update(from: qkv + t * 3 * D + 2 * D, count: D)
            }
        }
        var logits = acts.logits(at: T - 1)
        var out = Generation(tokens: [], logProbs: [], stopped: false)
        var position = T
        while out.tokens.count < options.maxNewTokens {
            let token = Sampler.choose(logits, options: options, rng: rng)
            out.tokens.append(token)
            out.logProbs.append(Sampler.logSoftmax(logits)[token])
            if token == options.stopToken { out.stopped = true; break }
            if position >= c.maxSeqLen || out.tokens.count == options.maxNewTokens { break }
            logits = step(token: token, position: position, cache: cache)
            position += 1
        }
        return out
    }

    /// The logits after appending `token` at `position`, using and extending `cache` (which holds 0 ..< position):
    /// the forward pass's own embedding, blocks and head over one row, the block's attention replaced by the new
    /// row's attention against the cached keys and values.
    func step(token: Int, position i: Int, cache: KVCache) -> [Double] {
        let c = config, D = c.dModel, F = c.dFF, H = c.nHeads, dh = c.headDim
        let arena = Arena(capacity: 7 * D + 3 * D + 3 * F + (i + 1) + 2 + c.vocabSize)
        let x = arena.take(D), next = arena.take(D), y = arena.take(D), attn = arena.take(D), mid = arena.take(D), qkv = arena.take(3 * D)
        let hidden = arena.take(F), act = arena.take(F), slope = arena.take(F), scores = arena.take(i + 1), stats = arena.take(2)
        let logits = arena.take(c.vocabSize)
        // One row's intermediates, reused by every layer (LN1 and LN2 share theirs).
        let row = Activations.Block(ln1: y, ln1Mean: stats, ln1Rstd: stats + 1, qkv: qkv, probs: scores, attention: attn, residualMid: mid,
                                    ln2: y, ln2Mean: stats, ln2Rstd: stats + 1, fcPre: hidden, fcAct: act, fcSlope: slope)
        let scale = 1 / Double(dh).squareRoot()
        return parameters.withUnsafeBufferPointer { tp in
            let theta = tp.baseAddress!
            embeddingForward(x, ModelInput(patches: nil, tokens: [token]), firstPosition: i, theta: theta)
            for l in 0..<c.nLayers {
                blockForward(next, x, row, theta: theta, layer: l, rows: 1) { qkv, attn in
                    (cache.keys[l] + i * D).update(from: qkv + D, count: D)
                    (cache.values[l] + i * D).update(from: qkv + 2 * D, count: D)
                    for h in 0..<H {
                        // scores_j = q·k_j / √dh over j ≤ i, softmax, then Σ_j p_j v_j.
                        BLAS.gemv(rows: i + 1, cols: dh, alpha: scale, a: cache.keys[l] + h * dh, lda: D, x: qkv + h * dh, y: scores)
                        var mx = -Double.infinity
                        for j in 0...i { mx = max(mx, scores[j]) }
                        var sum = 0.0
                        for j in 0...i { scores[j] = exp(scores[j] - mx); sum += scores[j] }
                        BLAS.gemv(trans: true, rows: i + 1, cols: dh, alpha: 1 / sum, a: cache.values[l] + h * dh, lda: D,
                                  x: scores, y: attn + h * dh)
                    }
                }
                x.update(from: next, count: D)
            }
            headForward(logits, x, ln: y, mean: stats, rstd: stats + 1, theta: theta, rows: 1)
            return Array(UnsafeBufferPointer(start: logits, count: c.vocabSize))
        }
    }
}

/// Token choice from a logit row: greedy, or temperature and top-k sampling.
enum Sampler {
    static func logSoftmax(_ z: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: z.count)
        out.withUnsafeMutableBufferPointer { o in z.withUnsafeBufferPointer { logSoftmaxRow(o.baseAddress!, $0.baseAddress!, count: z.count) } }
        return out
    }

    static func choose(_ logits: [Double], options: GenerationOptions, rng: RandomStream?) -> Int {
        guard options.temperature > 0, let rng else {
            var best = 0
            for i in logits.indices where logits[i] > logits[best] { best = i }
            return best
        }
        var scaled = logits.map { $0 / options.temperature }
        if options.topK > 0 && options.topK < logits.count {
            // Keep the k largest (ties broken by lower index), mask the rest.
            let kept = Set(logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(options.topK))
            for i in scaled.indices where !kept.contains(i) { scaled[i] = -.infinity }
        }
        let mx = scaled.max() ?? 0
        return rng.categorical(scaled.map { exp($0 - mx) })
    }
}

/// Generation requests that cannot be served.
public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case invalidOptions(String)

    public var description: String {
        switch self {
        case let .invalidOptions(reason): "invalid generation options: \(reason)"
        }
    }
}
