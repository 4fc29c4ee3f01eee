import ArgumentParser
import Dynamics

/// `FlagRange.check` (the one validation layer for numeric flags) with its problems reported as usage errors.
enum NumericFlag {
    static func check(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        try validating { try FlagRange.check(flag, value, range) }
    }

    static func check(_ flag: String, _ value: Double?, _ range: ClosedRange<Double>, exclusiveLower: Bool = false) throws {
        try validating { try FlagRange.check(flag, value, range, exclusiveLower: exclusiveLower) }
    }
}

/// `body`'s result, with the library's `ArgumentProblem` reported as a usage error (`ValidationError`).
func validating<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let problem as ArgumentProblem { throw ValidationError(problem.message) }
}
