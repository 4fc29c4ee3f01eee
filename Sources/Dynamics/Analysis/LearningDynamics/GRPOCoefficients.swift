import Foundation

/// GRPO's per-token coefficients of an update (THEORY §3 "Weighted updates", Eq. 9):
/// c_t = Â + β(π_ref/π_θ − 1), the derivative of the token's GRPO objective with respect to log π_θ(o_t) at
/// ρ = 1 (one update per batch). It scales the token's G; a negative c_t pushes the other way.
/// The update on X_u is then ascent on Σ_t (c_t/|o|) log π(o_t); GRPO's 1/G group factor is left to η.
public enum GRPOCoefficients {
    /// c_t for tokens with log π_θ `logProbs` and log π_ref `referenceLogProbs`; without a reference model
    /// (nil) c_t = Â. Taken from `GRPOObjective.tokenTerms`, the trainer's own formula.
    public static func coefficients(advantage: Double, beta: Double, logProbs: [Double], referenceLogProbs: [Double]?) throws -> [Double] {
        guard advantage.isFinite, beta.isFinite, beta >= 0 else {
            throw LearningDynamicsError.invalid("GRPO coefficients need a finite advantage and β ≥ 0, got Â = \(advantage), β = \(beta)")
        }
        guard let reference = referenceLogProbs else { return logProbs.map { _ in advantage } }
        guard reference.count == logProbs.count else {
            throw ShapeError.mismatch(what: "reference log-probs", expected: [logProbs.count], found: [reference.count])
        }
        // With G = 1 and |o| = 1 the trainer's weight is −∂(objective)/∂log π; ρ = 1 because π_θold = π_θ.
        return zip(logProbs, reference).map { lp, ref in
            -GRPOObjective.tokenTerms(logProb: lp, oldLogProb: lp, referenceLogProb: ref, advantage: advantage, beta: beta,
                                      clipEpsilon: 0.2, groupSize: 1, length: 1).weight
        }
    }

    /// `sum` with each weight multiplied by its token's c_t, the log-probs taken from `model` and `reference`.
    public static func weighted(_ sum: LogProbSum, of example: EncodedExample, model: Transformer, reference: Transformer?,
                                advantage: Double, beta: Double) throws -> LogProbSum {
        let tokens = sum.positions.map(LogProbSum.token)
        let lp = try PerExampleGradients.values(model, example, tokens)
        let ref = try reference.map { try PerExampleGradients.values($0, example, tokens) }
        return try sum.scaled(by: coefficients(advantage: advantage, beta: beta, logProbs: lp, referenceLogProbs: ref))
    }
}

/// GRPO weighting of `decompose` updates: an advantage per example id (a CSV with columns id,advantage), β and
/// an optional reference model.
public struct AdvantageWeighting {
    public let advantages: [String: Double]
    /// The file they came from, for errors.
    public let source: String
    public let beta: Double
    public let reference: Transformer?

    /// Reads id → advantage from `path`; every advantage must be a finite number.
    public init(path: String, beta: Double, reference: Transformer?) throws {
        let (_, rows) = try CSVReader.table(URL(fileURLWithPath: path), requiring: ["id", "advantage"])
        var out: [String: Double] = [:]
        for (k, row) in rows.enumerated() {
            guard let a = Double(row["advantage"]!), a.isFinite else {
                throw ExampleError.malformed(path: path, line: k + 2, reason: "advantage '\(row["advantage"]!)' is not a finite number")
            }
            out[row["id"]!] = a
        }
        (advantages, source, self.beta, self.reference) = (out, path, beta, reference)
    }

    /// `update` GRPO-weighted with its example's advantage (`GRPOCoefficients.weighted`).
    public func weighted(_ update: GradientRequest, model: Transformer) throws -> GradientRequest {
        guard let a = advantages[update.example.id] else {
            throw LearningDynamicsError.invalid("no advantage for example '\(update.example.id)' in \(source)")
        }
        return GradientRequest(example: update.example, sum: try GRPOCoefficients.weighted(
            update.sum, of: update.example, model: model, reference: reference, advantage: a, beta: beta))
    }
}
