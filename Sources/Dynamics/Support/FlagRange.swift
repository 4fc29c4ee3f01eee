/// The ranges the command line's numeric flags must lie in (README "Reliability" lists them); `RunLimits` holds
/// the ones a run's stored settings must also satisfy.
public enum FlagRange {
    /// Worker threads.
    public static let threads = 1...1024
    /// Examples to generate, evaluate or use (`--count`, `--limit`, `--eval-limit`).
    public static let count = 1...10_000_000
    /// Examples shown on a contact sheet.
    public static let previewCount = 1...10_000
    /// Contact-sheet upscaling and columns.
    public static let previewScale = 1...16
    public static let previewColumns = 1...32
    /// Image side S in pixels for generated and jigsaw images.
    public static let imageSize = 2...1024
    /// Percentage of files in the test split.
    public static let percent = 0...100
    /// Puzzles per image, samples per prompt (`--per-image`, `--samples`, eval's `--sample`).
    public static let perItem = 1...10_000
    /// Optimizer steps and step periods (`--steps`; `--warmup`, `--checkpoint-every`, `--eval-every` may be 0).
    public static let steps = 1...RunLimits.steps.upperBound
    public static let period = 0...RunLimits.steps.upperBound
    /// Passes over the data.
    public static let epochs = 0.0...1e6
    /// Learning rates, clipping norms, weight decay, KL weight, PPO clip.
    public static let rate = 0.0...1e6
    /// Sampling temperature.
    public static let temperature = 0.0...100.0
    /// The benchmark's sequence length and repetitions.
    public static let benchLength = 1...4096
    public static let benchRepeats = 1...1000
    /// Probe pairs drawn at random, η grid points, a token position.
    public static let pairs = 1...100_000
    public static let etaPoints = 3...1000
    public static let position = 0...(1 << 20)
    /// A learning rate η of the analyses (`--eta`, `--eta-min`, `--eta-max`).
    public static let eta = 0.0...1e3
    /// A fresh network's initial standard deviations (`--attention-init-std`).
    public static let initStd = 0.0...10.0
}
