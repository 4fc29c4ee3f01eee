/// The rules every example's ground truth obeys, checked once when an examples file is read, so that training,
/// rollouts, `eval` and `score` never work from a truth that no answer could match (an `eval --oracle` of a file
/// that passes is 100% by construction).
extension Example {
    /// Largest number of pieces (and of ordered items) a permutation may have: the jigsaw grids' limit.
    public static let maxPermutationLength = 100

    /// Throws a reason when the structured truth or the grid is malformed:
    /// - `truth.permutation` is a permutation of 0 … k−1 with 2 ≤ k ≤ 100 (no repeats, no negatives);
    /// - `grid` is [rows, columns], each ≥ 1, with 2 … 100 pieces, and rows·columns equals k when both are given;
    /// - `truth.box` is [x1, y1, x2, y2] with 0 ≤ x1 ≤ x2 ≤ 2^20 and 0 ≤ y1 ≤ y2 ≤ 2^20 (corners inclusive);
    /// - the task's metric finds the truth it needs (a box for grounding, an answer for OCR, VQA and POPE, a
    ///   permutation for ordering and the jigsaw tasks) when the task is known and a truth is given.
    public func validateTruth() throws {
        func bad(_ reason: String) -> ExampleError { .malformedTruth(id: id, reason: reason) }
        if let p = truth?.permutation {
            guard (2...Self.maxPermutationLength).contains(p.count) else {
                throw bad("truth.permutation has \(p.count) entries; a permutation needs 2 to \(Self.maxPermutationLength)")
            }
            guard p.sorted() == Array(0..<p.count) else {
                throw bad("truth.permutation \(p) is not a permutation of 0…\(p.count - 1)")
            }
        }
        if let g = grid {
            guard g.count == 2, g[0] >= 1, g[1] >= 1, g[0] <= Self.maxPermutationLength, g[1] <= Self.maxPermutationLength,
                  (2...Self.maxPermutationLength).contains(g[0] * g[1]) else {
                throw bad("grid \(g) is not [rows, columns] with 2 to \(Self.maxPermutationLength) pieces")
            }
            if let p = truth?.permutation, p.count != g[0] * g[1] {
                throw bad("grid \(g[0])x\(g[1]) has \(g[0] * g[1]) pieces but truth.permutation has \(p.count) entries")
            }
        }
        if let b = truth?.box {
            guard b.count == 4 else { throw bad("truth.box has \(b.count) entries, not [x1, y1, x2, y2]") }
            guard b[0] >= 0, b[1] >= 0, b[0] <= b[2], b[1] <= b[3], b[2] <= TaskScorer.maxBoxCoordinate, b[3] <= TaskScorer.maxBoxCoordinate else {
                throw bad("truth.box \(b) is not a box (needs 0 ≤ x1 ≤ x2 ≤ 2^20 and 0 ≤ y1 ≤ y2 ≤ 2^20)")
            }
        }
        if let truth, let name = task, let kind = TaskKind(rawValue: name) {
            switch kind.scoredAs {
            case .grounding where truth.box == nil: throw bad("a grounding example needs truth.box")
            case .ocr, .vqa, .pope:
                if truth.answer == nil { throw bad("a \(name) example needs truth.answer") }
            case .ordering, .jigsaw, .jigsawFormat, .jigsawStrip:
                if truth.permutation == nil { throw bad("a \(name) example needs truth.permutation") }
            default: break
            }
        }
    }
}
