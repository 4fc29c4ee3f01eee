/// The influence matrix of THEORY §5 at sequence level (§3): I_ij = η·⟨∇θ log π(X_i), ∇θ ℓ̄(X_j)⟩, the
/// first-order change (nats) of probe i's sequence log-probability log π(X_i) (summed over its scored tokens)
/// after one plain SGD step of size η on training example j with the SFT weighting of Eq. 10 (1/|o_j|).
/// One gemm of probe gradients by train gradients; `measured` (optional) applies each step for real.
public struct InfluenceMatrix: Sendable {
    public let eta: Double
    /// log π_θ(X_i) of each probe (nats).
    public let probeValues: [Double]
    /// I, N_probes × N_train.
    public let influence: Matrix
    /// log π_{θ+Δθ_j}(X_i) − log π_θ(X_i) with Δθ_j = η ∇θ ℓ̄(X_j), when measured; equals I to first order.
    public let measured: Matrix?

    /// Computes I (and, with `measure`, the real one-step changes); `progress(stage, done, total)` reports
    /// "gradients" per probe chunk and "steps" per train example.
    public init(_ model: Transformer, probes: [EncodedExample], train: [EncodedExample], eta: Double, measure: Bool = false,
                threads: Int, progress: (String, Int, Int) -> Void = { _, _, _ in }) throws {
        try LearningDynamicsError.checkLearningRates([eta])
        guard !probes.isEmpty, !train.isEmpty else { throw LearningDynamicsError.invalid("the influence matrix needs probes and train examples") }
        let probeRequests = probes.map { GradientRequest(example: $0, sum: .sequence($0)) }
        let trainRequests = train.map { GradientRequest(example: $0, sum: .meanLogLikelihood($0)) }
        let products = try GradientInnerProducts(model, probes: probeRequests, train: trainRequests, threads: threads) {
            progress("gradients", $0, $1)
        }
        var influence = products.total
        for i in influence.storage.indices { influence.storage[i] *= eta }
        self.eta = eta
        probeValues = products.probeValues
        self.influence = influence
        guard measure else { measured = nil; return }
        // Column j: step on train j, then every probe again. Each column is computed alone, so blocks of
        // columns may follow the thread count without changing any value.
        var columns: [[Double]] = []
        let block = 4 * threads, before = products.probeValues
        for start in stride(from: 0, to: train.count, by: block) {
            let range = start..<min(start + block, train.count)
            columns += try Parallel.map(range.count, threads: threads) { k in
                let j = range.lowerBound + k
                let g = try PerExampleGradients.gradients(model, train[j], [trainRequests[j].sum]).gradients.storage
                var stepped = model
                stepped.parameters = try UpdateRule.sgd.step(model.parameters, eta: eta, ascent: g, layout: model.layout)
                let after = try PerExampleGradients.values(stepped, probeRequests, threads: 1)
                return zip(after, before).map { $0 - $1 }
            }
            progress("steps", range.upperBound, train.count)
        }
        var m = Matrix(rows: probes.count, cols: train.count)
        for (j, column) in columns.enumerated() { for (i, value) in column.enumerated() { m[i, j] = value } }
        measured = m
    }
}
