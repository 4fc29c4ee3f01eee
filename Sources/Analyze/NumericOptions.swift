import ArgumentParser
import Dynamics

/// The one validation layer for numeric flags. Every numeric option is declared with `parsing: .unconditional`,
/// so a negative value (`--warmup -1`, `--warmup=-1`) reaches this check instead of being taken for a flag, and
/// each command's `validate()` checks its values against the ranges below (README "Reliability" lists them). A
/// value out of range is a message naming the flag, the range and the value; 0 is never silently read as 1.
enum NumericFlag {
    /// Throws unless `value` (when given) lies in `range`.
    static func check(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        guard let value else { return }
        guard range.contains(value) else {
            throw ValidationError("\(flag) must lie in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
    }

    /// Throws unless `value` (when given) is finite and lies in `range`; with `exclusiveLower` it must also be above
    /// the lower bound.
    static func check(_ flag: String, _ value: Double?, _ range: ClosedRange<Double>, exclusiveLower: Bool = false) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value), !(exclusiveLower && value == range.lowerBound) else {
            let low = exclusiveLower ? "above \(range.lowerBound)" : "at least \(range.lowerBound)"
            throw ValidationError("\(flag) must be a finite number \(low) and at most \(range.upperBound), got \(value)")
        }
    }
}
