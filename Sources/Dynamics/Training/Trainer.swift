import Foundation

/// What a training loop drives: SFT/pretraining and GRPO alike.
public protocol Trainer: Sendable {
    associatedtype Record: Sendable
    /// Updates taken so far.
    var step: Int { get }
    /// Updates the run is configured for.
    var totalSteps: Int { get }
    var model: Transformer { get }
    var tokenizer: Tokenizer { get }
    /// The next update; a non-finite value stops it before θ changes.
    mutating func trainStep(threads: Int) throws -> Record
    /// Writes a checkpoint that `--resume` continues bit-exactly.
    func save(to dir: URL, record: RunRecord, overwrite: Bool) throws
    static var metricsHeader: [String] { get }
    static func metricsRow(_ r: Record) -> [CSVCell]
    /// A few figures for the progress line.
    static func progressDetail(_ r: Record) -> String
}

extension SFTTrainer: Trainer {
    public var totalSteps: Int { config.steps }
    public static func progressDetail(_ r: SFTStepRecord) -> String {
        String(format: "loss %.4f  lr %.2e  |g| %.3f", r.loss, r.report.learningRate, r.report.gradientNorm)
    }
}

extension GRPOTrainer: Trainer {
    public var totalSteps: Int { config.steps }
    public static func progressDetail(_ r: GRPOStepRecord) -> String {
        String(format: "reward %.3f (fmt %.2f hit %.2f acc %.2f)  kl %.4f  |g| %.3f%@", r.reward.mean, r.format.mean, r.hit.mean,
               r.accuracy.mean, r.kl, r.report.gradientNorm, r.restarted ? "  restart" : "")
    }
}
