import Dynamics
import Foundation
import Testing

@Suite struct NumericsTests {
    @Test func dgemmResolvesIntoOpenBLAS() {
        #expect(BLAS.dgemmIsOpenBLAS, "cblas_dgemm must come from libopenblas, not GSL's reference CBLAS")
    }

    /// Long dot products and axpys have the same bytes with OpenBLAS on all its threads (the default) as inside a
    /// `Parallel` region (one thread): OpenBLAS would split them across threads above 10 000 elements.
    @Test func longLevelOneOperationsDoNotDependOnTheThreadCount() {
        let n = 100_003
        var rng = SystemRandomNumberGenerator()
        let x = (0..<n).map { _ in Double.random(in: -1...1, using: &rng) }, y0 = (0..<n).map { _ in Double.random(in: -1...1, using: &rng) }
        @Sendable func run() -> (dot: Double, axpy: [Double]) {
            var y = y0
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { BLAS.axpy(n, 0.1 / 3, xp.baseAddress!, $0.baseAddress!) } }
            return (BLAS.dot(x, y0), y)
        }
        let allThreads = run()
        let one = Parallel.map(1, threads: 1) { _ in run() }[0]
        #expect(allThreads.dot.bitPattern == one.dot.bitPattern)
        #expect(allThreads.axpy.map(\.bitPattern) == one.axpy.map(\.bitPattern))
    }

    /// A = Q R with QᵀQ = I and R upper triangular, on a hand-computed 3 × 2 case and a random 9 × 4 one; a wide
    /// matrix is refused.
    @Test func thinQRReproducesItsInput() throws {
        // [[3, 0], [4, 5], [0, 0]]: the first column has norm 5, so |R[0,0]| = 5, |R[0,1]| = 4, |R[1,1]| = 3.
        let small = try ThinQR(Matrix(rows: 3, cols: 2, storage: [3, 0, 4, 5, 0, 0]))
        #expect(abs(abs(small.r[0, 0]) - 5) < 1e-14 && abs(abs(small.r[0, 1]) - 4) < 1e-14 && abs(abs(small.r[1, 1]) - 3) < 1e-14)
        #expect(small.r[1, 0] == 0)
        let rng = RandomStream(seed: 5, name: "test.qr")
        let a = try Matrix(rows: 9, cols: 4, storage: (0..<36).map { _ in rng.gaussian(sigma: 1) })
        let qr = try ThinQR(a)
        let back = try BLAS.matmul(qr.q, qr.r)
        for i in a.storage.indices { #expect(abs(back.storage[i] - a.storage[i]) < 1e-13) }
        let gram = try BLAS.matmul(qr.q, qr.q, transA: true)
        for i in 0..<4 { for j in 0..<4 { #expect(abs(gram[i, j] - (i == j ? 1 : 0)) < 1e-14) } }
        for i in 0..<4 { for j in 0..<i { #expect(qr.r[i, j] == 0) } }
        #expect(throws: ShapeError.self) { try ThinQR(Matrix(rows: 2, cols: 3)) }
    }

    @Test func matmulMatchesHandComputedProduct() throws {
        let a = try Matrix(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
        let b = try Matrix(rows: 3, cols: 2, storage: [7, 8, 9, 10, 11, 12])
        #expect(try BLAS.matmul(a, b).storage == [58, 64, 139, 154])
        #expect(try BLAS.matmul(a, a, transB: true).storage == [14, 32, 32, 77])
        #expect(try BLAS.matmul(a, a, transA: true).storage == [17, 22, 27, 22, 29, 36, 27, 36, 45])
        #expect(throws: ShapeError.self) { try BLAS.matmul(a, a) }
    }

    @Test func symmetricEigenReconstructsMatrix() throws {
        let a = try Matrix(rows: 3, cols: 3, storage: [4, 1, 2, 1, 3, 0, 2, 0, 5])
        let e = try SymmetricEigen(a)
        #expect(e.values == e.values.sorted())
        var rebuilt = Matrix(rows: 3, cols: 3)
        for k in 0..<3 { for i in 0..<3 { for j in 0..<3 {
            rebuilt[i, j] += e.values[k] * e.vectors[i, k] * e.vectors[j, k]
        } } }
        for i in 0..<9 { #expect(abs(rebuilt.storage[i] - a.storage[i]) < 1e-12) }
        #expect(abs(e.values.reduce(0, +) - a.trace) < 1e-12)
    }

    @Test func mt19937MatchesReferenceSequence() {
        // GSL's mt19937 seeded with 5489 reproduces C++ std::mt19937, whose first output is 3499211612.
        #expect(RandomStream.derivedSeed(seed: 7, name: "a") != RandomStream.derivedSeed(seed: 7, name: "b"))
        #expect(RandomStream.derivedSeed(seed: 7, name: "a") == RandomStream.derivedSeed(seed: 7, name: "a"))
        let s = RandomStream(seed: 1, name: "x")
        let t = RandomStream(seed: 1, name: "x")
        #expect((0..<5).map { _ in s.uniform() } == (0..<5).map { _ in t.uniform() })
    }

    @Test func wilsonIntervalMatchesClosedForm() {
        // 5 of 10: centre 0.5, half-width z/(1+z²/n)·√(1/40 + z²/400) = 0.26340 (Wilson 1927; R's prop.test without
        // continuity correction gives 0.2366–0.7634).
        let half = Statistics.wilsonInterval(successes: 5, n: 10)
        #expect(abs(half.low - 0.236593) < 1e-6 && abs(half.high - 0.763407) < 1e-6, "\(half)")
        // 0 of 10: the interval starts at 0 and is not empty (the normal interval would be [0, 0]).
        let none = Statistics.wilsonInterval(successes: 0, n: 10)
        #expect(none.low == 0 && abs(none.high - 0.277533) < 1e-6, "\(none)")
        let all = Statistics.wilsonInterval(successes: 200, n: 200)
        #expect(all.high == 1 && abs(all.low - 0.981155) < 1e-6, "\(all)")
        #expect(Statistics.wilsonInterval(successes: 0, n: 0) == (0, 1))
    }

    @Test func randomStreamStateRoundTrips() throws {
        let s = RandomStream(seed: 42, name: "sample")
        _ = (0..<10).map { _ in s.uniform() }
        let restored = try RandomStream(name: "sample", state: s.state)
        #expect((0..<20).map { _ in s.uniformInt(1000) } == (0..<20).map { _ in restored.uniformInt(1000) })
        #expect(throws: NumericsError.self) { try RandomStream(name: "x", state: [1, 2, 3]) }
    }

    @Test func statisticsMatchClosedForms() throws {
        let x: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]
        #expect(try Statistics.mean(x) == 5)
        #expect(abs(try Statistics.standardDeviation(x) - (32.0 / 7).squareRoot()) < 1e-14)
        #expect(try Statistics.quantiles(x, [0, 0.25, 0.5, 1]) == [2, 4, 4.5, 9])
        #expect(throws: NumericsError.self) { try Statistics.mean([]) }
        let fit = try Statistics.linearFit(x: [0, 1, 2, 3], y: [1, 3, 5, 7.5])
        #expect(abs(fit.slope - 2.15) < 1e-12)
        #expect(abs(fit.intercept - 0.9) < 1e-12)
        #expect(abs(fit.residualSumOfSquares - 0.075) < 1e-12)
        // slope SE = sqrt(RSS / (n − 2) / Σ(x − x̄)²) with residuals (0.1, −0.05, −0.2, 0.15): RSS = 0.075, Σ(x − x̄)² = 5.
        #expect(abs(fit.slopeError - (0.075 / 2 / 5).squareRoot()) < 1e-12)
    }
}

@Suite struct CSVTests {
    @Test func writtenTablesReadBackCellForCell() throws {
        var t = CSVTable(header: ["id", "output", "x"])
        t.append([.string("a"), .string("<answer> [ 1 , 2 ] </answer>"), .double(0.1)])
        t.append([.string("b"), .string("say \"hi\"\nnext line"), .double(-2.5e-300)])
        t.append([.string("c"), .string(""), .int(3)])
        let records = CSVReader.records(t.text)
        #expect(records == [["id", "output", "x"], ["a", "<answer> [ 1 , 2 ] </answer>", "0.1"], ["b", "say \"hi\"\nnext line", "-2.5e-300"], ["c", "", "3"]])
        #expect(Double(records[2][2]) == -2.5e-300, "numbers round-trip exactly")
    }
}
