/// What a forward pass keeps for backward and for reading logits: one arena, named views (shapes in comments).
public final class Activations: @unchecked Sendable {
    /// Per-block activations.
    struct Block {
        let ln1, ln1Mean, ln1Rstd: Ptr      // (T, D), (T), (T)
        let qkv: Ptr                         // (T, 3D)
        let probs: Ptr                       // (H, T, T)
        let attention: Ptr                   // (T, D) heads concatenated, before the output projection
        let residualMid: Ptr                 // (T, D) after the attention residual
        let ln2, ln2Mean, ln2Rstd: Ptr       // (T, D), (T), (T)
        let fcPre, fcAct: Ptr                // (T, d_ff) before and after GELU
        let fcSlope: Ptr                     // (T, d_ff) GELU's slope at fcPre, for backward
    }

    /// Positions in this pass.
    public let length: Int
    /// V: width of a logit row.
    public let vocabSize: Int
    let config: ModelConfig
    /// The input of the pass.
    let input: ModelInput
    /// residual[l]: (T, D) input of block l; residual[L] feeds the final LayerNorm.
    let residual: [Ptr]
    let blocks: [Block]
    let lnF, lnFMean, lnFRstd: Ptr           // (T, D), (T), (T)
    let logitsBuffer: Ptr                    // (T, V)
    private let arena: Arena

    init(config c: ModelConfig, input: ModelInput) {
        let T = input.length, D = c.dModel, F = c.dFF, H = c.nHeads
        let perBlock = T * D * 6 + T * 4 + T * 3 * D + H * T * T + 3 * T * F
        // Not zeroed: the forward pass writes every value (probs included, zeros above the diagonal) before any read.
        arena = Arena(capacity: (c.nLayers + 1) * T * D + c.nLayers * perBlock + T * D + 2 * T + T * c.vocabSize, zeroed: false)
        let a = arena
        self.input = input
        length = T
        vocabSize = c.vocabSize
        config = c
        residual = (0...c.nLayers).map { _ in a.take(T * D) }
        blocks = (0..<c.nLayers).map { _ in
            Block(ln1: a.take(T * D), ln1Mean: a.take(T), ln1Rstd: a.take(T), qkv: a.take(T * 3 * D),
                  probs: a.take(H * T * T), attention: a.take(T * D), residualMid: a.take(T * D),
                  ln2: a.take(T * D), ln2Mean: a.take(T), ln2Rstd: a.take(T), fcPre: a.take(T * F), fcAct: a.take(T * F), fcSlope: a.take(T * F))
        }
        lnF = a.take(T * D)
        lnFMean = a.take(T)
        lnFRstd = a.take(T)
        logitsBuffer = a.take(T * c.vocabSize)
    }

    /// The V logits computed at `position` (they predict the token at position + 1).
    public func logits(at position: Int) -> [Double] {
        precondition(position >= 0 && position < length, "logits(at:) position outside the pass")
        return Array(UnsafeBufferPointer(start: logitsBuffer + position * vocabSize, count: vocabSize))
    }

    /// The final LayerNorm's output y at `position` (D values), the head's input.
    func finalNormOutput(at position: Int) -> [Double] {
        precondition(position >= 0 && position < length, "finalNormOutput(at:) position outside the pass")
        return Array(UnsafeBufferPointer(start: lnF + position * config.dModel, count: config.dModel))
    }

    /// log softmax of the logits at `position`.
    public func logProbabilities(at position: Int) -> [Double] {
        precondition(position >= 0 && position < length, "logProbabilities(at:) position outside the pass")
        var out = [Double](repeating: 0, count: vocabSize)
        out.withUnsafeMutableBufferPointer { logSoftmaxRow($0.baseAddress!, logitsBuffer + position * vocabSize, count: vocabSize) }
        return out
    }

    /// All logits, (T, V) row-major.
    public var logits: Matrix {
        var m = Matrix(rows: length, cols: vocabSize)
        m.storage = Array(UnsafeBufferPointer(start: logitsBuffer, count: length * vocabSize))
        return m
    }
}
