import ArgumentParser
import Dynamics
import Foundation

struct EvalCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Generate answers with a checkpoint and score them with each task's metric and the jigsaw rewards.",
        discussion: "Writes OUT (one row per output: id,task,style,output,correct,score,reward_fmt,reward_hit,reward_acc,sample), OUT.summary.csv (per task and style, then style=all over both: n, accuracy, mean score, answer-block rate, POPE F1, mean rewards, and for permutation tasks permutation_rate, the fraction of answers that are a permutation of 0…k−1 in either style) and OUT.meta.json; stdout gets one summary line, the per-task figures go to stderr. Greedy by default; --sample N draws N outputs per example at --temperature. --oracle scores the ground-truth responses instead (no checkpoint needed).")

    @Option(name: .long, help: "Checkpoint directory.")
    var checkpoint: String?
    @Option(name: .long, help: "Examples file (JSONL with truth).")
    var data: String
    @Option(name: .long, parsing: .unconditional, help: "Outputs per example, sampled at --temperature.")
    var sample: Int?
    @Option(name: .long, parsing: .unconditional, help: "Sampling temperature (with --sample; default 1).")
    var temperature: Double?
    @Option(name: .long, parsing: .unconditional, help: "Evaluate only the first N examples.")
    var limit: Int?
    @Option(name: .long, parsing: .unconditional, help: "Seed of the sampling streams.")
    var seed: UInt64 = 0
    @Flag(name: .long, help: "Score the ground-truth responses as outputs (a check of the metrics: 100%).")
    var oracle = false
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--sample", sample, FlagRange.perItem)
        try NumericFlag.check("--temperature", temperature, FlagRange.temperature, exclusiveLower: true)
        try NumericFlag.check("--limit", limit, FlagRange.count)
    }

    func run() throws {
        let group = ProcessGroup.world
        let (file, examples, generator) = try group.agree { () -> (ExampleFile, [Example], AnswerGenerator?) in
            if group.isRoot { try output.checkWritable([output.url, output.sibling("summary.csv"), output.sibling("meta.json")]) }
            let file = try ExampleFile(url: URL(fileURLWithPath: data))
            return (file, Array(file.examples.prefix(limit ?? file.examples.count)), oracle ? nil : try makeGenerator())
        }
        let progress = group.progress("eval", total: examples.count, unit: "examples")
        guard let outputs = try generator.map({ try $0.outputs(examples, file: file, group: group, threads: threads.threads, progress: progress) })
                ?? (group.isRoot ? examples.map { [$0.response] } : nil) else { return }
        let scored = try zip(examples, outputs).flatMap { e, outs in try outs.map { try TaskScorer.score(e, output: $0) } }
        try EvaluationWriter.write(scored, output: output, record: RunRecord(
            command: commandLine, inputs: ["checkpoint": checkpoint ?? "(oracle)", "data": data],
            details: AnswerGenerator.runDetails(samples: sample, temperature: temperature, seed: seed, oracle: oracle)))
    }

    /// The checkpoint's generator: greedy, or --sample outputs at --temperature.
    func makeGenerator() throws -> AnswerGenerator {
        guard let checkpoint else { throw ValidationError("--checkpoint is required unless --oracle is given") }
        return try AnswerGenerator(checkpoint: try Checkpoint.load(from: URL(fileURLWithPath: checkpoint)), samples: sample, temperature: temperature, seed: seed)
    }
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Score outputs produced elsewhere (JSONL: id, output) with the same metrics and rewards as eval.")

    @Option(name: .long, help: "Examples file (JSONL with truth).")
    var data: String
    @Option(name: .long, help: "Outputs file: JSONL with id and output per line (several lines per id allowed).")
    var outputs: String
    @OptionGroup var output: OutputOption

    func run() throws {
        try output.checkWritable([output.url, output.sibling("summary.csv"), output.sibling("meta.json")])
        let file = try ExampleFile(url: URL(fileURLWithPath: data))
        let given = try OutputsFile.read(URL(fileURLWithPath: outputs))
        let scored = try given.map { try TaskScorer.score(try file.example(id: $0.id), output: $0.output) }
        try EvaluationWriter.write(scored, output: output, record: RunRecord(command: commandLine, inputs: ["data": data, "outputs": outputs]))
    }
}

/// Writes the evaluation CSVs and prints the per-task summary.
enum EvaluationWriter {
    static func write(_ scored: [ScoredOutput], output: OutputOption, record: RunRecord) throws {
        let (lines, result) = try EvaluationReport.write(scored, out: output.out, record: record)
        lines.forEach { note($0) }
        print(result)
    }
}
