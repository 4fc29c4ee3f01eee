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
    /// cotangents are non-zero on the last `activeRows` positions only (the head, final LayerNorm, the top
    /// block's MLP and output projection, and its attention's queries run on those rows; a logit Jacobian has one).
    public static func backward(_ c: ModelConfig, length T: Int, imagePositions n: Int, batch: Int, activeRows: Int? = nil) -> Double {
        let b = Double(batch), t = Double(T), r = Double(activeRows ?? T), d = Double(c.dModel), f = Double(c.dFF)
        let qkv = 4 * b * t * d * 3 * d
        let attention = { (queries: Double) in 8 * b * queries * t * d }
        let rowWise = { (rows: Double) in 4 * b * rows * (d * d + 2 * d * f) }
        let layers = Double(c.nLayers) * qkv + Double(c.nLayers - 1) * (attention(t) + rowWise(t)) + attention(r) + rowWise(r)
        return layers + 4 * b * r * d * Double(c.vocabSize) + 2 * b * Double(n) * Double(c.patchDim) * d
    }
}

extension FlopCount {
    /// One KV-cache step: the token at `position` attends to positions 0 … position.
    public static func decode(_ c: ModelConfig, position i: Int) -> Double {
        let d = Double(c.dModel), f = Double(c.dFF), keys = Double(i + 1)
        let perLayer = 2 * d * 3 * d + 4 * keys * d + 2 * d * d + 4 * d * f
        return Double(c.nLayers) * perLayer + 2 * d * Double(c.vocabSize)
    }

    /// `generate` from a prompt of `promptLength` positions emitting `newTokens` tokens: the prompt's forward pass,
    /// then one cached step per token after the first.
    public static func generation(_ c: ModelConfig, promptLength T: Int, imagePositions n: Int, newTokens: Int) -> Double {
        var total = forward(c, length: T, imagePositions: n)
        if newTokens > 1 { for i in T..<(T + newTokens - 1) { total += decode(c, position: i) } }
        return total
    }

    /// A training step's forward and backward passes over whole sequences (every row carries gradient).
    public static func trainingStep(_ c: ModelConfig, inputs: [ModelInput]) -> Double {
        inputs.reduce(0) { $0 + forward(c, length: $1.length, imagePositions: $1.imagePositions)
            + backward(c, length: $1.length, imagePositions: $1.imagePositions, batch: 1) }
    }
}
