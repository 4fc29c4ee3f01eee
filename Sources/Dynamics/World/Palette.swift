/// The shapes a scene can hold.
public enum ShapeKind: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle

    /// The plural used in counting questions ("how many circles").
    public var plural: String { rawValue + "s" }
}

/// The colours a shape can have, with their RGB values in [0, 1].
public enum ShapeColour: String, CaseIterable, Codable, Sendable {
    case red, green, blue, yellow

    public var rgb: (Double, Double, Double) {
        switch self {
        case .red: (0.86, 0.14, 0.12)
        case .green: (0.13, 0.72, 0.22)
        case .blue: (0.14, 0.30, 0.92)
        case .yellow: (0.93, 0.86, 0.12)
        }
    }
}
