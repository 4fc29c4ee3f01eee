/// How the eNTK engine computes K(x_v, x_u) = J(x_v) J(x_u)ᵀ (ARCHITECTURE, "eNTK strategies"), after
/// neural-tangents' `NtkImplementation`. Every strategy computes the same kernel; they differ in what they form
/// and in cost. With V logits, d parameters, a dense weight of din inputs and dout outputs, n₁ and n₂ positions
/// carrying gradient in the two examples, N examples and P pairs (FLOPs, a multiply-add counted as 2):
///
/// - `explicit` — the reference (neural-tangents' `JACOBIAN_CONTRACTION`): each example's whole V × d logit
///   Jacobian from the backward pass of all V one-hot cotangents (in fixed chunks) in θ's layout (no plan, no factor tap), and
///   K = J_v J_uᵀ as one product over all d columns (`EmpiricalNTK`): 2·V²·d per pair, V·d memory per example.
///   Wins when d is small, when the Jacobians themselves are wanted, and as the check of the others; every
///   other strategy is tested against it.
/// - `materialised` — the engine's own path with no weight factored: the plan's packed Jacobian columns per
///   tensor (J_ℓ = Σ_t g_t ⊗ h_t formed once per example, 2·V·n·din·dout), one product per pair over the packed
///   columns (2·V²·din·dout per tensor; a trace needs 2·V·din·dout). Same FLOPs as explicit and, by construction,
///   the same numbers to the bit (tested); it is `automatic`'s choice wherever factoring does not pay, and checks
///   the engine's packing against the reference.
/// - `structured` — neural-tangents' `STRUCTURED_DERIVATIVES`: dense weights kept as their factors (g, h); per pair
///   H = h₁h₂ᵀ (2·n₁n₂·din), H·g₂ (2·n₁n₂·V·dout) and K_ℓ = Σ_t g₁[t]·(H g₂)[t]ᵀ (2·min(n₁,n₂)·V²·dout); a trace
///   needs H and M = g₁g₂ᵀ (2·n₁n₂·V·dout). Wins when the prefixes are short against din·dout / V — the head and
///   the top block's MLP, where n = 1 — and for traces; never forms a V × din·dout block. Embeddings, LayerNorms
///   and biases are always materialised (they are small).
/// - `automatic` — per dense weight, whichever of materialised and structured costs fewer FLOPs for the workload
///   at hand (`KernelPlan`); the default.
public enum KernelStrategy: String, CaseIterable, Sendable {
    case explicit, materialised, structured, automatic
}

/// What a kernel computation will do: the number of examples and pairs, and whether it needs whole V × V
/// blocks or only their traces. The plan's FLOP estimates depend on it.
public struct KernelWorkload: Equatable, Sendable {
    public enum Output: String, Sendable { case blocks, traces }
    /// N: token examples whose Jacobians are needed.
    public var examples: Int
    /// P: (v, u) pairs.
    public var pairs: Int
    public var output: Output
    /// Mean length of the examples' causal prefixes (positions before the predicted token).
    public var meanPrefixLength: Double
    /// Mean number of image positions in those prefixes.
    public var meanImagePositions: Double

    public init(examples: Int, pairs: Int, output: Output, meanPrefixLength: Double, meanImagePositions: Double) {
        self.examples = examples
        self.pairs = pairs
        self.output = output
        self.meanPrefixLength = meanPrefixLength
        self.meanImagePositions = meanImagePositions
    }

    /// The workload of `pairs` pairs over token examples with these causal prefixes (length = the predicted
    /// token's position, and the image positions in front of it).
    public init(prefixes: [(length: Int, imagePositions: Int)], pairs: Int, output: Output) {
        let n = Double(max(1, prefixes.count))
        self.init(examples: prefixes.count, pairs: pairs, output: output,
                  meanPrefixLength: prefixes.reduce(0) { $0 + Double($1.length) } / n,
                  meanImagePositions: prefixes.reduce(0) { $0 + Double($1.imagePositions) } / n)
    }
}

/// The per-tensor decisions of a strategy for one workload, with the FLOP estimates behind them.
public struct KernelPlan: Sendable {
    /// How one parameter tensor's share of K is computed.
    public enum Method: String, Sendable { case materialise, factor }

    /// One tensor's decision.
    public struct Decision: Sendable {
        public let tensor: ParameterTensor
        public let method: Method
        /// Estimated FLOPs of the whole workload for this tensor with each method (nil: not a dense weight).
        public let materialiseFlops: Double
        public let structuredFlops: Double?
    }

    public let strategy: KernelStrategy
    public let workload: KernelWorkload
    /// One decision per tensor, in θ order.
    public let decisions: [Decision]

    /// θ offsets of the dense weights to keep as factors.
    public var factoredOffsets: Set<Int> { Set(decisions.filter { $0.method == .factor }.map(\.tensor.offset)) }

    /// Estimated FLOPs of the whole workload under this plan (the `explicit` strategy: its single product per pair
    /// has the same count as materialising every tensor).
    public var estimatedFlops: Double { decisions.reduce(0) { $0 + ($1.method == .factor ? $1.structuredFlops ?? 0 : $1.materialiseFlops) } }

    public init(strategy: KernelStrategy, model: Transformer, workload: KernelWorkload) {
        self.strategy = strategy
        self.workload = workload
        let shapes = DenseWeight.all(model, prefixLength: workload.meanPrefixLength, imagePositions: workload.meanImagePositions)
        let V = Double(model.config.vocabSize), N = Double(workload.examples), P = Double(workload.pairs)
        let blocks = workload.output == .blocks
        decisions = model.layout.tensors.map { t in
            let width = Double(t.count)
            guard let w = shapes[t.offset] else {
                return Decision(tensor: t, method: .materialise, materialiseFlops: P * (blocks ? 2 * V * V * width : 2 * V * width),
                                structuredFlops: nil)
            }
            let (n, din, dout) = (w.rows, Double(w.inputs), Double(w.outputs))
            let form = N * 2 * V * n * din * dout
            let materialise = form + P * (blocks ? 2 * V * V * din * dout : 2 * V * din * dout)
            let gram = 2 * n * n * din, mixed = 2 * n * n * V * dout
            let structured = P * (gram + mixed + (blocks ? 2 * n * V * V * dout : n * n))
            let method: Method = switch strategy {
            case .explicit, .materialised: .materialise
            case .structured: .factor
            case .automatic: structured < materialise ? .factor : .materialise
            }
            return Decision(tensor: t, method: method, materialiseFlops: materialise, structuredFlops: structured)
        }
    }

    /// One line per dense weight: the method and why (for the CLI's report and meta.json).
    public var report: [String] {
        decisions.compactMap { d in
            guard let s = d.structuredFlops else { return nil }
            return String(format: "%@: %@ (materialise %.3g FLOP, structured %.3g FLOP)", d.tensor.name, d.method.rawValue,
                          d.materialiseFlops, s)
        }
    }
}

/// A dense weight y_t = W h_t (+ b) of the network and the number of positions that carry gradient into it
/// when the cotangents sit on the last position only (a logit Jacobian).
struct DenseWeight {
    let rows: Double
    let inputs: Int
    let outputs: Int

    /// The dense weights by θ offset, for a prefix of `prefixLength` positions with `imagePositions` patches.
    /// The head and the top block's output projection and MLP see the last position only; everything below the
    /// top attention sees every position; the patch embedding sees the patches.
    static func all(_ model: Transformer, prefixLength T: Double, imagePositions n: Double) -> [Int: DenseWeight] {
        let c = model.config, l = model.layout, D = c.dModel, F = c.dFF
        var out: [Int: DenseWeight] = [
            l.head: DenseWeight(rows: 1, inputs: D, outputs: c.vocabSize),
            l.patchWeight: DenseWeight(rows: n, inputs: c.patchDim, outputs: D),
        ]
        for (index, b) in l.blocks.enumerated() {
            let rows = index == c.nLayers - 1 ? 1 : T
            out[b.qkvWeight] = DenseWeight(rows: T, inputs: D, outputs: 3 * D)
            out[b.projWeight] = DenseWeight(rows: rows, inputs: D, outputs: D)
            out[b.fcWeight] = DenseWeight(rows: rows, inputs: D, outputs: F)
            out[b.mlpProjWeight] = DenseWeight(rows: rows, inputs: F, outputs: D)
        }
        return out
    }
}
