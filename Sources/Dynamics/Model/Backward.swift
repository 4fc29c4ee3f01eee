/// Exact reverse-mode gradients of the network, for one cotangent or a whole matrix of them.
extension Transformer {
    /// Parameter gradients of Σ_{t,o} cot_b[t, o]·z[t, o] for each of B cotangents, accumulated into `grad`.
    ///
    /// - `cotangents`: B × T × V values (B = cotangents.count / (T·V)), cotangent b on the logits of the pass.
    /// - `grad`: B × d row-major (d = `layout.count`); gradients are **added** to what it holds.
    /// All B cotangents travel backward together: activation gradients are (B·T)-row matrices, so each layer
    /// costs one large product instead of B small ones.
    /// More than `cotangentChunk` cotangents are cut into fixed chunks spread over the BLAS threads.
    public func backward(_ acts: Activations, cotangents: [Double], into grad: inout [Double]) throws {
        try backward(acts, cotangents: cotangents, into: &grad, threads: BLAS.threads)
    }

    /// `backward` with the chunks spread over `threads` workers (the bytes do not depend on it).
    func backward(_ acts: Activations, cotangents: [Double], into grad: inout [Double], threads: Int) throws {
        let tv = acts.length * config.vocabSize
        guard tv > 0, cotangents.count % tv == 0, cotangents.count > 0 else {
            throw ModelError.cotangentShape(expected: [-1, acts.length, config.vocabSize], found: cotangents.count)
        }
        let batch = cotangents.count / tv
        guard grad.count == batch * layout.count else {
            throw ShapeError.mismatch(what: "gradient buffer", expected: [batch, layout.count], found: [grad.count])
        }
        let d = layout.count, chunks = Self.cotangentChunks(batch)
        parameters.withUnsafeBufferPointer { theta in
            cotangents.withUnsafeBufferPointer { cot in
                grad.withUnsafeMutableBufferPointer { g in
                    let (theta, cot, g) = (theta.baseAddress!, cot.baseAddress!, g.baseAddress!)
                    guard chunks > 1 else {
                        backward(acts, theta: theta, cotangents: cot, batch: batch, grad: g)
                        return
                    }
                    // Fixed chunks of cotangents, spread over the BLAS threads (each chunk on one core with
                    // single-threaded BLAS): a logit Jacobian uses every core, and its bytes do not depend on the
                    // thread count.
                    Parallel.forEach(chunks, threads: threads) { k in
                        let r = Self.cotangentChunk(k, of: batch)
                        backward(acts, theta: theta, cotangents: cot + r.lowerBound * tv, batch: r.count, grad: g + r.lowerBound * d)
                    }
                }
            }
        }
    }

    /// At most this many cotangents per backward pass when many travel together.
    static let cotangentChunk = 32

    /// How many chunks `batch` cotangents are cut into: ⌈batch / 32⌉, rounded up to an even count so that two (or
    /// four, …) cores get the same work (V = 92 makes four chunks of 23 — three of 32 left one of two cores idle for
    /// a third of the Jacobian). The split depends on `batch` alone, never on the thread count, so the bytes do not
    /// either.
    static func cotangentChunks(_ batch: Int) -> Int {
        let n = (batch + cotangentChunk - 1) / cotangentChunk
        return n > 1 && n % 2 == 1 ? n + 1 : n
    }

    /// The cotangents of chunk k of `cotangentChunks(batch)`: ⌊k·batch/n⌋ ..< ⌊(k+1)·batch/n⌋.
    static func cotangentChunk(_ k: Int, of batch: Int) -> Range<Int> {
        let n = cotangentChunks(batch)
        return (k * batch / n)..<((k + 1) * batch / n)
    }

    /// The first row on which any of the B cotangents (B × T × V) is non-zero; T when all are zero.
    static func firstActiveRow(_ cot: ConstPtr, batch B: Int, rows T: Int, width V: Int) -> Int {
        var first = T
        for b in 0..<B {
            var row = cot + b * T * V
            rows: for t in 0..<first {
                for o in 0..<V where row[o] != 0 {
                    first = t
                    break rows
                }
                row += V
            }
        }
        return first
    }

    /// The pass itself. θ is read through `layout`; gradients are written through `gradients` (default: the tap's
    /// compact layout, or θ's own), whose left-out dense weights are handed to `tap` as factors.
    func backward(_ a: Activations, theta: ConstPtr, cotangents: ConstPtr, batch B: Int, grad: Ptr, tap: FactorTap? = nil,
                  gradients: GradientLayout? = nil) {
        let T = a.length, V = config.vocabSize
        // Above the top attention layer everything is row-wise, so rows before the first non-zero cotangent
        // carry no gradient there: the head, the final LayerNorm and the top block's MLP and output projection
        // run on the R = T − r0 active rows only (a logit Jacobian has R = 1).
        let r0 = min(Self.firstActiveRow(cotangents, batch: B, rows: T, width: V), T - 1)
        backward(a, theta: theta, activeRows: cotangents + r0 * V, batchStride: T * V, from: r0, batch: B, grad: grad, tap: tap,
                 gradients: gradients)
    }

    /// Where a pass's cotangents sit.
    enum CotangentSite {
        /// On the logits z (V per row): the gradients of every parameter.
        case logits
        /// On the final LayerNorm's output y (D per row), below the head: the gradients of every parameter but the
        /// head's, which the pass leaves untouched (the eNTK engine's head basis, `KernelPlan.headBasis`).
        case finalNorm
    }

    /// The pass for cotangents that are zero on rows before `r0`: cotangent b's rows r0 … T − 1 (R·V values, or R·D
    /// at the `finalNorm` site) start at `activeRows + b·batchStride` (a logit Jacobian's one-hot cotangents:
    /// r0 = T − 1, B × V values).
    func backward(_ a: Activations, theta: ConstPtr, activeRows cotangents: ConstPtr, batchStride: Int, from r0: Int, batch B: Int,
                  grad: Ptr, tap: FactorTap? = nil, gradients: GradientLayout? = nil, site: CotangentSite = .logits) {
        let gl = gradients ?? tap?.gradientLayout ?? GradientLayout(layout)
        let c = config, T = a.length, D = c.dModel, F = c.dFF, V = c.vocabSize, L = c.nLayers
        let R = T - r0
        let rows = B * T
        let width = site == .logits ? V : D
        let scratch = Arena(capacity: 3 * rows * D + rows * max(F, 3 * D) + rows * 3 * D + rows * T + T + B * R * width)
        let dResidual = scratch.take(rows * D)     // gradient w.r.t. the residual stream
        let dResidualMid = scratch.take(rows * D)
        let dNormed = scratch.take(rows * D)       // gradient w.r.t. a LayerNorm's output
        let dHidden = scratch.take(rows * max(F, 3 * D))
        let dQKV = scratch.take(rows * 3 * D)
        let dScores = scratch.take(rows * T)
        let ones = scratch.take(T)
        for t in 0..<T { ones[t] = 1 }
        let cot = scratch.take(B * R * width)      // the active rows of the cotangents, (B·R, V or D)
        /// One dense layer's backward, its weight gradient formed or (when `gl` has no slot for it) handed to the tap
        /// as factors. `w`, `bias`: the weight's and its bias's θ offsets.
        func dense(_ dinp: Ptr?, w: Int, bias: Int?, _ dout: ConstPtr, _ inp: ConstPtr, rows: Int, din: Int, dout doutDim: Int) {
            let gw = gl.slot(of: w)
            if gw == nil {
                tap?.record(offset: w, cotangents: dout, batchStride: rows * doutDim, inputs: inp, batch: B, rows: rows, din: din, dout: doutDim)
            }
            linearBackward(dinp, grad, w: gw, b: bias.map { gl[$0] }, dout, inp, theta + w, batch: B, rows: rows,
                           din: din, dout: doutDim, ones: ones)
        }
        for b in 0..<B { (cot + b * R * width).update(from: cotangents + b * batchStride, count: R * width) }

        switch site {
        case .logits:
            // Head: z = lnF · W_headᵀ, on the active rows.
            dense(dNormed, w: layout.head, bias: nil, cot, a.lnF + r0 * D, rows: R, din: D, dout: V)
        case .finalNorm:
            dNormed.update(from: cot, count: B * R * D)
        }
        layerNormBackward(dResidual, grad, w: gl[layout.lnFWeight], b: gl[layout.lnFBias], dNormed,
                          a.residual[L] + r0 * D, a.lnFMean + r0, a.lnFRstd + r0, theta + layout.lnFWeight, batch: B, rows: R, dim: D)
        for l in stride(from: L - 1, through: 0, by: -1) {
            let o = layout.blocks[l], b = a.blocks[l]
            // Rows handled before the attention layer: the active suffix in the top block, all rows below it.
            let (first, n) = l == L - 1 ? (r0, R) : (0, T)
            let m = B * n
            // MLP: next = mid + gelu(ln2 · W_fcᵀ + b_fc) · W_projᵀ + b_proj.
            dHidden.update(repeating: 0, count: m * F)
            dense(dHidden, w: o.mlpProjWeight, bias: o.mlpProjBias, dResidual, b.fcAct + first * F, rows: n, din: F, dout: D)
            geluBackward(dHidden, dHidden, slope: b.fcSlope + first * F, batch: B, count: n * F)
            dNormed.update(repeating: 0, count: m * D)
            dense(dNormed, w: o.fcWeight, bias: o.fcBias, dHidden, b.ln2 + first * D, rows: n, din: D, dout: F)
            dResidualMid.update(from: dResidual, count: m * D)
            layerNormBackward(dResidualMid, grad, w: gl[o.ln2Weight], b: gl[o.ln2Bias], dNormed,
                              b.residualMid + first * D, b.ln2Mean + first, b.ln2Rstd + first, theta + o.ln2Weight, batch: B, rows: n, dim: D)
            // Attention: mid = x + attention(ln1 · W_qkvᵀ + b_qkv) · W_projᵀ + b_proj.
            dNormed.update(repeating: 0, count: m * D)
            dense(dNormed, w: o.projWeight, bias: o.projBias, dResidualMid, b.attention + first * D, rows: n, din: D, dout: D)
            // The attention's backward reads the active query rows only (packed); from its output on, every row
            // carries gradient.
            attentionBackward(dQKV, dNormed, b.qkv, b.probs, scratch: dScores, batch: B, rows: T, dim: D, heads: c.nHeads, from: first)
            if n < T {
                // Spread the residual's active rows back to (B·T, D), zeros before r0.
                Self.expand(dResidualMid, from: n, to: T, batch: B, width: D)
            }
            dNormed.update(repeating: 0, count: rows * D)
            dense(dNormed, w: o.qkvWeight, bias: o.qkvBias, dQKV, b.ln1, rows: T, din: D, dout: 3 * D)
            dResidual.update(from: dResidualMid, count: rows * D)
            layerNormBackward(dResidual, grad, w: gl[o.ln1Weight], b: gl[o.ln1Bias], dNormed,
                              a.residual[l], b.ln1Mean, b.ln1Rstd, theta + o.ln1Weight, batch: B, rows: T, dim: D)
        }
        embeddingBackward(a.input, dResidual, grad: grad, layout: gl, batch: B, length: T, ones: ones, tap: tap)
    }

    /// In place: B blocks of `from` rows (packed at the front) become B blocks of `to` rows, each block's rows
    /// moved to its end and the rows before them zeroed. The buffer must hold B·to rows.
    static func expand(_ buffer: Ptr, from n: Int, to T: Int, batch B: Int, width w: Int) {
        for b in stride(from: B - 1, through: 0, by: -1) {
            let src = buffer + b * n * w, dst = buffer + (b * T + T - n) * w
            dst.update(from: src, count: n * w)
            (buffer + b * T * w).update(repeating: 0, count: (T - n) * w)
        }
    }
}
