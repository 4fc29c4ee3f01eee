import Foundation

/// One sampled answer to a prompt, decoded and scored with the jigsaw rewards.
public struct SampledOutput: Sendable, Equatable, Codable {
    /// The generated tokens (the closing `<eos>` included when generated).
    public let tokens: [Int]
    /// log π(o_t | ·) of each token under the sampling model at temperature 1.
    public let logProbs: [Double]
    /// The decoded text, without `<eos>`.
    public let text: String
    /// Rewards against the example's truth.permutation (all 0 when it has none).
    public let rewards: JigsawRewards

    /// The sample ended with `<eos>` rather than being cut at max_seq_len.
    public var finished: Bool { tokens.last == Tokenizer.eos }
}

/// Samples answers the way GRPO and `analyze rollouts` both do: from `[patches] <bos> prompt`, at a temperature,
/// one named stream per sample so the result does not depend on threads or order.
public struct RolloutSampler: Sendable {
    public let model: Transformer
    public let tokenizer: Tokenizer
    public let temperature: Double
    public let seed: UInt64

    public init(model: Transformer, tokenizer: Tokenizer, temperature: Double, seed: UInt64) throws {
        guard temperature > 0, temperature.isFinite else { throw GenerationError.invalidOptions("sampling needs a temperature > 0") }
        self.model = model
        self.tokenizer = tokenizer
        self.temperature = temperature
        self.seed = seed
    }

    /// One sample for `example` drawn from the stream `stream`.
    public func sample(_ example: Example, _ encoded: EncodedExample, stream: String) throws -> SampledOutput {
        let prompt = AnswerGenerator.promptInput(encoded)
        let g = try model.generate(prompt, options: GenerationOptions(maxNewTokens: model.config.maxSeqLen - prompt.length, temperature: temperature),
                                   rng: RandomStream(seed: seed, name: stream))
        let text = try tokenizer.decode(g.stopped ? Array(g.tokens.dropLast()) : g.tokens)
        let rewards = example.truth?.permutation.map { JigsawReward.score(output: text, truth: $0) } ?? JigsawRewards(format: 0, hit: 0, accuracy: 0)
        return SampledOutput(tokens: g.tokens, logProbs: g.logProbs, text: text, rewards: rewards)
    }
}

extension RolloutSampler {
    /// The run record's details of a rollouts file: the sampling settings, what was kept and written, the accuracy.
    public func runDetails(samples: Int, keep: RolloutKeep, written: Int, cut: Int, accuracy: Double) -> [String: String] {
        ["samples": String(samples), "temperature": String(temperature), "seed": String(seed), "keep": keep.rawValue,
         "written": String(written), "cut": String(cut), "accuracy": "\(accuracy)"]
    }
}
