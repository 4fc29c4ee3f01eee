import Foundation

/// The folder of a training run: `metrics.csv`, `eval.csv`, `checkpoints/step-NNNNNN/` and `final/`.
public struct RunDirectory: Sendable {
    public let url: URL

    /// Creates the folder; an existing one is an error unless `force` (then the files the run writes are replaced
    /// as they are written, and nothing else in it is touched). Staging leftovers of a killed earlier run in it
    /// (`.step-N.new-…`, `.final.new-…`) are removed (`SafeOutput.removeLeftovers`).
    public init(url: URL, force: Bool) throws {
        try SafeOutput.checkPath(url.path)
        if FileManager.default.fileExists(atPath: url.path) && !force { throw FileError.exists(path: url.path) }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw FileError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
        self.url = url
        SafeOutput.removeLeftovers(in: url)
        SafeOutput.removeLeftovers(in: url.appendingPathComponent("checkpoints"))
    }

    public func checkpoint(step: Int) -> URL { url.appendingPathComponent(String(format: "checkpoints/step-%06d", step)) }
    public var final: URL { url.appendingPathComponent("final") }
    public var metrics: URL { url.appendingPathComponent("metrics.csv") }
    public var evaluations: URL { url.appendingPathComponent("eval.csv") }
}

/// A CSV file written row by row and flushed after each, so an interrupted run keeps every finished row.
public final class CSVLog {
    private let handle: FileHandle
    public let header: [String]
    /// Called with the header and each appended row after it is written (e.g. to log it to TensorBoard too).
    public var mirror: (([String], [CSVCell]) throws -> Void)?

    /// Starts the file with `header`. With `continuingAfter: k` (a resumed run at step k) an existing file with
    /// the same header is continued instead: its rows up to step k (first column) are kept and later ones — which
    /// the resumed run writes again — dropped, so a resume into the same run folder keeps the history.
    public init(url: URL, header: [String], continuingAfter step: Int? = nil) throws {
        let headerLine = header.joined(separator: ",")
        var contents = headerLine + "\n"
        if let step, FileManager.default.fileExists(atPath: url.path) {
            let text = String(decoding: try AtomicFile.read(url, what: "run log"), as: UTF8.self)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            // A log of an earlier build may lack the columns added since at the end: its rows get them empty.
            let old = lines.first.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
            guard !old.isEmpty, old.count <= header.count, Array(header.prefix(old.count)) == old else {
                throw FileError.cannotWrite(path: url.path, reason: "it exists with other columns than this run's; cannot continue it")
            }
            let padding = String(repeating: ",", count: header.count - old.count)
            lines.removeFirst()
            // Rows are in step order; a row whose step is not a number (a torn last line) ends the kept part.
            let kept = lines.prefix { line in line.split(separator: ",", maxSplits: 1).first.flatMap { Int($0) }.map { $0 <= step } ?? false }
            contents += kept.map { $0 + padding + "\n" }.joined()
            try AtomicFile.write(Data(contents.utf8), to: url)
        } else {
            guard FileManager.default.createFile(atPath: url.path, contents: Data(contents.utf8)) else {
                throw FileError.cannotWrite(path: url.path, reason: "cannot create the file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw FileError.cannotWrite(path: url.path, reason: "cannot open the file")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        self.header = header
    }

    deinit { try? handle.close() }

    /// Appends one row (as many cells as the header).
    public func append(_ cells: [CSVCell]) throws {
        precondition(cells.count == header.count, "CSV row width differs from the header (internal error)")
        let line = cells.map { CSVTable.quote($0.text) }.joined(separator: ",") + "\n"
        do { try handle.write(contentsOf: Data(line.utf8)) } catch {
            throw FileError.cannotWrite(path: "CSV log", reason: error.localizedDescription)
        }
        try mirror?(header, cells)
    }
}

/// Writes a training checkpoint: θ, tokenizer, `meta.json`, and `trainer.safetensors` (moments, step, run config, extras).
func saveTrainingCheckpoint<Config: Encodable>(model: Transformer, tokenizer: Tokenizer, state: TrainerState, config: Config,
                                               extra: [NamedTensor] = [], record: RunRecord, to dir: URL, overwrite: Bool) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let checkpoint = try Checkpoint(model: model, tokenizer: tokenizer, metadata: ["step": String(state.step)], meta: try record.jsonData())
    try checkpoint.save(to: dir, overwrite: overwrite,
                        extraFiles: ["trainer.safetensors": try state.encode(run: encoder.encode(config), extra: extra)])
}

extension SFTTrainer {
    /// Writes the current model, tokenizer and trainer state as a checkpoint directory.
    public func save(to dir: URL, record: RunRecord, overwrite: Bool = false) throws {
        try saveTrainingCheckpoint(model: model, tokenizer: tokenizer, state: state, config: config, record: record, to: dir, overwrite: overwrite)
    }

    /// The metrics.csv columns.
    public static let metricsHeader = ["step", "epoch", "loss", "lr", "grad_norm", "clipped", "tokens", "token_accuracy"]

    /// A metrics.csv row.
    public static func metricsRow(_ r: SFTStepRecord) -> [CSVCell] {
        [.int(r.step), .double(r.epoch), .double(r.loss), .double(r.report.learningRate), .double(r.report.gradientNorm),
         .int(r.report.clipped ? 1 : 0), .int(r.tokens), .double(r.tokenAccuracy)]
    }
}

extension GRPOTrainer {
    /// Name of the reference θ inside `trainer.safetensors`.
    public static let referenceTensor = "reference.parameters"

    /// Writes the current model, tokenizer, trainer state and reference θ as a checkpoint directory.
    public func save(to dir: URL, record: RunRecord, overwrite: Bool = false) throws {
        try saveTrainingCheckpoint(model: model, tokenizer: tokenizer, state: state, config: config,
                                   extra: [NamedTensor(name: Self.referenceTensor, shape: [reference.parameters.count], values: reference.parameters)],
                                   record: record, to: dir, overwrite: overwrite)
    }
}
