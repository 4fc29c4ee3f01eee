import Foundation

/// The SFT objective of Eq. 10 (THEORY §7): J_SFT = mean over examples of each response's mean token
/// log-likelihood. Training minimises L = −J_SFT.
public enum SFTObjective {
    /// Examples per packed group (see `lossAndGradient`).
    static let groupSize = Int(ProcessInfo.processInfo.environment["DYNAMICS_SFT_GROUP"] ?? "") ?? 4

    /// L and ∇θ L over `batch`. The batch is cut into fixed groups of `groupSize` consecutive examples; each group's
    /// sequences are packed into one pass (`Transformer.forward(batch:)`, one product per dense layer over the
    /// group's positions), groups run one per worker, and their gradients are added in batch order. Within a group a
    /// weight's gradient sums the positions in order (examples in batch order) as the dgemm accumulates. The groups
    /// do not depend on the thread count, so neither do the bytes of the result. The loss adds the examples in
    /// batch order.
    public static func lossAndGradient(_ model: Transformer, batch: [EncodedExample], threads: Int) throws -> (loss: Double, gradient: [Double], tokens: Int) {
        guard !batch.isEmpty else { throw TrainingError.invalid("empty batch") }
        let groups = stride(from: 0, to: batch.count, by: groupSize).map { $0..<min($0 + groupSize, batch.count) }
        let n = Double(batch.count)
        let parts = try Parallel.map(groups.count, threads: threads) { g in
            try groupTerm(model, Array(batch[groups[g]]), batchSize: n)
        }
        var gradient = parts[0].gradient
        for p in parts.dropFirst() {
            gradient.withUnsafeMutableBufferPointer { g in p.gradient.withUnsafeBufferPointer { BLAS.axpy(g.count, 1, $0.baseAddress!, g.baseAddress!) } }
        }
        var loss = 0.0, tokens = 0
        for (b, e) in batch.enumerated() {
            loss -= parts[b / groupSize].totals[b % groupSize] / Double(e.responseLength) / n
            tokens += e.responseLength
        }
        return (loss, gradient, tokens)
    }

    /// One group's packed pass: Σ log π of each example's response, and the group's share of ∇θ L (batch of `batchSize`).
    static func groupTerm(_ model: Transformer, _ group: [EncodedExample], batchSize n: Double) throws -> (totals: [Double], gradient: [Double]) {
        let acts = try model.forward(batch: group.map(\.input), threads: 1)
        let V = model.config.vocabSize
        var cot = [Double](repeating: 0, count: acts.rows * V)
        var totals = [Double](repeating: 0, count: group.count)
        cot.withUnsafeMutableBufferPointer { cp in
            let cot = cp.baseAddress!
            // dL/dz = −(1/B)(1/|o|)(onehot − softmax) on each scored row.
            for (b, e) in group.enumerated() {
                let scale = -1 / (n * Double(e.responseLength))
                var total = 0.0
                for p in e.responsePositions {
                    let row = cot + (acts.offsets[b] + p - 1) * V
                    acts.logProbabilities(sequence: b, position: p - 1, into: row)
                    let target = e.token(at: p)
                    total += row[target]
                    for o in 0..<V { row[o] = -exp(row[o]) * scale }
                    row[target] += scale
                }
                totals[b] = total
            }
        }
        var gradient = [Double](repeating: 0, count: model.layout.count)
        try model.backward(acts, cotangents: cot, into: &gradient, threads: 1)
        return (totals, gradient)
    }

    /// The same L and ∇θ L one example per worker, per-example gradients added in batch order: the trainer's path
    /// before packing, kept as a reference for tests and `analyze bench`.
    static func perExampleLossAndGradient(_ model: Transformer, batch: [EncodedExample], threads: Int) throws -> (loss: Double, gradient: [Double], tokens: Int) {
        guard !batch.isEmpty else { throw TrainingError.invalid("empty batch") }
        let parts = try Parallel.map(batch.count, threads: threads) { i in try exampleTerm(model, batch[i]) }
        var gradient = [Double](repeating: 0, count: model.layout.count)
        var loss = 0.0, tokens = 0
        let n = Double(batch.count)
        for p in parts {
            loss -= p.meanLogLikelihood / n
            tokens += p.tokens
            gradient.withUnsafeMutableBufferPointer { g in p.gradient.withUnsafeBufferPointer { BLAS.axpy(g.count, -1 / n, $0.baseAddress!, g.baseAddress!) } }
        }
        return (loss, gradient, tokens)
    }

    /// One example's ℓ̄ = (1/|o|) Σ_t log π(o_t) and ∇θ ℓ̄.
    static func exampleTerm(_ model: Transformer, _ e: EncodedExample) throws -> (meanLogLikelihood: Double, gradient: [Double], tokens: Int) {
        let acts = try model.forward(e.input)
        let V = model.config.vocabSize, n = Double(e.responseLength)
        var cot = [Double](repeating: 0, count: e.input.length * V)
        var total = 0.0
        for p in e.responsePositions {
            let lp = acts.logProbabilities(at: p - 1)
            let target = e.token(at: p)
            total += lp[target]
            let row = (p - 1) * V
            for o in 0..<V { cot[row + o] = -exp(lp[o]) / n }
            cot[row + target] += 1 / n
        }
        var g = [Double](repeating: 0, count: model.layout.count)
        try model.backward(acts, cotangents: cot, into: &g)
        return (total / n, g, e.responseLength)
    }
}
