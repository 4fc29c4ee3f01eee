import CLAPACKE

/// The thin QR factorisation A = Q R of an m × n matrix with m ≥ n (LAPACKE `dgeqrf`, then `dorgqr` for Q):
/// Q is m × n with orthonormal columns, R is n × n upper triangular.
public struct ThinQR: Sendable {
    public let q: Matrix
    public let r: Matrix

    public init(_ a: Matrix) throws {
        let (m, n) = (a.rows, a.cols)
        guard m >= n, n > 0 else {
            throw ShapeError.mismatch(what: "thin QR input (rows ≥ columns ≥ 1)", expected: [max(m, n), n], found: [m, n])
        }
        var work = a.storage
        var tau = [Double](repeating: 0, count: n)
        let info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), &work, Int32(n), &tau)
        guard info == 0 else { throw NumericsError.lapack(routine: "dgeqrf", info: Int(info)) }
        var r = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { r[i * n + j] = work[i * n + j] } }
        let info2 = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(n), &work, Int32(n), &tau)
        guard info2 == 0 else { throw NumericsError.lapack(routine: "dorgqr", info: Int(info2)) }
        q = try Matrix(rows: m, cols: n, storage: work)
        self.r = try Matrix(rows: n, cols: n, storage: r)
    }
}
