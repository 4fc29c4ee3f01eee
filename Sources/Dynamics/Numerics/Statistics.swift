import CGSL

/// Descriptive statistics and line fits (GSL), for the summaries every analysis prints.
public enum Statistics {
    /// Arithmetic mean; throws on empty input.
    public static func mean(_ x: [Double]) throws -> Double {
        guard !x.isEmpty else { throw NumericsError.empty(what: "mean") }
        return x.withUnsafeBufferPointer { gsl_stats_mean($0.baseAddress, 1, x.count) }
    }

    /// Sample standard deviation (n − 1 in the denominator); 0 for a single value; throws on empty input.
    public static func standardDeviation(_ x: [Double]) throws -> Double {
        guard !x.isEmpty else { throw NumericsError.empty(what: "standard deviation") }
        if x.count == 1 { return 0 }
        return x.withUnsafeBufferPointer { gsl_stats_sd($0.baseAddress, 1, x.count) }
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics
    /// (GSL's rule, the same as NumPy's default). Throws on empty input, NaN values or q outside [0, 1].
    public static func quantile(_ x: [Double], _ q: Double) throws -> Double {
        try quantiles(x, [q])[0]
    }

    /// Several quantiles of the same data, sorting it once.
    public static func quantiles(_ x: [Double], _ qs: [Double]) throws -> [Double] {
        guard !x.isEmpty else { throw NumericsError.empty(what: "quantile") }
        guard !x.contains(where: \.isNaN) else { throw NumericsError.invalid("quantile: data contains NaN") }
        guard qs.allSatisfy({ (0...1).contains($0) }) else { throw NumericsError.invalid("quantile: q must lie in [0, 1]") }
        let sorted = x.sorted()
        return sorted.withUnsafeBufferPointer { p in
            qs.map { gsl_stats_quantile_from_sorted_data(p.baseAddress, 1, sorted.count, $0) }
        }
    }

    /// Median (the 0.5-quantile).
    public static func median(_ x: [Double]) throws -> Double { try quantile(x, 0.5) }

    /// Ordinary least-squares line y = intercept + slope·x with standard errors (GSL `gsl_fit_linear`).
    /// Needs at least three points for the standard errors; throws otherwise.
    public static func linearFit(x: [Double], y: [Double]) throws -> LinearFit {
        guard x.count == y.count else {
            throw ShapeError.mismatch(what: "linear fit y", expected: [x.count], found: [y.count])
        }
        guard x.count >= 3 else { throw NumericsError.invalid("linear fit needs at least 3 points, got \(x.count)") }
        var c0 = 0.0, c1 = 0.0, cov00 = 0.0, cov01 = 0.0, cov11 = 0.0, sumsq = 0.0
        let status = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
            gsl_fit_linear(xp.baseAddress, 1, yp.baseAddress, 1, x.count, &c0, &c1, &cov00, &cov01, &cov11, &sumsq)
        } }
        guard status == 0 else { throw NumericsError.gsl(routine: "gsl_fit_linear", status: status) }
        return LinearFit(intercept: c0, slope: c1, interceptError: cov00.squareRoot(), slopeError: cov11.squareRoot(),
                         residualSumOfSquares: sumsq, count: x.count)
    }
}

/// The result of a least-squares line fit.
public struct LinearFit: Equatable, Sendable {
    public let intercept: Double
    public let slope: Double
    /// Standard error of the intercept.
    public let interceptError: Double
    /// Standard error of the slope.
    public let slopeError: Double
    public let residualSumOfSquares: Double
    public let count: Int
}

extension Statistics {
    /// Spearman's rank correlation (GSL `gsl_stats_spearman`: Pearson correlation of the ranks, ties given their
    /// mean rank). Throws when the lengths differ, with fewer than two values, or on NaN.
    public static func spearman(_ x: [Double], _ y: [Double]) throws -> Double {
        guard x.count == y.count else { throw ShapeError.mismatch(what: "Spearman y", expected: [x.count], found: [y.count]) }
        guard x.count >= 2 else { throw NumericsError.invalid("Spearman correlation needs at least 2 values, got \(x.count)") }
        guard !x.contains(where: \.isNaN), !y.contains(where: \.isNaN) else { throw NumericsError.invalid("Spearman correlation: data contains NaN") }
        var work = [Double](repeating: 0, count: 2 * x.count)
        return x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
            gsl_stats_spearman(xp.baseAddress, 1, yp.baseAddress, 1, x.count, &work)
        } }
    }

    /// The Wilson score interval of a binomial proportion: `successes` of `n` at the normal quantile `z` (1.96 for
    /// 95 %). Unlike p ± z·√(p(1−p)/n) it stays inside [0, 1] and is not empty at p = 0 or 1. n = 0 gives (0, 1).
    public static func wilsonInterval(successes: Int, n: Int, z: Double = 1.959963984540054) -> (low: Double, high: Double) {
        guard n > 0 else { return (0, 1) }
        let p = Double(successes) / Double(n), nn = Double(n), z2 = z * z
        let centre = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z / (1 + z2 / nn) * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()
        return (max(0, centre - half), min(1, centre + half))
    }
}
