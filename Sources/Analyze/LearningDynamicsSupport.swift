import ArgumentParser
import Dynamics
import Foundation

/// Shared by `decompose`, `symmetry` and `influence`: the level of an analysis.
extension DynamicsLevel: ExpressibleByArgument {}

/// Writes `rows` (the first is the header) to stderr as aligned columns (stdout keeps one summary line).
func printTable(_ rows: [[String]]) {
    TextColumns.lines(rows).forEach { note($0) }
}
