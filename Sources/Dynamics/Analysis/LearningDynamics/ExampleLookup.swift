import Foundation

/// Token examples (ID:POSITION) or sequence examples (ID): the level of a learning-dynamics analysis.
public enum DynamicsLevel: String, CaseIterable, Sendable {
    case token, sequence
}

/// Examples of one file, encoded for one checkpoint on first use.
public final class ExampleLookup {
    public let file: ExampleFile
    public let checkpoint: Checkpoint
    private var cache: [String: EncodedExample] = [:]

    public init(file: ExampleFile, checkpoint: Checkpoint) {
        self.file = file
        self.checkpoint = checkpoint
    }

    /// The example `id`, encoded; throws naming the id and the file when absent.
    public func encoded(_ id: String) throws -> EncodedExample {
        if let e = cache[id] { return e }
        let e = try EncodedExample(try file.example(id: id), file: file, tokenizer: checkpoint.tokenizer, config: checkpoint.model.config)
        cache[id] = e
        return e
    }

    /// Every example of the file, encoded, in file order.
    public func all() throws -> [EncodedExample] { try file.examples.map { try encoded($0.id) } }

    /// The example of `reference` and the log-prob sum a probe or update on it uses at `level`: token level
    /// `ID:POSITION` → log π of that token; sequence level `ID` → `sequence` (a plain `ID:POSITION` is refused).
    public func target(_ reference: String, level: DynamicsLevel, sequence: (EncodedExample) -> LogProbSum) throws -> GradientRequest {
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
    public static func flag(_ value: Bool) -> CSVCell { .int(value ? 1 : 0) }
}
