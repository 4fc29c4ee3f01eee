/// The two factors of a dense weight's Jacobian rows, kept instead of their outer product.
///
/// For y_t = W h_t + b (W is [dout, din]) and B cotangents on the logits, row o of the weight's Jacobian is
/// J_W[o] = Σ_t g[t, o] ⊗ h[t] (dout × din, row-major like W), with g[t, o] = ∂z_o/∂y_t. Only the n positions
/// that carry gradient are kept (a logit Jacobian's head and top MLP have n = 1).
public struct DenseFactors: Sendable {
    /// n: positions kept.
    public let rows: Int
    /// B: cotangents (V for a logit Jacobian).
    public let batch: Int
    /// din and dout of the layer.
    public let inputWidth: Int, outputWidth: Int
    /// g, laid out (n, B, dout): position-major, so that the cotangents of one position form a B × dout matrix
    /// and all of them together an n × (B·dout) matrix.
    public var cotangents: [Double]
    /// h, (n, din).
    public var inputs: [Double]
}

/// Collects, during one backward pass, the factors of the dense weights whose Jacobian columns are not to be
/// formed; the pass skips those weights' gradient products (ARCHITECTURE, eNTK strategies).
final class FactorTap {
    /// θ offsets of the weights to factor.
    let factored: Set<Int>
    /// Where the pass writes the gradients it does form: the model's layout without the factored weights.
    let gradientLayout: GradientLayout
    /// The factors recorded so far, by the weight's θ offset.
    private(set) var factors: [Int: DenseFactors] = [:]
    /// The cotangents of the factors (their B) when passes over chunks of them fill the factors in turn; nil: one
    /// pass records all of its B cotangents.
    let batch: Int?
    /// Where the current pass's cotangents start among `batch` (set by the caller before each chunk's pass).
    var chunkStart = 0

    /// A tap for `model` that factors the weights at θ offsets `offsets`, for `batch` cotangents recorded over
    /// several passes (nil: one pass).
    init(_ model: Transformer, factoring offsets: Set<Int>, batch: Int? = nil) {
        factored = offsets
        gradientLayout = GradientLayout(model.layout, omitting: offsets)
        self.batch = batch
    }

    func wants(_ offset: Int) -> Bool { factored.contains(offset) }

    /// Keeps g (cotangent b's rows start at `cotangents + b·batchStride`, each row `dout` wide) at cotangents
    /// `chunkStart` ..< `chunkStart` + B of the factors, and h (n × din) on the first chunk.
    func record(offset: Int, cotangents: ConstPtr, batchStride: Int, inputs: ConstPtr, batch B: Int, rows n: Int, din: Int, dout: Int) {
        let total = batch ?? B, b0 = chunkStart
        precondition(b0 + B <= total, "factor tap: cotangents \(b0) ..< \(b0 + B) beyond its \(total) (internal error)")
        if factors[offset] == nil {
            factors[offset] = DenseFactors(rows: n, batch: total, inputWidth: din, outputWidth: dout,
                                           cotangents: [Double](repeating: 0, count: n * total * dout),
                                           inputs: Array(UnsafeBufferPointer(start: inputs, count: n * din)))
        }
        precondition(factors[offset]!.rows == n && factors[offset]!.outputWidth == dout,
                     "factor tap: a chunk's factors differ in shape from the first chunk's (internal error)")
        factors[offset]!.cotangents.withUnsafeMutableBufferPointer { gp in
            for b in 0..<B {
                for t in 0..<n {
                    (gp.baseAddress! + (t * total + b0 + b) * dout).update(from: cotangents + b * batchStride + t * dout, count: dout)
                }
            }
        }
    }
}
