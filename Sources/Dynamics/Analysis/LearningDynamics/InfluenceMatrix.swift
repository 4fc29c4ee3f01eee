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
        try Self.check(eta: eta, probes: probes.count, train: train.count)
        let products = try Self.products(model, probes: probes[...], train: train, threads: threads) { progress("gradients", $0, $1) }
        let after = measure ? try Self.probesAfterSteps(model, probes: probes, train: train, columns: train.indices, eta: eta, threads: threads) {
            progress("steps", $0, train.count)
        } : nil
        self.init(eta: eta, probeValues: products.probeValues, products: products.total, probesAfterSteps: after)
    }

    /// I from the products ⟨∇ log π(X_i), ∇ ℓ̄(X_j)⟩ and, when measured, each train step's column of log π(X_i) after it.
    init(eta: Double, probeValues: [Double], products: Matrix, probesAfterSteps columns: [[Double]]?) {
        var influence = products
        for i in influence.storage.indices { influence.storage[i] *= eta }
        self.eta = eta
        self.probeValues = probeValues
        self.influence = influence
        guard let columns else { measured = nil; return }
        var m = Matrix(rows: probeValues.count, cols: columns.count)
        for (j, column) in columns.enumerated() { for (i, value) in column.enumerated() { m[i, j] = value - probeValues[i] } }
        measured = m
    }

    /// Throws unless η is a valid learning rate and there are probes and train examples.
    static func check(eta: Double, probes: Int, train: Int) throws {
        try LearningDynamicsError.checkLearningRates([eta])
        guard probes > 0, train > 0 else { throw LearningDynamicsError.invalid("the influence matrix needs probes and train examples") }
    }

    /// The products for `probes` (a part of the probes) against every train example; `progress(done, total)` per
    /// probe chunk.
    static func products(_ model: Transformer, probes: ArraySlice<EncodedExample>, train: [EncodedExample], threads: Int,
                         progress: (Int, Int) -> Void) throws -> GradientInnerProducts {
        try GradientInnerProducts(model, probes: probes.map { GradientRequest(example: $0, sum: .sequence($0)) },
                                         train: train.map { GradientRequest(example: $0, sum: .meanLogLikelihood($0)) }, threads: threads,
                                         progress: progress)
    }

    /// Column j for each j of `columns`: log π(X_i) of every probe after one SGD step on train j. Each column is
    /// computed alone, so blocks of columns may follow the thread count (and the columns the ranks) without changing
    /// any value; `progress(done)` counts the columns done.
    static func probesAfterSteps(_ model: Transformer, probes: [EncodedExample], train: [EncodedExample], columns: Range<Int>, eta: Double,
                                 threads: Int, progress: (Int) -> Void) throws -> [[Double]] {
        let probeRequests = probes.map { GradientRequest(example: $0, sum: .sequence($0)) }
        var after: [[Double]] = []
        let block = 4 * threads
        for start in stride(from: columns.lowerBound, to: columns.upperBound, by: block) {
            let range = start..<min(start + block, columns.upperBound)
            after += try Parallel.map(range.count, threads: threads) { k in
                let j = range.lowerBound + k
                let g = try PerExampleGradients.gradients(model, train[j], [.meanLogLikelihood(train[j])]).gradients.storage
                var stepped = model
                stepped.parameters = try UpdateRule.sgd.step(model.parameters, eta: eta, ascent: g, layout: model.layout)
                return try PerExampleGradients.values(stepped, probeRequests, threads: 1)
            }
            progress(range.upperBound - columns.lowerBound)
        }
        return after
    }
}
