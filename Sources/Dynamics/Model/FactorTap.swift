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

    /// A tap for `model` that factors the weights at θ offsets `offsets`.
    init(_ model: Transformer, factoring offsets: Set<Int>) {
        factored = offsets
        gradientLayout = GradientLayout(model.layout, omitting: offsets)
    }

    func wants(_ offset: Int) -> Bool { factored.contains(offset) }

    /// Keeps g (cotangent b's rows start at `cotangents + b·batchStride`, each row `dout` wide) and h (n × din).
    func record(offset: Int, cotangents: ConstPtr, batchStride: Int, inputs: ConstPtr, batch B: Int, rows n: Int, din: Int, dout: Int) {
        var g = [Double](repeating: 0, count: n * B * dout)
        g.withUnsafeMutableBufferPointer { gp in
            for b in 0..<B {
                for t in 0..<n {
                    (gp.baseAddress! + (t * B + b) * dout).update(from: cotangents + b * batchStride + t * dout, count: dout)
                }
            }
        }
        factors[offset] = DenseFactors(rows: n, batch: B, inputWidth: din, outputWidth: dout, cotangents: g,
                                       inputs: Array(UnsafeBufferPointer(start: inputs, count: n * din)))
    }
}
