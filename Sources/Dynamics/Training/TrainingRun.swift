import Foundation

/// What a training run writes beside its checkpoints, and when: the `train` commands' shared settings.
public struct TrainingRunSettings: Sendable {
    /// The run folder, as given (run records quote it).
    public var out: String
    /// Write into an existing run folder.
    public var force = false
    /// A checkpoint every N steps (0: only the final one).
    public var checkpointEvery = 0
    /// Example files to evaluate on every `evalEvery` steps and at the end (JSONL with truth), the first `evalLimit`
    /// of each: e.g. the prior tasks' test set and the novel task's, so that eval.csv traces learning and forgetting
    /// together (`ForgettingCurve`).
    public var evalData: [String] = []
    public var evalEvery = 0
    /// Probe perplexities every N steps (nil: at every evaluation, `evalEvery`); always at step 0 and at the end. A
    /// dense evaluation cadence (a forgetting curve) need not pay for large probe sets at every point.
    public var probeEvery: Int?
    public var evalLimit = 200
    /// Probe sets (name, examples file) whose perplexities go to probes.csv at every evaluation.
    public var probes: [(name: String, path: String)] = []
    public var threads = Parallel.defaultThreads
    /// The command line, for the run records of the checkpoints.
    public var command: [String] = []
    /// "pretrain", "sft" or "grpo".
    public var kind: String
    /// The checkpoint a resumed run continues (the run records' parent).
    public var resumedFrom: String?

    public init(out: String, kind: String) {
        self.out = out
        self.kind = kind
    }

    /// The settings from a command line's values; each of `probes` is `NAME=FILE` (`--probe`).
    public init(out: String, kind: String, force: Bool, checkpointEvery: Int, evalData: [String], evalEvery: Int, evalLimit: Int, probes: [String],
                threads: Int, command: [String], resumedFrom: String?) throws {
        self.init(out: out, kind: kind)
        (self.force, self.checkpointEvery, self.evalData, self.evalEvery, self.evalLimit) = (force, checkpointEvery, evalData, evalEvery, evalLimit)
        (self.threads, self.command, self.resumedFrom) = (threads, command, resumedFrom)
        self.probes = try probes.map { spec in
            let (name, path) = try FlagRange.namedValue(spec, flag: "--probe", value: "FILE")
            return (name, path)
        }
    }
}

/// How a run ended: at its total steps (the final checkpoint) or stopped early (a checkpoint to resume from).
public enum TrainingOutcome: Equatable, Sendable {
    case finished(final: URL)
    case interrupted(checkpoint: URL)
}

/// What a caller sees of a running run: progress, evaluations, and a way to stop it between steps.
public struct TrainingRunHooks<Record> {
    /// Once, after the first measurement, with the steps still to take.
    public var started: (Int) -> Void = { _ in }
    /// After every step.
    public var stepped: (Record) -> Void = { _ in }
    /// After every periodic evaluation (with --eval-data): the step and the per-task summary.
    public var evaluated: (Int, [TaskSummary]) -> Void = { _, _ in }
    /// Asked before every step; true saves a checkpoint and ends the run (`TrainingOutcome.interrupted`).
    public var shouldStop: () -> Bool = { false }

    public init() {}
}

/// Drives a `Trainer` to its total steps in a run folder (ARCHITECTURE: the library owns the loop, the executable
/// parses and shows progress): `metrics.csv` every step, `eval.csv` and `probes.csv` at step 0, every `evalEvery`
/// steps (probes: every `probeEvery`, by default the same) and at the end, checkpoints every `checkpointEvery` steps
/// and `final/`, a TensorBoard event file mirroring the three logs. A resumed trainer (step > 0) continues the logs of the folder it writes into.
public struct TrainingRun: Sendable {
    public let settings: TrainingRunSettings

    public init(_ settings: TrainingRunSettings) { self.settings = settings }

    /// Under MPI (`group` of several ranks) every rank takes every step on its slice of the batch (see `Trainer.group`)
    /// and holds the same θ after it; rank 0 alone writes the folder, evaluates and decides to stop.
    public func run<T: Trainer>(_ trainer: inout T, group: ProcessGroup = .single,
                                hooks: TrainingRunHooks<T.Record> = TrainingRunHooks()) throws -> TrainingOutcome {
        let s = settings
        trainer.group = group
        guard group.isRoot else { return try follow(&trainer, group: group) }
        let run = try RunDirectory(url: URL(fileURLWithPath: s.out), force: s.force)
        // A resumed run continues the logs of the folder it writes into (rows up to its step are kept).
        let continuing = trainer.step > 0 ? trainer.step : nil
        let metrics = try CSVLog(url: run.metrics, header: T.metricsHeader, continuingAfter: continuing)
        let evaluator = try s.evalData.isEmpty ? nil
            : PeriodicEvaluation(paths: s.evalData, limit: s.evalLimit, tokenizer: trainer.tokenizer, config: trainer.model.config,
                                 log: run.evaluations, continuingAfter: continuing)
        let probes = try ProbeSets.load(s.probes, tokenizer: trainer.tokenizer, config: trainer.model.config)
        let probeLog = try probes.map { _ in
            try CSVLog(url: run.url.appendingPathComponent("probes.csv"), header: ProbeSets.header, continuingAfter: continuing)
        }
        // TensorBoard: every row of metrics.csv, eval.csv and probes.csv also goes to an event file in the run folder.
        let events = try TensorBoardEventFile(folder: run.url)
        metrics.mirror = events.mirror(section: "train")
        evaluator?.log.mirror = events.mirror(section: "eval")
        probeLog?.mirror = events.mirror(section: "probes")
        let probeEvery = s.probeEvery ?? s.evalEvery
        let measure = { (model: Transformer, step: Int, evaluate: Bool, probe: Bool) throws in
            if evaluate, let evaluator { hooks.evaluated(step, try evaluator.evaluate(model, step: step, threads: s.threads)) }
            if probe, let probes, let probeLog {
                for row in try probes.rows(model, step: step, threads: s.threads) { try probeLog.append(row) }
            }
        }
        if trainer.step == 0 { try measure(trainer.model, 0, true, true) }
        let (data, seed) = (trainer.runData, trainer.runSeed)
        let record = { (step: Int) in
            RunRecord(command: s.command, inputs: ["parent": s.resumedFrom ?? "(\(s.kind) start)", "data": data], outputs: [s.out],
                      details: ["kind": s.kind, "step": String(step), "seed": String(seed)])
        }
        hooks.started(trainer.totalSteps - trainer.step)
        while trainer.step < trainer.totalSteps {
            if try group.sum(hooks.shouldStop() ? 1 : 0) > 0 {
                let dir = run.checkpoint(step: trainer.step)
                try trainer.save(to: dir, record: record(trainer.step), overwrite: true)
                return .interrupted(checkpoint: dir)
            }
            let r = try trainer.trainStep(threads: s.threads)
            try metrics.append(T.metricsRow(r))
            hooks.stepped(r)
            let step = trainer.step
            if s.checkpointEvery > 0 && step % s.checkpointEvery == 0 && step < trainer.totalSteps {
                try trainer.save(to: run.checkpoint(step: step), record: record(step), overwrite: true)
            }
            guard step < trainer.totalSteps else { continue }
            let evaluate = s.evalEvery > 0 && step % s.evalEvery == 0, probe = probeEvery > 0 && step % probeEvery == 0
            if evaluate || probe { try measure(trainer.model, step, evaluate, probe) }
        }
        try trainer.save(to: run.final, record: record(trainer.step), overwrite: true)
        try measure(trainer.model, trainer.step, true, true)
        return .finished(final: run.final)
    }

    /// A rank other than 0: the same steps, no files; stops when rank 0 does.
    private func follow<T: Trainer>(_ trainer: inout T, group: ProcessGroup) throws -> TrainingOutcome {
        let out = URL(fileURLWithPath: settings.out)
        while trainer.step < trainer.totalSteps {
            if try group.sum(0) > 0 { return .interrupted(checkpoint: out) }
            _ = try trainer.trainStep(threads: settings.threads)
        }
        return .finished(final: out)
    }
}

/// Greedy evaluation on a fixed subset during training (the first `limit` examples of each file), appended to eval.csv
/// as one summary per task over all the files.
struct PeriodicEvaluation {
    let examples: [Example]
    let encoded: [EncodedExample]
    let tokenizer: Tokenizer
    let log: CSVLog

    init(paths: [String], limit: Int, tokenizer: Tokenizer, config: ModelConfig, log url: URL, continuingAfter step: Int?) throws {
        var examples: [Example] = [], encoded: [EncodedExample] = []
        for path in paths {
            let file = try ExampleFile(url: URL(fileURLWithPath: path))
            let subset = Array(file.examples.prefix(limit))
            examples += subset
            encoded += try subset.map { try EncodedExample($0, file: file, tokenizer: tokenizer, config: config) }
        }
        (self.examples, self.encoded) = (examples, encoded)
        self.tokenizer = tokenizer
        log = try CSVLog(url: url, header: ["step"] + EvaluationReport.summaryTable([]).header, continuingAfter: step)
    }

    /// Scores the model's greedy answers, appends the summary rows at `step` and returns the summary.
    func evaluate(_ model: Transformer, step: Int, threads: Int) throws -> [TaskSummary] {
        let generator = try AnswerGenerator(model: model, tokenizer: tokenizer)
        let encoded = self.encoded
        let outputs = try Parallel.map(encoded.count, threads: threads) { try generator.outputs(encoded[$0])[0] }
        let scored = try zip(examples, outputs).map { try TaskScorer.score($0, output: $1) }
        let summary = TaskSummary.summarise(scored)
        for row in EvaluationReport.summaryTable(summary).rows { try log.append([.int(step)] + row.map { .string($0) }) }
        return summary
    }
}

extension ProbeSets {
    /// The probe sets (name, examples file), encoded; nil when there are none.
    public static func load(_ specs: [(name: String, path: String)], tokenizer: Tokenizer, config: ModelConfig) throws -> ProbeSets? {
        guard !specs.isEmpty else { return nil }
        let sets = try specs.map { try EncodedExample.all(ExampleFile(url: URL(fileURLWithPath: $0.path)), tokenizer: tokenizer, config: config) }
        return ProbeSets(names: specs.map(\.name), sets: sets)
    }
}
