import Foundation

/// eNTK stability between checkpoints on one probe set (THEORY §5).
public enum KernelDrift {
    /// The kernel distance d = 1 − ⟨A, B⟩_F / (‖A‖_F ‖B‖_F) (Fort et al., 2020): 0 for proportional kernels.
    public static func distance(_ a: Matrix, _ b: Matrix) throws -> Double {
        guard a.rows == b.rows, a.cols == b.cols else {
            throw ShapeError.mismatch(what: "kernel distance", expected: [a.rows, a.cols], found: [b.rows, b.cols])
        }
        return 1 - BLAS.dot(a.storage, b.storage) / (a.frobeniusNorm * b.frobeniusNorm)
    }

    /// The distance between the full (N·V) × (N·V) kernels, assembled from the V × V blocks of every pair
    /// (each off-diagonal block counted twice, as K(x_j, x_i) = K(x_i, x_j)ᵀ).
    public static func fullDistance(_ a: ProbeKernel, _ b: ProbeKernel) throws -> Double {
        try checkComparable(a, b)
        guard a.hasBlocks, b.hasBlocks else { throw KernelError.incomparable("the full kernel distance needs the V × V blocks") }
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a.entries, b.entries) {
            let w = x.pair.i == x.pair.j ? 1.0 : 2.0
            ab += w * BLAS.dot(x.block!.storage, y.block!.storage)
            aa += w * BLAS.dot(x.block!.storage, x.block!.storage)
            bb += w * BLAS.dot(y.block!.storage, y.block!.storage)
        }
        return 1 - ab / (aa * bb).squareRoot()
    }

    /// Spearman rank correlation of the off-diagonal influences I_ij (i < j; the matrix is symmetric) at a vs b.
    public static func influenceSpearman(_ a: ProbeKernel, _ b: ProbeKernel) throws -> Double {
        try checkComparable(a, b)
        let offA = a.entries.filter { $0.pair.i != $0.pair.j }.map(\.influence)
        let offB = b.entries.filter { $0.pair.i != $0.pair.j }.map(\.influence)
        return try Statistics.spearman(offA, offB)
    }

    /// Eigenvalues of a symmetric kernel and its effective rank.
    public struct Spectrum: Sendable {
        /// Eigenvalues, largest first.
        public let eigenvalues: [Double]
        /// exp(−Σ p_k log p_k) with p = λ / Σλ over the non-negative eigenvalues: 1 for a rank-one kernel, N when
        /// all N eigenvalues are equal.
        public let effectiveRank: Double
    }

    /// The spectrum of Θ (LAPACKE dsyevd); negative round-off eigenvalues are kept in the list but count as 0.
    public static func spectrum(_ theta: Matrix) throws -> Spectrum {
        let values = Array(try SymmetricEigen(theta, vectors: false).values.reversed())
        let positive = values.map { max(0, $0) }
        let total = positive.reduce(0, +)
        guard total > 0 else { return Spectrum(eigenvalues: values, effectiveRank: 0) }
        let entropy = positive.reduce(0) { h, l in l > 0 ? h - (l / total) * log(l / total) : h }
        return Spectrum(eigenvalues: values, effectiveRank: exp(entropy))
    }

    static func checkComparable(_ a: ProbeKernel, _ b: ProbeKernel) throws {
        guard a.isComplete, b.isComplete, a.probes == b.probes, a.vocabSize == b.vocabSize else {
            throw KernelError.incomparable("they cover different probe sets, or one is an incomplete shard")
        }
    }
}
