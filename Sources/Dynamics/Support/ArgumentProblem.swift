import Foundation

/// A command-line value that cannot be used, with the message that names the flag and what is wrong. A command-line
/// front end reports it as a usage error (ArgumentParser's `ValidationError`: the message, then the usage).
public struct ArgumentProblem: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The one validation layer for numeric flags. Every numeric option is declared with `parsing: .unconditional`,
/// so a negative value (`--warmup -1`, `--warmup=-1`) reaches this check instead of being taken for a flag, and
/// each command's `validate()` checks its values against the ranges of `FlagRange` (README "Reliability" lists
/// them). A value out of range is a message naming the flag, the range and the value; 0 is never silently read as 1.
extension FlagRange {
    /// Throws unless `value` (when given) lies in `range`.
    public static func check(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        guard let value else { return }
        guard range.contains(value) else {
            throw ArgumentProblem("\(flag) must lie in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
    }

    /// Throws unless `value` (when given) is finite and lies in `range`; with `exclusiveLower` it must also be above
    /// the lower bound.
    public static func check(_ flag: String, _ value: Double?, _ range: ClosedRange<Double>, exclusiveLower: Bool = false) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value), !(exclusiveLower && value == range.lowerBound) else {
            let low = exclusiveLower ? "above \(range.lowerBound)" : "at least \(range.lowerBound)"
            throw ArgumentProblem("\(flag) must be a finite number \(low) and at most \(range.upperBound), got \(value)")
        }
    }

    /// A comma-separated list of learning rates (`--eta`); each must be positive and finite.
    public static func learningRates(_ text: String, flag: String) throws -> [Double] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { throw ArgumentProblem("\(flag) needs at least one learning rate") }
        return try parts.map { part in
            guard let eta = Double(part), eta.isFinite, eta > 0 else {
                throw ArgumentProblem("\(flag): '\(part)' is not a positive finite learning rate")
            }
            return eta
        }
    }

    /// NAME and VALUE of a `NAME=VALUE` flag value (`--probe NAME=FILE`, `--eval NAME=FILE`); NAME is not empty.
    public static func namedValue(_ spec: String, flag: String, value: String = "VALUE") throws -> (name: String, value: String) {
        guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else { throw ArgumentProblem("\(flag) takes NAME=\(value), got '\(spec)'") }
        return (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
    }
}

/// Rows of text (the first is the header) as aligned columns separated by " | ", one string a row: the summary
/// tables the commands print to stderr.
public enum TextColumns {
    public static func lines(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            zip(r.dropLast(), widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ") + " | " + r[columns - 1]
        }
    }
}

extension PooledSlope {
    /// "s ± se" of a fit, or "—" without one.
    public static func text(_ fit: PooledSlope?) -> String {
        fit.map { String(format: "%.3f ± %.3f", $0.slope, $0.slopeError) } ?? "—"
    }
}
