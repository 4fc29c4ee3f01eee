import Foundation

/// Per-token figures of a next-token distribution that the trainers log beside the loss (TRL's names in
/// `TrainingScalars`).
public enum TokenStatistics {
    /// The index of the largest log-probability; the first one on ties (as `torch.argmax`).
    public static func argmax(_ logProbabilities: [Double]) -> Int {
        var best = 0
        for i in logProbabilities.indices where logProbabilities[i] > logProbabilities[best] { best = i }
        return best
    }

    /// H = −Σ_o π(o) log π(o) in nats, from log-probabilities (terms with π(o) = 0 add nothing).
    public static func entropy(logProbabilities lp: [Double]) -> Double {
        var h = 0.0
        for l in lp where l > -Double.infinity { h -= exp(l) * l }
        return h
    }
}
