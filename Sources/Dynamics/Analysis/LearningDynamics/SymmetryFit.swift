import Foundation

/// What a symmetry sweep says about one update rule (THEORY §4).
public enum SymmetryVerdict: String, Sendable {
    case symmetric, asymmetric, inconclusive

    public var description: String {
        switch self {
        case .symmetric: "symmetric to first order (a ∝ η²)"
        case .asymmetric: "asymmetric at first order (a ∝ η)"
        case .inconclusive: "inconclusive"
        }
    }

    /// From the asymmetry slope s ± se of log a vs log η: with tolerance τ = max(0.2, 2·se), `symmetric` when
    /// |s − 2| ≤ τ and |s − 1| > τ, `asymmetric` when |s − 1| ≤ τ and |s − 2| > τ, otherwise (or without a
    /// fit) `inconclusive` — so a slope too uncertain to tell 1 from 2 never gets a verdict.
    public init(asymmetrySlope fit: PooledSlope?) {
        guard let fit, fit.slope.isFinite, fit.slopeError.isFinite else { self = .inconclusive; return }
        let tau = Swift.max(0.2, 2 * fit.slopeError)
        let nearTwo = abs(fit.slope - 2) <= tau, nearOne = abs(fit.slope - 1) <= tau
        self = nearTwo && !nearOne ? .symmetric : nearOne && !nearTwo ? .asymmetric : .inconclusive
    }
}

/// Log-log slopes of a set of symmetry sweeps for one update rule, and the verdict.
///
/// Fits use only the trusted points (`SymmetryPoint.usedInDeltaFit`, `usedInAsymmetryFit`). The pooled slopes
/// are fixed-effects fits (`Statistics.pooledSlope`): one slope for all pairs, one intercept per pair (for |Δ|,
/// per pair and direction, since Δ_{v|u} and Δ_{u|v} differ in size under Adam). Per-pair slopes come from the
/// same fit on one pair's points; nil where there are too few points (a fit needs n ≥ groups + 2).
public struct SymmetrySummary: Sendable {
    public let rule: UpdateRule
    /// Slope of log|Δ| vs log η (expected ≈ 1) and of log a vs log η (≈ 2 for SGD, ≈ 1 for Adam), all pairs.
    public let delta: PooledSlope?
    public let asymmetry: PooledSlope?
    /// The same per pair, in the sweeps' order.
    public let pairDelta: [PooledSlope?]
    public let pairAsymmetry: [PooledSlope?]
    public let verdict: SymmetryVerdict

    public init(rule: UpdateRule, sweeps: [SymmetrySweep]) {
        func deltaGroups(_ s: SymmetrySweep) -> [(x: [Double], y: [Double])] {
            let pts = s.points.filter { $0.rule == rule && $0.usedInDeltaFit }
            let x = pts.map { log($0.eta) }
            return [(x, pts.map { log(abs($0.deltaVU)) }), (x, pts.map { log(abs($0.deltaUV)) })]
        }
        func asymmetryGroup(_ s: SymmetrySweep) -> (x: [Double], y: [Double]) {
            let pts = s.points.filter { $0.rule == rule && $0.usedInAsymmetryFit }
            return (pts.map { log($0.eta) }, pts.map { log($0.asymmetry) })
        }
        self.rule = rule
        delta = try? Statistics.pooledSlope(sweeps.flatMap(deltaGroups))
        asymmetry = try? Statistics.pooledSlope(sweeps.map(asymmetryGroup))
        pairDelta = sweeps.map { try? Statistics.pooledSlope(deltaGroups($0)) }
        pairAsymmetry = sweeps.map { try? Statistics.pooledSlope([asymmetryGroup($0)]) }
        verdict = SymmetryVerdict(asymmetrySlope: asymmetry)
    }
}
