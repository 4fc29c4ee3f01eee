import Foundation

/// The multimodal causal transformer of MODEL.md: a configuration and the flat parameter vector θ.
public struct Transformer: Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    /// θ in MODEL.md's flat order (`layout` names the pieces).
    public var parameters: [Double]

    /// A network over existing parameters; throws when the count disagrees with the configuration.
    public init(config: ModelConfig, parameters: [Double]) throws {
        try config.validate()
        let layout = ParameterLayout(config)
        guard parameters.count == layout.count else {
            throw ShapeError.mismatch(what: "parameter vector", expected: [layout.count], found: [parameters.count])
        }
        self.config = config
        self.layout = layout
        self.parameters = parameters
    }

    /// A freshly initialised network: weights drawn by `initialization` (GPT-2's scheme by default: N(0, 0.02²),
    /// residual output projections N(0, (0.02/√(2L))²)), biases 0, LayerNorm gains 1. Draws come from the stream
    /// ("init", seed), one per weight in θ order whatever the scales, so scales that differ by a power of two give
    /// weights that differ by exactly that factor.
    public init(config: ModelConfig, seed: UInt64, initialization: Initialization = .gpt2) throws {
        try config.validate()
        let layout = ParameterLayout(config)
        let rng = RandomStream(seed: seed, name: "init")
        var theta = [Double](repeating: 0, count: layout.count)
        for t in layout.tensors {
            switch initialization.start(of: t.name, layers: config.nLayers) {
            case let .constant(value): for i in t.range { theta[i] = value }
            case let .gaussian(std): for i in t.range { theta[i] = rng.gaussian(sigma: std) }
            }
        }
        try self.init(config: config, parameters: theta)
    }

    /// Checks that an input fits the network: token ids in range, patch shape, length ≤ T.
    public func validate(_ input: ModelInput) throws {
        if let p = input.patches {
            guard p.rows == config.patchCount, p.cols == config.patchDim else {
                throw ShapeError.mismatch(what: "image patches", expected: [config.patchCount, config.patchDim], found: [p.rows, p.cols])
            }
        }
        guard input.length <= config.maxSeqLen else {
            throw ModelError.sequenceTooLong(length: input.length, max: config.maxSeqLen)
        }
        guard input.length > 0 else { throw ModelError.emptyInput }
        if let bad = input.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabSize: config.vocabSize)
        }
    }

    /// Runs the network over `input` (all positions) and keeps what backward needs.
    public func forward(_ input: ModelInput) throws -> Activations {
        try validate(input)
        let acts = Activations(config: config, input: input)
        parameters.withUnsafeBufferPointer { theta in
            forward(theta: theta.baseAddress!, into: acts)
        }
        return acts
    }

    private func forward(theta: ConstPtr, into a: Activations) {
        let c = config, T = a.length, D = c.dModel
        embeddingForward(a.residual[0], a.input, firstPosition: 0, theta: theta)
        for l in 0..<c.nLayers {
            let b = a.blocks[l]
            blockForward(a.residual[l + 1], a.residual[l], b, theta: theta, layer: l, rows: T) { qkv, out in
                attentionForward(out, b.probs, qkv, rows: T, dim: D, heads: c.nHeads)
            }
        }
        headForward(a.logitsBuffer, a.residual[c.nLayers], ln: a.lnF, mean: a.lnFMean, rstd: a.lnFRstd, theta: theta, rows: T)
    }

    /// Block l of MODEL.md over `rows` positions: next = h + MLP(LN2 h) with h = x + proj(attention(LN1 x)), the
    /// intermediates kept in `b`. `attend(qkv, out)` is the attention over those rows: causal attention over the
    /// whole sequence in `forward`, one new row against the KV cache in `generate`. The one block forward of both
    /// (nanoGPT's `Block.forward`).
    func blockForward(_ next: Ptr, _ x: ConstPtr, _ b: Activations.Block, theta: ConstPtr, layer l: Int, rows T: Int,
                      attend: (ConstPtr, Ptr) -> Void) {
        let D = config.dModel, F = config.dFF, o = layout.blocks[l]
        layerNormForward(b.ln1, b.ln1Mean, b.ln1Rstd, x, theta + o.ln1Weight, theta + o.ln1Bias, rows: T, dim: D)
        linearForward(b.qkv, b.ln1, theta + o.qkvWeight, theta + o.qkvBias, rows: T, din: D, dout: 3 * D)
        attend(b.qkv, b.attention)
        b.residualMid.update(from: x, count: T * D)
        linearForward(b.residualMid, b.attention, theta + o.projWeight, theta + o.projBias, rows: T, din: D, dout: D, beta: 1)
        layerNormForward(b.ln2, b.ln2Mean, b.ln2Rstd, b.residualMid, theta + o.ln2Weight, theta + o.ln2Bias, rows: T, dim: D)
        linearForward(b.fcPre, b.ln2, theta + o.fcWeight, theta + o.fcBias, rows: T, din: D, dout: F)
        geluForward(b.fcAct, slope: b.fcSlope, b.fcPre, count: T * F)
        next.update(from: b.residualMid, count: T * D)
        linearForward(next, b.fcAct, theta + o.mlpProjWeight, theta + o.mlpProjBias, rows: T, din: F, dout: D, beta: 1)
    }

    /// logits (T, V) = LN_f(x) · W_headᵀ, LN_f's output and statistics kept in `ln`, `mean`, `rstd`.
    func headForward(_ logits: Ptr, _ x: ConstPtr, ln: Ptr, mean: Ptr, rstd: Ptr, theta: ConstPtr, rows T: Int) {
        let D = config.dModel
        layerNormForward(ln, mean, rstd, x, theta + layout.lnFWeight, theta + layout.lnFBias, rows: T, dim: D)
        linearForward(logits, ln, theta + layout.head, nil, rows: T, din: D, dout: config.vocabSize)
    }
}

/// Failures of the network on a given input.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case sequenceTooLong(length: Int, max: Int)
    case emptyInput
    case tokenOutOfRange(token: Int, vocabSize: Int)
    case positionOutOfRange(position: Int, validRange: ClosedRange<Int>)
    case cotangentShape(expected: [Int], found: Int)

    public var description: String {
        switch self {
        case let .sequenceTooLong(length, max): "sequence of \(length) positions exceeds max_seq_len \(max)"
        case .emptyInput: "the input sequence is empty"
        case let .tokenOutOfRange(token, vocabSize): "token id \(token) is outside the vocabulary (size \(vocabSize))"
        case let .positionOutOfRange(position, range): "position \(position) is outside \(range.lowerBound)…\(range.upperBound)"
        case let .cotangentShape(expected, found): "cotangent has \(found) values, expected shape \(expected)"
        }
    }
}
