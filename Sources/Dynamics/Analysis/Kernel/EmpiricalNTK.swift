/// The empirical NTK block K(x_v, x_u) = J(x_v) J(x_u)ᵀ (THEORY §2) from two whole V × d logit Jacobians: the
/// `explicit` strategy, the reference every other strategy is tested against. Products go through the engine's
/// one dense product (`KernelProducts.gemmNT`), so explicit kernels keep their bytes whichever path computes them.
public enum EmpiricalNTK {
    /// One parameter tensor's share K_g = J_g(x_v) J_g(x_u)ᵀ, summarised.
    public struct Contribution: Equatable, Sendable {
        public let tensor: String
        /// tr K_g.
        public let trace: Double
        /// ‖K_g‖_F.
        public let frobenius: Double
    }

    /// K = J_v J_uᵀ (V × V); throws when the Jacobians' widths differ.
    public static func block(_ jv: Matrix, _ ju: Matrix) throws -> Matrix {
        guard jv.cols == ju.cols else { throw ShapeError.mismatch(what: "Jacobian widths", expected: [jv.cols], found: [ju.cols]) }
        var k = Matrix(rows: jv.rows, cols: ju.rows)
        KernelProducts.gemmNT(jv, 0..<jv.cols, ju, 0..<ju.cols, into: &k)
        return k
    }

    /// The V × V block of one parameter range: J_v[:, range] J_u[:, range]ᵀ.
    public static func block(_ jv: Matrix, _ ju: Matrix, columns range: Range<Int>) throws -> Matrix {
        guard jv.cols == ju.cols, range.lowerBound >= 0, range.upperBound <= jv.cols else {
            throw ShapeError.mismatch(what: "Jacobian column range", expected: [jv.cols], found: [ju.cols, range.upperBound])
        }
        var k = Matrix(rows: jv.rows, cols: ju.rows)
        KernelProducts.gemmNT(jv, range, ju, range, into: &k, beta: 1)
        return k
    }

    /// Each tensor's contribution K_g to K; the K_g add up to K.
    public static func contributions(_ jv: Matrix, _ ju: Matrix, layout: ParameterLayout) throws -> [(tensor: ParameterTensor, block: Matrix)] {
        try layout.tensors.map { ($0, try block(jv, ju, columns: $0.range)) }
    }

    /// Trace and Frobenius norm of each tensor's contribution.
    public static func contributionSummary(_ jv: Matrix, _ ju: Matrix, layout: ParameterLayout) throws -> [Contribution] {
        try contributions(jv, ju, layout: layout).map {
            Contribution(tensor: $0.tensor.name, trace: $0.block.trace, frobenius: $0.block.frobeniusNorm)
        }
    }

    /// ‖J[:, g]‖_F for every parameter tensor g.
    public static func tensorNorms(_ j: Matrix, layout: ParameterLayout) -> [(tensor: String, frobenius: Double)] {
        layout.tensors.map { t in
            var s = 0.0
            for r in 0..<j.rows {
                let base = r * j.cols
                for c in t.range { s += j.storage[base + c] * j.storage[base + c] }
            }
            return (t.name, s.squareRoot())
        }
    }

    /// `analyze jacobian`'s OUT.norms.csv: tensor,frobenius of `tensorNorms`.
    public static func tensorNormsTable(_ j: Matrix, layout: ParameterLayout) -> CSVTable {
        var table = CSVTable(header: ["tensor", "frobenius"])
        for (name, norm) in tensorNorms(j, layout: layout) { table.append([.string(name), .double(norm)]) }
        return table
    }
}
