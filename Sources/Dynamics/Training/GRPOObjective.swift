import Foundation

/// One sampled output of a GRPO group: its tokens (after the prompt), log π_θold and log π_ref of each, and reward.
public struct Rollout: Sendable, Equatable {
    /// The prompt as the network reads it: `[patches] <bos> prompt`.
    public var prompt: ModelInput
    /// The sampled tokens o_1 … o_|o| (the closing `<eos>` included when generated).
    public var tokens: [Int]
    /// log π_θold(o_t | ·) at temperature 1, recorded while sampling.
    public var oldLogProbs: [Double]
    /// log π_ref(o_t | ·).
    public var referenceLogProbs: [Double]
    /// The total reward r_i and its components.
    public var reward: Double
    public var rewards: JigsawRewards

    public init(prompt: ModelInput, tokens: [Int], oldLogProbs: [Double], referenceLogProbs: [Double], reward: Double, rewards: JigsawRewards) {
        self.prompt = prompt
        self.tokens = tokens
        self.oldLogProbs = oldLogProbs
        self.referenceLogProbs = referenceLogProbs
        self.reward = reward
        self.rewards = rewards
    }

    /// Prompt followed by the sampled tokens.
    public var sequence: ModelInput { ModelInput(patches: prompt.patches, tokens: prompt.tokens + tokens) }
}

/// GRPO's formulas (THEORY §7, Eq. 1 and 8).
public enum GRPOObjective {
    /// ε_A in Â_i = (r_i − mean(r)) / (std(r) + ε_A).
    public static let advantageEpsilon = 1e-4

    /// Group-normalised advantages, with the sample standard deviation (n − 1); all zero when the rewards are equal.
    public static func advantages(_ rewards: [Double]) -> [Double] {
        let n = Double(rewards.count)
        guard rewards.count > 1 else { return rewards.map { _ in 0 } }
        let mean = rewards.reduce(0, +) / n
        let std = (rewards.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
        return rewards.map { ($0 - mean) / (std + advantageEpsilon) }
    }

    /// The k3 estimator of KL(π_θ ‖ π_ref) at one token: π_ref/π_θ − log(π_ref/π_θ) − 1.
    public static func k3(logProb: Double, referenceLogProb: Double) -> Double {
        let d = referenceLogProb - logProb
        return exp(d) - d - 1
    }

    /// Per-token terms of one rollout at the current θ.
    public struct TokenTerms: Equatable, Sendable {
        /// The token's contribution to L (before the 1/G and 1/|o| factors are applied: those are inside).
        public let loss: Double
        /// ∂L/∂log π_θ(o_t).
        public let weight: Double
        public let kl: Double
        public let clipped: Bool
    }

    /// L's terms for token t of a rollout of a group of `groupSize`, with advantage `advantage`:
    /// L = −(1/G)(1/|o|) Σ_t [min(ρÂ, clip(ρ, 1−ε, 1+ε)Â) − β·KL].
    public static func tokenTerms(logProb: Double, oldLogProb: Double, referenceLogProb: Double, advantage: Double,
                                  beta: Double, clipEpsilon: Double, groupSize: Int, length: Int) -> TokenTerms {
        let scale = 1 / (Double(groupSize) * Double(length))
        let ratio = exp(logProb - oldLogProb)
        let unclipped = ratio * advantage
        let clippedValue = min(max(ratio, 1 - clipEpsilon), 1 + clipEpsilon) * advantage
        let clipActive = clippedValue < unclipped
        let surrogate = min(unclipped, clippedValue)
        let kl = k3(logProb: logProb, referenceLogProb: referenceLogProb)
        let x = exp(referenceLogProb - logProb)
        // d surrogate / d log π = ρÂ on the unclipped branch, 0 on the clipped one; d KL / d log π = 1 − π_ref/π_θ.
        let dSurrogate = clipActive ? 0 : unclipped
        let weight = -scale * (dSurrogate - beta * (1 - x))
        return TokenTerms(loss: -scale * (surrogate - beta * kl), weight: weight, kl: kl, clipped: clipActive)
    }

    /// L and ∇θ L for `groups` (each a prompt's G rollouts with their advantages), averaged over the groups.
    /// Returns the mean k3 KL per token, the fraction of clipped tokens and the mean entropy (nats) of π_θ(·|o_<t)
    /// per completion token (TRL's `entropy`; every token of every rollout weighs the same) too.
    /// One unit of rollouts' loss, gradient (empty when all its rollouts are empty), KL sum, clipped tokens, tokens and
    /// entropy sum.
    typealias RolloutTerm = (Double, [Double], Double, Int, Int, Double)

    static func encode(_ terms: [RolloutTerm]) -> [Double] {
        var values: [Double] = []
        for t in terms {
            values.append(contentsOf: [t.0, t.2, Double(t.3), Double(t.4), t.5, Double(t.1.count)])
            values.append(contentsOf: t.1)
        }
        return values
    }

    static func decode(_ values: [Double], parameters P: Int) throws -> [RolloutTerm] {
        var out: [RolloutTerm] = []
        var k = 0
        while k + 6 <= values.count {
            let n = Int(values[k + 5])
            guard n == 0 || n == P, k + 6 + n <= values.count else { throw DistributedError.unsupported("a rank sent a malformed GRPO term") }
            out.append((values[k], Array(values[(k + 6)..<(k + 6 + n)]), values[k + 1], Int(values[k + 2]), Int(values[k + 3]), values[k + 4]))
            k += 6 + n
        }
        return out
    }

    public static func lossAndGradient(_ model: Transformer, groups: [[(rollout: Rollout, advantage: Double)]], beta: Double,
                                       clipEpsilon: Double, threads: Int,
                                       group: ProcessGroup = .single) throws -> (loss: Double, gradient: [Double], kl: Double, clipFraction: Double, entropy: Double) {
        let items = groups.flatMap { g in g.map { (rollout: $0.rollout, advantage: $0.advantage, groupSize: g.count) } }
        guard !items.isEmpty else { throw TrainingError.invalid("no rollouts") }
        // Rollouts in fixed units of `rolloutsPerUnit`, each unit's gradients added by backward into one buffer (as
        // SFTObjective's units: the bytes depend on the unit, not on threads or ranks). Under MPI each rank takes a
        // slice of the units and every rank receives every term (see SFTObjective).
        let P = model.layout.count, size = rolloutsPerUnit
        let units = (items.count + size - 1) / size
        let parts: [RolloutTerm] = try group.allMap(units, threads: threads, encode: encode, decode: { try decode($0, parameters: P) }) {
            u -> RolloutTerm in
            var g: [Double] = []
            var loss = 0.0, kl = 0.0, clipped = 0, tokens = 0, entropy = 0.0
            for item in items[(u * size)..<min(items.count, (u + 1) * size)] where !item.rollout.tokens.isEmpty {
                if g.isEmpty { g = [Double](repeating: 0, count: P) }
                let t = try addRolloutGradient(model, item.rollout, advantage: item.advantage, groupSize: item.groupSize,
                                               beta: beta, clipEpsilon: clipEpsilon, into: &g)
                loss += t.loss
                kl += t.kl
                clipped += t.clipped
                tokens += item.rollout.tokens.count
                entropy += t.entropy
            }
            return (loss, g, kl, clipped, tokens, entropy)
        }
        var gradient = [Double](repeating: 0, count: model.layout.count)
        var loss = 0.0, kl = 0.0, clipped = 0, tokens = 0, entropy = 0.0
        let groupsCount = Double(groups.count)
        for (l, g, k, c, n, h) in parts {
            loss += l / groupsCount
            kl += k
            entropy += h
            clipped += c
            tokens += n
            if !g.isEmpty { gradient.withUnsafeMutableBufferPointer { out in g.withUnsafeBufferPointer { BLAS.axpy(P, 1 / groupsCount, $0.baseAddress!, out.baseAddress!) } } }
        }
        return (loss, gradient, tokens > 0 ? kl / Double(tokens) : 0, tokens > 0 ? Double(clipped) / Double(tokens) : 0,
                tokens > 0 ? entropy / Double(tokens) : 0)
    }

    /// Rollouts one worker accumulates into one gradient buffer (fixed: the bytes of every update depend on it).
    public static let rolloutsPerUnit = 4

    /// One non-empty rollout's L terms (loss, KL and entropy sums, clipped tokens), its ∇θ L added into `g`.
    private static func addRolloutGradient(_ model: Transformer, _ r: Rollout, advantage: Double, groupSize: Int, beta: Double,
                                           clipEpsilon: Double, into g: inout [Double]) throws -> (loss: Double, kl: Double, clipped: Int, entropy: Double) {
        let seq = r.sequence
        let acts = try model.forward(seq)
        let V = model.config.vocabSize, start = r.prompt.length
        var cot = [Double](repeating: 0, count: seq.length * V)
        var loss = 0.0, kl = 0.0, clipped = 0, entropy = 0.0
        for (t, token) in r.tokens.enumerated() {
            let lp = acts.logProbabilities(at: start + t - 1)
            entropy += TokenStatistics.entropy(logProbabilities: lp)
            let terms = tokenTerms(logProb: lp[token], oldLogProb: r.oldLogProbs[t], referenceLogProb: r.referenceLogProbs[t],
                                   advantage: advantage, beta: beta, clipEpsilon: clipEpsilon, groupSize: groupSize,
                                   length: r.tokens.count)
            loss += terms.loss
            kl += terms.kl
            clipped += terms.clipped ? 1 : 0
            cot.withUnsafeMutableBufferPointer {
                addLogLikelihoodCotangent($0.baseAddress! + (start + t - 1) * V, logProbs: lp, target: token, weight: .spread(terms.weight))
            }
        }
        try model.backward(acts, cotangents: cot, into: &g)
        return (loss, kl, clipped, entropy)
    }
}
