import Foundation

/// The SFT objective of Eq. 10 (THEORY §7): J_SFT = mean over examples of each response's mean token
/// log-likelihood. Training minimises L = −J_SFT.
public enum SFTObjective {
    /// L and ∇θ L over `batch`. The batch is cut into fixed units of `examplesPerUnit` consecutive examples; a
    /// worker takes a unit, runs its examples in order and lets backward add their gradients into one buffer; the
    /// units' terms are then added in the batch's order. The units do not depend on the thread or rank count, so
    /// neither does the result. (A buffer per example cost a zeroed 1 MB array and a pass over it per example on
    /// `small`: 9 % of a pretraining step.)
    /// `correct` counts the scored tokens that are the argmax of π (the first maximum on ties, as `torch.argmax`):
    /// TRL's `mean_token_accuracy` is correct / tokens.
    /// Under MPI (`group` of several ranks) each rank computes the terms of its slice of the units and every rank
    /// receives all of them (`ProcessGroup.allMap`) before the same sum, so every rank's result, and θ after the
    /// step, is bit for bit the one-process result.
    public static func lossAndGradient(_ model: Transformer, batch: [EncodedExample], threads: Int,
                                       group: ProcessGroup = .single) throws -> (loss: Double, gradient: [Double], tokens: Int, correct: Int) {
        guard !batch.isEmpty else { throw TrainingError.invalid("empty batch") }
        let P = model.layout.count, k = examplesPerUnit
        let units = (batch.count + k - 1) / k
        let parts: [Term] = try group.allMap(units, threads: threads, encode: encode, decode: { try decode($0, parameters: P) }) { u in
            try unitTerm(model, batch[(u * k)..<min(batch.count, (u + 1) * k)])
        }
        var gradient = [Double](repeating: 0, count: model.layout.count)
        var loss = 0.0, tokens = 0, correct = 0
        let n = Double(batch.count)
        for p in parts {
            loss -= p.sumOfMeanLogLikelihoods / n
            tokens += p.tokens
            correct += p.correct
            gradient.withUnsafeMutableBufferPointer { g in p.gradient.withUnsafeBufferPointer { BLAS.axpy(g.count, -1 / n, $0.baseAddress!, g.baseAddress!) } }
        }
        return (loss, gradient, tokens, correct)
    }

    /// Consecutive examples one worker accumulates into one gradient buffer (fixed: the sums, and so the bytes of
    /// every step, depend on it, not on the thread count).
    public static let examplesPerUnit = 4

    typealias Term = (sumOfMeanLogLikelihoods: Double, gradient: [Double], tokens: Int, correct: Int)

    /// Terms as flat values for other ranks: Σ ℓ̄, tokens, correct, then the gradient.
    static func encode(_ terms: [Term]) -> [Double] {
        var values: [Double] = []
        for t in terms {
            values.append(t.sumOfMeanLogLikelihoods)
            values.append(Double(t.tokens))
            values.append(Double(t.correct))
            values.append(contentsOf: t.gradient)
        }
        return values
    }

    static func decode(_ values: [Double], parameters P: Int) throws -> [Term] {
        guard values.count % (3 + P) == 0 else { throw DistributedError.unsupported("a rank sent \(values.count) SFT values, not a multiple of \(3 + P)") }
        var terms: [Term] = []
        for k in stride(from: 0, to: values.count, by: 3 + P) {
            terms.append((sumOfMeanLogLikelihoods: values[k], gradient: Array(values[(k + 3)..<(k + 3 + P)]), tokens: Int(values[k + 1]),
                          correct: Int(values[k + 2])))
        }
        return terms
    }

    /// Σ ℓ̄ and Σ ∇θ ℓ̄ over a unit of examples (in order, each gradient added into one buffer by backward), with
    /// the unit's response tokens and argmax hits. `sumOfMeanLogLikelihoods` is Σ ℓ̄ over them.
    static func unitTerm(_ model: Transformer, _ examples: ArraySlice<EncodedExample>) throws -> Term {
        var g = [Double](repeating: 0, count: model.layout.count)
        var sum = 0.0, tokens = 0, correct = 0
        for e in examples {
            let (f, c) = try addExampleGradient(model, e, into: &g)
            sum += f
            tokens += e.responseLength
            correct += c
        }
        return (sum, g, tokens, correct)
    }

    /// One example's ℓ̄ = (1/|o|) Σ_t log π(o_t) and ∇θ ℓ̄: `LogProbSum.sftTerm`'s value and cotangent over one
    /// forward pass of the whole sequence, one backward pass; also how many response tokens are the argmax.
    static func exampleTerm(_ model: Transformer, _ e: EncodedExample) throws -> (meanLogLikelihood: Double, gradient: [Double], tokens: Int, correct: Int) {
        var g = [Double](repeating: 0, count: model.layout.count)
        let (f, correct) = try addExampleGradient(model, e, into: &g)
        return (f, g, e.responseLength, correct)
    }

    /// ℓ̄ of one example, its gradient added into `g`, and its response tokens that are π's argmax.
    private static func addExampleGradient(_ model: Transformer, _ e: EncodedExample, into g: inout [Double]) throws -> (Double, Int) {
        let acts = try model.forward(e.input)
        let V = model.config.vocabSize
        var cot = [Double](repeating: 0, count: e.input.length * V)
        let f = cot.withUnsafeMutableBufferPointer { LogProbSum.sftTerm(e).accumulate(into: $0.baseAddress!, acts, of: e, vocabulary: V) }
        let correct = e.responsePositions.filter { TokenStatistics.argmax(acts.logProbabilities(at: $0 - 1)) == e.token(at: $0) }.count
        try model.backward(acts, cotangents: cot, into: &g)
        return (f, correct)
    }
}
