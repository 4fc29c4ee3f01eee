import Foundation

/// One learning rate's predicted and measured change of a probe f_v after one step on an update f_u
/// (THEORY §3), in nats.
public struct OneStepChange: Equatable, Sendable, Codable {
    public let eta: Double
    /// η·⟨∇θ f_v, Δθ/η⟩ (for SGD η·A K G).
    public let predicted: Double
    /// f_v(θ + Δθ) − f_v(θ), the real step applied and f_v recomputed.
    public let measured: Double

    /// measured − predicted: O(η²).
    public var residual: Double { measured - predicted }
    /// |residual| / |predicted| (infinite when the prediction is 0).
    public var relativeError: Double { abs(residual) / abs(predicted) }
}

/// THEORY §3: the one-step change Δf_v|u = f_v(θ + Δθ) − f_v(θ) after one step Δθ along ∇θ f_u, against its
/// first-order prediction η·⟨∇θ f_v, Δθ/η⟩, for several η from the same θ, with each parameter tensor's share.
///
/// Token level: f_u = log π(x_u), f_v = log π(x_v). Sequence level (Eq. 10): f_u = ℓ̄(X_u) (weight 1/|o_u|, or
/// c_t/|o_u| for GRPO), f_v = log π(X_v) summed over its scored tokens.
public struct OneStepDecomposition: Sendable, Codable {
    public let rule: UpdateRule
    /// f_v(θ) and f_u(θ).
    public let probeValue: Double
    public let updateValue: Double
    /// ⟨∇θ f_v, Δθ/η⟩: the predicted change per unit η.
    public let firstOrder: Double
    /// Each parameter tensor's part of `firstOrder`; the shares sum to 1.
    public let shares: [GradientProducts.TensorShare]
    /// One entry per η, in the order given.
    public let changes: [OneStepChange]

    /// Measures the change of `probe` after one `rule` step of each size in `etas` on `update`.
    public init(_ model: Transformer, update: GradientRequest, probe: GradientRequest, etas: [Double], rule: UpdateRule = .sgd) throws {
        try LearningDynamicsError.checkLearningRates(etas)
        let u = try PerExampleGradients.gradients(model, update.example, [update.sum])
        let v = try PerExampleGradients.gradients(model, probe.example, [probe.sum])
        let layout = model.layout
        let direction = try rule.direction(ascent: u.gradients.storage, layout: layout)
        self.rule = rule
        probeValue = v.values[0]
        updateValue = u.values[0]
        firstOrder = BLAS.dot(v.gradients.storage, direction)
        shares = try GradientProducts.shares(v.gradients.storage, direction, layout: layout)
        let before = probeValue, slope = firstOrder
        changes = try etas.map { eta in
            var stepped = model
            stepped.parameters = try rule.step(model.parameters, eta: eta, ascent: u.gradients.storage, layout: layout)
            let after = try PerExampleGradients.values(stepped, probe.example, [probe.sum])[0]
            return OneStepChange(eta: eta, predicted: eta * slope, measured: after - before)
        }
    }
}

extension OneStepDecomposition {
    /// Whether `change` is trusted for the residual fit: |residual| above the round-off floor of f_u, f_v and
    /// inside the first-order regime (`RegimeCriteria`).
    public func usedInResidualFit(_ change: OneStepChange, criteria: RegimeCriteria = RegimeCriteria()) -> Bool {
        abs(change.residual) > criteria.floor(updateValue, probeValue)
            && criteria.isFirstOrder(measured: change.measured, predicted: change.predicted)
    }

    /// Slope of log|residual| vs log η (THEORY §3: ≈ 2) over the trusted changes of several decompositions,
    /// one intercept each (`Statistics.pooledSlope`); nil when too few changes are trusted.
    public static func residualSlope(_ decompositions: [OneStepDecomposition], criteria: RegimeCriteria = RegimeCriteria()) -> PooledSlope? {
        try? Statistics.pooledSlope(decompositions.map { d in
            let used = d.changes.filter { d.usedInResidualFit($0, criteria: criteria) }
            return (used.map { log($0.eta) }, used.map { log(abs($0.residual)) })
        })
    }
}
