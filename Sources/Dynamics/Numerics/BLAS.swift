import COpenBLAS
import Foundation

/// Thin, typed wrappers over OpenBLAS's CBLAS (row-major, Float64).
///
/// Pointer-level entry points serve the model's hot loops; `Matrix`-level ones serve everything else.
public enum BLAS {
    /// C ← α·op(A)·op(B) + β·C, row-major; op(A) is m×k, op(B) is k×n, C is m×n.
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C ← α·A·Aᵀ + β·C on the upper triangle (j ≥ i) of the n × n row-major C; A is n × k. The lower triangle is
    /// not touched.
    @inlinable
    public static func syrk(n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>, lda: Int, beta: Double = 0,
                            c: UnsafeMutablePointer<Double>, ldc: Int) {
        if n == 0 { return }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }

    /// y ← α·op(A)·x + β·y, row-major A of `rows × cols`.
    @inlinable
    public static func gemv(
        trans: Bool = false, rows: Int, cols: Int, alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, beta: Double = 0, y: UnsafeMutablePointer<Double>
    ) {
        if rows == 0 || cols == 0 { return }
        cblas_dgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols), alpha, a, Int32(lda),
            x, 1, beta, y, 1)
    }

    /// Σ x_i y_i over `n` contiguous elements, summed in the same order whatever the thread count: vectors longer
    /// than `levelOneChunk` go through OpenBLAS in fixed chunks, whose sums are added in order (see there).
    public static func dot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        guard n > levelOneChunk else { return cblas_ddot(Int32(n), x, 1, y, 1) }
        var sum = 0.0
        for start in stride(from: 0, to: n, by: levelOneChunk) {
            sum += cblas_ddot(Int32(min(levelOneChunk, n - start)), x + start, 1, y + start, 1)
        }
        return sum
    }

    /// y ← α·x + y over `n` contiguous elements, with the same bytes whatever the thread count (fixed chunks, as
    /// `dot`; each element's arithmetic is the one a single-threaded call over the whole vector does).
    public static func axpy(_ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        for start in stride(from: 0, to: n, by: levelOneChunk) {
            cblas_daxpy(Int32(min(levelOneChunk, n - start)), alpha, x + start, 1, y + start, 1)
        }
    }

    /// Above 10 000 elements OpenBLAS splits a dot product or an axpy across its threads: a dot then adds
    /// per-thread partial sums, and an axpy's vector kernel (fused multiply-add) and scalar tail (separate multiply
    /// and add) meet at other elements, so the bytes would depend on the thread count — measured: one SFT process
    /// and two MPI ranks bound to one core each summed the same gradients into different θ. Calls of at most this
    /// many elements run on one thread; a multiple of the kernels' unrolling (32), so an axpy's chunks meet where
    /// its vector loop would have, and only the vector's last elements take the scalar tail.
    static let levelOneChunk = 8192

    /// Σ x_i y_i of two equal-length arrays.
    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "dot: lengths differ")
        return x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in dot(x.count, xp.baseAddress!, yp.baseAddress!) } }
    }

    /// Euclidean norm of an array (scaled, no overflow).
    public static func norm2(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { cblas_dnrm2(Int32(x.count), $0.baseAddress, 1) }
    }

    /// op(A)·op(B) as a new matrix; throws when the inner dimensions disagree.
    public static func matmul(_ a: Matrix, _ b: Matrix, transA: Bool = false, transB: Bool = false) throws -> Matrix {
        let (m, ka) = transA ? (a.cols, a.rows) : (a.rows, a.cols)
        let (kb, n) = transB ? (b.cols, b.rows) : (b.rows, b.cols)
        guard ka == kb else {
            throw ShapeError.mismatch(what: "matmul inner dimension", expected: [ka], found: [kb])
        }
        var c = Matrix(rows: m, cols: n)
        a.storage.withUnsafeBufferPointer { ap in b.storage.withUnsafeBufferPointer { bp in
            c.storage.withUnsafeMutableBufferPointer { cp in
                gemm(transA: transA, transB: transB, m: m, n: n, k: ka,
                     a: ap.baseAddress!, lda: a.cols, b: bp.baseAddress!, ldb: b.cols, c: cp.baseAddress!, ldc: n)
            }
        } }
        return c
    }

    /// Sets the number of threads OpenBLAS uses in every later call (process-wide).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// The number of threads OpenBLAS currently uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// True when `cblas_dgemm` resolves into libopenblas and not into GSL's slow reference CBLAS.
    public static var dgemmIsOpenBLAS: Bool {
        guard let global = dlsym(nil, "cblas_dgemm"),
              let handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD),
              let own = dlsym(handle, "cblas_dgemm") else { return false }
        return global == own
    }
}
