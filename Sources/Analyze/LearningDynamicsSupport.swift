import ArgumentParser
import Dynamics
import Foundation

/// Shared by `decompose`, `symmetry` and `influence`: the level of an analysis, η lists, and examples looked up
/// by id or ID:POSITION.

extension DynamicsLevel: ExpressibleByArgument {}

/// A comma-separated list of learning rates; each must be positive and finite.
func parseLearningRates(_ text: String, flag: String) throws -> [Double] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !parts.isEmpty else { throw ValidationError("\(flag) needs at least one learning rate") }
    return try parts.map { part in
        guard let eta = Double(part), eta.isFinite, eta > 0 else {
            throw ValidationError("\(flag): '\(part)' is not a positive finite learning rate")
        }
        return eta
    }
}

/// "s ± se" of a fit, or "—" without one.
func slopeText(_ fit: PooledSlope?) -> String {
    fit.map { String(format: "%.3f ± %.3f", $0.slope, $0.slopeError) } ?? "—"
}

/// Writes `rows` (the first is the header) to stderr as columns separated by " | " (stdout keeps one summary line).
func printTable(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
    for r in rows {
        note(zip(r.dropLast(), widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ") + " | " + r[columns - 1])
    }
}
