/// Floating-point operation counts of the network's passes (multiply and add counted separately), for
/// reporting GFLOP/s against the dgemm roof. Only the matrix products are counted; elementwise work is
/// below a few percent at these sizes.
public enum FlopCount {
    /// A forward pass over `length` positions of which `imagePositions` are patches.
    public static func forward(_ c: ModelConfig, length T: Int, imagePositions n: Int) -> Double {
        let t = Double(T), d = Double(c.dModel), f = Double(c.dFF)
        let perLayer = 2 * t * d * 3 * d + 4 * t * t * d + 2 * t * d * d + 4 * t * d * f
        return Double(c.nLayers) * perLayer + 2 * t * d * Double(c.vocabSize) + 2 * Double(n) * Double(c.patchDim) * d
    }

    /// A backward pass carrying `batch` cotangents over `length` positions (input and weight gradients), whose
    /// cotangents are non-zero on the last `activeRows` positions only (the head, final LayerNorm and the top
    /// block's MLP and output projection run on those rows; a logit Jacobian has one).
    public static func backward(_ c: ModelConfig, length T: Int, imagePositions n: Int, batch: Int, activeRows: Int? = nil) -> Double {
        let b = Double(batch), t = Double(T), r = Double(activeRows ?? T), d = Double(c.dModel), f = Double(c.dFF)
        let qkvAndAttention = 4 * b * t * d * 3 * d + 8 * b * t * t * d
        let rowWise = { (rows: Double) in 4 * b * rows * (d * d + 2 * d * f) }
        let layers = Double(c.nLayers) * qkvAndAttention + Double(c.nLayers - 1) * rowWise(t) + rowWise(r)
        return layers + 4 * b * r * d * Double(c.vocabSize) + 2 * b * Double(n) * Double(c.patchDim) * d
    }
}
