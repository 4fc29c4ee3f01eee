/// What the network reads: optional image patches, then text tokens (MODEL.md "Input sequence").
public struct ModelInput: Equatable, Sendable {
    /// N × (P·P·C) flattened patches, row-major over the patch grid; nil for an example without an image.
    public var patches: Matrix?
    /// Text token ids, in order, after the patches.
    public var tokens: [Int]

    public init(patches: Matrix?, tokens: [Int]) {
        self.patches = patches
        self.tokens = tokens
    }

    /// N: image positions in front of the text.
    public var imagePositions: Int { patches?.rows ?? 0 }
    /// Total positions, image and text.
    public var length: Int { imagePositions + tokens.count }

    /// The first `length` positions (image positions first), for a causal prefix.
    public func prefix(_ length: Int) -> ModelInput {
        let n = imagePositions
        if length <= n, let patches {
            var cut = Matrix(rows: length, cols: patches.cols)
            cut.storage = Array(patches.storage[0..<(length * patches.cols)])
            return ModelInput(patches: cut, tokens: [])
        }
        return ModelInput(patches: patches, tokens: Array(tokens[0..<(length - n)]))
    }
}

/// Turns an S×S×C image (row-major pixels, channel last, values in [0, 1]) into the patch matrix.
public enum Patchifier {
    /// Patch k = (gy, gx) row-major over the grid; inside it index ((py·P)+px)·C + c.
    public static func patches(pixels: [Double], config: ModelConfig) throws -> Matrix {
        let s = config.imageSize, p = config.patchSize, c = config.channels
        guard pixels.count == s * s * c else {
            throw ShapeError.mismatch(what: "image pixels", expected: [s, s, c], found: [pixels.count])
        }
        let grid = s / p
        var m = Matrix(rows: grid * grid, cols: p * p * c)
        for gy in 0..<grid { for gx in 0..<grid {
            let k = gy * grid + gx
            for py in 0..<p { for px in 0..<p { for ch in 0..<c {
                let y = gy * p + py, x = gx * p + px
                m[k, (py * p + px) * c + ch] = pixels[(y * s + x) * c + ch]
            } } }
        } }
        return m
    }
}
