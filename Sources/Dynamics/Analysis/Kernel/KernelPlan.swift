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
///   at hand (`KernelPlan`); the default. When D < V it also goes through the head's column space (`HeadBasis`): D
///   cotangents on the final LayerNorm's output instead of V on the logits, and D × D products instead of V × V
///   (about 0.7× the backward work and 0.5× the products at V = 92, D = 64).
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
        /// Rows of the tensor's features: V, or D through the head basis.
        public let featureRows: Int
    }

    public let strategy: KernelStrategy
    public let workload: KernelWorkload
    /// One decision per tensor, in θ order.
    public let decisions: [Decision]
    /// The head's column space when the features' rows go through it (`automatic`, D < V); nil: the features' rows
    /// are the V logits.
    public let headBasis: HeadBasis?

    /// θ offsets of the dense weights to keep as factors.
    public var factoredOffsets: Set<Int> { Set(decisions.filter { $0.method == .factor }.map(\.tensor.offset)) }

    /// Estimated FLOPs of the whole workload under this plan (the `explicit` strategy: its single product per pair
    /// has the same count as materialising every tensor; the head basis adds K = Q S Qᵀ per pair).
    public var estimatedFlops: Double {
        expansionFlops + decisions.reduce(0) { $0 + ($1.method == .factor ? $1.structuredFlops ?? 0 : $1.materialiseFlops) }
    }

    /// Estimated FLOPs of the pairs' products alone, the features given (blocks: 2·rows²·size per materialised
    /// tensor and pair).
    public var productFlops: Double {
        let p = Double(workload.pairs), blocks = workload.output == .blocks
        return expansionFlops + decisions.reduce(0) { sum, d in
            let r = Double(d.featureRows), size = Double(d.tensor.count)
            return sum + (d.method == .factor ? d.structuredFlops! : p * (blocks ? 2 * r * r * size : 2 * r * size))
        }
    }

    /// K = Q S Qᵀ per pair through the head basis.
    var expansionFlops: Double {
        headBasis.map { b in Double(workload.pairs) * 2 * Double(b.q.rows * b.rank) * Double(b.rank + b.q.rows) } ?? 0
    }

    public init(strategy: KernelStrategy, model: Transformer, workload: KernelWorkload) {
        self.strategy = strategy
        self.workload = workload
        let shapes = DenseWeight.all(model, prefixLength: workload.meanPrefixLength, imagePositions: workload.meanImagePositions)
        let N = Double(workload.examples), P = Double(workload.pairs)
        let blocks = workload.output == .blocks
        let basis = strategy == .automatic ? HeadBasis(model) : nil
        headBasis = basis
        let head = model.layout.head
        decisions = model.layout.tensors.map { t in
            // Rows of the tensor's Jacobian features: D through the head basis (but for the head itself), else V.
            let rows = basis == nil || t.offset == head ? model.config.vocabSize : basis!.rank
            let V = Double(rows)
            let width = Double(t.count)
            guard let w = shapes[t.offset] else {
                return Decision(tensor: t, method: .materialise, materialiseFlops: P * (blocks ? 2 * V * V * width : 2 * V * width),
                                structuredFlops: nil, featureRows: rows)
            }
            let (n, din, dout) = (w.rows, Double(w.inputs), Double(w.outputs))
            let form = N * 2 * V * n * din * dout
            let materialise = form + P * (blocks ? 2 * V * V * din * dout : 2 * V * din * dout)
            let gram = 2 * n * n * din, mixed = 2 * n * n * V * dout
            let structured = P * (gram + mixed + (blocks ? 2 * n * V * V * dout : n * n))
            let method: Method = switch strategy {
            case .explicit, .materialised: .materialise
            case .structured: .factor
            // Through the head basis the head is always structured: its rows are e_o ⊗ y.
            case .automatic: structured < materialise || (basis != nil && t.offset == head) ? .factor : .materialise
            }
            return Decision(tensor: t, method: method, materialiseFlops: materialise, structuredFlops: structured, featureRows: rows)
        }
    }

    /// One line per dense weight: the method and why (for the CLI's report and meta.json), after a line on the head
    /// basis when it is used.
    public var report: [String] {
        let basis = headBasis.map {
            ["rows through the head basis: \($0.rank) cotangents on the final LayerNorm's output, not \($0.q.rows) on the logits"]
        } ?? []
        return basis + decisions.compactMap { d in
            guard let s = d.structuredFlops else { return nil }
            return String(format: "%@: %@ (materialise %.3g FLOP, structured %.3g FLOP)", d.tensor.name, d.method.rawValue,
                          d.materialiseFlops, s)
        }
    }
}

/// The head's column space. The logits are z = W_head y (W_head: V × D, no bias), so below the head every logit
/// Jacobian is J = W_head J_y, with J_y the Jacobian of the final LayerNorm's output y. With the thin QR
/// W_head = Q R, J = Q F for F = R J_y: F's row i is the backward pass of the cotangent R[i, :] on y, D passes in place
/// of V. Then K_g = J_g(x_v) J_g(x_u)ᵀ = Q F_v,g F_u,gᵀ Qᵀ and tr K_g = tr F_v,g F_u,gᵀ (QᵀQ = I). The head's own rows
/// are J_head[o] = e_o ⊗ y, so K_head = (y_v·y_u) I_V, kept as structured factors.
public struct HeadBasis: Sendable {
    /// Q, V × D, orthonormal columns.
    public let q: Matrix
    /// R, D × D upper triangular: row i is the cotangent on y of the features' row i.
    public let r: Matrix
    /// D: rows of the features below the head.
    public var rank: Int { r.rows }

    /// The basis of `model`'s head, when it has fewer columns than rows (D < V) and the factorisation succeeds; QR on
    /// one thread, so the bytes do not depend on the thread count.
    init?(_ model: Transformer) {
        let (V, D) = (model.config.vocabSize, model.config.dModel)
        guard D < V else { return nil }
        let w = Array(model.parameters[model.layout.head..<(model.layout.head + V * D)])
        guard let qr = Parallel.singleThreaded({ try? ThinQR(Matrix(rows: V, cols: D, storage: w)) }) else { return nil }
        (q, r) = (qr.q, qr.r)
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
