import ArgumentParser
import Dynamics
import Foundation

extension RestartScope: ExpressibleByArgument {}

extension OptimizerConfig.Kind: ExpressibleByArgument {}

/// `--schedule`: constant; linear warm-up then cosine to 10 %; or warm-up, stable, then cosine to 10 % over the last
/// `--decay-steps`.
extension ScheduleShape: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train checkpoints: pretraining on the prior tasks, SFT on any dataset, GRPO on jigsaw.",
        discussion: "Each run writes OUT/metrics.csv (one row per step), OUT/eval.csv (with --eval-data), OUT/checkpoints/step-N/ (with --checkpoint-every) and OUT/final/. --resume CKPT continues a run bit-exactly from one of its checkpoints; Ctrl-C saves a checkpoint and stops.",
        subcommands: [Pretrain.self, SFT.self, GRPO.self])

    struct Pretrain: ParsableCommand, DistributedCommand {
        static let configuration = CommandConfiguration(
            abstract: "Next-token loss on response tokens over the prior tasks → the base checkpoint.")

        @Option(name: .long, help: "Preset of the fresh model.")
        var preset: ModelConfig.Preset = .small
        @Option(name: .customLong("init"), help: "Start from this checkpoint instead of a fresh model.")
        var initFrom: String?
        @OptionGroup var initialization: InitializationOptions
        @OptionGroup var sft: SFTOptions
        @OptionGroup var common: CommonTrainingOptions

        func validate() throws {
            if initialization.isSet && (initFrom != nil || common.resume != nil) {
                throw ValidationError("--attention-init-std sets up a fresh model: it cannot be given with --init or --resume")
            }
        }

        func run() throws {
            try sft.run(kind: "pretrain", common: common) {
                if let initFrom { return try Checkpoint.load(from: URL(fileURLWithPath: initFrom)) }
                return try Checkpoint.fresh(preset, seed: common.seed, initialization: initialization.scheme)
            }
        }
    }

    struct SFT: ParsableCommand, DistributedCommand {
        static let configuration = CommandConfiguration(
            commandName: "sft", abstract: "SFT (Eq. 10) from a checkpoint on a dataset: ground truth or rollouts.",
            discussion: "With --optimizer sgd --lr η --steps 1 --batch-size N on a file of N examples this is exactly θ ← θ + η·∇θ J_SFT (no clipping, no decay; the batch is the whole file, summed in file order).")

        @Option(name: .long, help: "The checkpoint to fine-tune.")
        var checkpoint: String?
        @OptionGroup var sft: SFTOptions
        @OptionGroup var common: CommonTrainingOptions

        func run() throws {
            try sft.run(kind: "sft", common: common) {
                guard let checkpoint else { throw ValidationError("--checkpoint is required unless --resume is given") }
                return try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
            }
        }
    }

    struct GRPO: ParsableCommand, DistributedCommand {
        static let configuration = CommandConfiguration(
            commandName: "grpo", abstract: "GRPO (THEORY §7) on prompts with permutation answers (jigsaw, ordering).",
            discussion: "Per update: batch-size × accumulation prompts, G samples each at --temperature, rewards w_hit·R_hit + w_acc·R_acc + w_fmt·R_fmt, group-normalised advantages, k3 KL to the reference with --beta, μ updates with PPO clip ε. Every --restart-every epochs the optimizer is reset and the reference set to the current policy.")

        @Option(name: .long, help: "The starting checkpoint (also the first reference).")
        var checkpoint: String?
        @Option(name: .long, help: "Prompts (JSONL with truth.permutation), e.g. reasoning-style jigsaw.")
        var data: String?
        @Option(name: .long, parsing: .unconditional, help: "Learning rate (the default is SFT's, so the two are compared at equal step sizes; the paper's 1e-6 was for a 3B model).")
        var lr: Double = 1e-3
        @Option(name: [.customShort("G"), .long], parsing: .unconditional, help: "Samples per prompt.")
        var groupSize: Int = 4
        @Option(name: .long, parsing: .unconditional, help: "Sampling temperature τ.")
        var temperature: Double = 1
        @Option(name: .long, parsing: .unconditional, help: "KL coefficient β.")
        var beta: Double = 0.04
        @Option(name: .long, parsing: .unconditional, help: "Prompts per micro-batch.")
        var batchSize: Int = 4
        @Option(name: .long, parsing: .unconditional, help: "Micro-batches per update.")
        var accumulation: Int = 4
        @Option(name: .long, parsing: .unconditional, help: "μ: updates per batch of rollouts.")
        var mu: Int = 1
        @Option(name: .long, parsing: .unconditional, help: "PPO clip ε.")
        var clipEpsilon: Double = 0.2
        @Option(name: .long, parsing: .unconditional, help: "Restart every R epochs (0: never).")
        var restartEvery: Int = 2
        @Option(name: .long, help: "What a restart resets: the reference and the optimizer's moments (THEORY §7), or the reference only.")
        var restartResets: RestartScope = .referenceAndOptimizer
        @Option(name: .long, help: "Reward weights hit,acc,fmt.")
        var weights: String = "1,1,1"
        @OptionGroup var common: CommonTrainingOptions

        func validate() throws {
            try NumericFlag.check("--lr", lr, FlagRange.rate)
            try NumericFlag.check("--group-size (-G)", groupSize, RunLimits.groupSize)
            try NumericFlag.check("--temperature", temperature, FlagRange.temperature, exclusiveLower: true)
            try NumericFlag.check("--beta", beta, FlagRange.rate)
            try NumericFlag.check("--batch-size", batchSize, RunLimits.batchSize)
            try NumericFlag.check("--accumulation", accumulation, RunLimits.accumulation)
            try NumericFlag.check("--mu", mu, RunLimits.updatesPerBatch)
            try NumericFlag.check("--clip-epsilon", clipEpsilon, FlagRange.rate, exclusiveLower: true)
            try NumericFlag.check("--restart-every", restartEvery, RunLimits.restartEvery)
            try NumericFlag.check("--batch-size × --accumulation", batchSize * accumulation, RunLimits.promptsPerStep)
        }

        func run() throws {
            var trainer = try ProcessGroup.world.agree { try TrainingRun.trainer(resume: common.resume, steps: common.steps) { () throws -> GRPOTrainer in
                guard let checkpoint, let data else { throw ValidationError("--checkpoint and --data are required unless --resume is given") }
                guard let steps = common.steps, steps >= 1 else { throw ValidationError("give --steps (≥ 1)") }
                let ckpt = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
                var config = GRPORunConfig(steps: steps, optimizer: try common.optimizerConfig(lr: lr, steps: steps), seed: common.seed, data: data)
                (config.groupSize, config.temperature, config.beta) = (groupSize, temperature, beta)
                (config.batchSize, config.accumulation, config.updatesPerBatch) = (batchSize, accumulation, mu)
                (config.clipEpsilon, config.restartEvery, config.weights) = (clipEpsilon, restartEvery, try RewardWeights(parsing: weights))
                config.restartScope = restartResets == .referenceAndOptimizer ? nil : restartResets
                return try GRPOTrainer(checkpoint: ckpt, config: config)
            } }
            try common.drive(&trainer, kind: "grpo")
        }
    }
}

/// Options of SFT and pretraining.
struct SFTOptions: ParsableArguments {
    @Option(name: .long, help: "Training examples (JSONL).")
    var data: String?
    @Option(name: .long, parsing: .unconditional, help: "Passes over the data (instead of --steps).")
    var epochs: Double?
    @Option(name: .long, parsing: .unconditional, help: "Examples per step.")
    var batchSize: Int = 32
    @Option(name: .long, parsing: .unconditional, help: "Learning rate.")
    var lr: Double = 1e-3
    @Flag(name: .long, help: "Walk the data in file order instead of reshuffling every epoch.")
    var noShuffle = false

    func validate() throws {
        try NumericFlag.check("--epochs", epochs, FlagRange.epochs, exclusiveLower: true)
        try NumericFlag.check("--batch-size", batchSize, RunLimits.batchSize)
        try NumericFlag.check("--lr", lr, FlagRange.rate)
    }

    func run(kind: String, common: CommonTrainingOptions, start: () throws -> Checkpoint) throws {
        var trainer = try ProcessGroup.world.agree { try TrainingRun.trainer(resume: common.resume, steps: common.steps) { () throws -> SFTTrainer in
            let ckpt = try start()
            guard let data else { throw ValidationError("--data is required") }
            let total = try validating { try SFTRunConfig.totalSteps(steps: common.steps, epochs: epochs, data: data, batchSize: batchSize) }
            return try SFTTrainer(checkpoint: ckpt, config: SFTRunConfig(steps: total, batchSize: batchSize, optimizer: try common.optimizerConfig(lr: lr, steps: total),
                                                                       seed: common.seed, shuffle: !noShuffle, data: data))
        } }
        try common.drive(&trainer, kind: kind)
    }
}

/// Options every training command shares, and the progress display of a `TrainingRun`.
struct CommonTrainingOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Total optimizer steps.")
    var steps: Int?
    @Option(name: .long, help: "sgd or adamw.")
    var optimizer: OptimizerConfig.Kind = .adamw
    @Option(name: .long, help: "constant, cosine (linear warm-up, then cosine to 10%) or wsd (linear warm-up, the peak rate, then cosine to 10% over the last --decay-steps).")
    var schedule: ScheduleShape = .constant
    @Option(name: .long, parsing: .unconditional, help: "Warm-up steps of the cosine and wsd schedules.")
    var warmup: Int = 0
    @Option(name: .long, parsing: .unconditional, help: "Steps of the wsd schedule's final decay (default: a fifth of the run).")
    var decaySteps: Int?
    @Option(name: .long, parsing: .unconditional, help: "Global gradient-norm clipping (off when absent).")
    var clip: Double?
    @Option(name: .long, parsing: .unconditional, help: "AdamW weight decay on weight matrices.")
    var weightDecay: Double = 0
    @Option(name: .long, help: ArgumentHelp("A learning-rate factor NAME=FACTOR for the tensors NAME names (repeatable): a tensor (patch_emb.weight) or a prefix ending at a dot (patch_emb, blocks.0); the longest name that matches wins.", valueName: "name=factor"))
    var lrScale: [String] = []
    @Option(name: .long, parsing: .unconditional, help: "Seed of the data order, the samples and a fresh model.")
    var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "Write a checkpoint every N steps (0: only at the end).")
    var checkpointEvery: Int = 0
    @Option(name: .long, help: "Examples to evaluate on periodically (JSONL with truth; repeatable: e.g. the prior tasks' and the new task's test sets, summarised per task in one eval.csv).")
    var evalData: [String] = []
    @Option(name: .long, parsing: .unconditional, help: "Evaluate (and measure probes, unless --probe-every) every N steps, and at the end.")
    var evalEvery: Int = 0
    @Option(name: .long, parsing: .unconditional, help: "Measure the probe sets every N steps (default: at every evaluation), at step 0 and at the end.")
    var probeEvery: Int?
    @Option(name: .long, help: "A probe set NAME=FILE (repeatable): its responses' perplexities go to probes.csv at every evaluation (or every --probe-every steps).")
    var probe: [String] = []
    @Option(name: .long, parsing: .unconditional, help: "Evaluate on the first N examples of each --eval-data file.")
    var evalLimit: Int = 200
    @Option(name: .long, help: "Continue a run from one of its checkpoints (its settings come from the checkpoint).")
    var resume: String?
    @OptionGroup var threads: ThreadsOption
    @Option(name: .long, help: "Run folder.")
    var out: String
    @Flag(name: .long, help: "Write into an existing run folder.")
    var force = false

    func validate() throws {
        try NumericFlag.check("--steps", steps, FlagRange.steps)
        try NumericFlag.check("--warmup", warmup, RunLimits.warmup)
        try NumericFlag.check("--decay-steps", decaySteps, FlagRange.steps)
        if decaySteps != nil && schedule != .wsd { throw ValidationError("--decay-steps sets the wsd schedule's decay: give it with --schedule wsd") }
        try NumericFlag.check("--clip", clip, FlagRange.rate, exclusiveLower: true)
        try NumericFlag.check("--weight-decay", weightDecay, FlagRange.rate)
        try NumericFlag.check("--checkpoint-every", checkpointEvery, FlagRange.period)
        try NumericFlag.check("--eval-every", evalEvery, FlagRange.period)
        try NumericFlag.check("--probe-every", probeEvery, FlagRange.period)
        try NumericFlag.check("--eval-limit", evalLimit, FlagRange.count)
        try SafeOutput.checkPath(out)
        if !lrScale.isEmpty && resume != nil {
            throw ValidationError("--lr-scale cannot be given with --resume: a resumed run keeps its own learning-rate scales")
        }
        _ = try learningRateScales()
    }

    /// `--lr-scale`, parsed and checked (nil when none is given, so the run's settings keep their bytes).
    func learningRateScales() throws -> [LearningRateScale]? {
        guard !lrScale.isEmpty else { return nil }
        do {
            let scales = try lrScale.map { try LearningRateScale(parsing: $0) }
            try LearningRateScale.validate(scales)
            return scales
        } catch let problem as TrainingError { throw ValidationError("--lr-scale: \(problem)") }
    }

    func optimizerConfig(lr: Double, steps: Int) throws -> OptimizerConfig {
        try OptimizerConfig.training(optimizer, learningRate: lr, schedule: schedule, warmup: warmup, decaySteps: decaySteps, steps: steps, clipNorm: clip,
                                     weightDecay: weightDecay, learningRateScales: try learningRateScales())
    }

    /// The run's settings from the flags.
    func settings(kind: String) throws -> TrainingRunSettings {
        var s = try validating { try TrainingRunSettings(out: out, kind: kind, force: force, checkpointEvery: checkpointEvery, evalData: evalData, evalEvery: evalEvery,
                                                         evalLimit: evalLimit, probes: probe, threads: threads.threads, command: commandLine, resumedFrom: resume) }
        s.probeEvery = probeEvery
        return s
    }

    /// Runs `trainer` to its total steps with progress on stderr; Ctrl-C saves a checkpoint and exits with status 130.
    func drive<T: Trainer>(_ trainer: inout T, kind: String) throws where T.Record: ProgressFigures {
        var hooks = TrainingRunHooks<T.Record>()
        var progress: Progress?
        let interrupt = InterruptFlag { note("interrupt received: saving at the end of this step (Ctrl-C again to abort)") }
        hooks.started = { progress = Progress(kind, total: $0, unit: "steps") }
        hooks.stepped = { progress?.advance(detail: $0.progressDetail) }
        hooks.evaluated = { step, summary in
            note("eval @\(step): " + summary.filter { $0.style == "all" }.map { String(format: "%@ %.3f", $0.task, $0.accuracy) }.joined(separator: "  "))
        }
        hooks.shouldStop = { interrupt.raised }
        let group = ProcessGroup.world
        switch try TrainingRun(settings(kind: kind)).run(&trainer, group: group, hooks: hooks) {
        case let .interrupted(dir):
            note("interrupted: saved \(dir.path); continue with --resume \(dir.path)")
            throw ExitCode(130)
        case let .finished(final):
            print("\(kind): \(trainer.step) steps\(group.size > 1 ? " on \(group.size) ranks" : ""); final checkpoint \(final.path)")
        }
    }
}

/// A step record's few figures for the progress line.
protocol ProgressFigures { var progressDetail: String { get } }

extension SFTStepRecord: ProgressFigures {
    var progressDetail: String { String(format: "loss %.4f  lr %.2e  |g| %.3f", loss, report.learningRate, report.gradientNorm) }
}

extension GRPOStepRecord: ProgressFigures {
    var progressDetail: String {
        String(format: "reward %.3f (fmt %.2f hit %.2f acc %.2f)  kl %.4f  |g| %.3f%@", reward.mean, format.mean, hit.mean, accuracy.mean, kl,
               report.gradientNorm, restarted ? "  restart" : "")
    }
}
