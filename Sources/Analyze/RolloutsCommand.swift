import ArgumentParser
import Dynamics
import Foundation

struct RolloutsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts", abstract: "Sample G outputs per prompt from a checkpoint, with token log-probs and rewards.",
        discussion: "Writes OUT (JSONL: id, prompt_id, sample, output, correct, tokens, logprobs, reward_fmt, reward_hit, reward_acc, reward). With --as-examples, OUT is instead an examples file (each output as the response, with the prompt's image and truth), e.g. a probe set of base-model rollouts; --keep correct keeps only the outputs the task's metric calls correct (R_acc = 1 for jigsaw): the SFT-on-GRPO-rollouts dataset. An examples file leaves out samples cut at max_seq_len before <eos>: they are not whole responses. Sample j of prompt ID draws from the stream 'rollouts.ID.j'.")

    @OptionGroup var checkpoint: CheckpointOption
    @Option(name: .long, help: "Prompts (JSONL).")
    var data: String
    @Option(name: [.customShort("G"), .long], parsing: .unconditional, help: "Samples per prompt.")
    var samples: Int = 4
    @Option(name: .long, parsing: .unconditional, help: "Sampling temperature.")
    var temperature: Double = 1
    @Option(name: .long, parsing: .unconditional, help: "Seed of the sampling streams.")
    var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "Only the first N prompts.")
    var limit: Int?
    @Option(name: .long, help: "all, or correct (the outputs the task's metric calls correct; implies --as-examples).")
    var keep: String = "all"
    @Flag(name: .long, help: "Write an examples file (outputs as responses) instead of rollout records.")
    var asExamples = false
    @Option(name: .long, help: "Reward weights hit,acc,fmt for the total.")
    var weights: String = "1,1,1"
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--samples", samples, FlagRange.perItem)
        try NumericFlag.check("--temperature", temperature, FlagRange.temperature, exclusiveLower: true)
        try NumericFlag.check("--limit", limit, FlagRange.count)
    }

    func run() throws {
        guard keep == "all" || keep == "correct" else { throw ValidationError("--keep takes all or correct") }
        let rewardWeights = try RewardWeights(parsing: weights)
        try output.checkWritable([output.url, output.sibling("meta.json")])
        let ckpt = try checkpoint.load()
        let file = try ExampleFile(url: URL(fileURLWithPath: data))
        let examples = Array(file.examples.prefix(limit ?? file.examples.count))
        let encoded = try examples.map { try EncodedExample($0, file: file, tokenizer: ckpt.tokenizer, config: ckpt.model.config) }
        let sampler = try RolloutSampler(model: ckpt.model, tokenizer: ckpt.tokenizer, temperature: temperature, seed: seed)
        let progress = Progress("rollouts", total: examples.count * samples, unit: "samples")
        var outputs: [SampledOutput] = []
        let chunk = 16 * threads.threads
        let total = examples.count * samples
        for start in stride(from: 0, to: total, by: chunk) {
            let n = min(chunk, total - start)
            outputs += try Parallel.map(n, threads: threads.threads) { k in
                let i = (start + k) / samples, j = (start + k) % samples
                return try sampler.sample(examples[i], encoded[i], stream: "rollouts.\(examples[i].id).\(j)")
            }
            progress.advance(by: n)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [String] = []
        var kept = 0, cut = 0
        let outFolder = output.url.deletingLastPathComponent()
        // The task's own criterion; examples without a task are judged by R_acc.
        let correctness = try outputs.enumerated().map { k, s in
            let e = examples[k / samples]
            return e.task == nil ? s.rewards.accuracy == 1 : try TaskScorer.score(e, output: s.text).correct
        }
        let examplesOut = asExamples || keep == "correct"
        for (k, s) in outputs.enumerated() {
            let e = examples[k / samples], j = k % samples, correct = correctness[k]
            if keep == "correct" && !correct { continue }
            if examplesOut && !s.finished { cut += 1; continue }
            if examplesOut {
                var sft = e
                sft.id = "\(e.id)-s\(j)"
                sft.response = s.text
                sft.image = file.imageURL(e).map { RelativePath.from(outFolder, to: $0) }
                if var truth = e.truth, let source = truth.source {
                    truth.source = RelativePath.from(outFolder, to: file.url.deletingLastPathComponent().appendingPathComponent(source))
                    sft.truth = truth
                }
                lines.append(String(decoding: try encoder.encode(sft), as: UTF8.self))
            } else {
                let record = RolloutRecord(id: "\(e.id)-s\(j)", promptID: e.id, sample: j, output: s.text, correct: correct, tokens: s.tokens, logprobs: s.logProbs,
                                           rewardFmt: s.rewards.format, rewardHit: s.rewards.hit, rewardAcc: s.rewards.accuracy,
                                           reward: rewardWeights.total(s.rewards))
                lines.append(String(decoding: try encoder.encode(record), as: UTF8.self))
            }
            kept += 1
        }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8), to: output.url)
        let accuracy = Double(correctness.filter { $0 }.count) / Double(max(1, outputs.count))
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "data": data], outputs: [output.out],
                      details: ["samples": String(samples), "temperature": String(temperature), "seed": String(seed), "keep": keep,
                                "written": String(kept), "cut": String(cut), "accuracy": "\(accuracy)"]).write(to: output.sibling("meta.json"))
        print(String(format: "wrote %@: %d of %d samples (%.3f correct)", output.out, kept, outputs.count, accuracy)
              + (cut > 0 ? ", \(cut) cut at max_seq_len left out (not a whole response)" : ""))
    }
}

/// One line of a rollouts file.
struct RolloutRecord: Encodable {
    let id: String
    let promptID: String
    let sample: Int
    let output: String
    let correct: Bool
    let tokens: [Int]
    let logprobs: [Double]
    let rewardFmt, rewardHit, rewardAcc, reward: Double

    enum CodingKeys: String, CodingKey {
        case id, sample, output, correct, tokens, logprobs, reward
        case promptID = "prompt_id", rewardFmt = "reward_fmt", rewardHit = "reward_hit", rewardAcc = "reward_acc"
    }
}
