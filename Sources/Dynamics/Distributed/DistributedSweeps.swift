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

extension InfluenceMatrix {
    /// One chunk of probes: log π(X_i) and the rows ⟨∇ log π(X_i), ∇ ℓ̄(X_j)⟩ over every train example j.
    struct ProbeChunk: Codable {
        let values: [Double]
        let rows: [Double]
    }

    /// `InfluenceMatrix(model, probes:…)` with the work split over the ranks of `group`: the probes in the chunks one
    /// process computes them in (`GradientInnerProducts.probeChunk`, so every product keeps its order; every rank
    /// computes the train gradients), then with `measure` the train steps, one column each. `gradients` counts probes,
    /// `steps` train examples.
    public static func distributed(_ model: Transformer, probes: [EncodedExample], train: [EncodedExample], eta: Double, measure: Bool,
                                   group: ProcessGroup, threads: Int, gradients: DistributedProgress,
                                   steps: DistributedProgress) throws -> InfluenceMatrix? {
        let chunk = GradientInnerProducts.probeChunk
        let chunks = try group.map(count: (probes.count + chunk - 1) / chunk, progress: gradients) { range -> [ProbeChunk] in
            try check(eta: eta, probes: probes.count, train: train.count)
            let part = (range.lowerBound * chunk)..<min(range.upperBound * chunk, probes.count)
            guard !part.isEmpty else { return [] }
            let count = gradients.counting()
            let products = try products(model, probes: probes[part], train: train, threads: threads) { done, _ in count(done) }
            return (0..<range.count).map { k in
                let rows = (k * chunk)..<min((k + 1) * chunk, part.count)
                return ProbeChunk(values: Array(products.probeValues[rows]),
                                  rows: Array(products.total.storage[(rows.lowerBound * train.count)..<(rows.upperBound * train.count)]))
            }
        }
        let after = try measure ? group.map(count: train.count, progress: steps) { range in
            try probesAfterSteps(model, probes: probes, train: train, columns: range, eta: eta, threads: threads, progress: steps.counting())
        } : nil
        guard let chunks else { return nil }
        return InfluenceMatrix(eta: eta, probeValues: chunks.flatMap(\.values),
                               products: try Matrix(rows: probes.count, cols: train.count, storage: chunks.flatMap(\.rows)), probesAfterSteps: after)
    }
}
