/// A weighted sum of token log-probabilities of one sequence, f(θ) = Σ_k w_k · log π_θ(token at p_k), in nats.
///
/// Every per-example gradient of the analyses is ∇θ f of one of these (THEORY §1–3):
/// - a token example x: one position, weight 1 (f = log π(x));
/// - a sequence example X: every scored token, weight 1 (f = log π(X));
/// - the SFT term of Eq. 10: every scored token, weight 1/|o| (f = ℓ̄(X));
/// - a GRPO-weighted update (Eq. 9): the SFT weights times per-token coefficients c_t.
/// Positions are sequence positions of predicted tokens, numbered as `logprobs` numbers them (the logits are
/// those computed at position − 1); a position may appear more than once (its weights add).
public struct LogProbSum: Equatable, Sendable {
    public let positions: [Int]
    public let weights: [Double]
    /// nil: f = Σ_k w_k log π_k. n: f = (Σ_k log π_k) / n with unit weights — ℓ̄ summed, then divided, as the SFT
    /// trainer has always rounded it (`sftTerm`); the same value as `meanLogLikelihood` but for rounding.
    let divisor: Double?

    /// Throws when the lists are empty, differ in length, or a weight is not finite.
    public init(positions: [Int], weights: [Double]) throws {
        guard !positions.isEmpty else { throw LearningDynamicsError.invalid("a log-prob sum needs at least one position") }
        guard positions.count == weights.count else {
            throw ShapeError.mismatch(what: "log-prob sum weights", expected: [positions.count], found: [weights.count])
        }
        guard weights.allSatisfy(\.isFinite) else { throw LearningDynamicsError.invalid("log-prob sum weights must be finite") }
        self.positions = positions
        self.weights = weights
        divisor = nil
    }

    private init(unchecked positions: [Int], _ weights: [Double], divisor: Double? = nil) {
        self.positions = positions
        self.weights = weights
        self.divisor = divisor
    }

    /// log π of the token at `position` (a token example).
    public static func token(_ position: Int) -> LogProbSum { LogProbSum(unchecked: [position], [1]) }

    /// log π(X) = Σ_t log π(o_t) over every scored token of `example` (response and `<eos>`).
    public static func sequence(_ example: EncodedExample) -> LogProbSum {
        let p = Array(example.responsePositions)
        return LogProbSum(unchecked: p, p.map { _ in 1 })
    }

    /// ℓ̄(X) = (1/|o|) Σ_t log π(o_t): one example's SFT objective (Eq. 10); its gradient is an SFT step's direction.
    public static func meanLogLikelihood(_ example: EncodedExample) -> LogProbSum {
        let p = Array(example.responsePositions), w = 1 / Double(example.responseLength)
        return LogProbSum(unchecked: p, p.map { _ in w })
    }

    /// ℓ̄(X) as SFT training computes it (Eq. 10's per-example term): Σ_t log π(o_t), then divided by |o|.
    public static func sftTerm(_ example: EncodedExample) -> LogProbSum {
        let p = Array(example.responsePositions)
        return LogProbSum(unchecked: p, p.map { _ in 1 }, divisor: Double(example.responseLength))
    }

    /// The same positions with weights w_k·c_k (e.g. GRPO's per-token coefficients); throws when the counts differ.
    public func scaled(by coefficients: [Double]) throws -> LogProbSum {
        guard coefficients.count == positions.count else {
            throw ShapeError.mismatch(what: "per-token coefficients", expected: [positions.count], found: [coefficients.count])
        }
        guard divisor == nil else { throw LearningDynamicsError.invalid("the SFT term's sum cannot be reweighted; use meanLogLikelihood") }
        return try LogProbSum(positions: positions, weights: zip(weights, coefficients).map { $0 * $1 })
    }

    /// The prefix length a forward pass needs: the last position (whose logits sit at position − 1).
    var prefixLength: Int { positions.max()! }

    /// Throws unless every position is a predicted text position of `example`.
    public func check(in example: EncodedExample) throws {
        for p in positions { try example.checkPosition(p) }
    }

    /// f(θ) from a forward pass over (a prefix of) `example` that reaches `prefixLength`.
    func value(_ acts: Activations, of example: EncodedExample) -> Double {
        var f = 0.0
        if let divisor {
            for p in positions { f += acts.logProbabilities(at: p - 1)[example.token(at: p)] }
            return f / divisor
        }
        for (p, w) in zip(positions, weights) { f += w * acts.logProbabilities(at: p - 1)[example.token(at: p)] }
        return f
    }

    /// Adds f's cotangent on the logits into `cot` (T × V, row p − 1 for position p; `addLogLikelihoodCotangent`
    /// per position) and returns f(θ), bit for bit what `value` returns.
    func accumulate(into cot: UnsafeMutablePointer<Double>, _ acts: Activations, of example: EncodedExample, vocabulary V: Int) -> Double {
        var f = 0.0
        for (p, w) in zip(positions, weights) {
            let lp = acts.logProbabilities(at: p - 1), target = example.token(at: p)
            f += divisor == nil ? w * lp[target] : lp[target]
            addLogLikelihoodCotangent(cot + (p - 1) * V, logProbs: lp, target: target, weight: divisor.map { .mean(over: $0) } ?? .scaled(w))
        }
        return divisor.map { f / $0 } ?? f
    }
}
