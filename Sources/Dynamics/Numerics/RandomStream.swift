import CGSL

/// A named, seeded stream of random numbers (GSL's MT19937).
///
/// The stream's seed is derived from the run's seed and the stream's name, so that adding a new consumer of
/// randomness never shifts the numbers another consumer sees. Same seed and name → same numbers on every machine.
/// A stream is a reference to mutable generator state: it is not shared between threads.
public final class RandomStream {
    /// The name given at creation (e.g. "init", "sample", "data.train").
    public let name: String
    private let rng: UnsafeMutablePointer<gsl_rng>

    /// A stream for `name` under the run's `seed`.
    public init(seed: UInt64, name: String) {
        GSLRuntime.configure()
        self.name = name
        rng = gsl_rng_alloc(dynamics_gsl_rng_mt19937())
        gsl_rng_set(rng, UInt(RandomStream.derivedSeed(seed: seed, name: name)))
    }

    /// A stream restored from `state` bytes previously read from `state` of a stream with the same name.
    public init(name: String, state: [UInt8]) throws {
        GSLRuntime.configure()
        guard state.count == RandomStream.stateSize else {
            throw NumericsError.invalid("random stream '\(name)': saved state has \(state.count) bytes, expected \(RandomStream.stateSize)")
        }
        self.name = name
        rng = gsl_rng_alloc(dynamics_gsl_rng_mt19937())
        state.withUnsafeBytes { gsl_rng_state(rng)!.copyMemory(from: $0.baseAddress!, byteCount: state.count) }
    }

    deinit { gsl_rng_free(rng) }

    /// Bytes in a saved MT19937 state.
    public static let stateSize: Int = dynamics_gsl_rng_mt19937().pointee.size

    /// The 32-bit MT19937 seed used for (`seed`, `name`): SplitMix64 of the seed mixed with FNV-1a of the name.
    public static func derivedSeed(seed: UInt64, name: String) -> UInt32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        var z = seed &+ hash &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        return UInt32(truncatingIfNeeded: z >> 32)
    }

    /// The generator's full state, enough to resume the stream exactly.
    public var state: [UInt8] {
        let size = gsl_rng_size(rng)
        let raw = gsl_rng_state(rng)!
        return [UInt8](UnsafeRawBufferPointer(start: raw, count: size))
    }

    /// A uniform double in [0, 1).
    public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// A uniform integer in 0 ..< n (n ≥ 1).
    public func uniformInt(_ n: Int) -> Int {
        precondition(n >= 1, "uniformInt needs n ≥ 1")
        return Int(gsl_rng_uniform_int(rng, UInt(n)))
    }

    /// A normal deviate with mean 0 and standard deviation `sigma`.
    public func gaussian(sigma: Double = 1) -> Double { gsl_ran_gaussian(rng, sigma) }

    /// An index drawn with probability proportional to `weights` (non-negative, positive sum).
    public func categorical(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = uniform() * total
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return i }
        }
        return weights.lastIndex(where: { $0 > 0 }) ?? 0
    }

    /// Fisher–Yates shuffle of `array` in place.
    public func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, uniformInt(i + 1))
        }
    }
}

/// Process-wide GSL set-up: GSL aborts on error by default, which would be a crash; switch that off once.
enum GSLRuntime {
    private static let once: Void = { _ = gsl_set_error_handler_off() }()
    static func configure() { once }
}
