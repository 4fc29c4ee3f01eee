import Foundation

/// What a training loop (`TrainingRun`) drives: SFT/pretraining and GRPO alike. Step records are structured
/// values; formatting them for a progress line is the caller's business.
public protocol Trainer: Sendable {
    associatedtype Record: Sendable
    /// Updates taken so far.
    var step: Int { get }
    /// Updates the run is configured for.
    var totalSteps: Int { get }
    var model: Transformer { get }
    var tokenizer: Tokenizer { get }
    /// The run's data file and seed, for the run records of its checkpoints.
    var runData: String { get }
    var runSeed: UInt64 { get }
    /// The processes that share each step (data parallelism under MPI; `.single` otherwise).
    var group: ProcessGroup { get set }
    /// The next update; a non-finite value stops it before θ changes.
    mutating func trainStep(threads: Int) throws -> Record
    /// Writes a checkpoint that `--resume` continues bit-exactly.
    func save(to dir: URL, record: RunRecord, overwrite: Bool) throws
    static var metricsHeader: [String] { get }
    static func metricsRow(_ r: Record) -> [CSVCell]
}

extension SFTTrainer: Trainer {
    public var totalSteps: Int { config.steps }
    public var runData: String { config.data }
    public var runSeed: UInt64 { config.seed }
}

extension GRPOTrainer: Trainer {
    public var totalSteps: Int { config.steps }
    public var runData: String { config.data }
    public var runSeed: UInt64 { config.seed }
}
