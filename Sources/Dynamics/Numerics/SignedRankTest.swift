import CGSL

/// The Wilcoxon signed-rank test of paired samples, one-sided, as R's
/// `wilcox.test(x, y, paired = TRUE, alternative = "less")` computes it.
///
/// Differences d_i = x_i − y_i; zeros are dropped (Wilcoxon's convention); the |d_i| are ranked with ties given
/// their mean rank; the statistic is V = Σ ranks of the positive d_i. Small V supports "x tends to be less than y".
/// p = P(V ≤ v) under H0:
/// - **exact** (the null distribution of V by counting rank subsets) when n ≤ 50 and there are neither ties nor zeros;
/// - otherwise the **normal approximation** with the tie correction of the variance,
///   σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48, and a continuity correction of ½: z = (V − n(n+1)/4 + ½)/σ, p = Φ(z).
public struct SignedRankTest: Equatable, Sendable {
    public enum Method: String, Sendable { case exact, normal }

    /// Pairs given.
    public let pairs: Int
    /// Non-zero differences (the n of the test).
    public let n: Int
    /// V: the sum of the ranks of the positive differences.
    public let statistic: Double
    /// The z of the normal approximation (also reported when the p-value is exact).
    public let z: Double
    /// One-sided p-value of H1: x < y.
    public let pValue: Double
    public let method: Method

    /// Tests H1: x tends to be less than y. Throws when the lengths differ, on NaN, or when every difference is zero.
    public init(less x: [Double], than y: [Double]) throws {
        guard x.count == y.count else { throw ShapeError.mismatch(what: "signed-rank test y", expected: [x.count], found: [y.count]) }
        guard !x.contains(where: \.isNaN), !y.contains(where: \.isNaN) else { throw NumericsError.invalid("signed-rank test: data contains NaN") }
        let d = zip(x, y).map { $0 - $1 }.filter { $0 != 0 }
        guard !d.isEmpty else { throw NumericsError.invalid("signed-rank test: all \(x.count) differences are zero") }
        let n = d.count
        let (ranks, tieGroups) = SignedRankTest.midRanks(d.map(abs))
        let v = zip(d, ranks).filter { $0.0 > 0 }.map(\.1).reduce(0, +)
        let mean = Double(n * (n + 1)) / 4
        let variance = Double(n * (n + 1) * (2 * n + 1)) / 24 - tieGroups.map { Double($0 * $0 * $0 - $0) }.reduce(0, +) / 48
        let z = variance > 0 ? (v - mean + 0.5) / variance.squareRoot() : 0
        pairs = x.count
        self.n = n
        statistic = v
        self.z = z
        if n <= 50 && tieGroups.isEmpty && d.count == x.count {
            method = .exact
            pValue = SignedRankTest.exactLowerTail(n: n, v: Int(v))
        } else {
            method = .normal
            pValue = variance > 0 ? gsl_cdf_ugaussian_P(z) : 1
        }
    }

    /// Ranks 1…n of `values` (ties get their mean rank) and the sizes of the tie groups larger than one.
    static func midRanks(_ values: [Double]) -> (ranks: [Double], ties: [Int]) {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var ties: [Int] = []
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j + 2) / 2
            for k in i...j { ranks[order[k]] = rank }
            if j > i { ties.append(j - i + 1) }
            i = j + 1
        }
        return (ranks, ties)
    }

    /// P(V ≤ v) when V is the sum of a uniformly random subset of the ranks 1…n (2ⁿ equally likely subsets).
    static func exactLowerTail(n: Int, v: Int) -> Double {
        let top = n * (n + 1) / 2
        guard v >= 0 else { return 0 }
        guard v < top else { return 1 }
        // counts[s] = number of subsets of {1…k} with sum s, as Doubles (2^50 is exact in a Double).
        var counts = [Double](repeating: 0, count: top + 1)
        counts[0] = 1
        for k in 1...n {
            for s in stride(from: k * (k + 1) / 2, through: k, by: -1) { counts[s] += counts[s - k] }
        }
        return counts[0...v].reduce(0, +) / Double(sign: .plus, exponent: n, significand: 1)
    }
}

extension Statistics {
    /// Percentile rank of `value` within `sample`, with ties counted half: 100·(#{x < v} + ½·#{x = v}) / n.
    /// 50 means `value` sits at the sample's median. Throws on an empty sample.
    public static func percentileRank(_ value: Double, in sample: [Double]) throws -> Double {
        guard !sample.isEmpty else { throw NumericsError.empty(what: "percentile rank") }
        let below = sample.filter { $0 < value }.count, equal = sample.filter { $0 == value }.count
        return 100 * (Double(below) + 0.5 * Double(equal)) / Double(sample.count)
    }

    /// Percentile bootstrap interval of `statistic` over resamples of `data` (with replacement): the `level`
    /// interval's quantiles of `resamples` bootstrap values, all draws from `rng`. Throws on empty data.
    public static func bootstrapInterval(_ data: [Double], resamples: Int, level: Double = 0.95, rng: RandomStream,
                                         statistic: ([Double]) throws -> Double) throws -> (lower: Double, upper: Double) {
        guard !data.isEmpty else { throw NumericsError.empty(what: "bootstrap") }
        guard resamples >= 1, level > 0, level < 1 else { throw NumericsError.invalid("bootstrap needs ≥ 1 resample and a level in (0, 1)") }
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var sample = data
        for _ in 0..<resamples {
            for i in sample.indices { sample[i] = data[rng.uniformInt(data.count)] }
            values.append(try statistic(sample))
        }
        let q = try quantiles(values, [(1 - level) / 2, (1 + level) / 2])
        return (q[0], q[1])
    }
}
