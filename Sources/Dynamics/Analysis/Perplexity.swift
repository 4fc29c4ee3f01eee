import Foundation

/// PPL_θ(o | q) = exp(−(1/|o|) Σ_t log π_θ(o_t | q, o_<t)) (THEORY §6), over the scored tokens (response and `<eos>`).
public enum Perplexity {
    /// Mean token log-likelihood ℓ̄ of each example's response.
    public static func meanLogLikelihoods(_ model: Transformer, _ examples: [EncodedExample], threads: Int) throws -> [Double] {
        try Parallel.map(examples.count, threads: threads) { i in
            let tokens = try TokenGradients.responseLogProbs(model, examples[i])
            return tokens.map(\.logProb).reduce(0, +) / Double(tokens.count)
        }
    }

    /// Perplexity of each example's response.
    public static func perplexities(_ model: Transformer, _ examples: [EncodedExample], threads: Int) throws -> [Double] {
        try meanLogLikelihoods(model, examples, threads: threads).map { exp(-$0) }
    }
}

/// Fixed probe sets whose perplexities a training run tracks (the series behind the paper's Fig. 3 and 6):
/// e.g. the jigsaw training answers, and base-model rollouts on grounding.
public struct ProbeSets: Sendable {
    public let names: [String]
    public let sets: [[EncodedExample]]

    public init(names: [String], sets: [[EncodedExample]]) {
        self.names = names
        self.sets = sets
    }

    /// The probes.csv columns.
    public static let header = ["step", "probe", "n", "mean_logprob", "mean_ppl", "median_ppl"]

    /// One row per probe set at `step`.
    public func rows(_ model: Transformer, step: Int, threads: Int) throws -> [[CSVCell]] {
        try zip(names, sets).map { name, set in
            let ll = try Perplexity.meanLogLikelihoods(model, set, threads: threads)
            let ppl = ll.map { exp(-$0) }
            return [.int(step), .string(name), .int(set.count), .double(try Statistics.mean(ll)), .double(try Statistics.mean(ppl)),
                    .double(try Statistics.median(ppl))]
        }
    }
}
