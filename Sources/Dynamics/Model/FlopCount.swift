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

    /// A backward pass carrying `batch` cotangents over `length` positions (input and weight gradients).
    public static func backward(_ c: ModelConfig, length T: Int, imagePositions n: Int, batch: Int) -> Double {
        let b = Double(batch), t = Double(T), d = Double(c.dModel), f = Double(c.dFF)
        let linear = 4 * b * t * (d * 3 * d + d * d + 2 * d * f)
        let attention = 8 * b * t * t * d
        return Double(c.nLayers) * (linear + attention) + 4 * b * t * d * Double(c.vocabSize) + 2 * b * Double(n) * Double(c.patchDim) * d
    }
}
