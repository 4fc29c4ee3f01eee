import Foundation

/// Traces tr K(x_i, x_j), per-tensor traces tr K_g and influences I_ij of many probe pairs at once, from the probes'
/// stacked features rather than pair by pair (THEORY §5):
///
/// - a materialised tensor g: tr K_g(x_i, x_j) = Σ_o ⟨J_g(x_i)[o], J_g(x_j)[o]⟩, so over a tile of probes whose
///   slices J_g(x_p) are the rows of one matrix S_g, all of them are S_g S_gᵀ — one `dsyrk` (one `dgemm` between two
///   tiles). The backward pass writes each probe's slices straight into those rows (a tensor-major
///   `GradientLayout`), for a chunk of the V cotangents at a time; the chunks' products add up in order.
/// - a factored dense weight (J_W[o] = Σ_t g[t, o] ⊗ h[t]): tr K_W(x_i, x_j) = ⟨h_i h_jᵀ, g_i g_jᵀ⟩ over the
///   positions, so with every probe's positions stacked, H = h_a h_bᵀ once and G = g_a g_bᵀ per chunk are one
///   product each, and each pair sums its block of H ∘ G.
/// - influences: I_ij = ⟨∇θ log π(x_i), ∇θ log π(x_j)⟩, the per-probe gradients (one backward pass each with the
///   cotangent A(x)) stacked, one product.
/// - through the plan's head basis (`HeadBasis`), the chunks run over the D rows of F = R J_y instead of the V logits
///   (tr Q S Qᵀ = tr S), and the head's own traces are V·(y_i·y_j), one product of the stacked y.
///
/// Memory: the stacked features of a tile pair — per probe, a chunk of c cotangents' materialised columns and its
/// d-value gradient — stay within `budget` bytes. When all N probes fit with c = 1, there is one tile (with the
/// largest chunk that fits) and every feature is computed once; otherwise the probes are cut into tiles (by index)
/// of as many as fit twice, and each tile pair recomputes its two tiles' features, one cotangent at a time. Tiles and chunks depend only on N, the model and the plan, never on the shard or the thread count, and
/// each pair's values come from its tile pair's products alone: every pair has the same bytes in any run.
struct StackedTraces {
    /// Bytes of stacked features a tile pair holds at most (default `defaultBudget`).
    static let defaultBudget = 256 << 20
    /// Cotangents per backward pass at most (chunks of 4, 8 or 16 measured the same on `small`; 8 halves the memory).
    static let maxChunk = 8

    /// Probes per tile.
    let tile: Int
    /// Cotangents per chunk (the last chunk of V, or of D through the head basis, may be smaller).
    let chunk: Int
    let probeCount: Int

    /// The tiling of `probeCount` probes for `model` under `plan` within `budget` bytes: one tile with the largest
    /// chunk (≤ `maxChunk`) that fits, else tiles of as many probes as fit twice with chunks of one cotangent.
    init(model: Transformer, plan: KernelPlan, probeCount: Int, budget: Int = defaultBudget) {
        let perProbe = Self.bytesPerProbe(model: model, plan: plan)
        if probeCount * perProbe(1) <= budget {
            tile = probeCount
            chunk = (1...min(Self.maxChunk, plan.headBasis?.rank ?? model.config.vocabSize)).last { probeCount * perProbe($0) <= budget }!
        } else {
            chunk = 1
            tile = max(1, budget / (2 * perProbe(1)))
        }
        self.probeCount = probeCount
    }

    /// Bytes one probe's stacked features take with c cotangents per chunk: the c rows of the materialised
    /// tensors' columns and the d-value gradient.
    static func bytesPerProbe(model: Transformer, plan: KernelPlan) -> (Int) -> Int {
        let factored = plan.factoredOffsets
        let materialised = model.layout.tensors.filter { !factored.contains($0.offset) }.reduce(0) { $0 + $1.count }
        let d = model.layout.count
        return { c in 8 * (c * materialised + d) }
    }

    /// Probe indices of tile `k`.
    func members(_ k: Int) -> Range<Int> { (k * tile)..<min((k + 1) * tile, probeCount) }

    /// The entries of `pairs` (i ≤ j, in the given order). `progress` is called once per pair when its tile pair is done.
    func entries(_ pairs: [ProbeKernel.Pair], probes: [ProbeToken], model: Transformer, plan: KernelPlan, threads: Int,
                 progress: (() -> Void)?) throws -> [ProbeKernel.Entry] {
        struct TilePair: Hashable { let a: Int, b: Int }
        let units = Array(Set(pairs.map { TilePair(a: $0.i / tile, b: $0.j / tile) })).sorted { ($0.a, $0.b) < ($1.a, $1.b) }
        var results: [TilePair: TilePairProducts] = [:]
        for u in units {
            results[u] = try products(members(u.a), u.a == u.b ? nil : members(u.b), probes: probes, model: model, plan: plan, threads: threads)
            for _ in 0..<pairs.filter({ $0.i / tile == u.a && $0.j / tile == u.b }).count { progress?() }
        }
        return pairs.map { pair in
            let r = results[TilePair(a: pair.i / tile, b: pair.j / tile)]!
            let at = (pair.i - r.rows.lowerBound) * r.columns.count + (pair.j - r.columns.lowerBound)
            let perTensor = r.tensors.map { $0[at] }
            return ProbeKernel.Entry(pair: pair, trace: perTensor.reduce(0, +), tensorTraces: perTensor, influence: r.influence[at], block: nil)
        }
    }

    /// The products of one tile pair: rows × columns values per tensor (θ order) and of the influences; for a
    /// diagonal tile pair (columns nil: the same tile) only i ≤ j is filled.
    struct TilePairProducts {
        let rows: Range<Int>, columns: Range<Int>
        let tensors: [[Double]]
        let influence: [Double]
    }

    /// Every product runs inside a parallel region (single-threaded BLAS, each on the thread that claims it), so
    /// its bytes never depend on the thread count.
    func products(_ rows: Range<Int>, _ other: Range<Int>?, probes: [ProbeToken], model: Transformer, plan: KernelPlan,
                  threads: Int) throws -> TilePairProducts {
        let columns = other ?? rows
        let layout = model.layout, V = model.config.vocabSize, d = layout.count, D = model.config.dModel
        let factored = plan.factoredOffsets, diagonal = other == nil
        let basis = plan.headBasis, featureRows = basis?.rank ?? V
        // The probes of the tile pair: the row tile, then the column tile when it is another one.
        let members = Array(rows) + (other.map(Array.init) ?? [])
        let (m, n) = (rows.count, columns.count)
        let passes = try Parallel.map(members.count, threads: threads) { k in
            let p = probes[members[k]]
            return try ProbePass(model, input: p.input, position: p.reference.position)
        }
        // Per tensor (θ order) and for the influences, rows × columns accumulators.
        var sums = (0...layout.tensors.count).map { _ in [Double](repeating: 0, count: m * n) }
        let influenceSlot = layout.tensors.count

        // The stacked gradients ∇θ log π (one backward pass each) for the influences.
        var gradients = [Double](repeating: 0, count: members.count * d)
        gradients.withUnsafeMutableBufferPointer { g in
            let g = g.baseAddress!
            Parallel.forEach(members.count, threads: threads) { k in passes[k].logProbGradient(model, into: g + k * d) }
        }

        // Materialised tensors: chunks of cotangents into tensor-major stacks; factored weights: their factors, with
        // each one's H = h_rows h_columnsᵀ (from the first chunk) and positions per member.
        let tensors = layout.tensors.enumerated().map { (index: $0.offset, tensor: $0.element) }
        let materialised = tensors.filter { !factored.contains($0.tensor.offset) }
        let factoredTensors = tensors.filter { factored.contains($0.tensor.offset) }
        // Not cleared: every chunk's pass writes every value it later reads (`jacobianChunk`).
        var stack = [Double](unsafeUninitializedCapacity: members.count * min(chunk, featureRows) * materialised.reduce(0) { $0 + $1.tensor.count }) {
            $1 = $0.count
        }
        var inputGrams = factoredTensors.map { _ in [Double]() }
        var positions = factoredTensors.map { _ in [Int]() }
        if basis != nil, let head = layout.tensors.firstIndex(where: { $0.offset == layout.head }) {
            // The head below its own basis: J_head[o] = e_o ⊗ y, so tr K_head(x_i, x_j) = V·(y_i·y_j).
            let ys = members.indices.map { passes[$0].activations.finalNormOutput(at: passes[$0].activations.length - 1) }
            let y = (rows: Array(ys[..<m].joined()), columns: diagonal ? Array(ys[..<m].joined()) : Array(ys[m...].joined()))
            sums[head] = Parallel.singleThreaded { Self.product(y.rows, y.columns, width: D).map { Double(V) * $0 } }
        }
        for c0 in stride(from: 0, to: featureRows, by: chunk) {
            let width = min(chunk, featureRows - c0)
            var factors = [[Int: DenseFactors]](repeating: [:], count: members.count)
            stack.withUnsafeMutableBufferPointer { s in
                let s = s.baseAddress!
                factors.withUnsafeMutableBufferPointer { f in
                    let f = f.baseAddress!
                    Parallel.forEach(members.count, threads: threads) { k in
                        f[k] = passes[k].jacobianChunk(model, cotangents: c0..<(c0 + width), factoring: factored, stack: s,
                                                       probes: members.count, probe: k, basis: basis)
                    }
                }
            }
            // A weight that saw no positions (the patch embedding of a text-only example) has no factors: no rows.
            func factor(_ k: Int, _ t: ParameterTensor) -> DenseFactors {
                factors[k][t.offset] ?? DenseFactors(rows: 0, batch: width, inputWidth: t.shape[1], outputWidth: t.shape[0], cotangents: [], inputs: [])
            }
            // Rows then columns of a per-member list, stacked.
            func split<T>(_ list: [[T]]) -> (rows: [T], columns: [T]) {
                let r = Array(list[..<m].joined())
                return (r, diagonal ? r : Array(list[m...].joined()))
            }
            // One product per tensor (and, after the first chunk, the influences), spread over the cores: each
            // tensor's sums on one thread, in chunk order.
            let jobs = materialised.count + factoredTensors.count + (c0 == 0 ? 1 : 0)
            sums.withUnsafeMutableBufferPointer { sums in
                let sums = sums.baseAddress!
                inputGrams.withUnsafeMutableBufferPointer { h in
                    let h = h.baseAddress!
                    positions.withUnsafeMutableBufferPointer { counts in
                        let counts = counts.baseAddress!
                        stack.withUnsafeBufferPointer { s in
                            let s = s.baseAddress!
                            gradients.withUnsafeBufferPointer { g in
                                let g = g.baseAddress!
                                Parallel.forEach(jobs, threads: threads) { job in
                                    if job < materialised.count {
                                        let (index, t) = materialised[job]
                                        let region = s + members.count * width * materialised[..<job].reduce(0) { $0 + $1.tensor.count }
                                        let k = width * t.count
                                        sums[index].withUnsafeMutableBufferPointer { out in
                                            Self.gram(m, n, diagonal: diagonal, k: k, a: region, b: region + (diagonal ? 0 : m * k), lda: k,
                                                      into: out.baseAddress!)
                                        }
                                    } else if job < materialised.count + factoredTensors.count {
                                        let f = job - materialised.count, (index, t) = factoredTensors[f]
                                        if c0 == 0 {
                                            counts[f] = members.indices.map { factor($0, t).rows }
                                            let inputs = split(members.indices.map { factor($0, t).inputs })
                                            h[f] = Self.product(inputs.rows, inputs.columns, width: t.shape[1])
                                        }
                                        let g = split(members.indices.map { factor($0, t).cotangents })
                                        let gram = Self.product(g.rows, g.columns, width: width * t.shape[0])
                                        let (r, c) = split(counts[f].map { [$0] })
                                        Self.addBlockSums(h[f], gram, rowPositions: r, columnPositions: c, diagonal: diagonal, into: &sums[index])
                                    } else {
                                        sums[influenceSlot].withUnsafeMutableBufferPointer { out in
                                            Self.gram(m, n, diagonal: diagonal, k: d, a: g, b: g + (diagonal ? 0 : m * d), lda: d, into: out.baseAddress!)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return TilePairProducts(rows: rows, columns: columns, tensors: Array(sums[..<influenceSlot]), influence: sums[influenceSlot])
    }

    /// C (m × n) += A Bᵀ over k columns (rows of A and B `lda` apart); for a diagonal tile (B = A) one `dsyrk`
    /// filling the upper triangle.
    static func gram(_ m: Int, _ n: Int, diagonal: Bool, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>, lda: Int,
                     into c: UnsafeMutablePointer<Double>) {
        guard k > 0 else { return }
        if diagonal {
            BLAS.syrk(n: m, k: k, a: a, lda: lda, beta: 1, c: c, ldc: n)
        } else {
            BLAS.gemm(transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: lda, beta: 1, c: c, ldc: n)
        }
    }

    /// X Yᵀ of two row stacks of `width` values per row.
    static func product(_ x: [Double], _ y: [Double], width: Int) -> [Double] {
        let (m, n) = (width == 0 ? 0 : x.count / width, width == 0 ? 0 : y.count / width)
        var out = [Double](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return out }
        x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in out.withUnsafeMutableBufferPointer { op in
            BLAS.gemm(transB: true, m: m, n: n, k: width, a: xp.baseAddress!, lda: width, b: yp.baseAddress!, ldb: width,
                      c: op.baseAddress!, ldc: n)
        } } }
        return out
    }

    /// sums[i, j] += Σ over probe i's rows and probe j's columns of H ∘ G (both Σn_i × Σn_j, row-major).
    static func addBlockSums(_ h: [Double], _ g: [Double], rowPositions: [Int], columnPositions: [Int], diagonal: Bool,
                             into sums: inout [Double]) {
        let width = columnPositions.reduce(0, +), n = columnPositions.count
        var r0 = 0
        for (i, ni) in rowPositions.enumerated() {
            var c0 = 0
            for (j, nj) in columnPositions.enumerated() {
                if !diagonal || i <= j {
                    var s = 0.0
                    for r in r0..<(r0 + ni) {
                        let base = r * width
                        for c in c0..<(c0 + nj) { s += h[base + c] * g[base + c] }
                    }
                    sums[i * n + j] += s
                }
                c0 += nj
            }
            r0 += ni
        }
    }
}

/// One probe's forward pass and what the eNTK engine takes from it: A(x) = e_{o_t} − softmax(z(x)) and log π(x) at
/// the predicted token, and backward passes over chunks of the V one-hot cotangents on the last position.
struct ProbePass: Sendable {
    let activations: Activations
    let logitGradient: [Double]
    let logProb: Double

    /// The forward pass over the causal prefix of the token at `position` (a `logprobs` position).
    init(_ model: Transformer, input: ModelInput, position: Int) throws {
        guard position >= max(1, input.imagePositions), position < input.length else {
            throw ModelError.positionOutOfRange(position: position, validRange: max(1, input.imagePositions)...max(1, input.length - 1))
        }
        activations = try model.forward(input.prefix(position))
        let logProbs = activations.logProbabilities(at: position - 1)
        let target = input.tokens[position - input.imagePositions]
        logitGradient = logLikelihoodGradient(logProbs, target: target)
        logProb = logProbs[target]
    }

    /// The cotangents of rows `range` of a logit Jacobian's features, on the last position's row only
    /// (`Transformer.backward(activeRows:)`): one-hot e_o on the V logits, or, through the head basis, rows of R on
    /// the final LayerNorm's output (D wide). `values` holds range.count × `width` numbers.
    static func lastRowCotangents(_ range: Range<Int>, model: Transformer, basis: HeadBasis?)
        -> (values: [Double], width: Int, site: Transformer.CotangentSite) {
        if let basis {
            let D = basis.rank
            return (Array(basis.r.storage[(range.lowerBound * D)..<(range.upperBound * D)]), D, .finalNorm)
        }
        let V = model.config.vocabSize
        var cot = [Double](repeating: 0, count: range.count * V)
        for (b, o) in range.enumerated() { cot[b * V + o] = 1 }
        return (cot, V, .logits)
    }

    /// ∇θ log π(x) = A(x)·J(x) (d values, θ order) from one backward pass with cotangent A on the last logits,
    /// written to `out` (which must hold zeros).
    func logProbGradient(_ model: Transformer, into out: UnsafeMutablePointer<Double>) {
        let T = activations.length, V = model.config.vocabSize
        var cot = [Double](repeating: 0, count: T * V)
        cot.replaceSubrange(((T - 1) * V)..<(T * V), with: logitGradient)
        model.parameters.withUnsafeBufferPointer { theta in cot.withUnsafeBufferPointer { c in
            model.backward(activations, theta: theta.baseAddress!, cotangents: c.baseAddress!, batch: 1, grad: out)
        } }
    }

    /// Rows `cotangents` of J(x) (of F = R J_y through the head basis, whose passes leave the head out): the
    /// materialised tensors' slices written into probe `probe`'s rows of a tensor-major stack of `probes` probes
    /// (`GradientLayout.tensorMajor`: the linear weights' slices assigned, the others cleared here and accumulated),
    /// the dense weights in `factoring` returned as factors.
    func jacobianChunk(_ model: Transformer, cotangents: Range<Int>, factoring: Set<Int>, stack: UnsafeMutablePointer<Double>,
                       probes: Int, probe: Int, basis: HeadBasis? = nil) -> [Int: DenseFactors] {
        let T = activations.length, B = cotangents.count
        let gl = GradientLayout.tensorMajor(model.layout, omitting: factoring, batch: B, probes: probes, probe: probe)
        for t in model.layout.tensors {
            if let slot = gl.slot(of: t.offset), !slot.assigned { (stack + slot.offset).update(repeating: 0, count: B * t.count) }
        }
        let tap = FactorTap(model, factoring: factoring)
        let cot = Self.lastRowCotangents(cotangents, model: model, basis: basis)
        model.parameters.withUnsafeBufferPointer { theta in cot.values.withUnsafeBufferPointer { c in
            model.backward(activations, theta: theta.baseAddress!, activeRows: c.baseAddress!, batchStride: cot.width, from: T - 1, batch: B,
                           grad: stack, tap: tap, gradients: gl, site: cot.site)
        } }
        return tap.factors
    }
}
