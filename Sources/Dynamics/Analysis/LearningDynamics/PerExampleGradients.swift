import Foundation

/// One per-example gradient to compute: ∇θ f for the log-prob sum `sum` of `example`.
public struct GradientRequest: Sendable {
    public let example: EncodedExample
    public let sum: LogProbSum

    public init(example: EncodedExample, sum: LogProbSum) {
        self.example = example
        self.sum = sum
    }
}

/// Values f_i(θ) (nats) and gradients ∇θ f_i (rows of an N × d matrix, MODEL.md's flat θ order) of N requests.
public struct GradientSet: Sendable {
    public let values: [Double]
    public let gradients: Matrix
}

/// Per-example gradients ∇θ f of log-prob sums (THEORY §2: A(x)·J(x) = ∇θ log π(x)), at scale and without any
/// V × d Jacobian: the cotangent of f on the logits is Σ_k w_k (e_{o_k} − softmax(z_k)) on the rows predicting
/// its tokens, and one backward pass carries it to θ.
public enum PerExampleGradients {
    /// Requests on the same sequence that share one backward pass at most (memory: B × T × V cotangents and
    /// B × d gradient rows).
    public static let maxStack = 16

    /// f_b(θ) and ∇θ f_b for B sums over the same sequence: one forward pass over the prefix the sums need and one
    /// backward pass carrying the B cotangents stacked (B × T × V), so B token examples cost one pass.
    public static func gradients(_ model: Transformer, _ example: EncodedExample, _ sums: [LogProbSum]) throws -> GradientSet {
        let d = model.layout.count
        guard !sums.isEmpty else { return GradientSet(values: [], gradients: Matrix(rows: 0, cols: d)) }
        for s in sums { try s.check(in: example) }
        let T = sums.map(\.prefixLength).max()!, V = model.config.vocabSize
        let acts = try model.forward(example.input.prefix(T))
        var cot = [Double](repeating: 0, count: sums.count * T * V)
        let values = cot.withUnsafeMutableBufferPointer { c in
            sums.enumerated().map { b, s in
                s.accumulate(into: c.baseAddress! + b * T * V, acts, of: example, vocabulary: V)
            }
        }
        var g = Matrix(rows: sums.count, cols: d)
        try model.backward(acts, cotangents: cot, into: &g.storage)
        return GradientSet(values: values, gradients: g)
    }

    /// f_b(θ) only: one forward pass over the same prefix `gradients` uses, so the two agree to the last bit.
    public static func values(_ model: Transformer, _ example: EncodedExample, _ sums: [LogProbSum]) throws -> [Double] {
        guard !sums.isEmpty else { return [] }
        for s in sums { try s.check(in: example) }
        let acts = try model.forward(example.input.prefix(sums.map(\.prefixLength).max()!))
        return sums.map { $0.value(acts, of: example) }
    }

    /// Gradients of many requests, rows in request order. Requests on the same sequence (same id and input) share
    /// passes in stacks of at most `maxStack`; the stacks are spread over `threads` workers (Parallel.map). The
    /// stacks do not depend on `threads`, so neither do the results.
    public static func gradients(_ model: Transformer, _ requests: [GradientRequest], threads: Int) throws -> GradientSet {
        let stacks = stacked(requests)
        let parts = try Parallel.map(stacks.count, threads: threads) { k in
            try gradients(model, requests[stacks[k][0]].example, stacks[k].map { requests[$0].sum })
        }
        let d = model.layout.count
        var values = [Double](repeating: 0, count: requests.count)
        var g = Matrix(rows: requests.count, cols: d)
        for (stack, part) in zip(stacks, parts) {
            for (b, i) in stack.enumerated() {
                values[i] = part.values[b]
                g.storage.replaceSubrange((i * d)..<((i + 1) * d), with: part.gradients.storage[(b * d)..<((b + 1) * d)])
            }
        }
        return GradientSet(values: values, gradients: g)
    }

    /// Values of many requests, with the same stacks (and so the same bits) as `gradients`.
    public static func values(_ model: Transformer, _ requests: [GradientRequest], threads: Int) throws -> [Double] {
        let stacks = stacked(requests)
        let parts = try Parallel.map(stacks.count, threads: threads) { k in
            try values(model, requests[stacks[k][0]].example, stacks[k].map { requests[$0].sum })
        }
        var out = [Double](repeating: 0, count: requests.count)
        for (stack, part) in zip(stacks, parts) { for (b, i) in stack.enumerated() { out[i] = part[b] } }
        return out
    }

    /// Request indices grouped by sequence (first appearance order), cut into stacks of at most `maxStack`.
    static func stacked(_ requests: [GradientRequest]) -> [[Int]] {
        var groups: [[Int]] = []
        var byID: [String: [Int]] = [:]   // id → indices of the groups with that id
        for (i, r) in requests.enumerated() {
            if let g = byID[r.example.id]?.first(where: { requests[groups[$0][0]].example.input == r.example.input }) {
                groups[g].append(i)
            } else {
                byID[r.example.id, default: []].append(groups.count)
                groups.append([i])
            }
        }
        return groups.flatMap { g in stride(from: 0, to: g.count, by: maxStack).map { Array(g[$0..<min($0 + maxStack, g.count)]) } }
    }
}
