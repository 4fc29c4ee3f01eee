import Foundation

/// Which sampled outputs a rollouts file keeps.
public enum RolloutKeep: String, CaseIterable, Sendable {
    /// Every output.
    case all
    /// Only the outputs the task's metric calls correct (R_acc = 1 for jigsaw); implies an examples file.
    case correct
}

/// `analyze rollouts`: G samples per prompt from a checkpoint, judged by each task's metric, written as rollout
/// records (JSONL: id, prompt_id, sample, output, correct, tokens, logprobs, reward_fmt, reward_hit, reward_acc,
/// reward) or as an examples file (each output as the response, with the prompt's image and truth). An examples file
/// leaves out samples cut at max_seq_len before `<eos>`: they are not whole responses. Sample j of prompt ID draws
/// from the stream "rollouts.ID.j".
public struct RolloutFile: Sendable {
    public let examples: [Example]
    public let samples: Int
    /// Prompt-major: sample j of prompt i at i·samples + j.
    public let outputs: [SampledOutput]
    /// The task's own criterion for each output; examples without a task are judged by R_acc.
    public let correct: [Bool]

    /// Samples `samples` outputs for each of `examples` (from `file`), 16·threads at a time over `threads` cores;
    /// `progress` gets the samples each chunk finished.
    public init(sampler: RolloutSampler, file: ExampleFile, examples: [Example], samples: Int, threads: Int,
                progress: (Int) -> Void = { _ in }) throws {
        let encoded = try examples.map { try EncodedExample($0, file: file, tokenizer: sampler.tokenizer, config: sampler.model.config) }
        outputs = try Parallel.chunkedMap(examples.count * samples, threads: threads, chunk: 16 * threads, progress: progress) { k in
            let i = k / samples, j = k % samples
            return try sampler.sample(examples[i], encoded[i], stream: "rollouts.\(examples[i].id).\(j)")
        }
        correct = try outputs.enumerated().map { k, s in
            let e = examples[k / samples]
            return e.task == nil ? s.rewards.accuracy == 1 : try TaskScorer.score(e, output: s.text).correct
        }
        self.examples = examples
        self.samples = samples
    }

    /// A file of `examples` and their outputs (prompt-major) with the verdicts.
    init(examples: [Example], samples: Int, outputs: [SampledOutput], correct: [Bool]) {
        self.examples = examples
        self.samples = samples
        self.outputs = outputs
        self.correct = correct
    }

    /// The fraction of outputs judged correct.
    public var accuracy: Double { Double(correct.filter { $0 }.count) / Double(max(1, outputs.count)) }

    /// The file's lines, the number written and the number left out for being cut at max_seq_len. With
    /// `asExamples` (or `keep == .correct`) each line is an example whose paths are relative to `folder` (the output's
    /// folder); `source` is the prompts' file.
    public func lines(keep: RolloutKeep, asExamples: Bool, weights: RewardWeights, source file: ExampleFile,
                      folder outFolder: URL) throws -> (lines: [String], written: Int, cut: Int) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [String] = []
        var kept = 0, cut = 0
        let examplesOut = asExamples || keep == .correct
        for (k, s) in outputs.enumerated() {
            let e = examples[k / samples], j = k % samples, correct = correct[k]
            if keep == .correct && !correct { continue }
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
                let record = RolloutRecord(id: "\(e.id)-s\(j)", promptID: e.id, sample: j, output: s.text, correct: correct, tokens: s.tokens,
                                           logprobs: s.logProbs, rewardFmt: s.rewards.format, rewardHit: s.rewards.hit,
                                           rewardAcc: s.rewards.accuracy, reward: weights.total(s.rewards))
                lines.append(String(decoding: try encoder.encode(record), as: UTF8.self))
            }
            kept += 1
        }
        return (lines, kept, cut)
    }

    /// Writes `lines` (one JSON object each) atomically to `url`.
    public static func write(_ lines: [String], to url: URL) throws {
        try AtomicFile.write(Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8), to: url)
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
