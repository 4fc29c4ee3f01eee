import Foundation

/// A CSV table in long format: a header and rows of cells, written atomically.
/// Numbers use Swift's shortest round-trip representation, so a value read back is the value written.
public struct CSVTable: Sendable {
    public let header: [String]
    public private(set) var rows: [[String]] = []

    public init(header: [String]) { self.header = header }

    /// Appends one row; each cell is a string, an integer or a Double.
    public mutating func append(_ cells: [CSVCell]) {
        precondition(cells.count == header.count, "CSV row width differs from the header (internal error)")
        rows.append(cells.map(\.text))
    }

    /// The file's text, RFC 4180 quoting where needed.
    public var text: String {
        ([header] + rows).map { $0.map(CSVTable.quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// Writes the table to `url` atomically.
    public func write(to url: URL) throws { try AtomicFile.write(Data(text.utf8), to: url) }

    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// One CSV cell.
public enum CSVCell: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    case string(String)
    case int(Int)
    case double(Double)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }

    var text: String {
        switch self {
        case let .string(s): s
        case let .int(i): String(i)
        case let .double(d): d.isNaN ? "nan" : d.isInfinite ? (d > 0 ? "inf" : "-inf") : "\(d)"
        }
    }
}
