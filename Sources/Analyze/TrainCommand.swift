import ArgumentParser
import Dispatch
import Dynamics
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train checkpoints: pretraining on the prior tasks, SFT on any dataset.",
        subcommands: [Pretrain.self, SFT.self])

    struct Pretrain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Next-token loss on response tokens over the prior tasks → the base checkpoint.",
            discussion: "Starts from a fresh --preset model (or --init CKPT). Writes OUT/metrics.csv, OUT/eval.csv, OUT/checkpoints/step-N/ and OUT/final/.")

        @Option(name: .long, help: "Preset of the fresh model.")
        var preset: String = "small"
        @Option(name: .long, help: "Start from this checkpoint instead of a fresh model.")
        var initFrom: String?
        @OptionGroup var training: TrainingOptions

        func run() throws {
            try training.run(kind: "pretrain") { tokenizer in
                if let initFrom { return try Checkpoint.load(from: URL(fileURLWithPath: initFrom)) }
                guard let p = ModelConfig.Preset(rawValue: preset) else { throw ValidationError("unknown preset '\(preset)'") }
                let tokenizer = try Tokenizer.standard()
                return try Checkpoint(model: Transformer(config: .preset(p, vocabSize: tokenizer.count), seed: training.seed), tokenizer: tokenizer)
            }
        }
    }

    struct SFT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sft", abstract: "SFT (Eq. 10) from a checkpoint on a dataset: ground truth or rollouts.",
            discussion: "With --optimizer sgd --lr η --steps 1 --batch-size N on a file of N examples this is exactly θ ← θ + η·∇θ J_SFT (no clipping, no decay; the batch is the whole file).")

        @Option(name: .long, help: "The checkpoint to fine-tune.")
        var checkpoint: String?
        @OptionGroup var training: TrainingOptions

        func run() throws {
            try training.run(kind: "sft") { _ in
                guard let checkpoint else { throw ValidationError("--checkpoint is required unless --resume is given") }
                return try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
            }
        }
    }
}

/// The options and the loop shared by pretraining and SFT.
struct TrainingOptions: ParsableArguments {
    @Option(name: .long, help: "Training examples (JSONL).")
    var data: String?
    @Option(name: .long, help: "Total optimizer steps (or use --epochs).")
    var steps: Int?
    @Option(name: .long, help: "Passes over the data (sets --steps).")
    var epochs: Double?
    @Option(name: .long, help: "Examples per step.")
    var batchSize: Int = 32
    @Option(name: .long, help: "sgd or adamw.")
    var optimizer: String = "adamw"
    @Option(name: .long, help: "Learning rate.")
    var lr: Double = 1e-3
    @Option(name: .long, help: "constant or cosine (linear warm-up, then cosine to 10%).")
    var schedule: String = "constant"
    @Option(name: .long, help: "Warm-up steps of the cosine schedule.")
    var warmup: Int = 0
    @Option(name: .long, help: "Global gradient-norm clipping (off when absent).")
    var clip: Double?
    @Option(name: .long, help: "AdamW weight decay on weight matrices.")
    var weightDecay: Double = 0
    @Flag(name: .long, help: "Walk the data in file order instead of reshuffling every epoch.")
    var noShuffle = false
    @Option(name: .long, help: "Seed of the data order (and of a fresh model).")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Write a checkpoint every N steps (0: only at the end).")
    var checkpointEvery: Int = 0
    @Option(name: .long, help: "Examples to evaluate on periodically (JSONL with truth).")
    var evalData: String?
    @Option(name: .long, help: "Evaluate every N steps (and at the end) when --eval-data is given.")
    var evalEvery: Int = 0
    @Option(name: .long, help: "Evaluate on the first N examples of --eval-data.")
    var evalLimit: Int = 200
    @Option(name: .long, help: "Continue a run from one of its checkpoints (run settings come from the checkpoint).")
    var resume: String?
    @OptionGroup var threads: ThreadsOption
    @Option(name: .long, help: "Run folder.")
    var out: String
    @Flag(name: .long, help: "Write into an existing run folder.")
    var force = false

    func optimizerConfig(steps: Int) throws -> OptimizerConfig {
        guard let kind = OptimizerConfig.Kind(rawValue: optimizer) else { throw ValidationError("unknown optimizer '\(optimizer)'; choose sgd or adamw") }
        let sched: LearningRateSchedule
        switch schedule {
        case "constant": sched = .constant
        case "cosine": sched = .warmupCosine(warmup: warmup, total: steps, floor: 0.1)
        default: throw ValidationError("unknown schedule '\(schedule)'; choose constant or cosine")
        }
        let config = OptimizerConfig(kind: kind, learningRate: lr, schedule: sched, clipNorm: clip, weightDecay: weightDecay)
        try config.validate()
        return config
    }

    /// Loads or creates the starting point, trains, writes checkpoints, metrics and evaluations.
    func run(kind: String, start: (Tokenizer?) throws -> Checkpoint) throws {
        var ckpt: Checkpoint
        var runConfig: SFTRunConfig
        var state: TrainerState? = nil
        if let resume {
            let dir = URL(fileURLWithPath: resume)
            ckpt = try Checkpoint.load(from: dir)
            let (s, runJSON) = try TrainerState.load(from: dir)
            runConfig = try JSONDecoder().decode(SFTRunConfig.self, from: runJSON)
            if let steps { runConfig.steps = steps }
            state = s
        } else {
            ckpt = try start(nil)
            guard let data else { throw ValidationError("--data is required") }
            let file = try ExampleFile(url: URL(fileURLWithPath: data))
            let perEpoch = (file.examples.count + batchSize - 1) / batchSize
            guard let total = steps ?? epochs.map({ Int(($0 * Double(perEpoch)).rounded(.up)) }), total >= 1 else {
                throw ValidationError("give --steps or --epochs (≥ 1 step)")
            }
            runConfig = SFTRunConfig(steps: total, batchSize: batchSize, optimizer: try optimizerConfig(steps: total), seed: seed,
                                     shuffle: !noShuffle, data: data)
        }
        let file = try ExampleFile(url: URL(fileURLWithPath: runConfig.data))
        let encoded = try EncodedExample.all(file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)
        var trainer = try state.map { try SFTTrainer(model: ckpt.model, data: encoded, config: runConfig, state: $0) }
            ?? SFTTrainer(model: ckpt.model, data: encoded, config: runConfig)
        let run = try RunDirectory(url: URL(fileURLWithPath: out), force: force)
        let metrics = try CSVLog(url: run.metrics, header: SFTTrainer.metricsHeader)
        let evaluator = try evalData.map { try PeriodicEvaluation(path: $0, limit: evalLimit, tokenizer: ckpt.tokenizer, config: ckpt.model.config, log: run.evaluations) }
        let record = { (step: Int) in
            RunRecord(command: commandLine, inputs: ["parent": resume ?? "(\(kind) start)", "data": runConfig.data],
                      outputs: [out], details: ["kind": kind, "step": String(step), "seed": String(runConfig.seed)])
        }
        let interrupt = InterruptFlag()
        let progress = Progress(kind, total: runConfig.steps - trainer.step, unit: "steps")
        while trainer.step < runConfig.steps {
            if interrupt.raised {
                let dir = run.checkpoint(step: trainer.step)
                try trainer.save(to: dir, tokenizer: ckpt.tokenizer, record: record(trainer.step), overwrite: true)
                note("interrupted: saved \(dir.path); resume with --resume \(dir.path)")
                throw ExitCode(130)
            }
            let r = try trainer.trainStep(threads: threads.threads)
            try metrics.append(SFTTrainer.metricsRow(r))
            progress.advance(detail: String(format: "loss %.4f  lr %.2e  |g| %.3f", r.loss, r.report.learningRate, r.report.gradientNorm))
            if checkpointEvery > 0 && r.step % checkpointEvery == 0 && r.step < runConfig.steps {
                try trainer.save(to: run.checkpoint(step: r.step), tokenizer: ckpt.tokenizer, record: record(r.step), overwrite: true)
            }
            if let evaluator, evalEvery > 0, r.step % evalEvery == 0, r.step < runConfig.steps {
                try evaluator.evaluate(trainer.model, step: r.step, threads: threads.threads)
            }
        }
        try trainer.save(to: run.final, tokenizer: ckpt.tokenizer, record: record(trainer.step), overwrite: true)
        if let evaluator { try evaluator.evaluate(trainer.model, step: trainer.step, threads: threads.threads) }
        print("\(kind): \(trainer.step) steps; final checkpoint \(run.final.path)")
    }
}

/// Greedy evaluation on a fixed subset during training, appended to eval.csv and summarised on stderr.
struct PeriodicEvaluation {
    let examples: [Example]
    let encoded: [EncodedExample]
    let tokenizer: Tokenizer
    let log: CSVLog

    init(path: String, limit: Int, tokenizer: Tokenizer, config: ModelConfig, log url: URL) throws {
        let file = try ExampleFile(url: URL(fileURLWithPath: path))
        examples = Array(file.examples.prefix(max(1, limit)))
        encoded = try examples.map { try EncodedExample($0, file: file, tokenizer: tokenizer, config: config) }
        self.tokenizer = tokenizer
        log = try CSVLog(url: url, header: ["step"] + EvaluationReport.summaryTable([]).header)
    }

    func evaluate(_ model: Transformer, step: Int, threads: Int) throws {
        let generator = try AnswerGenerator(model: model, tokenizer: tokenizer)
        let encoded = self.encoded
        let outputs = try Parallel.map(encoded.count, threads: threads) { try generator.outputs(encoded[$0])[0] }
        let scored = try zip(examples, outputs).map { try TaskScorer.score($0, output: $1) }
        let summary = TaskSummary.summarise(scored)
        for row in EvaluationReport.summaryTable(summary).rows { try log.append([.int(step)] + row.map { .string($0) }) }
        note("eval @\(step): " + summary.filter { $0.style == "all" }.map { String(format: "%@ %.3f", $0.task, $0.accuracy) }.joined(separator: "  "))
    }
}

/// Set by SIGINT: the training loop saves a checkpoint and stops at the next step boundary.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            lock.lock(); value = true; lock.unlock()
            note("interrupt received: saving at the end of this step (Ctrl-C again to abort)")
            signal(SIGINT, SIG_DFL)
        }
        source.resume()
    }

    var raised: Bool {
        lock.lock(); defer { lock.unlock() }
        return value
    }
}
