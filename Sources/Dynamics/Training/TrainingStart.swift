import Foundation

/// A trainer that can continue a run from one of its checkpoints.
public protocol ResumableTrainer: Trainer {
    /// The run saved in checkpoint `directory`, checked by `ResumeValidation`, with its total steps changed to
    /// `steps` when given (constant schedules only), its data re-read from the run's file.
    static func resuming(_ directory: URL, steps: Int?) throws -> Self
}

extension TrainingRun {
    /// The trainer of a run: resumed from `resume` when given (its settings come from the checkpoint), else `fresh()`.
    public static func trainer<T: ResumableTrainer>(resume: String?, steps: Int?, fresh: () throws -> T) throws -> T {
        if let resume { return try T.resuming(URL(fileURLWithPath: resume), steps: steps) }
        return try fresh()
    }
}

extension SFTTrainer: ResumableTrainer {
    /// A run of `checkpoint` on the examples of `config.data` (continuing `state` when given).
    public init(checkpoint: Checkpoint, config: SFTRunConfig, state: TrainerState? = nil) throws {
        let file = try ExampleFile(url: URL(fileURLWithPath: config.data))
        let encoded = try EncodedExample.all(file, tokenizer: checkpoint.tokenizer, config: checkpoint.model.config)
        if let state {
            try self.init(model: checkpoint.model, tokenizer: checkpoint.tokenizer, data: encoded, config: config, state: state)
        } else {
            try self.init(model: checkpoint.model, tokenizer: checkpoint.tokenizer, data: encoded, config: config)
        }
    }

    public static func resuming(_ directory: URL, steps: Int?) throws -> SFTTrainer {
        let r = try ResumeValidation(directory: directory).loadSFT(steps: steps)
        return try SFTTrainer(checkpoint: r.checkpoint, config: r.config, state: r.state)
    }
}

extension GRPOTrainer: ResumableTrainer {
    /// A run of `checkpoint` on the prompts of `config.data` (continuing `state` and its reference θ when given).
    public init(checkpoint: Checkpoint, config: GRPORunConfig, resumed: (state: TrainerState, reference: [Double])? = nil) throws {
        let file = try ExampleFile(url: URL(fileURLWithPath: config.data))
        let prompts = try EncodedExample.all(file, tokenizer: checkpoint.tokenizer, config: checkpoint.model.config)
        if let resumed {
            try self.init(model: checkpoint.model, tokenizer: checkpoint.tokenizer, examples: file.examples, prompts: prompts, config: config,
                          state: resumed.state, referenceParameters: resumed.reference)
        } else {
            try self.init(model: checkpoint.model, tokenizer: checkpoint.tokenizer, examples: file.examples, prompts: prompts, config: config)
        }
    }

    public static func resuming(_ directory: URL, steps: Int?) throws -> GRPOTrainer {
        let r = try ResumeValidation(directory: directory).loadGRPO(steps: steps)
        return try GRPOTrainer(checkpoint: r.checkpoint, config: r.config, resumed: (r.state, r.reference))
    }
}
