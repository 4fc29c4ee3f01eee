import ArgumentParser
import Dynamics

/// The one validation layer for numeric flags. Every numeric option is declared with `parsing: .unconditional`,
/// so a negative value (`--warmup -1`, `--warmup=-1`) reaches this check instead of being taken for a flag, and
/// each command's `validate()` checks its values against the ranges below (README "Reliability" lists them). A
/// value out of range is a message naming the flag, the range and the value; 0 is never silently read as 1.
enum FlagRange {
    /// Worker threads.
    static let threads = 1...1024
    /// Examples to generate, evaluate or use (`--count`, `--limit`, `--eval-limit`).
    static let count = 1...10_000_000
    /// Examples shown on a contact sheet.
    static let previewCount = 1...10_000
    /// Contact-sheet upscaling and columns.
    static let previewScale = 1...16
    static let previewColumns = 1...32
    /// Image side S in pixels for generated and jigsaw images.
    static let imageSize = 2...1024
    /// Percentage of files in the test split.
    static let percent = 0...100
    /// Puzzles per image, samples per prompt (`--per-image`, `--samples`, eval's `--sample`).
    static let perItem = 1...10_000
    /// Optimizer steps and step periods (`--steps`; `--warmup`, `--checkpoint-every`, `--eval-every` may be 0).
    static let steps = 1...RunLimits.steps.upperBound
    static let period = 0...RunLimits.steps.upperBound
    /// Passes over the data.
    static let epochs = 0.0...1e6
    /// Learning rates, clipping norms, weight decay, KL weight, PPO clip.
    static let rate = 0.0...1e6
    /// Sampling temperature.
    static let temperature = 0.0...100.0
    /// The benchmark's sequence length and repetitions.
    static let benchLength = 1...4096
    static let benchRepeats = 1...1000
    /// Probe pairs drawn at random, η grid points, a token position.
    static let pairs = 1...100_000
    static let etaPoints = 3...1000
    static let position = 0...(1 << 20)
    /// A learning rate η of the analyses (`--eta`, `--eta-min`, `--eta-max`).
    static let eta = 0.0...1e3
}

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
