import Foundation

/// Settings of an SFT or pretraining run (stored in every checkpoint it writes, so `--resume` needs nothing else).
public struct SFTRunConfig: Codable, Equatable, Sendable {
    /// Total optimizer steps of the run.
    public var steps: Int
    /// Examples per step.
    public var batchSize: Int
    public var optimizer: OptimizerConfig
    /// Seed of the data order.
    public var seed: UInt64
    /// Reshuffle the data every epoch; false walks the file in order.
    public var shuffle: Bool
    /// The training examples file.
    public var data: String

    public init(steps: Int, batchSize: Int, optimizer: OptimizerConfig, seed: UInt64, shuffle: Bool, data: String) {
        self.steps = steps
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.seed = seed
        self.shuffle = shuffle
        self.data = data
    }
}

/// One step's record: a row of `metrics.csv`.
public struct SFTStepRecord: Equatable, Sendable {
    public let step: Int
    /// Epochs completed, fractional.
    public let epoch: Double
    /// L = −J_SFT on the batch, before the step.
    public let loss: Double
    public let report: StepReport
    /// Response tokens in the batch.
    public let tokens: Int
    /// Of those, the tokens that are π's argmax before the step (TRL's `mean_token_accuracy` is the ratio).
    public var correctTokens: Int = 0

    /// correct / tokens: TRL's `mean_token_accuracy` (0 without tokens).
    public var tokenAccuracy: Double { tokens > 0 ? Double(correctTokens) / Double(tokens) : 0 }
}

/// Supervised fine-tuning (Eq. 10) — and pretraining, which is the same objective on the prior tasks.
///
/// The data order is a pure function of the seed and the step: the stream of examples is the concatenation of one
/// permutation per epoch (stream "sft.order.<epoch>"), batch k is its k-th slice of `batchSize`. Resuming at step
/// k therefore needs only θ, the optimizer's moments and k.
public struct SFTTrainer: Sendable {
    public private(set) var model: Transformer
    public private(set) var optimizer: Optimizer
    public let tokenizer: Tokenizer
    public let config: SFTRunConfig
    public let data: [EncodedExample]
    /// Steps taken so far.
    public private(set) var step: Int
    /// The processes that share each batch: each computes its slice's terms (units of examples, `SFTObjective`).
    public var group: ProcessGroup = .single

    public init(model: Transformer, tokenizer: Tokenizer, data: [EncodedExample], config: SFTRunConfig) throws {
        guard !data.isEmpty else { throw TrainingError.invalid("no training examples") }
        try config.validate()
        self.model = model
        self.tokenizer = tokenizer
        self.data = data
        self.config = config
        optimizer = try Optimizer(config: config.optimizer, layout: model.layout)
        step = 0
    }

    /// Continues from a saved state (the checkpoint's θ is `model`).
    public init(model: Transformer, tokenizer: Tokenizer, data: [EncodedExample], config: SFTRunConfig, state: TrainerState) throws {
        try self.init(model: model, tokenizer: tokenizer, data: data, config: config)
        guard (0...config.steps).contains(state.step) else { throw TrainingError.invalid("saved step \(state.step) is outside the run's 0…\(config.steps)") }
        try optimizer.restore(step: state.optimizerStep, firstMoment: state.firstMoment, secondMoment: state.secondMoment)
        step = state.step
    }

    /// Indices into `data` of batch `k` (0-based), in file order within the batch.
    public func batchIndices(_ k: Int) -> [Int] {
        var walked: EpochOrder? = nil
        return batchIndices(k, walked: &walked)
    }

    /// The permutation of `data` that epoch `epoch` walks (0-based): stream "sft.order.<epoch>", or file order.
    public func epochOrder(_ epoch: Int) -> [Int] {
        var order = Array(0..<data.count)
        if config.shuffle { RandomStream(seed: config.seed, name: "sft.order.\(epoch)").shuffle(&order) }
        return order
    }

    typealias EpochOrder = (epoch: Int, order: [Int])

    /// The epoch order the last batch walked: drawn once per epoch, not per step (a shuffle of the 168 000
    /// pretraining examples every step was 5 % of a batch-8 step).
    private var walked: EpochOrder? = nil

    private func batchIndices(_ k: Int, walked: inout EpochOrder?) -> [Int] {
        let n = data.count
        return (k * config.batchSize..<((k + 1) * config.batchSize)).map { j in
            let epoch = j / n
            if walked?.epoch != epoch { walked = (epoch, epochOrder(epoch)) }
            return walked!.order[j % n]
        }.sorted()
    }

    /// Takes the next step. A non-finite loss or gradient stops before θ changes.
    public mutating func trainStep(threads: Int) throws -> SFTStepRecord {
        var order = walked
        let batch = batchIndices(step, walked: &order).map { data[$0] }
        walked = order
        let (loss, gradient, tokens, correct) = try SFTObjective.lossAndGradient(model, batch: batch, threads: threads, group: group)
        guard loss.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "loss") }
        guard gradient.allSatisfy(\.isFinite) else { throw TrainingError.nonFinite(step: step + 1, what: "gradient") }
        var theta = model.parameters
        let report = optimizer.apply(gradient, to: &theta, threads: threads)
        try RunLimits.checkParameters(theta, step: step + 1)
        model.parameters = theta
        step += 1
        return SFTStepRecord(step: step, epoch: Double(step * config.batchSize) / Double(data.count), loss: loss,
                             report: report, tokens: tokens, correctTokens: correct)
    }

    /// The optimizer state to save beside θ.
    public var state: TrainerState {
        TrainerState(step: step, optimizerStep: optimizer.step, firstMoment: optimizer.firstMoment, secondMoment: optimizer.secondMoment)
    }
}

/// What `trainer.safetensors` holds: enough, with θ and the run's config, to resume bit-exactly.
public struct TrainerState: Equatable, Sendable {
    public var step: Int
    public var optimizerStep: Int
    public var firstMoment: [Double]
    public var secondMoment: [Double]

    public init(step: Int, optimizerStep: Int, firstMoment: [Double], secondMoment: [Double]) {
        self.step = step
        self.optimizerStep = optimizerStep
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }

    /// The bytes of `trainer.safetensors`, with `run` (the run config as JSON) in its metadata and `extra`
    /// tensors (GRPO's reference θ) after the moments.
    public func encode(run: Data, extra: [NamedTensor] = []) throws -> Data {
        try SafeTensors.encode([NamedTensor(name: "optimizer.first_moment", shape: [firstMoment.count], values: firstMoment),
                                NamedTensor(name: "optimizer.second_moment", shape: [secondMoment.count], values: secondMoment)] + extra,
                               metadata: ["step": String(step), "optimizer_step": String(optimizerStep), "run": String(decoding: run, as: UTF8.self),
                                          "format_version": Checkpoint.formatVersion])
    }

    /// Reads `trainer.safetensors` of a checkpoint directory: the state, the run config JSON and any extra tensors.
    /// Checks the file's own consistency (format version, integer fields, tensors present); `ResumeValidation`
    /// checks it against the model and the run.
    public static func load(from dir: URL) throws -> (state: TrainerState, run: Data, extra: [String: [Double]]) {
        let url = dir.appendingPathComponent("trainer.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CheckpointError.invalid(path: url.path, reason: "missing: this checkpoint was not written by a training run")
        }
        return try decode(AtomicFile.read(url, what: "trainer state"), file: url)
    }

    /// The same from the bytes of a `trainer.safetensors`; `file` names it in errors.
    public static func decode(_ data: Data, file url: URL) throws -> (state: TrainerState, run: Data, extra: [String: [Double]]) {
        let (tensors, metadata) = try SafeTensors.decode(data, source: url.path)
        try Checkpoint.checkFormatVersion(metadata, file: url)
        func tensor(_ name: String) throws -> [Double] {
            guard let t = tensors.first(where: { $0.name == name }) else { throw CheckpointError.invalid(path: url.path, reason: "tensor '\(name)' is missing") }
            return t.values
        }
        func integer(_ key: String) throws -> Int {
            guard let text = metadata[key] else { throw CheckpointError.invalid(path: url.path, reason: "__metadata__ lacks \(key)") }
            guard let value = Int(text), value >= 0 else {
                throw CheckpointError.invalid(path: url.path, reason: "__metadata__.\(key) is '\(text)', not a whole number ≥ 0")
            }
            return value
        }
        let step = try integer("step"), optimizerStep = try integer("optimizer_step")
        guard let run = metadata["run"] else { throw CheckpointError.invalid(path: url.path, reason: "__metadata__ lacks run") }
        var extra: [String: [Double]] = [:]
        for t in tensors where !t.name.hasPrefix("optimizer.") { extra[t.name] = t.values }
        return (TrainerState(step: step, optimizerStep: optimizerStep, firstMoment: try tensor("optimizer.first_moment"),
                             secondMoment: try tensor("optimizer.second_moment")), Data(run.utf8), extra)
    }
}

extension SFTRunConfig {
    /// The steps of an SFT run: `steps` when given, else `epochs` passes over the examples of the file `data` in
    /// batches of `batchSize` (a last partial batch is a step); within `FlagRange.steps`.
    public static func totalSteps(steps: Int?, epochs: Double?, data: String, batchSize: Int) throws -> Int {
        if let steps {
            guard steps >= 1 else { throw ArgumentProblem("give --steps or --epochs (≥ 1 step)") }
            return steps
        }
        guard let epochs else { throw ArgumentProblem("give --steps or --epochs (≥ 1 step)") }
        // Only epochs need the file's size (read here also when --steps was given, it doubled a pretraining's start).
        let count = try ExampleFile(url: URL(fileURLWithPath: data)).examples.count
        let fromEpochs = (epochs * Double((count + batchSize - 1) / batchSize)).rounded(.up)
        guard (1...Double(FlagRange.steps.upperBound)).contains(fromEpochs) else {
            throw ArgumentProblem("--epochs \(epochs) makes \(fromEpochs) steps of \(batchSize) examples; the range is \(FlagRange.steps.lowerBound)…\(FlagRange.steps.upperBound) steps")
        }
        return Int(fromEpochs)
    }
}
