/// The scales of a fresh network's weights (the GPT-2 scheme by default).
///
/// Only the start of pretraining depends on it; it is not part of a checkpoint (MODEL.md's architecture and loading
/// are the same whatever the scales were).
public struct Initialization: Sendable, Equatable {
    /// Standard deviation of every weight matrix and embedding not named below (GPT-2: 0.02).
    public var std: Double = 0.02
    /// Standard deviation of the attention's query/key/value weights (`blocks.*.attn.qkv.weight`). GPT-2 uses `std`;
    /// larger values make the initial attention non-uniform (with D = 64 and 0.02 the initial scores are ~10⁻² and every
    /// head averages the whole prefix). Notebook 03 §2za: 0.08 on the demo's pretraining brought grounding and VQA in
    /// earlier and changed which seeds pass deliverable 1 (two of four), not how many.
    public var attentionStd: Double = 0.02

    public init(std: Double = 0.02, attentionStd: Double = 0.02) {
        self.std = std
        self.attentionStd = attentionStd
    }

    /// GPT-2's: every weight N(0, 0.02²), the residual output projections N(0, (0.02/√(2L))²).
    public static let gpt2 = Initialization()

    /// How tensor `name` of a network of `layers` blocks starts.
    enum Start: Equatable {
        /// Every value this constant (biases 0, LayerNorm gains 1).
        case constant(Double)
        /// Every value drawn from N(0, std²).
        case gaussian(std: Double)
    }

    /// How tensor `name` starts in a network of `layers` blocks.
    func start(of name: String, layers: Int) -> Start {
        if name.hasSuffix(".bias") { return .constant(0) }
        let leaf = name.split(separator: ".").suffix(2).joined(separator: ".")
        if leaf.hasPrefix("ln") || name.hasPrefix("ln_f") { return .constant(1) }
        if name.hasSuffix("attn.proj.weight") || name.hasSuffix("mlp.proj.weight") { return .gaussian(std: std / (2.0 * Double(layers)).squareRoot()) }
        if name.hasSuffix("attn.qkv.weight") { return .gaussian(std: attentionStd) }
        return .gaussian(std: std)
    }
}
