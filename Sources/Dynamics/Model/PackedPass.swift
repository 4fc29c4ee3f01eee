import Foundation

// A batch of sequences run through the network at once (the training step's path). The B sequences are packed
// row-wise into one (ΣT_b, ·) matrix per activation, so every dense layer (qkv, attention output, MLP fc/proj,
// head) is one large product over all rows of the batch, and attention runs per sequence on its rows.
//
// Work is cut into fixed tiles (row tiles of `PackedPass.rowTile` rows, sequences, column chunks of weight
// gradients) that do not depend on the thread count, each run with single-threaded OpenBLAS by whichever worker
// claims it, so the result has the same bytes for any `threads`. A weight's gradient sums over all ΣT_b rows
// in one product, in row order (sequences in batch order, positions in order) as the dgemm accumulates.

/// A packed batch's forward activations: what the packed backward needs, and each sequence's logits.
public final class PackedActivations: @unchecked Sendable {
    struct Block {
        let ln1, ln1Mean, ln1Rstd: Ptr      // (R, D), (R), (R)
        let qkv: Ptr                         // (R, 3D)
        let probs: Ptr                       // per sequence b: (H, T_b, T_b) at probOffsets[b]
        let attention: Ptr                   // (R, D)
        let residualMid: Ptr                 // (R, D)
        let ln2, ln2Mean, ln2Rstd: Ptr       // (R, D), (R), (R)
        let fcSlope, fcAct: Ptr              // (R, d_ff): the MLP pre-activation, replaced by gelu′ of it; after GELU
    }

    let config: ModelConfig
    /// The sequences, in batch order.
    public let inputs: [ModelInput]
    /// Sequence b occupies rows offsets[b] ..< offsets[b + 1]; R = offsets[B] rows in all.
    public let offsets: [Int]
    /// Start of sequence b's (H, T_b, T_b) block in `probs` (and its T_b × T_b block of backward scratch at squareOffsets[b]).
    let probOffsets: [Int]
    let squareOffsets: [Int]
    var rows: Int { offsets[inputs.count] }
    let residual: [Ptr]                      // L + 1 of (R, D)
    let blocks: [Block]
    let lnF, lnFMean, lnFRstd: Ptr
    let logitsBuffer: Ptr                    // (R, V)
    private let arena: Arena

    init(config c: ModelConfig, inputs: [ModelInput]) {
        self.config = c
        self.inputs = inputs
        var offsets = [0], probOffsets = [0], squareOffsets = [0]
        for input in inputs {
            let T = input.length
            offsets.append(offsets.last! + T)
            probOffsets.append(probOffsets.last! + c.nHeads * T * T)
            squareOffsets.append(squareOffsets.last! + T * T)
        }
        self.offsets = offsets
        self.probOffsets = probOffsets
        self.squareOffsets = squareOffsets
        let R = offsets.last!, D = c.dModel, F = c.dFF, P = probOffsets.last!
        let perBlock = R * D * 6 + R * 4 + R * 3 * D + P + 2 * R * F
        arena = Arena(capacity: (c.nLayers + 1) * R * D + c.nLayers * perBlock + R * D + 2 * R + R * c.vocabSize, zeroed: false)
        let a = arena
        residual = (0...c.nLayers).map { _ in a.take(R * D) }
        blocks = (0..<c.nLayers).map { _ in
            Block(ln1: a.take(R * D), ln1Mean: a.take(R), ln1Rstd: a.take(R), qkv: a.take(R * 3 * D),
                  probs: a.take(P), attention: a.take(R * D), residualMid: a.take(R * D),
                  ln2: a.take(R * D), ln2Mean: a.take(R), ln2Rstd: a.take(R), fcSlope: a.take(R * F), fcAct: a.take(R * F))
        }
        lnF = a.take(R * D)
        lnFMean = a.take(R)
        lnFRstd = a.take(R)
        logitsBuffer = a.take(R * c.vocabSize)
    }

    /// Sequence `b`'s logits, (T_b, V) row-major.
    public func logits(sequence b: Int) -> [Double] {
        Array(UnsafeBufferPointer(start: logitsBuffer + offsets[b] * config.vocabSize, count: inputs[b].length * config.vocabSize))
    }

    /// log softmax of sequence `b`'s logits at `position`, written to `out` (V values).
    func logProbabilities(sequence b: Int, position: Int, into out: Ptr) {
        precondition(position >= 0 && position < inputs[b].length, "position outside the sequence")
        logSoftmaxRow(out, logitsBuffer + (offsets[b] + position) * config.vocabSize, count: config.vocabSize)
    }

    /// log softmax of sequence `b`'s logits at `position`.
    public func logProbabilities(sequence b: Int, position: Int) -> [Double] {
        var out = [Double](repeating: 0, count: config.vocabSize)
        out.withUnsafeMutableBufferPointer { logProbabilities(sequence: b, position: position, into: $0.baseAddress!) }
        return out
    }
}

/// The tiling of the packed pass (fixed, so results do not depend on the thread count).
enum PackedPass {
    /// Rows per row tile of the row-wise work (LayerNorm, GELU and the products of activations with weights).
    static let rowTile = Int(ProcessInfo.processInfo.environment["DYNAMICS_ROW_TILE"] ?? "") ?? 256
    /// Output rows per tile of a weight gradient dW (dout × din) = doutᵀ·inp over all rows.
    static let weightTile = 32
    /// Columns per tile of a LayerNorm's parameter gradient.
    static let normTile = 32

    /// The row tiles of R rows: (first row, row count).
    static func rowTiles(_ R: Int) -> [(Int, Int)] {
        stride(from: 0, to: R, by: rowTile).map { ($0, min(rowTile, R - $0)) }
    }

    /// Runs every task once over up to `threads` threads (each with single-threaded OpenBLAS).
    static func run(_ tasks: [() -> Void], threads: Int) {
        Parallel.forEach(tasks.count, threads: threads) { tasks[$0]() }
    }

    /// Tasks adding dW (dout × din) += doutᵀ·inp over R rows and db += Σ_rows dout, in tiles of output rows.
    static func weightGradient(_ grad: Ptr, w: Int, b: Int?, _ dout: ConstPtr, _ inp: ConstPtr, rows R: Int, din: Int, dout doutDim: Int,
                               ones: ConstPtr) -> [() -> Void] {
        stride(from: 0, to: doutDim, by: weightTile).map { j0 in
            {
                let m = min(weightTile, doutDim - j0)
                BLAS.gemm(transA: true, m: m, n: din, k: R, a: dout + j0, lda: doutDim, b: inp, ldb: din,
                          beta: 1, c: grad + w + j0 * din, ldc: din)
                if let b {
                    BLAS.gemv(trans: true, rows: R, cols: m, a: dout + j0, lda: doutDim, x: ones, beta: 1, y: grad + b + j0)
                }
            }
        }
    }

    /// Tasks adding a LayerNorm's dw += Σ_rows dout·x̂ and db += Σ_rows dout, in tiles of columns (rows summed in order).
    static func normGradient(_ grad: Ptr, w: Int, b: Int, _ dout: ConstPtr, _ inp: ConstPtr, _ mean: ConstPtr, _ rstd: ConstPtr,
                             rows R: Int, dim: Int) -> [() -> Void] {
        stride(from: 0, to: dim, by: normTile).map { i0 in
            {
                let i1 = min(i0 + normTile, dim)
                let dw = grad + w, db = grad + b
                for t in 0..<R {
                    let x = inp + t * dim, dy = dout + t * dim
                    let m = mean[t], s = rstd[t]
                    for i in i0..<i1 {
                        dw[i] += dy[i] * ((x[i] - m) * s)
                        db[i] += dy[i]
                    }
                }
            }
        }
    }

    /// dinp (rows, D) += ∂/∂x of Σ dout·LN(x), row by row (the parameter gradients are `normGradient`'s).
    static func normBackwardInput(_ dinp: Ptr, _ dout: ConstPtr, _ inp: ConstPtr, _ mean: ConstPtr, _ rstd: ConstPtr, _ w: ConstPtr,
                                  rows: Int, dim: Int) {
        let n = Double(dim)
        for t in 0..<rows {
            let x = inp + t * dim, dy = dout + t * dim, dx = dinp + t * dim
            let m = mean[t], s = rstd[t]
            var meanDn = 0.0, meanDnX = 0.0
            for i in 0..<dim {
                let dn = dy[i] * w[i]
                meanDn += dn
                meanDnX += dn * ((x[i] - m) * s)
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

extension Transformer {
    /// Runs the network over a batch of sequences packed row-wise; results equal `forward` of each sequence up to
    /// rounding, and have the same bytes for any `threads`.
    public func forward(batch inputs: [ModelInput], threads: Int) throws -> PackedActivations {
        guard !inputs.isEmpty else { throw ModelError.emptyInput }
        for input in inputs { try validate(input) }
        let acts = PackedActivations(config: config, inputs: inputs)
        parameters.withUnsafeBufferPointer { theta in forward(packed: acts, theta: theta.baseAddress!, threads: threads) }
        return acts
    }

    private func forward(packed a: PackedActivations, theta: ConstPtr, threads: Int) {
        let c = config, D = c.dModel, F = c.dFF, V = c.vocabSize, L = c.nLayers, R = a.rows
        let tiles = PackedPass.rowTiles(R)
        // Embeddings, one task per sequence.
        PackedPass.run(a.inputs.indices.map { s in
            {
                let input = a.inputs[s], x0 = a.residual[0] + a.offsets[s] * D, n = input.imagePositions
                if let patches = input.patches {
                    patches.storage.withUnsafeBufferPointer { pp in
                        linearForward(x0, pp.baseAddress!, theta + layout.patchWeight, theta + layout.patchBias, rows: n, din: c.patchDim, dout: D)
                    }
                }
                for (i, token) in input.tokens.enumerated() {
                    (x0 + (n + i) * D).update(from: theta + layout.tokEmb + token * D, count: D)
                }
                BLAS.axpy(input.length * D, 1, theta + layout.posEmb, x0)
            }
        }, threads: threads)
        for l in 0...L {
            // Row-wise: block l − 1's attention output projection and MLP, then block l's LN1 and qkv (the final
            // LayerNorm and the head when l = L).
            PackedPass.run(tiles.map { (r, n) in
                {
                    if l > 0 {
                        let o = layout.blocks[l - 1], b = a.blocks[l - 1], x = a.residual[l - 1] + r * D, next = a.residual[l] + r * D
                        let mid = b.residualMid + r * D
                        mid.update(from: x, count: n * D)
                        linearForward(mid, b.attention + r * D, theta + o.projWeight, theta + o.projBias, rows: n, din: D, dout: D, beta: 1)
                        layerNormForward(b.ln2 + r * D, b.ln2Mean + r, b.ln2Rstd + r, mid, theta + o.ln2Weight, theta + o.ln2Bias, rows: n, dim: D)
                        let pre = b.fcSlope + r * F
                        linearForward(pre, b.ln2 + r * D, theta + o.fcWeight, theta + o.fcBias, rows: n, din: D, dout: F)
                        geluForward(b.fcAct + r * F, slope: pre, pre, count: n * F)
                        next.update(from: mid, count: n * D)
                        linearForward(next, b.fcAct + r * F, theta + o.mlpProjWeight, theta + o.mlpProjBias, rows: n, din: F, dout: D, beta: 1)
                    }
                    let x = a.residual[l] + r * D
                    if l < L {
                        let o = layout.blocks[l], b = a.blocks[l]
                        layerNormForward(b.ln1 + r * D, b.ln1Mean + r, b.ln1Rstd + r, x, theta + o.ln1Weight, theta + o.ln1Bias, rows: n, dim: D)
                        linearForward(b.qkv + r * 3 * D, b.ln1 + r * D, theta + o.qkvWeight, theta + o.qkvBias, rows: n, din: D, dout: 3 * D)
                    } else {
                        layerNormForward(a.lnF + r * D, a.lnFMean + r, a.lnFRstd + r, x, theta + layout.lnFWeight, theta + layout.lnFBias,
                                         rows: n, dim: D)
                        linearForward(a.logitsBuffer + r * V, a.lnF + r * D, theta + layout.head, nil, rows: n, din: D, dout: V)
                    }
                }
            }, threads: threads)
            if l == L { break }
            // Attention, one task per sequence.
            let b = a.blocks[l]
            PackedPass.run(a.inputs.indices.map { s in
                {
                    let o = a.offsets[s]
                    attentionForward(b.attention + o * D, b.probs + a.probOffsets[s], b.qkv + o * 3 * D, rows: a.inputs[s].length,
                                     dim: D, heads: c.nHeads)
                }
            }, threads: threads)
        }
    }

    /// ∇θ of Σ_b Σ_{t,o} cot[offsets[b] + t, o]·z_b[t, o] (one cotangent row per packed row, R × V), **added** to
    /// `grad` (d values). Each weight's gradient is one product over all R rows; the same bytes for any `threads`.
    public func backward(_ a: PackedActivations, cotangents: [Double], into grad: inout [Double], threads: Int) throws {
        let V = config.vocabSize
        guard cotangents.count == a.rows * V else {
            throw ModelError.cotangentShape(expected: [a.rows, V], found: cotangents.count)
        }
        guard grad.count == layout.count else {
            throw ShapeError.mismatch(what: "gradient buffer", expected: [layout.count], found: [grad.count])
        }
        parameters.withUnsafeBufferPointer { theta in
            cotangents.withUnsafeBufferPointer { cot in
                grad.withUnsafeMutableBufferPointer { g in
                    backward(packed: a, theta: theta.baseAddress!, cotangents: cot.baseAddress!, grad: g.baseAddress!, threads: threads)
                }
            }
        }
    }

    private func backward(packed a: PackedActivations, theta: ConstPtr, cotangents cot: ConstPtr, grad: Ptr, threads: Int) {
        let c = config, D = c.dModel, F = c.dFF, V = c.vocabSize, L = c.nLayers, R = a.rows
        let tiles = PackedPass.rowTiles(R)
        // Every buffer is kept until its weight gradient has been formed (one phase later), so a layer's weight
        // products run beside the next phase's work.
        let squares = a.squareOffsets.last!
        let scratch = Arena(capacity: R + R * D * (2 + 5 * L) + R * F * L + R * 3 * D * L + squares, zeroed: false)
        let ones = scratch.take(R)
        for t in 0..<R { ones[t] = 1 }
        let dNormedF = scratch.take(R * D)
        let dResidual = (0...L).map { _ in scratch.take(R * D) }    // gradient w.r.t. residual[l]
        let dHidden = (0..<L).map { _ in scratch.take(R * F) }
        let dNormed2 = (0..<L).map { _ in scratch.take(R * D) }
        let dMid = (0..<L).map { _ in scratch.take(R * D) }
        let dAttention = (0..<L).map { _ in scratch.take(R * D) }
        let dQKV = (0..<L).map { _ in scratch.take(R * 3 * D) }
        let dNormed1 = (0..<L).map { _ in scratch.take(R * D) }
        let dScores = scratch.take(squares)
        func weights(_ w: Int, _ b: Int?, _ dout: ConstPtr, _ inp: ConstPtr, din: Int, dout doutDim: Int) -> [() -> Void] {
            PackedPass.weightGradient(grad, w: w, b: b, dout, inp, rows: R, din: din, dout: doutDim, ones: ones)
        }
        var pending: [() -> Void] = []   // weight-gradient tasks whose inputs are ready
        for l in stride(from: L - 1, through: -1, by: -1) {
            // Row-wise: down from the head (l = L − 1) or from block l + 1's qkv to its input, then block l's
            // MLP and attention output projection down to the attention's output.
            PackedPass.run(tiles.map { (r, n) in
                {
                    let up = l + 1
                    let dx = dResidual[up] + r * D
                    if up == L {
                        BLAS.gemm(m: n, n: D, k: V, a: cot + r * V, lda: V, b: theta + layout.head, ldb: D, c: dNormedF + r * D, ldc: D)
                        dx.update(repeating: 0, count: n * D)
                        PackedPass.normBackwardInput(dx, dNormedF + r * D, a.residual[L] + r * D, a.lnFMean + r, a.lnFRstd + r,
                                                     theta + layout.lnFWeight, rows: n, dim: D)
                    } else {
                        let o = layout.blocks[up], b = a.blocks[up]
                        BLAS.gemm(m: n, n: D, k: 3 * D, a: dQKV[up] + r * 3 * D, lda: 3 * D, b: theta + o.qkvWeight, ldb: D,
                                  c: dNormed1[up] + r * D, ldc: D)
                        dx.update(from: dMid[up] + r * D, count: n * D)
                        PackedPass.normBackwardInput(dx, dNormed1[up] + r * D, a.residual[up] + r * D, b.ln1Mean + r, b.ln1Rstd + r,
                                                     theta + o.ln1Weight, rows: n, dim: D)
                    }
                    guard l >= 0 else { return }
                    let o = layout.blocks[l], b = a.blocks[l]
                    let dh = dHidden[l] + r * F, dn = dNormed2[l] + r * D, dm = dMid[l] + r * D
                    BLAS.gemm(m: n, n: F, k: D, a: dx, lda: D, b: theta + o.mlpProjWeight, ldb: F, c: dh, ldc: F)
                    let slope = b.fcSlope + r * F
                    for i in 0..<(n * F) { dh[i] *= slope[i] }
                    BLAS.gemm(m: n, n: D, k: F, a: dh, lda: F, b: theta + o.fcWeight, ldb: D, c: dn, ldc: D)
                    dm.update(from: dx, count: n * D)
                    PackedPass.normBackwardInput(dm, dn, b.residualMid + r * D, b.ln2Mean + r, b.ln2Rstd + r, theta + o.ln2Weight, rows: n, dim: D)
                    BLAS.gemm(m: n, n: D, k: D, a: dm, lda: D, b: theta + o.projWeight, ldb: D, c: dAttention[l] + r * D, ldc: D)
                }
            } + pending, threads: threads)
            pending = []
            // The weight gradients the phase above made ready.
            if l + 1 == L {
                pending += weights(layout.head, nil, cot, a.lnF, din: D, dout: V)
                pending += PackedPass.normGradient(grad, w: layout.lnFWeight, b: layout.lnFBias, dNormedF, a.residual[L], a.lnFMean, a.lnFRstd,
                                                   rows: R, dim: D)
            } else {
                let up = l + 1, o = layout.blocks[up], b = a.blocks[up]
                pending += PackedPass.normGradient(grad, w: o.ln1Weight, b: o.ln1Bias, dNormed1[up], a.residual[up], b.ln1Mean, b.ln1Rstd,
                                                   rows: R, dim: D)
            }
            guard l >= 0 else { break }
            let o = layout.blocks[l], b = a.blocks[l]
            pending += weights(o.mlpProjWeight, o.mlpProjBias, dResidual[l + 1], b.fcAct, din: F, dout: D)
            pending += weights(o.fcWeight, o.fcBias, dHidden[l], b.ln2, din: D, dout: F)
            pending += PackedPass.normGradient(grad, w: o.ln2Weight, b: o.ln2Bias, dNormed2[l], b.residualMid, b.ln2Mean, b.ln2Rstd, rows: R, dim: D)
            pending += weights(o.projWeight, o.projBias, dMid[l], b.attention, din: D, dout: D)
            // Attention backward, one task per sequence, beside the ready weight products.
            let dq = dQKV[l], da = dAttention[l]
            PackedPass.run(a.inputs.indices.map { s in
                {
                    let off = a.offsets[s]
                    attentionBackward(dq + off * 3 * D, da + off * D, b.qkv + off * 3 * D, b.probs + a.probOffsets[s],
                                      scratch: dScores + a.squareOffsets[s], batch: 1, rows: a.inputs[s].length, dim: D, heads: c.nHeads)
                }
            } + pending, threads: threads)
            pending = weights(o.qkvWeight, o.qkvBias, dq, b.ln1, din: D, dout: 3 * D)
        }
        // Embeddings: positions, tokens and patches, each summed over the sequences in batch order.
        let dx = dResidual[0]
        pending.append {
            for s in a.inputs.indices {
                BLAS.axpy(a.inputs[s].length * D, 1, dx + a.offsets[s] * D, grad + layout.posEmb)
            }
        }
        pending.append {
            for (s, input) in a.inputs.enumerated() {
                let x = dx + (a.offsets[s] + input.imagePositions) * D
                for (i, token) in input.tokens.enumerated() {
                    BLAS.axpy(D, 1, x + i * D, grad + layout.tokEmb + token * D)
                }
            }
        }
        pending.append {
            for (s, input) in a.inputs.enumerated() {
                guard let patches = input.patches else { continue }
                let x = dx + a.offsets[s] * D, n = input.imagePositions
                patches.storage.withUnsafeBufferPointer { pp in
                    BLAS.gemm(transA: true, m: D, n: c.patchDim, k: n, a: x, lda: D, b: pp.baseAddress!, ldb: c.patchDim,
                              beta: 1, c: grad + layout.patchWeight, ldc: c.patchDim)
                }
                BLAS.gemv(trans: true, rows: n, cols: D, a: x, lda: D, x: ones, beta: 1, y: grad + layout.patchBias)
            }
        }
        PackedPass.run(pending, threads: threads)
    }
}
