@testable import Dynamics
import Foundation
import Testing

/// The eNTK engine: every strategy against the explicit J·Jᵀ, per-tensor shares, per-example gradients from
/// the factors, probe-set kernels and their shards.
@Suite struct KernelTests {
    /// A random network of a random shape (width, depth, heads, MLP width, vocabulary all drawn from `seed`).
    func randomShapeModel(seed: UInt64) throws -> Transformer {
        let rng = RandomStream(seed: seed, name: "test.shape")
        let heads = 1 + rng.uniformInt(3)
        var config = ModelConfig.preset(.tiny, vocabSize: 7 + rng.uniformInt(20))
        config.dModel = heads * (2 + rng.uniformInt(5))
        config.nHeads = heads
        config.nLayers = 1 + rng.uniformInt(3)
        config.dFF = 4 + rng.uniformInt(40)
        config.maxSeqLen = 24
        var model = try Transformer(config: config, seed: seed)
        let perturb = RandomStream(seed: seed, name: "test.perturb")
        for i in model.parameters.indices { model.parameters[i] += perturb.gaussian(sigma: 0.3) }
        return model
    }

    func plan(_ strategy: KernelStrategy, _ model: Transformer, pairs: Int = 1, output: KernelWorkload.Output = .blocks) -> KernelPlan {
        KernelPlan(strategy: strategy, model: model,
                   workload: KernelWorkload(examples: 2, pairs: pairs, output: output, meanPrefixLength: 8, meanImagePositions: 4))
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func everyStrategyAgreesWithTheExplicitProduct(seed: UInt64) throws {
        let model = try randomShapeModel(seed: seed)
        let u = randomInput(model, seed: seed &+ 100, textLength: 3 + Int(seed % 4))
        let v = randomInput(model, seed: seed &+ 200, textLength: 5, image: seed % 2 == 0)
        let (pu, pv) = (u.length - 1, v.length - 2)
        let ju = try TokenGradients.logitJacobian(model, input: u, position: pu)
        let jv = try TokenGradients.logitJacobian(model, input: v, position: pv)
        let reference = try EmpiricalNTK.block(jv, ju)
        let referenceParts = try EmpiricalNTK.contributions(jv, ju, layout: model.layout)
        for strategy in KernelStrategy.allCases {
            let p = plan(strategy, model)
            let fu = try KernelFeatures(model, input: u, position: pu, plan: p)
            let fv = try KernelFeatures(model, input: v, position: pv, plan: p)
            expectClose(KernelProducts.block(fv, fu, layout: model.layout).kernel.storage, reference.storage, tolerance: 1e-10,
                        "\(strategy) K, seed \(seed)")
            let (k, parts) = KernelProducts.block(fv, fu, layout: model.layout, contributions: true)
            expectClose(k.storage, reference.storage, tolerance: 1e-10, "\(strategy) Σ K_g, seed \(seed)")
            for (part, expected) in zip(parts!, referenceParts) where expected.block.frobeniusNorm > 0 {
                expectClose(part.storage, expected.block.storage, tolerance: 1e-10, "\(strategy) \(expected.tensor.name)")
            }
            let (trace, perTensor) = KernelProducts.trace(fv, fu, layout: model.layout)
            #expect(abs(trace - reference.trace) <= 1e-10 * abs(reference.trace), "\(strategy) trace \(trace) vs \(reference.trace)")
            expectClose(perTensor, referenceParts.map(\.block.trace), tolerance: 1e-10, "\(strategy) per-tensor traces")
            expectClose(fv.logProbGradient(layout: model.layout), try TokenGradients.logProbGradient(model, input: v, position: pv),
                        tolerance: 1e-12, "\(strategy) A·J = ∇θ log π")
        }
    }

    /// `explicit` is the whole-Jacobian product J_v J_uᵀ itself (its features are the plain backward's J), and
    /// `materialised` — the engine's packed columns with nothing factored — gives its numbers to the bit.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func explicitIsTheFullJacobianProductAndMaterialisedMatchesItExactly(seed: UInt64) throws {
        let model = try randomShapeModel(seed: seed)
        let u = randomInput(model, seed: seed &+ 100, textLength: 4)
        let v = randomInput(model, seed: seed &+ 200, textLength: 5, image: seed % 2 == 0)
        let (pu, pv) = (u.length - 1, v.length - 2)
        let ju = try TokenGradients.logitJacobian(model, input: u, position: pu)
        let jv = try TokenGradients.logitJacobian(model, input: v, position: pv)
        let features = { (strategy: KernelStrategy) in
            (try KernelFeatures(model, input: v, position: pv, plan: self.plan(strategy, model)),
             try KernelFeatures(model, input: u, position: pu, plan: self.plan(strategy, model)))
        }
        let (ev, eu) = try features(.explicit)
        #expect(ev.isFullJacobian && eu.isFullJacobian)
        expectClose(ev.dense.storage, jv.storage, tolerance: 1e-12, "explicit features are the whole logit Jacobians")
        expectClose(eu.dense.storage, ju.storage, tolerance: 1e-12, "explicit features are the whole logit Jacobians")
        let (mv, mu) = try features(.materialised)
        #expect(!mv.isFullJacobian)
        // The products compared bit for bit run inside one `Parallel` region, so on one BLAS thread each: outside
        // one, a test running concurrently can open or close a region between two products and change OpenBLAS's
        // thread count, and with it the rounding of a 10 × 10 × d product (seen 1 run in 8 on 2 cores).
        let layout = model.layout
        let (explicit, reference, materialised, withParts, traces) = try Parallel.map(1, threads: 1) { _ in
            (KernelProducts.block(ev, eu, layout: layout), try EmpiricalNTK.block(ev.dense, eu.dense),
             KernelProducts.block(mv, mu, layout: layout),
             (KernelProducts.block(ev, eu, layout: layout, contributions: true), KernelProducts.block(mv, mu, layout: layout, contributions: true)),
             (KernelProducts.trace(ev, eu, layout: layout), KernelProducts.trace(mv, mu, layout: layout)))
        }[0]
        #expect(explicit.kernel == reference, "explicit K is J_v J_uᵀ")
        #expect(materialised.kernel == explicit.kernel, "materialised K equals explicit K bit for bit")
        #expect(withParts.0.kernel == withParts.1.kernel && withParts.0.contributions! == withParts.1.contributions!)
        #expect(traces.0 == traces.1)
    }

    @Test func structuredStrategyFactorsEveryDenseWeightAndAutomaticChoosesByCost() throws {
        let model = try randomTinyModel(seed: 3)
        let structured = plan(.structured, model)
        let dense = Set(DenseWeight.all(model, prefixLength: 8, imagePositions: 4).keys)
        #expect(structured.factoredOffsets == dense)
        #expect(plan(.materialised, model).factoredOffsets.isEmpty)
        // One pair of blocks: factoring the head (one position) is cheaper than forming V × V·D columns.
        #expect(plan(.automatic, model).factoredOffsets.contains(model.layout.head))
        // Many pairs of traces over few examples: forming the columns once wins for the lower blocks.
        let many = KernelPlan(strategy: .automatic, model: model,
                              workload: KernelWorkload(examples: 10, pairs: 5000, output: .traces, meanPrefixLength: 20, meanImagePositions: 4))
        #expect(!many.factoredOffsets.contains(model.layout.blocks[0].fcWeight))
        for d in many.decisions where d.structuredFlops != nil {
            #expect((d.method == .factor) == (d.structuredFlops! < d.materialiseFlops))
        }
    }

    /// `automatic` runs blocks and traces through the head's column space (D < V): its features have D rows, the head's
    /// own share kept as y (K_head = (y_v·y_u) I), and Q's columns orthonormal; the other strategies keep V rows.
    @Test func automaticBlocksGoThroughTheHeadBasis() throws {
        let model = try randomTinyModel(seed: 5)
        let (V, D) = (model.config.vocabSize, model.config.dModel)
        let blocks = plan(.automatic, model)
        let basis = try #require(blocks.headBasis)
        #expect(basis.rank == D && basis.q.rows == V && blocks.factoredOffsets.contains(model.layout.head))
        let gram = try BLAS.matmul(basis.q, basis.q, transA: true)
        for i in 0..<D { for j in 0..<D { #expect(abs(gram[i, j] - (i == j ? 1 : 0)) < 1e-13) } }
        #expect(plan(.automatic, model, output: .traces).headBasis?.rank == D)
        for strategy in [KernelStrategy.explicit, .materialised, .structured] { #expect(plan(strategy, model).headBasis == nil) }
        let input = randomInput(model, seed: 50, textLength: 5)
        let f = try KernelFeatures(model, input: input, position: input.length - 1, plan: blocks)
        #expect(f.rows == D && f.dense.rows == D && f.basis != nil)
        let head = model.layout.tensors.firstIndex { $0.offset == model.layout.head }!
        #expect(f.headShare?.index == head && f.factors[head] == nil && f.denseColumns[head] == nil)
        let acts = try ProbePass(model, input: input, position: input.length - 1).activations
        let y = acts.finalNormOutput(at: acts.length - 1)
        #expect(f.headShare?.y == y && y.count == D)
        #expect(f.factors.values.allSatisfy { $0.batch == D })
        // J = Q F below the head: every materialised tensor's columns, against the plain backward's logit Jacobian.
        let j = try TokenGradients.logitJacobian(model, input: input, position: input.length - 1)
        let qf = try BLAS.matmul(basis.q, f.dense)
        var checked = 0, worst = 0.0
        for (index, range) in f.denseColumns {
            for o in 0..<V {
                for (c, col) in zip(range, model.layout.tensors[index].range) {
                    worst = max(worst, abs(qf[o, c] - j[o, col]) / max(1, abs(j[o, col])))
                    checked += 1
                }
            }
        }
        #expect(checked > 0 && worst <= 1e-10, "Q F against J: \(checked) values, worst relative difference \(worst)")
    }

    /// `entk`'s pair: the block equals the explicit product to 1e-10, its shares add up to it, and every byte is the
    /// same on one thread and on several (the two examples' features side by side, the shares spread over the cores).
    @Test(arguments: [KernelStrategy.explicit, .structured, .automatic])
    func tokenPairKernelIsExactAndThreadCountInvariant(strategy: KernelStrategy) throws {
        let model = try randomTinyModel(seed: 31)
        let u = randomInput(model, seed: 310, textLength: 6), v = randomInput(model, seed: 311, textLength: 4, image: false)
        let (pu, pv) = (u.length - 1, v.length - 2)
        let one = try TokenPairKernel(model, u: (pu, u), v: (pv, v), strategy: strategy, threads: 1)
        let reference = try EmpiricalNTK.block(try TokenGradients.logitJacobian(model, input: v, position: pv),
                                               try TokenGradients.logitJacobian(model, input: u, position: pu))
        expectClose(one.kernel.storage, reference.storage, tolerance: 1e-10, "K under \(strategy)")
        var sum = [Double](repeating: 0, count: one.kernel.storage.count)
        for part in one.contributions { for i in sum.indices { sum[i] += part.storage[i] } }
        #expect(sum == one.kernel.storage)
        for threads in [2, 3] {
            let many = try TokenPairKernel(model, u: (pu, u), v: (pv, v), strategy: strategy, threads: threads)
            #expect(many.kernel.storage.map(\.bitPattern) == one.kernel.storage.map(\.bitPattern))
            #expect(many.contributions.flatMap(\.storage).map(\.bitPattern) == one.contributions.flatMap(\.storage).map(\.bitPattern))
            #expect(many.akg.bitPattern == one.akg.bitPattern)
        }
    }

    func probes(_ model: Transformer) -> [ProbeToken] {
        (0..<5).map { k in
            let input = randomInput(model, seed: 40 + UInt64(k), textLength: 4 + k, image: k != 2)
            return ProbeToken(reference: TokenReference(id: "p\(k)", position: input.length - 1 - k % 2), task: k < 3 ? "a" : "b", input: input)
        }
    }

    @Test func probeKernelMatchesPairwiseBlocksAndShardsMergeIntoTheSameResult() throws {
        let model = try randomTinyModel(seed: 21)
        let set = probes(model)
        let whole = try ProbeKernel(model: model, probes: set, strategy: .automatic, blocks: true, threads: 2)
        #expect(whole.isComplete && whole.entries.count == 15)
        // Against the explicit reference for one off-diagonal pair.
        let (a, b) = (set[1], set[3])
        let ja = try TokenGradients.logitJacobian(model, input: a.input, position: a.reference.position)
        let jb = try TokenGradients.logitJacobian(model, input: b.input, position: b.reference.position)
        let k13 = try EmpiricalNTK.block(ja, jb)
        let entry = whole.entries.first { $0.pair == ProbeKernel.Pair(i: 1, j: 3) }!
        expectClose(entry.block!.storage, k13.storage, tolerance: 1e-10, "K(x_1, x_3)")
        #expect(abs(entry.trace - k13.trace) <= 1e-10 * abs(k13.trace))
        let ga = try TokenGradients.logProbGradient(model, input: a.input, position: a.reference.position)
        let gb = try TokenGradients.logProbGradient(model, input: b.input, position: b.reference.position)
        #expect(abs(entry.influence - BLAS.dot(ga, gb)) <= 1e-10 * abs(BLAS.dot(ga, gb)), "I = A K G")
        let theta = whole.traceKernel
        #expect(theta.storage == theta.transposed.storage)
        let eig = try SymmetricEigen(theta, vectors: false)
        #expect(eig.values.first! > -1e-10 * eig.values.last!, "Θ is PSD")

        let shards = try (1...3).map { try ProbeKernel(model: model, probes: set, strategy: .automatic, blocks: true,
                                                        shard: try .init(index: $0, count: 3), threads: 1) }
        #expect(shards.map(\.entries.count).reduce(0, +) == 15)
        let merged = try ProbeKernel.merge(shards.reversed())
        #expect(merged.isComplete)
        #expect(merged.entries.map(\.pair) == whole.entries.map(\.pair))
        #expect(merged.entries.map(\.trace) == whole.entries.map(\.trace))
        #expect(merged.entries.map(\.influence) == whole.entries.map(\.influence))
        #expect(merged.entries.map { $0.block!.storage } == whole.entries.map { $0.block!.storage })
        #expect(throws: KernelError.self) { try ProbeKernel.merge(Array(shards.prefix(2))) }
        #expect(throws: KernelError.self) { try ProbeKernel.merge([shards[0], shards[0], shards[1]]) }
        #expect(throws: KernelError.self) { try ProbeKernel.Shard(parsing: "4/3") }
    }

    /// Traces-only kernels (but for explicit, the pairwise reference) come from the probes' stacked features, one
    /// product per tensor and tile pair: equal to the explicit reference to 1e-10, the same bytes for any thread
    /// count, and shards merge into the whole run bit for bit — with one tile (every feature computed once) and,
    /// under a small memory budget, with several tiles and small cotangent chunks.
    @Test(arguments: [KernelStrategy.explicit, .materialised, .structured, .automatic], [false, true])
    func stackedTracesMatchTheExplicitReferenceForAnyThreadsAndShards(strategy: KernelStrategy, smallBudget: Bool) throws {
        let model = try randomTinyModel(seed: 22)
        let n = 11
        let set = (0..<n).map { k in
            let input = randomInput(model, seed: 60 + UInt64(k), textLength: 3 + k % 6, image: k % 4 != 2)
            return ProbeToken(reference: TokenReference(id: "q\(k)", position: input.length - 1 - k % 2), task: "t", input: input)
        }
        // Small: tiles of 3 probes (so tile pairs recompute their features), one cotangent at a time.
        let workload = KernelWorkload(prefixes: set.map { ($0.reference.position, $0.input.imagePositions) }, pairs: n * (n + 1) / 2, output: .traces)
        let plan = KernelPlan(strategy: strategy, model: model, workload: workload)
        let budget = smallBudget ? 6 * StackedTraces.bytesPerProbe(model: model, plan: plan)(1) : StackedTraces.defaultBudget
        let stacked = StackedTraces(model: model, plan: plan, probeCount: n, budget: budget)
        #expect(smallBudget ? (stacked.tile == 3 && stacked.chunk == 1) : (stacked.tile == n && stacked.chunk == StackedTraces.maxChunk))
        func kernel(threads: Int, shard: ProbeKernel.Shard = .whole) throws -> ProbeKernel {
            try ProbeKernel(model: model, probes: set, strategy: strategy, blocks: false, shard: shard, threads: threads, featureBudget: budget, progress: nil)
        }
        let traces = try kernel(threads: 1)
        let reference = try ProbeKernel(model: model, probes: set, strategy: .explicit, blocks: true, threads: 2)
        #expect(traces.entries.map(\.pair) == reference.entries.map(\.pair))
        for (e, r) in zip(traces.entries, reference.entries) {
            #expect(abs(e.trace - r.trace) <= 1e-10 * abs(r.trace), "trace of \(e.pair)")
            #expect(abs(e.influence - r.influence) <= 1e-10 * max(abs(r.influence), 1e-300), "influence of \(e.pair)")
            expectClose(e.tensorTraces, r.tensorTraces, tolerance: 1e-10, "per-tensor traces of \(e.pair)")
            #expect(e.tensorTraces.reduce(0, +) == e.trace)
        }
        // The influences against ∇θ log π from one backward pass each.
        let g = try set.map { try TokenGradients.logProbGradient(model, input: $0.input, position: $0.reference.position) }
        for e in traces.entries {
            let expected = BLAS.dot(g[e.pair.i], g[e.pair.j])
            #expect(abs(e.influence - expected) <= 1e-10 * abs(expected), "influence of \(e.pair)")
        }
        for threads in [2, 3] {
            let threaded = try kernel(threads: threads)
            #expect(threaded.entries.map(\.trace.bitPattern) == traces.entries.map(\.trace.bitPattern))
            #expect(threaded.entries.map(\.influence.bitPattern) == traces.entries.map(\.influence.bitPattern))
            #expect(threaded.entries.flatMap(\.tensorTraces).map(\.bitPattern) == traces.entries.flatMap(\.tensorTraces).map(\.bitPattern))
        }
        let shards = try (1...4).map { try kernel(threads: 2, shard: try .init(index: $0, count: 4)) }
        let merged = try ProbeKernel.merge(shards)
        #expect(merged.entries.map(\.trace.bitPattern) == traces.entries.map(\.trace.bitPattern))
        #expect(merged.entries.map(\.influence.bitPattern) == traces.entries.map(\.influence.bitPattern))
        #expect(merged.entries.flatMap(\.tensorTraces).map(\.bitPattern) == traces.entries.flatMap(\.tensorTraces).map(\.bitPattern))
    }
}
