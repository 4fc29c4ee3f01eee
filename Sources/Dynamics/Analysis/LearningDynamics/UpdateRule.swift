/// The single optimizer step whose effect on log-probabilities the analyses measure, taken along an ascent
/// direction g = ∇θ f_u (the gradient of an objective to **maximise**, e.g. ℓ̄ of the updated example).
///
/// - `sgd`: plain SGD, Δθ = η·g (no momentum, weight decay or clipping; THEORY §3).
/// - `adam`: one AdamW step from fresh state with weight decay 0 and the default betas and ε (THEORY §4's
///   contrast): Δθ = η·ĝ with ĝ_i = g_i / (|g_i| + ε) ≈ sign(g_i).
/// Both go through `Optimizer`, which minimises, so it is handed −g.
public enum UpdateRule: String, CaseIterable, Sendable, Codable {
    case sgd, adam

    /// θ + Δθ after one step of size η (η > 0, finite) on parameters laid out as `layout`.
    public func step(_ theta: [Double], eta: Double, ascent g: [Double], layout: ParameterLayout) throws -> [Double] {
        try LearningDynamicsError.checkLearningRates([eta])
        guard g.count == layout.count, theta.count == layout.count else {
            throw ShapeError.mismatch(what: "θ and update direction", expected: [layout.count], found: [theta.count, g.count])
        }
        let kind: OptimizerConfig.Kind = self == .sgd ? .sgd : .adamw
        var optimizer = try Optimizer(config: OptimizerConfig(kind: kind, learningRate: eta, weightDecay: 0), layout: layout)
        var next = theta
        _ = optimizer.apply(g.map { -$0 }, to: &next)
        return next
    }

    /// Δθ/η, which for both rules does not depend on η: the step of size 1 from θ = 0 (exactly g for SGD).
    /// The first-order change of a probe f_v is η·⟨∇θ f_v, direction⟩.
    public func direction(ascent g: [Double], layout: ParameterLayout) throws -> [Double] {
        try step([Double](repeating: 0, count: layout.count), eta: 1, ascent: g, layout: layout)
    }
}
