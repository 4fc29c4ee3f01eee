import ArgumentParser
import Dynamics
import Foundation

struct PerplexityCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity distributions under the base model (THEORY §6, the paper's Fig. 5) and the test of its claim g_R < g_GT.",
        discussion: PerplexityReport.outputs)

    @Option(name: .long, help: "The base checkpoint π_0: it samples two of the sources and scores every response.")
    var base: String
    @Option(name: .long, help: "The fine-tuned checkpoint π_R (GRPO, SFT-GT or SFT on rollouts).")
    var policy: String
    @Option(name: .long, help: "Questions (world examples, JSONL, either style).")
    var data: String
    @Option(name: .long, help: "Q: the first Q examples of --data.")
    var questions: Int = 200
    @Option(name: [.customShort("K"), .long], help: "K: rollouts per question and source.")
    var samples: Int = 16
    @Option(name: .long, help: "Sampling temperature.")
    var temperature: Double = 1
    @Option(name: .long, help: "Seed of the sampling streams and the bootstrap.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Bootstrap resamples of the median gap difference.")
    var resamples: Int = 2000
    @Option(name: .long, help: "Histogram bins.")
    var bins: Int = 20
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        guard questions >= 1 else { throw ValidationError("--questions must be at least 1") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be a finite number above 0") }
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1") }
        guard bins >= 1 else { throw ValidationError("--bins must be at least 1") }
    }

    func run() throws {
        let files = ["gaps.csv", "summary.csv", "histogram.csv", "test.csv", "meta.json"].map(output.sibling)
        let group = ProcessGroup.world
        let (study, encoded) = try group.agree {
            if group.isRoot { try output.checkWritable([output.url] + files) }
            let baseCkpt = try Checkpoint.load(from: URL(fileURLWithPath: base))
            let policyCkpt = try Checkpoint.load(from: URL(fileURLWithPath: policy))
            guard baseCkpt.tokenizer == policyCkpt.tokenizer else { throw ValidationError("--base and --policy have different tokenizers") }
            let file = try ExampleFile(url: URL(fileURLWithPath: data))
            let study = try PerplexityStudy(base: baseCkpt.model, policy: policyCkpt.model, tokenizer: baseCkpt.tokenizer, samples: samples,
                                            temperature: temperature, seed: seed)
            return (study, try study.encode(file, count: questions, threads: threads.threads))
        }
        guard let rows = try study.run(encoded, group: group, threads: threads.threads,
                                       progress: group.progress("perplexity", total: encoded.count * study.rowsPerQuestion, unit: "responses")) else { return }
        let gaps = try QuestionGap.all(rows)
        let verdict = try GapVerdict(gaps, seed: seed, resamples: resamples)
        try PerplexityReport.write(rows, gaps, verdict: verdict, bins: bins, to: [output.url] + files.dropLast())
        try RunRecord(command: commandLine, inputs: ["base": base, "policy": policy, "data": data],
                      outputs: [output.out] + ["gaps.csv", "summary.csv", "histogram.csv", "test.csv"].map(output.siblingPath),
                      details: study.runDetails(questions: encoded.count, verdict: verdict)).write(to: files[4])
        print(String(format: "wrote %@ (%d responses, %d questions × (3×%d rollouts + ground truth)) and its gaps, summary, histogram, test; g_R < g_GT: p = %.3g",
                     output.out, rows.count, encoded.count, samples, verdict.test.pValue))
        PerplexityReport.verdictLines(rows, verdict: verdict).forEach { note($0) }
    }
}
