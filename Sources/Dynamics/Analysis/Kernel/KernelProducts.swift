/// eNTK products between the features of two token examples: the V × V block K(x_v, x_u) = J(x_v) J(x_u)ᵀ, its
/// trace, and each parameter tensor's share K_g = J_g(x_v) J_g(x_u)ᵀ (THEORY §2). Materialised tensors go through
/// one product of their packed columns; factored dense weights through the structured products of `KernelPlan`.
/// Through the head basis the products form S = F_v F_uᵀ (D × D) and K = Q S Qᵀ, plus the head's own share.
public enum KernelProducts {
    /// K(x_v, x_u), V × V. When `contributions` is true also each tensor's K_g (in θ order), which add up to K.
    public static func block(_ v: KernelFeatures, _ u: KernelFeatures, layout: ParameterLayout, contributions: Bool = false)
        -> (kernel: Matrix, contributions: [Matrix]?) {
        let V = v.vocabSize, r = v.rows
        precondition(u.rows == r && (u.basis == nil) == (v.basis == nil), "eNTK products: features of two plans (internal error)")
        var parts: [Matrix]? = contributions ? [] : nil
        if v.isFullJacobian && u.isFullJacobian, !contributions {
            // The explicit strategy: K = J_v J_uᵀ over the whole Jacobians (EmpiricalNTK, the reference).
            return ((try? EmpiricalNTK.block(v.dense, u.dense)) ?? Matrix(rows: V, cols: V), nil)
        }
        if !contributions, v.denseColumns == u.denseColumns, let width = v.denseColumns.values.map(\.upperBound).max() {
            // One product over every materialised column at once (the explicit strategy's single dgemm).
            var s = Matrix(rows: r, cols: r)
            gemmNT(v.dense, 0..<width, u.dense, 0..<width, into: &s)
            for index in layout.tensors.indices where v.denseColumns[index] == nil && index != v.headShare?.index {
                accumulateBlock(index, v, u, layout: layout, into: &s)
            }
            var k = expand(s, v.basis)
            if let hv = v.headShare, let hu = u.headShare { hv.addBlock(hu, into: &k) }
            return (k, nil)
        }
        // One tensor's share per task, spread over the cores (single-threaded BLAS each), added up in θ order.
        let shares = Parallel.map(layout.tensors.count) { index -> Matrix in
            if v.isFullJacobian && u.isFullJacobian {
                return (try? EmpiricalNTK.block(v.dense, u.dense, columns: layout.tensors[index].range)) ?? Matrix(rows: V, cols: V)
            }
            if let hv = v.headShare, let hu = u.headShare, index == hv.index {
                var part = Matrix(rows: V, cols: V)
                hv.addBlock(hu, into: &part)
                return part
            }
            var s = Matrix(rows: r, cols: r)
            accumulateBlock(index, v, u, layout: layout, into: &s)
            return expand(s, v.basis)
        }
        var k = Matrix(rows: V, cols: V)
        for part in shares {
            k.storage.withUnsafeMutableBufferPointer { kp in part.storage.withUnsafeBufferPointer { pp in
                for i in 0..<min(kp.count, pp.count) { kp[i] += pp[i] }
            } }
            parts?.append(part)
        }
        return (k, parts)
    }

    /// tr K(x_v, x_u) and each tensor's tr K_g (in θ order), without forming any V × V block (through the head
    /// basis, tr Q S Qᵀ = tr S).
    public static func trace(_ v: KernelFeatures, _ u: KernelFeatures, layout: ParameterLayout) -> (trace: Double, perTensor: [Double]) {
        let perTensor = layout.tensors.indices.map { index -> Double in
            if let hv = v.headShare, let hu = u.headShare, index == hv.index { return Double(v.vocabSize) * hv.scale(hu) }
            if let fv = v.factors[index], let fu = u.factors[index] { return structuredTrace(fv, fu) }
            let (jv, rv) = columns(index, v, layout: layout), (ju, ru) = columns(index, u, layout: layout)
            var s = 0.0
            jv.storage.withUnsafeBufferPointer { a in ju.storage.withUnsafeBufferPointer { b in
                for o in 0..<v.rows {
                    s += BLAS.dot(rv.count, a.baseAddress! + o * jv.cols + rv.lowerBound, b.baseAddress! + o * ju.cols + ru.lowerBound)
                }
            } }
            return s
        }
        return (perTensor.reduce(0, +), perTensor)
    }

    /// A(x_v)·K·G(x_u): the first-order change of log π(x_v) per unit learning rate of an SGD step on x_u.
    public static func akg(_ k: Matrix, _ v: KernelFeatures, _ u: KernelFeatures) -> Double {
        var kg = [Double](repeating: 0, count: k.rows)
        k.storage.withUnsafeBufferPointer { kp in u.logitGradient.withUnsafeBufferPointer { g in kg.withUnsafeMutableBufferPointer { out in
            BLAS.gemv(rows: k.rows, cols: k.cols, a: kp.baseAddress!, lda: k.cols, x: g.baseAddress!, y: out.baseAddress!)
        } } }
        return BLAS.dot(v.logitGradient, kg)
    }

    /// K = Q S Qᵀ (V × V) through the head basis Q (V × D); S itself without one.
    static func expand(_ s: Matrix, _ q: Matrix?) -> Matrix {
        guard let q else { return s }
        let (V, D) = (q.rows, q.cols)
        var qs = [Double](repeating: 0, count: V * D)
        var k = Matrix(rows: V, cols: V)
        q.storage.withUnsafeBufferPointer { qp in s.storage.withUnsafeBufferPointer { sp in qs.withUnsafeMutableBufferPointer { t in
            k.storage.withUnsafeMutableBufferPointer { kp in
                BLAS.gemm(m: V, n: D, k: D, a: qp.baseAddress!, lda: D, b: sp.baseAddress!, ldb: D, c: t.baseAddress!, ldc: D)
                BLAS.gemm(transB: true, m: V, n: V, k: D, a: t.baseAddress!, lda: D, b: qp.baseAddress!, ldb: D, c: kp.baseAddress!, ldc: V)
            }
        } } }
        return k
    }

    // MARK: - One tensor

    /// Adds K_g of tensor `index` to `k`.
    static func accumulateBlock(_ index: Int, _ v: KernelFeatures, _ u: KernelFeatures, layout: ParameterLayout, into k: inout Matrix) {
        if let fv = v.factors[index], let fu = u.factors[index] {
            structuredBlock(fv, fu, into: &k)
            return
        }
        let (jv, rv) = columns(index, v, layout: layout), (ju, ru) = columns(index, u, layout: layout)
        gemmNT(jv, rv, ju, ru, into: &k, beta: 1)
    }

    /// J_g of tensor `index` as a matrix and its column range: the packed columns, or formed from the factors.
    static func columns(_ index: Int, _ f: KernelFeatures, layout: ParameterLayout) -> (Matrix, Range<Int>) {
        if let range = f.denseColumns[index] { return (f.dense, range) }
        let factors = f.factors[index]!
        let j = materialise(factors)
        return (j, 0..<j.cols)
    }

    /// J_W = Σ_t g[t] ⊗ h[t] as V × (dout·din): one product gᵀ (V·dout × n) · h (n × din).
    static func materialise(_ f: DenseFactors) -> Matrix {
        var j = Matrix(rows: f.batch, cols: f.outputWidth * f.inputWidth)
        f.cotangents.withUnsafeBufferPointer { g in f.inputs.withUnsafeBufferPointer { h in j.storage.withUnsafeMutableBufferPointer { out in
            BLAS.gemm(transA: true, m: f.batch * f.outputWidth, n: f.inputWidth, k: f.rows, a: g.baseAddress!, lda: f.batch * f.outputWidth,
                      b: h.baseAddress!, ldb: f.inputWidth, c: out.baseAddress!, ldc: f.inputWidth)
        } } }
        return j
    }

    /// k += A[:, ra] · B[:, rb]ᵀ (or k = … with beta 0). A long inner dimension (a V × V block over ~10⁵
    /// columns) is cut into two fixed halves computed on two cores and added in order, since OpenBLAS keeps such
    /// a thin product near one core; the split does not depend on the thread count, so neither do the numbers.
    static func gemmNT(_ a: Matrix, _ ra: Range<Int>, _ b: Matrix, _ rb: Range<Int>, into k: inout Matrix, beta: Double = 0) {
        guard ra.count >= splitColumns else {
            product(a, ra, b, rb, into: &k, beta: beta)
            return
        }
        let half = ra.count / 2
        let parts = Parallel.map(2, threads: 2) { p -> Matrix in
            let (ca, cb) = p == 0 ? (ra.lowerBound, rb.lowerBound) : (ra.lowerBound + half, rb.lowerBound + half)
            let n = p == 0 ? half : ra.count - half
            var part = Matrix(rows: a.rows, cols: b.rows)
            product(a, ca..<(ca + n), b, cb..<(cb + n), into: &part, beta: 0)
            return part
        }
        k.storage.withUnsafeMutableBufferPointer { kp in parts[0].storage.withUnsafeBufferPointer { p0 in parts[1].storage.withUnsafeBufferPointer { p1 in
            for i in 0..<min(kp.count, p0.count, p1.count) { kp[i] = beta * kp[i] + p0[i] + p1[i] }
        } } }
    }

    /// Inner dimensions from which `gemmNT` splits.
    static let splitColumns = 16384

    /// k = A[:, ra] · B[:, rb]ᵀ + β·k, one dgemm.
    static func product(_ a: Matrix, _ ra: Range<Int>, _ b: Matrix, _ rb: Range<Int>, into k: inout Matrix, beta: Double) {
        a.storage.withUnsafeBufferPointer { ap in b.storage.withUnsafeBufferPointer { bp in k.storage.withUnsafeMutableBufferPointer { kp in
            BLAS.gemm(transB: true, m: a.rows, n: b.rows, k: ra.count, a: ap.baseAddress! + ra.lowerBound, lda: a.cols,
                      b: bp.baseAddress! + rb.lowerBound, ldb: b.cols, beta: beta, c: kp.baseAddress!, ldc: k.cols)
        } } }
    }

    /// k += Σ_{t,s} (h_v[t]·h_u[s]) g_v[t] g_u[s]ᵀ, multiplying H into the side with more positions.
    static func structuredBlock(_ fv: DenseFactors, _ fu: DenseFactors, into k: inout Matrix) {
        let (n1, n2, V, dout) = (fv.rows, fu.rows, fv.batch, fv.outputWidth)
        let w = V * dout
        let h = gram(fv, fu)  // n1 × n2
        fv.cotangents.withUnsafeBufferPointer { g1 in fu.cotangents.withUnsafeBufferPointer { g2 in h.withUnsafeBufferPointer { hp in
            k.storage.withUnsafeMutableBufferPointer { kp in
                // M comes from the arena pool (the backward passes' freed scratch, written whole by its product), so
                // a cold process does not fault in fresh pages for it.
                let scratch = Arena(capacity: min(n1, n2) * w, zeroed: false)
                let mp = scratch.take(min(n1, n2) * w)
                if n1 <= n2 {
                    // M = H · g_u (n1 × V·dout); K += Σ_t g_v[t] (V × dout) · M[t]ᵀ.
                    BLAS.gemm(m: n1, n: w, k: n2, a: hp.baseAddress!, lda: n2, b: g2.baseAddress!, ldb: w, c: mp, ldc: w)
                    for t in 0..<n1 {
                        BLAS.gemm(transB: true, m: V, n: V, k: dout, a: g1.baseAddress! + t * w, lda: dout, b: mp + t * w,
                                  ldb: dout, beta: 1, c: kp.baseAddress!, ldc: V)
                    }
                } else {
                    // M = Hᵀ · g_v (n2 × V·dout); K += Σ_s M[s] · g_u[s]ᵀ.
                    BLAS.gemm(transA: true, m: n2, n: w, k: n1, a: hp.baseAddress!, lda: n2, b: g1.baseAddress!, ldb: w, c: mp, ldc: w)
                    for s in 0..<n2 {
                        BLAS.gemm(transB: true, m: V, n: V, k: dout, a: mp + s * w, lda: dout, b: g2.baseAddress! + s * w,
                                  ldb: dout, beta: 1, c: kp.baseAddress!, ldc: V)
                    }
                }
                withExtendedLifetime(scratch) {}
            }
        } } }
    }

    /// tr of the structured block: ⟨H, g_v g_uᵀ⟩ with both products n1 × n2.
    static func structuredTrace(_ fv: DenseFactors, _ fu: DenseFactors) -> Double {
        let (n1, n2, w) = (fv.rows, fu.rows, fv.batch * fv.outputWidth)
        let h = gram(fv, fu)
        var m = [Double](repeating: 0, count: n1 * n2)
        fv.cotangents.withUnsafeBufferPointer { g1 in fu.cotangents.withUnsafeBufferPointer { g2 in m.withUnsafeMutableBufferPointer { mp in
            BLAS.gemm(transB: true, m: n1, n: n2, k: w, a: g1.baseAddress!, lda: w, b: g2.baseAddress!, ldb: w, c: mp.baseAddress!, ldc: n2)
        } } }
        return BLAS.dot(h, m)
    }

    /// H = h_v h_uᵀ, n1 × n2.
    static func gram(_ fv: DenseFactors, _ fu: DenseFactors) -> [Double] {
        var h = [Double](repeating: 0, count: fv.rows * fu.rows)
        fv.inputs.withUnsafeBufferPointer { a in fu.inputs.withUnsafeBufferPointer { b in h.withUnsafeMutableBufferPointer { hp in
            BLAS.gemm(transB: true, m: fv.rows, n: fu.rows, k: fv.inputWidth, a: a.baseAddress!, lda: fv.inputWidth, b: b.baseAddress!,
                      ldb: fu.inputWidth, c: hp.baseAddress!, ldc: fu.rows)
        } } }
        return h
    }
}
