import Foundation

/// Generates a model's answers to the prompts of an examples file (the evaluator and the trainer's periodic
/// evaluation call this).
public struct AnswerGenerator: Sendable {
    public let model: Transformer
    public let tokenizer: Tokenizer
    /// 0: greedy (one output per example); otherwise the sampling temperature.
    public let temperature: Double
    /// Outputs per example (1 when greedy).
    public let samples: Int
    public let seed: UInt64

    public init(model: Transformer, tokenizer: Tokenizer, temperature: Double = 0, samples: Int = 1, seed: UInt64 = 0) throws {
        guard temperature >= 0, temperature.isFinite else { throw GenerationError.invalidOptions("temperature must be finite and ≥ 0") }
        guard samples >= 1 else { throw GenerationError.invalidOptions("samples must be at least 1") }
        guard temperature > 0 || samples == 1 else { throw GenerationError.invalidOptions("several samples need a temperature above 0") }
        self.model = model
        self.tokenizer = tokenizer
        self.temperature = temperature
        self.samples = samples
        self.seed = seed
    }

    /// The prompt part of an encoded example: `[patches] <bos> prompt`.
    public static func promptInput(_ e: EncodedExample) -> ModelInput { e.input.prefix(e.input.imagePositions + e.responseStart) }

    /// The output texts for one example (its `<eos>` dropped). Sample j draws from the stream "eval.<id>.<j>".
    public func outputs(_ e: EncodedExample) throws -> [String] {
        let prompt = Self.promptInput(e)
        let room = model.config.maxSeqLen - prompt.length
        return try (0..<samples).map { j in
            let options = GenerationOptions(maxNewTokens: room, temperature: temperature)
            let rng = temperature > 0 ? RandomStream(seed: seed, name: "eval.\(e.id).\(j)") : nil
            let g = try model.generate(prompt, options: options, rng: rng)
            return try tokenizer.decode(g.stopped ? Array(g.tokens.dropLast()) : g.tokens)
        }
    }
}

extension AnswerGenerator {
    /// The outputs for each of `examples`, 4·threads examples at a time over `threads` cores (`Parallel.chunkedMap`);
    /// `progress` gets the examples each chunk finished.
    public func outputs(_ examples: [EncodedExample], threads: Int, progress: (Int) -> Void = { _ in }) throws -> [[String]] {
        try Parallel.chunkedMap(examples, threads: threads, chunk: 4 * threads, progress: progress) { try self.outputs($0) }
    }
}

extension AnswerGenerator {
    /// `checkpoint`'s generator: greedy without `samples`, else `samples` outputs per prompt at `temperature` (default 1).
    public init(checkpoint: Checkpoint, samples: Int?, temperature: Double?, seed: UInt64) throws {
        try self.init(model: checkpoint.model, tokenizer: checkpoint.tokenizer, temperature: samples == nil ? 0 : (temperature ?? 1), samples: samples ?? 1, seed: seed)
    }

    /// The run record's details of an evaluation with `samples` outputs per example at `temperature` (as for `init(checkpoint:…)`).
    public static func runDetails(samples: Int?, temperature: Double?, seed: UInt64, oracle: Bool) -> [String: String] {
        ["samples": String(samples ?? 1), "temperature": String(samples == nil ? 0 : (temperature ?? 1)), "seed": String(seed), "oracle": String(oracle)]
    }
}
