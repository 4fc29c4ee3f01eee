/// A dense row-major Float64 matrix on contiguous storage.
///
/// Element (r, c) lives at `storage[r * cols + c]`. Value semantics: copies are independent.
public struct Matrix: Equatable, Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let cols: Int
    /// Row-major elements, `rows * cols` of them.
    public var storage: [Double]

    /// A `rows × cols` matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.storage = [Double](repeating: value, count: rows * cols)
    }

    /// A `rows × cols` matrix over existing row-major storage; throws when the count disagrees.
    public init(rows: Int, cols: Int, storage: [Double]) throws {
        guard rows >= 0, cols >= 0, storage.count == rows * cols else {
            throw ShapeError.mismatch(what: "matrix storage", expected: [rows, cols], found: [storage.count])
        }
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// The element at row `r`, column `c`.
    @inlinable public subscript(r: Int, c: Int) -> Double {
        get { storage[r * cols + c] }
        set { storage[r * cols + c] = newValue }
    }

    /// Row `r` as an array.
    public func row(_ r: Int) -> [Double] { Array(storage[(r * cols)..<((r + 1) * cols)]) }

    /// The transpose, `cols × rows`.
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for r in 0..<rows { for c in 0..<cols { t.storage[c * rows + r] = storage[r * cols + c] } }
        return t
    }

    /// Frobenius norm sqrt(Σ a_ij²).
    public var frobeniusNorm: Double { BLAS.norm2(storage) }

    /// Trace Σ a_ii over the leading square part.
    public var trace: Double { (0..<min(rows, cols)).reduce(0) { $0 + storage[$1 * cols + $1] } }

    /// The `n × n` identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.storage[i * n + i] = 1 }
        return m
    }
}

/// A shape that does not match what the operation needs.
public enum ShapeError: Error, Equatable, CustomStringConvertible {
    case mismatch(what: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .mismatch(what, expected, found): "\(what): expected shape \(expected), found \(found)"
        }
    }
}
