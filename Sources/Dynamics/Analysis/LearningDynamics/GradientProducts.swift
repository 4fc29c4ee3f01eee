/// Inner products of per-example gradients, the scalars of THEORY §3: A(x_v) K(x_v, x_u) G(x_u) =
/// ⟨∇θ log π(x_v), ∇θ log π(x_u)⟩, so no V × V block and no V × d Jacobian is ever formed.
public enum GradientProducts {
    /// Rows of the left factor per product block: the blocks (not the thread count) fix every sum's order.
    static let rowBlock = 8

    /// P·Qᵀ (N_p × N_q) for gradients P (N_p × d) and Q (N_q × d), over the columns `columns` (all by default).
    /// Fixed blocks of rows are spread over `threads` workers, each with single-threaded BLAS, so the result
    /// does not depend on `threads`.
    public static func inner(_ p: Matrix, _ q: Matrix, columns: Range<Int>? = nil, threads: Int) throws -> Matrix {
        guard p.cols == q.cols else { throw ShapeError.mismatch(what: "gradient width", expected: [p.cols], found: [q.cols]) }
        let range = columns ?? 0..<p.cols
        guard range.lowerBound >= 0, range.upperBound <= p.cols else {
            throw ShapeError.mismatch(what: "gradient column range", expected: [p.cols], found: [range.upperBound])
        }
        let blocks = stride(from: 0, to: p.rows, by: rowBlock).map { $0..<min($0 + rowBlock, p.rows) }
        let parts = Parallel.map(blocks.count, threads: threads) { k -> [Double] in
            let rows = blocks[k]
            var c = [Double](repeating: 0, count: rows.count * q.rows)
            p.storage.withUnsafeBufferPointer { a in q.storage.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { cp in
                BLAS.gemm(transB: true, m: rows.count, n: q.rows, k: range.count, a: a.baseAddress! + rows.lowerBound * p.cols + range.lowerBound,
                          lda: p.cols, b: b.baseAddress! + range.lowerBound, ldb: q.cols, c: cp.baseAddress!, ldc: q.rows)
            } } }
            return c
        }
        return try Matrix(rows: p.rows, cols: q.rows, storage: parts.flatMap { $0 })
    }

    /// Each parameter tensor's slice of P·Qᵀ, in layout order; the slices add up to `inner(p, q)`.
    public static func perTensor(_ p: Matrix, _ q: Matrix, layout: ParameterLayout, threads: Int) throws -> [(tensor: ParameterTensor, products: Matrix)] {
        try layout.tensors.map { ($0, try inner(p, q, columns: $0.range, threads: threads)) }
    }

    /// One parameter tensor's part of a single inner product ⟨a, b⟩.
    public struct TensorShare: Equatable, Sendable, Codable {
        public let tensor: String
        /// ⟨a_g, b_g⟩ over the tensor's slice of θ.
        public let product: Double
        /// product / ⟨a, b⟩; the shares of all tensors sum to 1 (NaN when ⟨a, b⟩ = 0).
        public let share: Double
    }

    /// ⟨a_g, b_g⟩ and its share of ⟨a, b⟩ for every tensor g of `layout` (THEORY §3: the share of the predicted Δ
    /// each tensor's J_g carries).
    public static func shares(_ a: [Double], _ b: [Double], layout: ParameterLayout) throws -> [TensorShare] {
        guard a.count == layout.count, b.count == layout.count else {
            throw ShapeError.mismatch(what: "gradient", expected: [layout.count], found: [a.count, b.count])
        }
        let parts = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            layout.tensors.map { BLAS.dot($0.count, x.baseAddress! + $0.offset, y.baseAddress! + $0.offset) }
        } }
        let total = parts.reduce(0, +)
        return zip(layout.tensors, parts).map { TensorShare(tensor: $0.name, product: $1, share: $1 / total) }
    }
}

/// Values and gradient inner products of two request sets, the scalar-only mode: the `train` gradients are held
/// (N_t × d), the `probes` go through in fixed chunks, and only the N_p × N_t products are kept (with
/// `perTensor`, also each parameter tensor's N_p × N_t slice).
public struct GradientInnerProducts: Sendable {
    /// f_i(θ) of each probe request and of each train request (nats).
    public let probeValues: [Double]
    public let trainValues: [Double]
    /// ⟨∇f_probe_i, ∇f_train_j⟩, N_p × N_t.
    public let total: Matrix
    /// Per parameter tensor (layout order), when asked for: ⟨∇f_probe_i[g], ∇f_train_j[g]⟩; they add up to `total`.
    public let perTensor: [(tensor: ParameterTensor, products: Matrix)]

    /// Probe requests per chunk (fixed, so results do not depend on `threads`).
    public static let probeChunk = 64

    /// Computes the products; `progress(done, total)` is called after each probe chunk.
    public init(_ model: Transformer, probes: [GradientRequest], train: [GradientRequest], perTensor: Bool = false, threads: Int,
                progress: (Int, Int) -> Void = { _, _ in }) throws {
        let t = try PerExampleGradients.gradients(model, train, threads: threads)
        let tensors = perTensor ? model.layout.tensors : []
        var values: [Double] = [], rows: [Double] = [], tensorRows = tensors.map { _ in [Double]() }
        for start in stride(from: 0, to: probes.count, by: Self.probeChunk) {
            let chunk = Array(probes[start..<min(start + Self.probeChunk, probes.count)])
            let p = try PerExampleGradients.gradients(model, chunk, threads: threads)
            values += p.values
            rows += try GradientProducts.inner(p.gradients, t.gradients, threads: threads).storage
            for (k, tensor) in tensors.enumerated() {
                tensorRows[k] += try GradientProducts.inner(p.gradients, t.gradients, columns: tensor.range, threads: threads).storage
            }
            progress(start + chunk.count, probes.count)
        }
        probeValues = values
        trainValues = t.values
        total = try Matrix(rows: probes.count, cols: train.count, storage: rows)
        self.perTensor = try zip(tensors, tensorRows).map { ($0, try Matrix(rows: probes.count, cols: train.count, storage: $1)) }
    }
}
