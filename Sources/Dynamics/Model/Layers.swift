import Foundation

// The network's layers as forward/backward pairs on raw row-major buffers (after llm.c's train_gpt2.c).
// Shapes in one line each. Backward rules take a batch of B cotangents stacked as B·T rows: activation
// gradients flow through all B at once (one BLAS-3 product per layer), parameter gradients go to B separate
// places of the gradient buffer (cotangent b's at a tensor's `GradientSlot.at(b, in:)`), so B = V gives a logit
// Jacobian in one pass.

typealias Ptr = UnsafeMutablePointer<Double>
typealias ConstPtr = UnsafePointer<Double>

// MARK: - Linear

/// out (T, dout) = inp (T, din) · W (dout, din)ᵀ + b (dout), added to β·out.
func linearForward(_ out: Ptr, _ inp: ConstPtr, _ w: ConstPtr, _ b: ConstPtr?, rows: Int, din: Int, dout: Int, beta: Double = 0) {
    BLAS.gemm(transB: true, m: rows, n: dout, k: din, a: inp, lda: din, b: w, ldb: din, beta: beta, c: out, ldc: dout)
    if let b { for t in 0..<rows { BLAS.axpy(dout, 1, b, out + t * dout) } }
}

/// dinp (B·T, din) += dout (B·T, dout) · W; per example b: dW_b (dout, din) += dout_bᵀ · inp (T, din), db_b += Σ_t dout_b.
/// Without a slot for W (a `GradientLayout` that leaves it out) the dW_b products are skipped (a `FactorTap` keeps
/// their factors instead). An assigned slot gets dW_b = dout_bᵀ · inp (β = 0: the slot need not be cleared, and
/// OpenBLAS writes it without reading it). One product per b measured faster here than a single (B·dout) × din
/// product over dout rearranged (T, B·dout).
func linearBackward(_ dinp: Ptr?, _ grad: Ptr, w wSlot: GradientSlot?, b bSlot: GradientSlot?,
                    _ dout: ConstPtr, _ inp: ConstPtr, _ w: ConstPtr, batch: Int, rows: Int, din: Int, dout doutDim: Int,
                    ones: ConstPtr) {
    if let dinp {
        BLAS.gemm(m: batch * rows, n: din, k: doutDim, a: dout, lda: doutDim, b: w, ldb: din, beta: 1, c: dinp, ldc: din)
    }
    for bi in 0..<batch {
        let d = dout + bi * rows * doutDim
        if let wSlot {
            BLAS.gemm(transA: true, m: doutDim, n: din, k: rows, a: d, lda: doutDim, b: inp, ldb: din,
                      beta: wSlot.assigned ? 0 : 1, c: wSlot.at(bi, in: grad), ldc: din)
        }
        if let bSlot {
            BLAS.gemv(trans: true, rows: rows, cols: doutDim, a: d, lda: doutDim, x: ones, beta: 1, y: bSlot.at(bi, in: grad))
        }
    }
}

// MARK: - LayerNorm

/// out (T, D) = (x − mean) / sqrt(var + 1e-5) · w + b per row, biased variance; keeps mean and 1/σ per row.
func layerNormForward(_ out: Ptr, _ mean: Ptr, _ rstd: Ptr, _ inp: ConstPtr, _ w: ConstPtr, _ b: ConstPtr, rows: Int, dim: Int) {
    let eps = 1e-5
    for t in 0..<rows {
        let x = inp + t * dim
        var m = 0.0
        for i in 0..<dim { m += x[i] }
        m /= Double(dim)
        var v = 0.0
        for i in 0..<dim { let c = x[i] - m; v += c * c }
        v /= Double(dim)
        let s = 1 / (v + eps).squareRoot()
        let o = out + t * dim
        for i in 0..<dim { o[i] = (x[i] - m) * s * w[i] + b[i] }
        mean[t] = m
        rstd[t] = s
    }
}

/// dinp (B·T, D) += ∂/∂x of Σ dout·LN(x); per example b: dw_b += Σ_t dout·x̂, db_b += Σ_t dout.
func layerNormBackward(_ dinp: Ptr, _ grad: Ptr, w wSlot: GradientSlot, b bSlot: GradientSlot,
                       _ dout: ConstPtr, _ inp: ConstPtr, _ mean: ConstPtr, _ rstd: ConstPtr, _ w: ConstPtr,
                       batch: Int, rows: Int, dim: Int) {
    let n = Double(dim)
    for bi in 0..<batch {
        let dw = wSlot.at(bi, in: grad)
        let db = bSlot.at(bi, in: grad)
        for t in 0..<rows {
            let x = inp + t * dim
            let dy = dout + (bi * rows + t) * dim
            let dx = dinp + (bi * rows + t) * dim
            let m = mean[t], s = rstd[t]
            var meanDn = 0.0, meanDnX = 0.0
            for i in 0..<dim {
                let xhat = (x[i] - m) * s
                let dn = dy[i] * w[i]
                meanDn += dn
                meanDnX += dn * xhat
                dw[i] += dy[i] * xhat
                db[i] += dy[i]
            }
            meanDn /= n
            meanDnX /= n
            for i in 0..<dim {
                let xhat = (x[i] - m) * s
                dx[i] += s * (dy[i] * w[i] - meanDn - xhat * meanDnX)
            }
        }
    }
}

// MARK: - GELU (tanh approximation)

private let geluScale = (2.0 / Double.pi).squareRoot()

/// GELU's value and slope at u. With z = √(2/π)·(u + 0.044715·u³), 0.5·(1 + tanh z) = 1/(1 + e^(−2z)) = σ, so
/// gelu(u) = u·σ and gelu′(u) = σ + 2u·e^(−2z)·σ²·√(2/π)·(1 + 3·0.044715·u²) (as 1 − tanh² z = 4·e^(−2z)·σ²):
/// one exp per value instead of a tanh (three to four times dearer), and no cancellation in 1 + tanh z for u ≪ 0.
@inline(__always)
func gelu(_ u: Double) -> (value: Double, slope: Double) {
    let e = exp(-2 * geluScale * (u + 0.044715 * u * u * u))
    let s = 1 / (1 + e)
    // e = ∞ (u ≪ 0): σ = 0 and the slope's limit is 0.
    let slope = e.isFinite ? s + 2 * u * e * s * s * geluScale * (1 + 3 * 0.044715 * u * u) : 0
    return (u * s, slope)
}

/// out = 0.5·u·(1 + tanh(√(2/π)·(u + 0.044715·u³))) and slope = gelu′(u), elementwise over n values (`gelu`: one exp
/// for both), the slope kept for backward, which then needs no exp.
func geluForward(_ out: Ptr, slope: Ptr, _ inp: ConstPtr, count: Int) {
    for i in 0..<count {
        let g = gelu(inp[i])
        out[i] = g.value
        slope[i] = g.slope
    }
}

/// dinp = dout · gelu′(u) for B stacked copies of the same count values, the slopes gelu′(u) kept by the forward
/// pass (`geluForward`): each copy multiplied by them contiguously.
func geluBackward(_ dinp: Ptr, _ dout: ConstPtr, slope s: ConstPtr, batch: Int, count: Int) {
    var d = dinp, g = dout
    for _ in 0..<batch {
        for i in 0..<count { d[i] = g[i] * s[i] }
        d += count
        g += count
    }
}

// MARK: - Embeddings

extension Transformer {
    /// x0 (T, D) = (W_pe·p_i + b_pe | E[token]) + W_pos[p0 + i]: patch rows first, then token rows, plus the position
    /// embeddings of positions p0 ..< p0 + T (p0 > 0 for one new token of `generate`).
    func embeddingForward(_ x0: Ptr, _ input: ModelInput, firstPosition p0: Int, theta: ConstPtr) {
        let c = config, D = c.dModel, n = input.imagePositions
        if let patches = input.patches {
            patches.storage.withUnsafeBufferPointer { pp in
                linearForward(x0, pp.baseAddress!, theta + layout.patchWeight, theta + layout.patchBias, rows: n, din: c.patchDim, dout: D)
            }
        }
        for (i, token) in input.tokens.enumerated() {
            (x0 + (n + i) * D).update(from: theta + layout.tokEmb + token * D, count: D)
        }
        BLAS.axpy(input.length * D, 1, theta + layout.posEmb + p0 * D, x0)
    }

    /// The gradients of the embeddings from dx0 (B·T, D): W_pos, the token rows, W_pe and b_pe (or W_pe's factors
    /// for a `FactorTap`).
    func embeddingBackward(_ input: ModelInput, _ dx: ConstPtr, grad: Ptr, layout gl: GradientLayout, batch B: Int, length T: Int,
                                   ones: ConstPtr, tap: FactorTap?) {
        let D = config.dModel, n = input.imagePositions
        let patchGradient = gl.slot(of: layout.patchWeight), factorPatches = patchGradient == nil
        if factorPatches, let patches = input.patches {
            patches.storage.withUnsafeBufferPointer { pp in
                tap?.record(offset: layout.patchWeight, cotangents: dx, batchStride: T * D, inputs: pp.baseAddress!, batch: B,
                            rows: n, din: config.patchDim, dout: D)
            }
        }
        let (pos, tok, patchBias) = (gl[layout.posEmb], gl[layout.tokEmb], input.patches == nil ? nil : gl[layout.patchBias])
        for bi in 0..<B {
            let dxb = dx + bi * T * D
            BLAS.axpy(T * D, 1, dxb, pos.at(bi, in: grad))
            for (i, token) in input.tokens.enumerated() {
                BLAS.axpy(D, 1, dxb + (n + i) * D, tok.at(bi, in: grad) + token * D)
            }
            if let patches = input.patches {
                if let patchGradient {
                    patches.storage.withUnsafeBufferPointer { pp in
                        BLAS.gemm(transA: true, m: D, n: config.patchDim, k: n, a: dxb, lda: D, b: pp.baseAddress!,
                                  ldb: config.patchDim, beta: 1, c: patchGradient.at(bi, in: grad), ldc: config.patchDim)
                    }
                }
                BLAS.gemv(trans: true, rows: n, cols: D, a: dxb, lda: D, x: ones, beta: 1, y: patchBias!.at(bi, in: grad))
            }
        }
    }
}

// MARK: - Causal multi-head attention

/// qkv (T, 3D) → out (T, D), heads concatenated; probs (H, T, T) keeps each head's causal softmax (zeros above the diagonal).
func attentionForward(_ out: Ptr, _ probs: Ptr, _ qkv: ConstPtr, rows: Int, dim: Int, heads: Int) {
    let dh = dim / heads
    let scale = 1 / Double(dh).squareRoot()
    for h in 0..<heads {
        let p = probs + h * rows * rows
        // scores = q kᵀ / √dh, then a causal softmax per row.
        BLAS.gemm(transB: true, m: rows, n: rows, k: dh, alpha: scale, a: qkv + h * dh, lda: 3 * dim,
                  b: qkv + dim + h * dh, ldb: 3 * dim, c: p, ldc: rows)
        for t in 0..<rows {
            let row = p + t * rows
            var mx = -Double.infinity
            for j in 0...t { mx = max(mx, row[j]) }
            var sum = 0.0
            for j in 0...t { row[j] = exp(row[j] - mx); sum += row[j] }
            let inv = 1 / sum
            for j in 0...t { row[j] *= inv }
            for j in (t + 1)..<rows { row[j] = 0 }
        }
        BLAS.gemm(m: rows, n: dh, k: rows, a: p, lda: rows, b: qkv + 2 * dim + h * dh, ldb: 3 * dim,
                  c: out + h * dh, ldc: dim)
    }
}

/// dqkv (B·T, 3D) = ∂/∂qkv of Σ dout·attention(qkv) for B stacked cotangents on the attention's output, whose
/// query rows before `r0` are zero: `dout` holds only rows r0 ..< T of each, packed as B blocks of R = T − r0 rows
/// (r0 = 0: all rows, (B·T, D)). A zero query row sends nothing anywhere, so the softmax backward and dQ run on the
/// R active rows and dK, dV sum over them only (a logit Jacobian's top layer has R = 1: O(T) work instead of
/// O(T²)); dQ's rows before r0 are set to zero. `scratch` holds B·R·T values.
func attentionBackward(_ dqkv: Ptr, _ dout: ConstPtr, _ qkv: ConstPtr, _ probs: ConstPtr, scratch: Ptr,
                       batch: Int, rows: Int, dim: Int, heads: Int, from r0: Int = 0) {
    precondition((0..<rows).contains(r0), "attention backward: first active row \(r0) outside 0 ..< \(rows)")
    let dh = dim / heads
    let scale = 1 / Double(dh).squareRoot()
    let R = rows - r0, br = batch * R
    if r0 > 0 {
        for bi in 0..<batch {
            for t in 0..<r0 { (dqkv + (bi * rows + t) * 3 * dim).update(repeating: 0, count: dim) }
        }
    }
    for h in 0..<heads {
        let p = probs + h * rows * rows
        let q = qkv + h * dh, k = qkv + dim + h * dh, v = qkv + 2 * dim + h * dh
        let dq = dqkv + h * dh, dk = dqkv + dim + h * dh, dv = dqkv + 2 * dim + h * dh
        // dP (B·R, T) = dO · Vᵀ, all examples at once.
        BLAS.gemm(transB: true, m: br, n: rows, k: dh, a: dout + h * dh, lda: dim, b: v, ldb: 3 * dim,
                  c: scratch, ldc: rows)
        // dS = P ∘ (dP − rowsum(P ∘ dP)): the softmax's backward; masked entries have P = 0.
        for bi in 0..<batch {
            for i in 0..<R {
                let t = r0 + i
                let pr = p + t * rows
                let ds = scratch + (bi * R + i) * rows
                var dot = 0.0
                for j in 0...t { dot += pr[j] * ds[j] }
                for j in 0...t { ds[j] = pr[j] * (ds[j] - dot) }
                for j in (t + 1)..<rows { ds[j] = 0 }
            }
        }
        // dQ (rows r0 ..< T, dh) = dS · K / √dh: all examples at once when their rows are evenly spaced (every row,
        // or one per example), else one product per example.
        if r0 == 0 || R == 1 {
            BLAS.gemm(m: br, n: dh, k: rows, alpha: scale, a: scratch, lda: rows, b: k, ldb: 3 * dim,
                      c: dq + r0 * 3 * dim, ldc: R == 1 ? rows * 3 * dim : 3 * dim)
        } else {
            for bi in 0..<batch {
                BLAS.gemm(m: R, n: dh, k: rows, alpha: scale, a: scratch + bi * R * rows, lda: rows, b: k, ldb: 3 * dim,
                          c: dq + (bi * rows + r0) * 3 * dim, ldc: 3 * dim)
            }
        }
        for bi in 0..<batch {
            let rowOffset = bi * rows * 3 * dim
            // dK_b = dS_bᵀ · Q / √dh;  dV_b = Pᵀ · dO_b, over the active rows.
            BLAS.gemm(transA: true, m: rows, n: dh, k: R, alpha: scale, a: scratch + bi * R * rows, lda: rows,
                      b: q + r0 * 3 * dim, ldb: 3 * dim, c: dk + rowOffset, ldc: 3 * dim)
            BLAS.gemm(transA: true, m: rows, n: dh, k: R, a: p + r0 * rows, lda: rows, b: dout + bi * R * dim + h * dh, ldb: dim,
                      c: dv + rowOffset, ldc: 3 * dim)
        }
    }
}

// MARK: - Log-likelihood: log softmax (forward) and its cotangent (backward)

/// log softmax of one logit row of length n, written to `out`.
func logSoftmaxRow(_ out: Ptr, _ z: ConstPtr, count n: Int) {
    var mx = -Double.infinity
    for i in 0..<n { mx = max(mx, z[i]) }
    var sum = 0.0
    for i in 0..<n { sum += exp(z[i] - mx) }
    let lse = mx + log(sum)
    for i in 0..<n { out[i] = z[i] - lse }
}

/// How the weight w of a log-likelihood cotangent is applied. The three forms are the same w·(e − softmax(z)) and
/// differ only in rounding; each caller keeps the form its results have always been computed with, so outputs
/// keep their bytes.
enum LogLikelihoodWeight {
    /// w·(e − p): e − p first, then scaled. Per-example gradients of `LogProbSum`s and A(x) (w = 1).
    case scaled(Double)
    /// −w·p + w·e: GRPO's per-token surrogate weight.
    case spread(Double)
    /// −p/n + e/n: SFT's mean over the n scored tokens of one example.
    case mean(over: Double)
}

/// row[o] += w·(e_target − softmax(z))[o] for every o < V = logProbs.count, from the row's log-probabilities: the
/// cotangent on one logit row of w·log π(target), i.e. the backward of `logSoftmaxRow` picked at `target`
/// (THEORY §2: A(x) = G(x) = e_{o_t} − softmax(z)). The one place this formula is written: SFT, GRPO, the eNTK's
/// A(x) and every per-example gradient of the analyses call it.
func addLogLikelihoodCotangent(_ row: Ptr, logProbs: [Double], target: Int, weight: LogLikelihoodWeight) {
    let V = logProbs.count
    switch weight {
    case let .scaled(w):
        for o in 0..<V {
            var a = -exp(logProbs[o])
            if o == target { a += 1 }
            row[o] += w * a
        }
    case let .spread(w):
        for o in 0..<V { row[o] += -w * exp(logProbs[o]) }
        row[target] += w
    case let .mean(n):
        for o in 0..<V { row[o] += -exp(logProbs[o]) / n }
        row[target] += 1 / n
    }
}

/// A(x) = e_target − softmax(z) as a vector: `addLogLikelihoodCotangent` with w = 1 on a zero row.
func logLikelihoodGradient(_ logProbs: [Double], target: Int) -> [Double] {
    var a = [Double](repeating: 0, count: logProbs.count)
    a.withUnsafeMutableBufferPointer { addLogLikelihoodCotangent($0.baseAddress!, logProbs: logProbs, target: target, weight: .scaled(1)) }
    return a
}
