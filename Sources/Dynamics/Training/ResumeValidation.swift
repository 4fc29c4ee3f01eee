import Foundation

/// The ranges every run setting must lie in — whether it comes from a flag or from the `run` settings stored in a
/// checkpoint's `trainer.safetensors` — so that no setting can overflow an index, allocate without bound or hang.
public enum RunLimits {
    /// Optimizer steps of a run (0 is allowed by the library; the command line asks for at least 1).
    public static let steps = 0...(1 << 40)
    /// Examples (SFT) or prompts (GRPO) per micro-batch.
    public static let batchSize = 1...(1 << 16)
    /// GRPO micro-batches per update.
    public static let accumulation = 1...(1 << 16)
    /// GRPO prompts per update (batch size × accumulation).
    public static let promptsPerStep = 1...(1 << 16)
    /// GRPO samples per prompt.
    public static let groupSize = 2...1024
    /// GRPO rollouts per update (G × prompts per update).
    public static let rolloutsPerStep = 1...(1 << 20)
    /// GRPO μ: optimizer updates per batch of rollouts.
    public static let updatesPerBatch = 1...1024
    /// GRPO restart period in epochs (0: never).
    public static let restartEvery = 0...(1 << 20)
    /// Warm-up steps of the cosine schedule.
    public static let warmup = 0...(1 << 40)
    /// Largest |θᵢ| a training step may produce: beyond it the run has diverged (a forward pass on such weights
    /// can overflow to NaN even though every weight is finite), and it stops before θ changes.
    public static let maxParameterMagnitude = 1e5

    static func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw TrainingError.invalid("\(name) must lie in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
    }
}

extension LearningRateSchedule {
    /// Throws when the schedule's fields are out of range (warm-up and total within `RunLimits`, floor in [0, 1]).
    public func validate() throws {
        switch self {
        case .constant:
            return
        case let .warmupCosine(warmup, total, floor):
            try Self.check(warmup: warmup, total: total, floor: floor)
        case let .warmupStableDecay(warmup, total, decay, floor):
            try Self.check(warmup: warmup, total: total, floor: floor)
            guard decay >= 1, decay <= total - min(warmup, total) else {
                throw TrainingError.invalid("the schedule's decay must last 1…\(max(1, total - warmup)) steps (the run's \(total) less the warm-up's \(warmup)), got \(decay)")
            }
        }
    }

    private static func check(warmup: Int, total: Int, floor: Double) throws {
        try RunLimits.check("the schedule's warm-up", warmup, RunLimits.warmup)
        try RunLimits.check("the schedule's total", total, 1...RunLimits.steps.upperBound)
        guard floor.isFinite, (0...1).contains(floor) else { throw TrainingError.invalid("the schedule's floor must lie in [0, 1], got \(floor)") }
    }
}

extension SFTRunConfig {
    /// Throws when a setting is out of `RunLimits` or the optimizer's settings are invalid.
    public func validate() throws {
        try RunLimits.check("steps", steps, RunLimits.steps)
        try RunLimits.check("batch size", batchSize, RunLimits.batchSize)
        try optimizer.validate()
    }
}

extension GRPORunConfig {
    /// Throws when a setting is out of `RunLimits` (products included) or a real setting is out of its range.
    public func validate() throws {
        try RunLimits.check("steps", steps, RunLimits.steps)
        try RunLimits.check("G (samples per prompt)", groupSize, RunLimits.groupSize)
        try RunLimits.check("batch size", batchSize, RunLimits.batchSize)
        try RunLimits.check("accumulation", accumulation, RunLimits.accumulation)
        try RunLimits.check("μ (updates per batch)", updatesPerBatch, RunLimits.updatesPerBatch)
        try RunLimits.check("restart period", restartEvery, RunLimits.restartEvery)
        try RunLimits.check("prompts per update (batch size × accumulation)", batchSize * accumulation, RunLimits.promptsPerStep)
        try RunLimits.check("rollouts per update (G × prompts per update)", groupSize * promptsPerStep, RunLimits.rolloutsPerStep)
        guard temperature > 0, temperature.isFinite, beta >= 0, beta.isFinite, clipEpsilon > 0, clipEpsilon.isFinite else {
            throw TrainingError.invalid("GRPO needs a finite temperature > 0, β ≥ 0 and ε > 0")
        }
        guard [weights.hit, weights.accuracy, weights.format].allSatisfy(\.isFinite) else {
            throw TrainingError.invalid("GRPO reward weights must be finite")
        }
        try optimizer.validate()
    }
}

/// The one check of a resumed run's state: every field of `trainer.safetensors` against the model checkpoint
/// beside it and against the run's settings. Errors name the file and the field.
public struct ResumeValidation {
    /// The checkpoint directory being resumed.
    public let directory: URL
    var trainerFile: URL { directory.appendingPathComponent("trainer.safetensors") }

    public init(directory: URL) { self.directory = directory }

    func invalid(_ field: String, _ reason: String) -> CheckpointError {
        .invalid(path: trainerFile.path, reason: "\(field) \(reason)")
    }

    /// The run's total steps after a `--steps` given on resume. A decaying schedule is fixed to its run's total, so
    /// another total is refused (the steps past the old total would silently run at the floor); with a constant
    /// schedule any total beyond the saved step is allowed. A run already at its total cannot be resumed without a
    /// larger `--steps`.
    public func totalSteps(saved: Int, requested: Int?, schedule: LearningRateSchedule, step: Int) throws -> Int {
        guard (0...saved).contains(step) else { throw invalid("step", "is \(step), outside the run's 0…\(saved)") }
        var total = saved
        if let requested, requested != saved {
            if let scheduleTotal = schedule.decayEnd {
                throw TrainingError.invalid("--steps \(requested) differs from the run's \(saved) steps, and its \(schedule.name) schedule decays to the floor at step \(scheduleTotal); resume with the run's total, or start a new run with --checkpoint \(directory.path)")
            }
            try RunLimits.check("--steps", requested, 1...RunLimits.steps.upperBound)
            total = requested
        }
        guard step < total else {
            throw TrainingError.invalid("the checkpoint is at step \(step) and the run has \(total) steps: nothing to train" + (requested == nil ? "; give a larger --steps to continue (constant schedule only)" : ""))
        }
        return total
    }

    /// Checks `state` for a run of `parameterCount` parameters with optimizer `optimizer`, `totalSteps` steps and at
    /// most `optimizerStepsPerStep` optimizer steps per training step, and the model checkpoint's own step (its
    /// `model.safetensors` metadata). `reference` is GRPO's reference θ, when the run has one.
    public func check(_ state: TrainerState, modelMetadata: [String: String], parameterCount: Int, optimizer: OptimizerConfig,
                      totalSteps: Int, optimizerStepsPerStep: Int, reference: [Double]? = nil) throws {
        guard state.step >= 0, state.step <= totalSteps else {
            throw invalid("step", "is \(state.step), outside the run's 0…\(totalSteps)")
        }
        guard let modelStep = modelMetadata["step"].flatMap({ Int($0) }) else {
            throw CheckpointError.invalid(path: directory.appendingPathComponent("model.safetensors").path,
                                          reason: "__metadata__ has no step: not a training checkpoint")
        }
        guard modelStep == state.step else {
            throw invalid("step", "is \(state.step) but model.safetensors was saved at step \(modelStep)")
        }
        let (maxOptimizerSteps, overflow) = state.step.multipliedReportingOverflow(by: optimizerStepsPerStep)
        guard state.optimizerStep >= 0, overflow || state.optimizerStep <= maxOptimizerSteps else {
            throw invalid("optimizer_step", "is \(state.optimizerStep), outside 0…\(maxOptimizerSteps) for step \(state.step)")
        }
        if optimizerStepsPerStep == 1 && state.optimizerStep != state.step {
            throw invalid("optimizer_step", "is \(state.optimizerStep) but step is \(state.step)")
        }
        let moments = optimizer.kind == .adamw ? parameterCount : 0
        for (name, values) in [("optimizer.first_moment", state.firstMoment), ("optimizer.second_moment", state.secondMoment)] {
            guard values.count == moments else {
                throw invalid("tensor '\(name)'", "has \(values.count) values; \(optimizer.kind.rawValue) on \(parameterCount) parameters needs \(moments)")
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw invalid("tensor '\(name)'", "holds a non-finite value (\(values[bad])) at index \(bad)")
            }
        }
        if let bad = state.secondMoment.firstIndex(where: { $0 < 0 }) {
            throw invalid("tensor 'optimizer.second_moment'", "holds a negative value (\(state.secondMoment[bad])) at index \(bad)")
        }
        if let reference {
            guard reference.count == parameterCount else {
                throw invalid("tensor 'reference.parameters'", "has \(reference.count) values, the model \(parameterCount)")
            }
            if let bad = reference.firstIndex(where: { !$0.isFinite }) {
                throw invalid("tensor 'reference.parameters'", "holds a non-finite value (\(reference[bad])) at index \(bad)")
            }
        }
    }

    /// Decodes the run settings stored in `trainer.safetensors` (strict JSON: a key twice is an error).
    public func runConfig<C: Decodable>(_ type: C.Type, from json: Data) throws -> C {
        if let key = StrictJSON.duplicateKey(in: json) { throw invalid("__metadata__.run", "names '\(key)' twice") }
        do { return try JSONDecoder().decode(C.self, from: json) } catch {
            throw invalid("__metadata__.run", "is not this kind of run's settings: \(JSONErrorText.describe(error))")
        }
    }
}

extension ResumeValidation {
    /// An SFT or pretraining checkpoint to continue: the checkpoint, its run settings (with the total `steps`
    /// possibly changed, see `totalSteps`) and its checked trainer state.
    public func loadSFT(steps: Int?) throws -> (checkpoint: Checkpoint, config: SFTRunConfig, state: TrainerState) {
        let checkpoint = try Checkpoint.load(from: directory)
        let (state, runJSON, _) = try TrainerState.load(from: directory)
        var config = try runConfig(SFTRunConfig.self, from: runJSON)
        do { try config.validate() } catch let error as TrainingError { throw invalid("__metadata__.run", "\(error)") }
        config.steps = try totalSteps(saved: config.steps, requested: steps, schedule: config.optimizer.schedule, step: state.step)
        try check(state, modelMetadata: checkpoint.metadata, parameterCount: checkpoint.model.layout.count, optimizer: config.optimizer,
                  totalSteps: config.steps, optimizerStepsPerStep: 1)
        return (checkpoint, config, state)
    }

    /// A GRPO checkpoint to continue: as `loadSFT`, plus the reference θ.
    public func loadGRPO(steps: Int?) throws -> (checkpoint: Checkpoint, config: GRPORunConfig, state: TrainerState, reference: [Double]) {
        let checkpoint = try Checkpoint.load(from: directory)
        let (state, runJSON, extra) = try TrainerState.load(from: directory)
        var config = try runConfig(GRPORunConfig.self, from: runJSON)
        do { try config.validate() } catch let error as TrainingError { throw invalid("__metadata__.run", "\(error)") }
        config.steps = try totalSteps(saved: config.steps, requested: steps, schedule: config.optimizer.schedule, step: state.step)
        guard let reference = extra[GRPOTrainer.referenceTensor] else {
            throw invalid("tensor '\(GRPOTrainer.referenceTensor)'", "is missing: not a GRPO checkpoint")
        }
        try check(state, modelMetadata: checkpoint.metadata, parameterCount: checkpoint.model.layout.count, optimizer: config.optimizer,
                  totalSteps: config.steps, optimizerStepsPerStep: config.updatesPerBatch, reference: reference)
        return (checkpoint, config, state, reference)
    }
}

extension RunLimits {
    /// Throws `nonFinite` when θ after an update holds a NaN or infinity, `diverged` when some |θᵢ| exceeds
    /// `maxParameterMagnitude`; `step` is the update's number (1-based).
    public static func checkParameters(_ theta: [Double], step: Int) throws {
        var largest = 0.0
        theta.withUnsafeBufferPointer { p in
            for x in p { largest = max(largest, abs(x)) }
            if theta.contains(where: { $0.isNaN }) { largest = .nan }
        }
        guard largest.isFinite else { throw TrainingError.nonFinite(step: step, what: "parameters") }
        guard largest <= maxParameterMagnitude else { throw TrainingError.diverged(step: step, magnitude: largest) }
    }
}
