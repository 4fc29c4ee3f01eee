import Foundation

/// One learning rate of a symmetry sweep: both one-step changes of THEORY §4 from the same θ, in nats.
public struct SymmetryPoint: Equatable, Sendable, Codable {
    public let rule: UpdateRule
    public let eta: Double
    /// Δf_v|u: f_v after one step on f_u, minus f_v before; and the reverse Δf_u|v.
    public let deltaVU: Double
    public let deltaUV: Double
    /// Their first-order predictions η·⟨∇f_v, Δθ_u/η⟩ and η·⟨∇f_u, Δθ_v/η⟩ (equal for SGD).
    public let predictedVU: Double
    public let predictedUV: Double
    /// The pair's round-off floor (nats).
    public let floor: Double
    /// Both changes are in the first-order regime (`RegimeCriteria.maxRelativeResidual`).
    public let firstOrder: Bool

    /// a(η) = |Δf_v|u − Δf_u|v|.
    public var asymmetry: Double { abs(deltaVU - deltaUV) }
    /// a(η) / mean(|Δf_v|u|, |Δf_u|v|): → 0 linearly in η for SGD.
    public var relativeAsymmetry: Double { asymmetry / ((abs(deltaVU) + abs(deltaUV)) / 2) }
    /// a(η) exceeds the round-off floor.
    public var aboveFloor: Bool { asymmetry > floor }
    /// Used in the fit of log a vs log η.
    public var usedInAsymmetryFit: Bool { firstOrder && aboveFloor }
    /// Used in the fit of log |Δ| vs log η (both changes, above the floor, first order).
    public var usedInDeltaFit: Bool { firstOrder && min(abs(deltaVU), abs(deltaUV)) > floor }
}

/// THEORY §4 for one pair (u, v): for each update rule and η, the step on f_u and the step on f_v, both from the
/// same θ, and the change each causes in the other's f. For symmetry the update and the probe are the same
/// functional: token level f = log π(x); sequence level f = ℓ̄(X), so the update is Eq. 10's SFT step on one
/// sequence (with a Σ_t probe the two directions would differ by |o_u|/|o_v| already at first order).
public struct SymmetrySweep: Sendable, Codable {
    /// f_u(θ) and f_v(θ).
    public let updateValue: Double
    public let probeValue: Double
    /// Rule-major, then η in the order given.
    public let points: [SymmetryPoint]

    public init(_ model: Transformer, u: GradientRequest, v: GradientRequest, etas: [Double], rules: [UpdateRule] = UpdateRule.allCases,
                criteria: RegimeCriteria = RegimeCriteria()) throws {
        try LearningDynamicsError.checkLearningRates(etas)
        let gu = try PerExampleGradients.gradients(model, u.example, [u.sum])
        let gv = try PerExampleGradients.gradients(model, v.example, [v.sum])
        let fu = gu.values[0], fv = gv.values[0], floor = criteria.floor(fu, fv)
        let layout = model.layout
        func probe(_ request: GradientRequest, after rule: UpdateRule, eta: Double, on g: [Double]) throws -> Double {
            var stepped = model
            stepped.parameters = try rule.step(model.parameters, eta: eta, ascent: g, layout: layout)
            return try PerExampleGradients.values(stepped, request.example, [request.sum])[0]
        }
        var points: [SymmetryPoint] = []
        for rule in rules {
            let slopeVU = BLAS.dot(gv.gradients.storage, try rule.direction(ascent: gu.gradients.storage, layout: layout))
            let slopeUV = BLAS.dot(gu.gradients.storage, try rule.direction(ascent: gv.gradients.storage, layout: layout))
            for eta in etas {
                let dvu = try probe(v, after: rule, eta: eta, on: gu.gradients.storage) - fv
                let duv = try probe(u, after: rule, eta: eta, on: gv.gradients.storage) - fu
                let pvu = eta * slopeVU, puv = eta * slopeUV
                let firstOrder = criteria.isFirstOrder(measured: dvu, predicted: pvu) && criteria.isFirstOrder(measured: duv, predicted: puv)
                points.append(SymmetryPoint(rule: rule, eta: eta, deltaVU: dvu, deltaUV: duv, predictedVU: pvu, predictedUV: puv,
                                            floor: floor, firstOrder: firstOrder))
            }
        }
        updateValue = fu
        probeValue = fv
        self.points = points
    }

    /// `count` learning rates from `min` to `max`, evenly spaced in log η (THEORY §4's default: 1e-6 … 1e-1).
    public static func etaGrid(min: Double, max: Double, count: Int) throws -> [Double] {
        try LearningDynamicsError.checkLearningRates([min, max])
        guard max > min, count >= 2 else { throw LearningDynamicsError.invalid("η grid needs η_max > η_min and at least 2 points") }
        let a = log(min), b = log(max)
        return (0..<count).map { k in k == 0 ? min : k == count - 1 ? max : exp(a + (b - a) * Double(k) / Double(count - 1)) }
    }
}
