import CLAPACKE

/// Eigen-decomposition of a real symmetric matrix (LAPACKE `dsyevd`, divide and conquer).
public struct SymmetricEigen: Sendable {
    /// Eigenvalues in ascending order.
    public let values: [Double]
    /// Eigenvectors as the columns of an `n × n` matrix, in the order of `values`.
    public let vectors: Matrix

    /// Decomposes `a`, which must be square; only its upper triangle is read.
    public init(_ a: Matrix, vectors wantVectors: Bool = true) throws {
        guard a.rows == a.cols else {
            throw ShapeError.mismatch(what: "symmetric eigensolver input", expected: [a.rows, a.rows], found: [a.rows, a.cols])
        }
        let n = a.rows
        var work = a.storage
        var w = [Double](repeating: 0, count: n)
        if n > 0 {
            let info = LAPACKE_dsyevd(
                LAPACK_ROW_MAJOR, CChar(UInt8(ascii: wantVectors ? "V" : "N")), CChar(UInt8(ascii: "U")),
                Int32(n), &work, Int32(n), &w)
            guard info == 0 else { throw NumericsError.lapack(routine: "dsyevd", info: Int(info)) }
        }
        values = w
        vectors = try Matrix(rows: n, cols: n, storage: wantVectors ? work : [Double](repeating: 0, count: n * n))
    }
}

/// A failure reported by a numerical library.
public enum NumericsError: Error, Equatable, CustomStringConvertible {
    case lapack(routine: String, info: Int)
    case gsl(routine: String, status: Int32)
    case empty(what: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .lapack(routine, info): "LAPACK \(routine) failed (info = \(info))"
        case let .gsl(routine, status): "GSL \(routine) failed (status \(status))"
        case let .empty(what): "\(what): needs at least one value"
        case let .invalid(message): message
        }
    }
}
