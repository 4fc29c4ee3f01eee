import Foundation

extension Benchmark {
    /// eNTK figures: one V × V block per strategy (`analyze entk`'s whole computation, and the products alone), the
    /// automatic plan's speed-up over the explicit reference, and N × N probe-set kernels (traces only, and with
    /// every block) spread over `threads` cores, each with GFLOP/s from the plan's FLOP estimate.
    func kernelFigures(threads: Int, probes count: Int = 16) throws -> [Figure] {
        var figures: [Figure] = []
        let T = input.length
        let (pu, pv) = (T - 1, T - 5)
        let workload = KernelWorkload(prefixes: [(pu, input.imagePositions), (pv, input.imagePositions)], pairs: 1, output: .blocks)
        var seconds: [KernelStrategy: Double] = [:]
        BLAS.setThreads(threads)
        for strategy in KernelStrategy.allCases {
            let plan = KernelPlan(strategy: strategy, model: model, workload: workload)
            // The whole pair as `analyze entk` computes it: both examples' features side by side, then the block
            // and its per-tensor parts.
            let total = try time {
                _ = try TokenPairKernel(model, u: (pu, input), v: (pv, input), strategy: strategy, threads: threads)
            }
            let features = [try KernelFeatures(model, input: input, position: pu, plan: plan),
                            try KernelFeatures(model, input: input, position: pv, plan: plan)]
            let products = time { _ = KernelProducts.block(features[1], features[0], layout: model.layout) }
            seconds[strategy] = total
            let factored = plan.decisions.filter { $0.method == .factor }.count
            figures.append(Figure(name: "eNTK pair, \(strategy.rawValue)", value: total * 1e3, unit: "ms",
                                  detail: "V×V block from scratch (both Jacobians), \(factored) dense weights structured\(plan.headBasis == nil ? "" : ", \(plan.headBasis!.rank) rows through the head basis"); plan estimate",
                                  threads: threads, flops: plan.estimatedFlops, seconds: total))
            figures.append(Figure(name: "eNTK pair products, \(strategy.rawValue)", value: products * 1e3, unit: "ms",
                                  detail: "features given", threads: threads, flops: plan.productFlops, seconds: products))
        }
        figures.append(Figure(name: "eNTK pair, automatic speed-up", value: seconds[.explicit]! / seconds[.automatic]!, unit: "×",
                              detail: "explicit time / automatic time, whole pair", threads: threads))

        // A probe set of `count` token examples of varied lengths, as `analyze kernel` runs it.
        let rng = RandomStream(seed: 7, name: "bench.probes")
        let probes = (0..<count).map { k -> ProbeToken in
            let length = input.imagePositions + 2 + rng.uniformInt(T - input.imagePositions - 2)
            return ProbeToken(reference: TokenReference(id: "p\(k)", position: length), task: "bench", input: input.prefix(length + 1))
        }
        let pairs = count * (count + 1) / 2
        for blocks in [false, true] {
            var plan: KernelPlan?
            let t = try time { plan = try ProbeKernel(model: model, probes: probes, strategy: .automatic, blocks: blocks, threads: threads).plan }
            let what = blocks ? "with V×V blocks" : "traces"
            figures.append(Figure(name: "N×N kernel, \(what)", value: Double(pairs) / t, unit: "pairs/s",
                                  detail: String(format: "N=%d (%d pairs) in %.3f s, automatic; plan estimate", count, pairs, t),
                                  threads: threads, flops: plan!.estimatedFlops, seconds: t))
        }
        return figures
    }
}
