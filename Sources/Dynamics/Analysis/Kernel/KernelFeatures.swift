/// What the eNTK engine keeps of one token example's logit Jacobian J(x) (V × d), as a plan asks: the columns of
/// the materialised tensors, packed, and the factors of the dense weights kept factored. Their rows are the V logits,
/// or, through the plan's head basis, the D rows F = R J_y with J = Q F below the head (`HeadBasis`).
public struct KernelFeatures: Sendable {
    /// V: logits per position.
    public let vocabSize: Int
    /// Rows of `dense` and of `factors`' cotangents: V, or D through the head basis.
    public let rows: Int
    /// Q (V × D) when the rows go through the head basis (J = Q · rows below the head); nil: the rows are the logits.
    public let basis: Matrix?
    /// The head's own share through the head basis (its Jacobian rows are the V logits, not F's rows); nil without
    /// the basis.
    public let headShare: HeadShare?
    /// A(x) = G(x) = e_{o_t} − softmax(z(x)) (THEORY §2).
    public let logitGradient: [Double]
    /// log π(x).
    public let logProb: Double
    /// rows × (Σ of the materialised tensors' sizes): J's columns of those tensors (or F's), in θ order.
    public let dense: Matrix
    /// Column range in `dense` of each materialised tensor, by the tensor's index in the layout.
    public let denseColumns: [Int: Range<Int>]
    /// Factors of each factored dense weight, by the tensor's index in the layout.
    public let factors: [Int: DenseFactors]
    /// `dense` is the whole J(x) from the plain backward pass (the `explicit` strategy), not the plan's packing.
    public let isFullJacobian: Bool

    /// Runs the forward pass over the causal prefix of the token at `position` (a `logprobs` position) and the
    /// backward pass of all V one-hot cotangents on its last logits, in the fixed chunks `Transformer.cotangentChunks`
    /// makes (on this thread), forming the columns `plan` materialises and recording the factors of the others.
    /// The `explicit` strategy forms every column in θ's own layout (no plan, no factor tap, no packing).
    public init(_ model: Transformer, input: ModelInput, position: Int, plan: KernelPlan) throws {
        let pass = try ProbePass(model, input: input, position: position)
        let acts = pass.activations
        let V = model.config.vocabSize, T = acts.length
        logitGradient = pass.logitGradient
        logProb = pass.logProb
        vocabSize = V
        isFullJacobian = plan.strategy == .explicit
        let headBasis = isFullJacobian ? nil : plan.headBasis
        basis = headBasis?.q
        let rows = headBasis?.rank ?? V
        self.rows = rows
        // The gradient buffer has columns for the materialised tensors only: no V × d Jacobian is formed unless
        // the plan materialises everything.
        let tap = isFullJacobian ? nil : FactorTap(model, factoring: plan.factoredOffsets, batch: rows)
        let columnCount = tap?.gradientLayout.count ?? model.layout.count
        var jacobian = [Double](repeating: 0, count: rows * columnCount)
        // One-hot cotangents on the logits, or the rows of R on the final LayerNorm's output.
        let cot = ProbePass.lastRowCotangents(0..<rows, model: model, basis: headBasis), width = cot.width
        model.parameters.withUnsafeBufferPointer { theta in
            cot.values.withUnsafeBufferPointer { c in
                jacobian.withUnsafeMutableBufferPointer { g in
                    for k in 0..<Transformer.cotangentChunks(rows) {
                        let r = Transformer.cotangentChunk(k, of: rows)
                        tap?.chunkStart = r.lowerBound
                        model.backward(acts, theta: theta.baseAddress!, activeRows: c.baseAddress! + r.lowerBound * width, batchStride: width,
                                       from: T - 1, batch: r.count, grad: g.baseAddress! + r.lowerBound * columnCount, tap: tap,
                                       site: cot.site)
                    }
                }
            }
        }
        dense = try Matrix(rows: rows, cols: columnCount, storage: jacobian)
        guard let tap else {
            denseColumns = Dictionary(uniqueKeysWithValues: model.layout.tensors.enumerated().map { ($0.offset, $0.element.range) })
            factors = [:]
            headShare = nil
            return
        }
        var columns: [Int: Range<Int>] = [:]
        var factors: [Int: DenseFactors] = [:]
        var headShare: HeadShare?
        let kept = Dictionary(uniqueKeysWithValues: tap.gradientLayout.tensors.map { ($0.name, $0.range) })
        for (index, tensor) in model.layout.tensors.enumerated() {
            if let range = kept[tensor.name] {
                columns[index] = range
            } else if headBasis != nil && tensor.offset == model.layout.head {
                headShare = HeadShare(index: index, y: acts.finalNormOutput(at: T - 1))
            } else {
                // A factored weight; one that saw no positions (the patch embedding of a text-only example) has
                // empty factors: its share of every product is zero.
                factors[index] = tap.factors[tensor.offset] ?? DenseFactors(
                    rows: 0, batch: rows, inputWidth: tensor.shape[1], outputWidth: tensor.shape[0], cotangents: [], inputs: [])
            }
        }
        denseColumns = columns
        self.factors = factors
        self.headShare = headShare
    }
}

/// The head's share of the eNTK through the head basis. The logits are z = W_head y with no bias, so the head's
/// Jacobian rows are J_head[o] = e_o ⊗ y, whatever the basis below it: K_head(x_v, x_u) = (y_v·y_u) I_V and
/// tr K_head = V·(y_v·y_u) (the stacked traces use the same closed form).
public struct HeadShare: Sendable {
    /// The head's index in the layout.
    public let index: Int
    /// y: the final LayerNorm's output at the example's position (D values).
    public let y: [Double]

    /// y_v·y_u: K_head(x_v, x_u) is this times the V × V identity.
    public func scale(_ other: HeadShare) -> Double { BLAS.dot(y, other.y) }

    /// k += K_head(x_v, x_u) = (y_v·y_u) I_V, with `self` the features of x_v and `other` those of x_u.
    func addBlock(_ other: HeadShare, into k: inout Matrix) {
        let c = scale(other)
        for o in 0..<min(k.rows, k.cols) { k[o, o] += c }
    }
}

extension KernelFeatures {
    /// ∇θ log π(x) = A(x)·J(x) (d values, θ order), from the packed columns and the factors
    /// (a factored weight's slice is (Σ_o A_o g[t, o])ᵀ h, dout × din).
    public func logProbGradient(layout: ParameterLayout) -> [Double] {
        var g = [Double](repeating: 0, count: layout.count)
        // The rows' weights: A itself, or Qᵀ A through the head basis (A·J = (Qᵀ A)·F below the head).
        var rowWeights = logitGradient
        if let q = basis {
            rowWeights = [Double](repeating: 0, count: rows)
            q.storage.withUnsafeBufferPointer { qp in logitGradient.withUnsafeBufferPointer { a in rowWeights.withUnsafeMutableBufferPointer { w in
                BLAS.gemv(trans: true, rows: q.rows, cols: q.cols, a: qp.baseAddress!, lda: q.cols, x: a.baseAddress!, y: w.baseAddress!)
            } } }
        }
        if let head = headShare {
            // The head's slice of A·J is A ⊗ y (V × D, row-major like W_head).
            let (offset, D) = (layout.tensors[head.index].offset, head.y.count)
            for o in 0..<vocabSize { for i in 0..<D { g[offset + o * D + i] = logitGradient[o] * head.y[i] } }
        }
        g.withUnsafeMutableBufferPointer { out in
            rowWeights.withUnsafeBufferPointer { a in
                dense.storage.withUnsafeBufferPointer { j in
                    var row = [Double](repeating: 0, count: dense.cols)
                    row.withUnsafeMutableBufferPointer { r in
                        BLAS.gemv(trans: true, rows: dense.rows, cols: dense.cols, a: j.baseAddress!, lda: dense.cols,
                                  x: a.baseAddress!, y: r.baseAddress!)
                        for (index, range) in denseColumns {
                            (out.baseAddress! + layout.tensors[index].offset).update(from: r.baseAddress! + range.lowerBound, count: range.count)
                        }
                    }
                }
            }
        }
        for (index, f) in factors { Self.writeContracted(f, weights: rowWeights, into: &g, offset: layout.tensors[index].offset) }
        return g
    }

    /// Writes a factored weight's slice of w·J (dout × din at `offset` of `g`): ĝ[t] = Σ_o w_o g[t, o] (n × dout), then ĝᵀ h.
    static func writeContracted(_ f: DenseFactors, weights: [Double], into g: inout [Double], offset: Int) {
        var contracted = [Double](repeating: 0, count: f.rows * f.outputWidth)
        f.cotangents.withUnsafeBufferPointer { gp in f.inputs.withUnsafeBufferPointer { hp in weights.withUnsafeBufferPointer { a in
            contracted.withUnsafeMutableBufferPointer { cp in g.withUnsafeMutableBufferPointer { out in
                for t in 0..<f.rows {
                    BLAS.gemv(trans: true, rows: f.batch, cols: f.outputWidth, a: gp.baseAddress! + t * f.batch * f.outputWidth,
                              lda: f.outputWidth, x: a.baseAddress!, y: cp.baseAddress! + t * f.outputWidth)
                }
                BLAS.gemm(transA: true, m: f.outputWidth, n: f.inputWidth, k: f.rows, a: cp.baseAddress!, lda: f.outputWidth,
                          b: hp.baseAddress!, ldb: f.inputWidth, c: out.baseAddress! + offset, ldc: f.inputWidth)
            } }
        } } }
    }
}
