import Foundation

// The sweep commands under MPI: each splits its items (examples, prompts, questions or pairs) over the ranks with
// `ProcessGroup.map`, every item computed exactly as one process computes it (its own named random stream, its own
// single-threaded arithmetic), so rank 0 ends with the one-process result bit for bit. Each returns nil on the
// other ranks; a failure on any rank ends every rank with `DistributedError.rankFailed`.

extension AnswerGenerator {
    /// The outputs for each of `examples` (from `file`), the examples split over the ranks of `group`, each rank
    /// encoding and generating its own part; `progress` counts examples.
    public func outputs(_ examples: [Example], file: ExampleFile, group: ProcessGroup, threads: Int,
                        progress: DistributedProgress) throws -> [[String]]? {
        try group.map(count: examples.count, progress: progress) { range in
            let encoded = try examples[range].map { try EncodedExample($0, file: file, tokenizer: tokenizer, config: model.config) }
            return try outputs(encoded, threads: threads) { progress.advance(by: $0) }
        }
    }
}

extension RolloutFile {
    /// One prompt's samples and their verdicts (what a rank sends rank 0 per prompt).
    struct PromptSamples: Codable {
        let outputs: [SampledOutput]
        let correct: [Bool]
    }

    /// `RolloutFile(sampler:file:examples:samples:threads:)` with the prompts split over the ranks of `group`
    /// (sample j of prompt ID draws from the stream "rollouts.ID.j" on whichever rank); `progress` counts samples.
    public static func distributed(sampler: RolloutSampler, file: ExampleFile, examples: [Example], samples: Int, group: ProcessGroup,
                                   threads: Int, progress: DistributedProgress) throws -> RolloutFile? {
        guard let prompts = try group.map(count: examples.count, progress: progress, { range -> [PromptSamples] in
            let part = try RolloutFile(sampler: sampler, file: file, examples: Array(examples[range]), samples: samples, threads: threads) {
                progress.advance(by: $0)
            }
            return (0..<range.count).map { k in
                let first = k * samples
                return PromptSamples(outputs: Array(part.outputs[first..<(first + samples)]), correct: Array(part.correct[first..<(first + samples)]))
            }
        }) else { return nil }
        return RolloutFile(examples: examples, samples: samples, outputs: prompts.flatMap(\.outputs), correct: prompts.flatMap(\.correct))
    }
}

extension PerplexityStudy {
    /// `run(questions:threads:)` with the questions split over the ranks of `group`: the rows in the same order
    /// (question, source, sample); `progress` counts responses.
    public func run(_ questions: [EncodedQuestion], group: ProcessGroup, threads: Int, progress: DistributedProgress) throws -> [ScoredResponse]? {
        let perQuestion = rowsPerQuestion
        return try group.map(count: questions.count, progress: progress) { range -> [[ScoredResponse]] in
            let count = progress.counting()
            let rows = try run(Array(questions[range]), threads: threads) { done, _ in count(done) }
            return (0..<range.count).map { k in Array(rows[(k * perQuestion)..<((k + 1) * perQuestion)]) }
        }?.flatMap { $0 }
    }
}

extension SymmetryStudy {
    /// `SymmetryStudy(model, pairs:…)` with the pairs split over the ranks of `group`; `progress` counts pairs.
    public static func distributed(_ model: Transformer, pairs: [SymmetryPair], etas: [Double], rules: [UpdateRule], criteria: RegimeCriteria,
                                   group: ProcessGroup, threads: Int, progress: DistributedProgress) throws -> SymmetryStudy? {
        guard let sweeps = try group.map(count: pairs.count, progress: progress, { range in
            try sweeps(model, pairs: pairs[range], etas: etas, rules: rules, criteria: criteria, threads: threads) { progress.advance(by: $0) }
        }) else { return nil }
        return SymmetryStudy(pairs: pairs, etas: etas, rules: rules, sweeps: sweeps)
    }
}

extension OneStepDecomposition {
    /// `all(model, pairs:…)` with the pairs split over the ranks of `group` (each rank resolves and weights its own
    /// pairs); `progress` counts pairs.
    public static func all(_ model: Transformer, pairs: [(String, String)], lookup: ExampleLookup, level: DynamicsLevel, etas: [Double],
                           weighting: AdvantageWeighting?, group: ProcessGroup, threads: Int,
                           progress: DistributedProgress) throws -> [OneStepDecomposition]? {
        try group.map(count: pairs.count, progress: progress) { range in
            try all(model, pairs: Array(pairs[range]), lookup: lookup, level: level, etas: etas, weighting: weighting, threads: threads) {
                progress.advance(by: $0)
            }
        }
    }
}
