import Foundation

/// `analyze entk`: the eNTK block K = J(x_v) J(x_u)ᵀ [V, V] of two token examples under a strategy, each
/// parameter tensor's part of it, and A(x_v) K G(x_u) — the first-order change of log π(x_v) per unit learning
/// rate of an SGD step on x_u.
public struct TokenPairKernel: Sendable {
    public let plan: KernelPlan
    public let kernel: Matrix
    /// Per tensor of the layout: J_g(x_v) J_g(x_u)ᵀ (they add up to `kernel`).
    public let contributions: [Matrix]
    public let akg: Double

    /// `u` and `v` are (token position, encoded input). The two examples' features are computed side by side, one per
    /// core (single-threaded BLAS each, so the bytes do not depend on the thread count).
    public init(_ model: Transformer, u: (position: Int, input: ModelInput), v: (position: Int, input: ModelInput), strategy: KernelStrategy,
                threads: Int = Parallel.defaultThreads) throws {
        let workload = KernelWorkload(prefixes: [(u.position, u.input.imagePositions), (v.position, v.input.imagePositions)], pairs: 1, output: .blocks)
        let plan = KernelPlan(strategy: strategy, model: model, workload: workload)
        self.plan = plan
        let examples = [u, v]
        let features = try Parallel.map(2, threads: threads) { k in
            try KernelFeatures(model, input: examples[k].input, position: examples[k].position, plan: plan)
        }
        let (fu, fv) = (features[0], features[1])
        let (k, parts) = KernelProducts.block(fv, fu, layout: model.layout, contributions: true)
        kernel = k
        contributions = parts!
        akg = KernelProducts.akg(k, fv, fu)
    }

    /// OUT.contributions.csv: tensor,trace,frobenius of each tensor's part.
    public func contributionsTable(_ layout: ParameterLayout) -> CSVTable {
        var table = CSVTable(header: ["tensor", "trace", "frobenius"])
        for (tensor, part) in zip(layout.tensors, contributions) { table.append([.string(tensor.name), .double(part.trace), .double(part.frobeniusNorm)]) }
        return table
    }
}

extension TokenPairKernel {
    /// Writes K [V, V] as a safetensors file: tensor "K", with u, v and the strategy as metadata.
    public func writeKernel(to url: URL, u: String, v: String, strategy: String) throws {
        try SafeTensors.write([NamedTensor(name: "K", shape: [kernel.rows, kernel.cols], values: kernel.storage)], metadata: ["u": u, "v": v, "strategy": strategy], to: url)
    }

    /// The run record's details of the block of `v` and `u`, computed in `seconds`.
    public func runDetails(u: String, v: String, strategy: String, seconds: Double) -> [String: String] {
        ["u": u, "v": v, "strategy": strategy, "plan": plan.report.joined(separator: "; "), "seconds": String(format: "%.4f", seconds),
         "trace": "\(kernel.trace)", "AKG": "\(akg)"]
    }
}
