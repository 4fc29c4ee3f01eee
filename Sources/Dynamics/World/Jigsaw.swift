/// An m×n jigsaw puzzle over an S×S image (WORLD.md "Novel task", paper §3.1).
///
/// The image is cut into m rows × n columns of whole pieces (ph = ⌊S/m⌋, pw = ⌊S/n⌋; the excess on the
/// bottom/right is cropped, i.e. black). Canonical positions are row-major 0 … k−1. The shuffled image shows at
/// slot s the piece whose canonical position is `permutation[s]`; the answer is that permutation.
public struct Jigsaw: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    /// permutation[s] = canonical position of the piece shown at slot s; never the identity.
    public let permutation: [Int]

    /// k = m·n pieces.
    public var pieces: Int { rows * columns }

    /// A puzzle with a uniformly drawn non-identity permutation.
    public init(rows: Int, columns: Int, rng: RandomStream) throws {
        guard rows >= 1, columns >= 1, rows * columns >= 2 else {
            throw WorldError.invalid("a \(rows)x\(columns) grid has no puzzle: it needs at least two pieces")
        }
        var p = Array(0..<(rows * columns))
        repeat { rng.shuffle(&p) } while p == Array(0..<(rows * columns))
        try self.init(rows: rows, columns: columns, permutation: p)
    }

    /// A puzzle with a given permutation (checked to be one, and not the identity).
    public init(rows: Int, columns: Int, permutation: [Int]) throws {
        guard permutation.sorted() == Array(0..<(rows * columns)) else {
            throw WorldError.invalid("\(permutation) is not a permutation of 0…\(rows * columns - 1)")
        }
        guard permutation != Array(0..<(rows * columns)) else { throw WorldError.invalid("the identity permutation is not a puzzle") }
        self.rows = rows
        self.columns = columns
        self.permutation = permutation
    }

    /// Parses a grid such as "3x3" or "2x4" (rows x columns).
    public static func parseGrid(_ text: String) throws -> (rows: Int, columns: Int) {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let m = Int(parts[0]), let n = Int(parts[1]), (1...100).contains(m), (1...100).contains(n), m * n >= 2, m * n <= 100 else {
            throw WorldError.invalid("grid '\(text)' is not ROWSxCOLUMNS with 2 to 100 pieces (e.g. 2x2, 3x3)")
        }
        return (m, n)
    }

    /// The piece size in pixels for an S×S image; throws when a piece would be empty.
    public func pieceSize(imageSize s: Int) throws -> (height: Int, width: Int) {
        guard s / rows >= 1, s / columns >= 1 else { throw WorldError.invalid("a \(rows)x\(columns) grid does not fit a \(s)×\(s) image") }
        return (s / rows, s / columns)
    }

    /// The image with the excess beyond whole pieces set to black: what `reassemble` gives back.
    public func cropped(_ image: RGBImage) throws -> RGBImage {
        let (ph, pw) = try pieceSize(imageSize: image.width)
        var out = RGBImage(width: image.width, height: image.height)
        for y in 0..<(rows * ph) { for x in 0..<(columns * pw) { for c in 0..<3 { out[x, y, c] = image[x, y, c] } } }
        return out
    }

    /// The shuffled image: slot s shows canonical piece permutation[s].
    public func shuffle(_ image: RGBImage) throws -> RGBImage {
        try move(image, from: { permutation[$0] }, to: { $0 })
    }

    /// Puts the pieces of a shuffled image back by an answer (answer[s] = canonical position of slot s's piece).
    public func reassemble(_ shuffled: RGBImage, answer: [Int]) throws -> RGBImage {
        guard answer.sorted() == Array(0..<pieces) else { throw WorldError.invalid("answer \(answer) is not a permutation of the \(pieces) pieces") }
        return try move(shuffled, from: { $0 }, to: { answer[$0] })
    }

    /// For each slot s, copies the piece at position source(s) of `image` to position target(s).
    private func move(_ image: RGBImage, from source: (Int) -> Int, to target: (Int) -> Int) throws -> RGBImage {
        guard image.width == image.height else { throw WorldError.invalid("jigsaw images must be square, got \(image.width)×\(image.height)") }
        let (ph, pw) = try pieceSize(imageSize: image.width)
        var out = RGBImage(width: image.width, height: image.height)
        for s in 0..<pieces {
            let (sy, sx) = (source(s) / columns, source(s) % columns), (ty, tx) = (target(s) / columns, target(s) % columns)
            for y in 0..<ph { for x in 0..<pw { for c in 0..<3 {
                out[tx * pw + x, ty * ph + y, c] = image[sx * pw + x, sy * ph + y, c]
            } } }
        }
        return out
    }

    /// The question of a puzzle.
    public var question: String {
        "the image is cut into \(rows) x \(columns) pieces and shuffled . for each slot , give the original position of its piece ."
    }

    /// The fixed think trace (`--jigsaw-trace fixed`): the same words for every puzzle of a grid.
    public var trace: String { "i see \(pieces) pieces , i put each piece back in its original position" }

    /// The think trace of a reasoning response over `scene` (nil: a photograph, no scene known) by `choice`.
    public func trace(_ choice: JigsawTrace, scene: Scene?) -> String {
        guard choice == .scene, let scene else { return trace }
        return PriorTasks.trace(scene)
    }

    /// `[ 2 , 0 , 1 ]`.
    static func listText(_ values: [Int]) -> String { "[ " + values.map(String.init).joined(separator: " , ") + " ]" }

    /// The answer text.
    public var answer: String { Jigsaw.listText(permutation) }
}

/// What a reasoning-style jigsaw response thinks before it answers.
///
/// - `scene`: the prior tasks' scene description ("i see a red circle and a blue square and a number"), the words the
///   base model already writes in every reasoning-style prior example. A model's rollouts then think in its own
///   words, sampled, so a correct rollout need not equal the ground truth; training on them replays a prior skill.
/// - `fixed`: one sentence per grid ("i see 4 pieces , …"), the earlier world, where every correct rollout is
///   byte-identical to the ground truth (notebook 03 §2h).
public enum JigsawTrace: String, CaseIterable, Codable, Sendable {
    case scene, fixed
}
