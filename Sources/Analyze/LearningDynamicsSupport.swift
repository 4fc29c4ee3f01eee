import ArgumentParser
import Dynamics
import Foundation

/// Shared by `decompose`, `symmetry` and `influence`: the level of an analysis, η lists, and examples looked up
/// by id or ID:POSITION.

/// Token examples (ID:POSITION) or sequence examples (ID).
enum DynamicsLevel: String, ExpressibleByArgument, CaseIterable {
    case token, sequence
}

/// A comma-separated list of learning rates; each must be positive and finite.
func parseLearningRates(_ text: String, flag: String) throws -> [Double] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !parts.isEmpty else { throw ValidationError("\(flag) needs at least one learning rate") }
    return try parts.map { part in
        guard let eta = Double(part), eta.isFinite, eta > 0 else {
            throw ValidationError("\(flag): '\(part)' is not a positive finite learning rate")
        }
        return eta
    }
}

/// Examples of one file, encoded for one checkpoint on first use.
final class ExampleLookup {
    let file: ExampleFile
    let checkpoint: Checkpoint
    private var cache: [String: EncodedExample] = [:]

    init(file: ExampleFile, checkpoint: Checkpoint) {
        self.file = file
        self.checkpoint = checkpoint
    }

    /// The example `id`, encoded; throws naming the id and the file when absent.
    func encoded(_ id: String) throws -> EncodedExample {
        if let e = cache[id] { return e }
        let e = try EncodedExample(try file.example(id: id), file: file, tokenizer: checkpoint.tokenizer, config: checkpoint.model.config)
        cache[id] = e
        return e
    }

    /// Every example of the file, encoded, in file order.
    func all() throws -> [EncodedExample] { try file.examples.map { try encoded($0.id) } }

    /// The example of `reference` and the log-prob sum a probe or update on it uses at `level`: token level
    /// `ID:POSITION` → log π of that token; sequence level `ID` → `sequence` (a plain `ID:POSITION` is refused).
    func target(_ reference: String, level: DynamicsLevel, sequence: (EncodedExample) -> LogProbSum) throws -> GradientRequest {
        switch level {
        case .token:
            let ref = try TokenReference(parsing: reference)
            let e = try encoded(ref.id)
            try e.checkPosition(ref.position)
            return GradientRequest(example: e, sum: .token(ref.position))
        case .sequence:
            let e = try encoded(reference)
            return GradientRequest(example: e, sum: sequence(e))
        }
    }
}

/// "yes"/"no" cells as 1/0.
extension CSVCell {
    static func flag(_ value: Bool) -> CSVCell { .int(value ? 1 : 0) }
}

/// "s ± se" of a fit, or "—" without one.
func slopeText(_ fit: PooledSlope?) -> String {
    fit.map { String(format: "%.3f ± %.3f", $0.slope, $0.slopeError) } ?? "—"
}

/// Writes `rows` (the first is the header) to stderr as columns separated by " | " (stdout keeps one summary line).
func printTable(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
    for r in rows {
        note(zip(r.dropLast(), widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ") + " | " + r[columns - 1])
    }
}
