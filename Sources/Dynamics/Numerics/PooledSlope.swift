import CGSL

/// A slope shared by several groups of points, each group with its own intercept (a fixed-effects fit).
public struct PooledSlope: Equatable, Sendable {
    public let slope: Double
    /// Standard error of the slope, with n − g − 1 degrees of freedom (n points, g groups).
    public let slopeError: Double
    /// Points used (from groups of at least two points).
    public let count: Int
    /// Groups that contributed (at least two points each).
    public let groups: Int
}

extension Statistics {
    /// Least-squares y_gi = α_g + s·x_gi over groups g: each group's x and y are centred on their means, and the
    /// line through the origin of the centred points (GSL `gsl_fit_mul`) gives s. Groups with fewer than two
    /// points say nothing about s and are skipped. Throws unless n − g − 1 ≥ 1 (the error needs a residual
    /// degree of freedom) and the centred x are not all 0.
    public static func pooledSlope(_ groups: [(x: [Double], y: [Double])]) throws -> PooledSlope {
        var xs: [Double] = [], ys: [Double] = []
        var used = 0
        for (x, y) in groups {
            guard x.count == y.count else { throw ShapeError.mismatch(what: "pooled fit y", expected: [x.count], found: [y.count]) }
            guard x.count >= 2 else { continue }
            let mx = try mean(x), my = try mean(y)
            xs += x.map { $0 - mx }
            ys += y.map { $0 - my }
            used += 1
        }
        let dof = xs.count - used - 1
        guard dof >= 1 else {
            throw NumericsError.invalid("pooled slope needs more points than groups + 1, got \(xs.count) points in \(used) groups")
        }
        let sxx = xs.reduce(0) { $0 + $1 * $1 }
        guard sxx > 0 else { throw NumericsError.invalid("pooled slope: every group has a single x value") }
        var c1 = 0.0, cov11 = 0.0, sumsq = 0.0
        let status = xs.withUnsafeBufferPointer { xp in ys.withUnsafeBufferPointer { yp in
            gsl_fit_mul(xp.baseAddress, 1, yp.baseAddress, 1, xs.count, &c1, &cov11, &sumsq)
        } }
        guard status == 0 else { throw NumericsError.gsl(routine: "gsl_fit_mul", status: status) }
        // gsl_fit_mul's cov11 assumes n − 1 degrees of freedom; the g intercepts took g − 1 more.
        return PooledSlope(slope: c1, slopeError: (sumsq / Double(dof) / sxx).squareRoot(), count: xs.count, groups: used)
    }
}
