/// Requests the learning-dynamics analyses cannot carry out.
public enum LearningDynamicsError: Error, Equatable, CustomStringConvertible {
    /// A learning rate η that is not a positive finite number.
    case badLearningRate(Double)
    /// Any other unusable request, with the reason.
    case invalid(String)

    public var description: String {
        switch self {
        case let .badLearningRate(eta): "learning rate η must be positive and finite, got \(eta)"
        case let .invalid(reason): reason
        }
    }

    /// Throws unless every η is positive and finite.
    static func checkLearningRates(_ etas: [Double]) throws {
        guard !etas.isEmpty else { throw invalid("no learning rates given") }
        if let bad = etas.first(where: { !($0.isFinite && $0 > 0) }) { throw badLearningRate(bad) }
    }
}
