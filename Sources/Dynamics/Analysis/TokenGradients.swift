import Foundation

/// Log-probabilities, logit Jacobians and per-example gradients of token examples (THEORY §1–2).
public enum TokenGradients {
    /// One scored token: its sequence position, id and log π.
    public struct ScoredToken: Equatable, Sendable {
        public let position: Int
        public let token: Int
        public let logProb: Double
    }

    /// log π of every response token of `example` (one forward pass).
    public static func responseLogProbs(_ model: Transformer, _ example: EncodedExample) throws -> [ScoredToken] {
        let acts = try model.forward(example.input)
        return example.responsePositions.map { p in
            let token = example.token(at: p)
            return ScoredToken(position: p, token: token, logProb: acts.logProbabilities(at: p - 1)[token])
        }
    }

    /// J(x) = ∇θ z(x), V × d, for the token at `position` of `input`: a forward pass over the causal prefix
    /// (positions 0 … position − 1) and one backward pass carrying all V one-hot cotangents together.
    public static func logitJacobian(_ model: Transformer, input: ModelInput, position: Int) throws -> Matrix {
        guard position >= 1 && position < input.length else {
            throw ModelError.positionOutOfRange(position: position, validRange: 1...max(1, input.length - 1))
        }
        let acts = try model.forward(input.prefix(position))
        let V = model.config.vocabSize, T = acts.length
        var cot = [Double](repeating: 0, count: V * T * V)
        for o in 0..<V { cot[(o * T + T - 1) * V + o] = 1 }
        var j = Matrix(rows: V, cols: model.layout.count)
        try model.backward(acts, cotangents: cot, into: &j.storage)
        return j
    }

    /// A(x) = G(x) = e_{o_t} − softmax(z(x)) ∈ R^V: ∇z log π of the token at `position` (THEORY §2).
    public static func logProbGradientOnLogits(_ model: Transformer, input: ModelInput, position: Int) throws -> [Double] {
        try logitGradientAndActivations(model, input: input, position: position).a
    }

    /// ∇θ log π(x) for the token at `position`: one backward pass with cotangent A(x) on the last logits.
    public static func logProbGradient(_ model: Transformer, input: ModelInput, position: Int) throws -> [Double] {
        let (a, acts) = try logitGradientAndActivations(model, input: input, position: position)
        let V = model.config.vocabSize
        var cot = [Double](repeating: 0, count: position * V)
        cot.replaceSubrange(((position - 1) * V)..<(position * V), with: a)
        var g = [Double](repeating: 0, count: model.layout.count)
        try model.backward(acts, cotangents: cot, into: &g)
        return g
    }

    /// A(x) and the forward pass over the prefix that produced it.
    private static func logitGradientAndActivations(_ model: Transformer, input: ModelInput, position: Int) throws -> (a: [Double], acts: Activations) {
        guard position >= 1 && position < input.length, position >= input.imagePositions else {
            throw ModelError.positionOutOfRange(position: position, validRange: max(1, input.imagePositions)...max(1, input.length - 1))
        }
        let acts = try model.forward(input.prefix(position))
        let a = logLikelihoodGradient(acts.logProbabilities(at: position - 1), target: input.tokens[position - input.imagePositions])
        return (a, acts)
    }
}

extension TokenGradients {
    /// `analyze logprobs`' table (example,position,token,logprob) of every response token of `examples` with their
    /// scores, and the tokens' total log-probability and count; a non-finite log π (a forward pass overflowing with
    /// these weights) is an error naming the example and position.
    public static func logProbTable(_ examples: [EncodedExample], _ scored: [[ScoredToken]], model: Transformer) throws -> (table: CSVTable, total: Double, count: Int) {
        var table = CSVTable(header: ["example", "position", "token", "logprob"])
        var total = 0.0, count = 0
        for (e, tokens) in zip(examples, scored) {
            for t in tokens {
                guard t.logProb.isFinite else {
                    throw NonFiniteLogProb(description: "log π of example '\(e.id)' at position \(t.position) is \(t.logProb): the forward pass overflows with these weights (largest |θᵢ| \(String(format: "%.3g", model.parameters.map(abs).max() ?? 0))); nothing written")
                }
                table.append([.string(e.id), .int(t.position), .int(t.token), .double(t.logProb)])
                total += t.logProb
                count += 1
            }
        }
        return (table, total, count)
    }
}

/// A log-probability that came out NaN or infinite (the forward pass overflowed with the checkpoint's weights).
public struct NonFiniteLogProb: Error, CustomStringConvertible {
    public let description: String
}
