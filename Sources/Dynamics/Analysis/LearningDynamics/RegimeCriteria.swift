/// Which measured one-step changes are trusted in log-log slope fits (THEORY §3–4: fit "over the η range where
/// neither round-off nor higher-order terms dominate").
///
/// - Round-off floor: a measured change is the difference of two float64 evaluations of f, each off by about
///   ε·(|f| + 1) after the network's sums (ε = 2.2e-16). On the tiny and small presets the scatter of measured −
///   predicted and of the SGD asymmetry at η ≤ 1e-9, where the true O(η²) parts are far below ε, stays under
///   2 × ε·(|f_u| + |f_v| + 1). The floor is c·ε·(|f_u(θ)| + |f_v(θ)| + 1) with c = 100 by default, so a quantity
///   above it carries at most about 2% of round-off.
/// - First-order regime: a change is used only where |measured − predicted| ≤ b·|predicted|, b = 0.1 by default:
///   there the O(η²) term is at most a tenth of the first-order term, and the O(η³) terms about a tenth of the
///   O(η²) residual, so neither the slope of |Δ| (≈ 1) nor that of the residual or the asymmetry (≈ 2) bends.
public struct RegimeCriteria: Equatable, Sendable {
    /// c in the round-off floor.
    public var floorFactor: Double
    /// b, the largest relative residual of a first-order point.
    public var maxRelativeResidual: Double

    public static let defaultFloorFactor = 100.0
    public static let defaultMaxRelativeResidual = 0.1

    public init(floorFactor: Double = defaultFloorFactor, maxRelativeResidual: Double = defaultMaxRelativeResidual) {
        self.floorFactor = floorFactor
        self.maxRelativeResidual = maxRelativeResidual
    }

    /// The round-off floor (nats) of changes involving f_u(θ) = `fu` and f_v(θ) = `fv`.
    public func floor(_ fu: Double, _ fv: Double) -> Double {
        floorFactor * Double.ulpOfOne * (abs(fu) + abs(fv) + 1)
    }

    /// |measured − predicted| ≤ b·|predicted|.
    public func isFirstOrder(measured: Double, predicted: Double) -> Bool {
        abs(measured - predicted) <= maxRelativeResidual * abs(predicted)
    }
}
