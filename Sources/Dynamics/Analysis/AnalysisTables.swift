import Foundation

// The output tables of the analyses, owned by the analyses (as `ProbeKernelFile` owns the kernel's): the
// executable only maps them to files. Each table's columns are a public constant, which the commands' help
// text quotes, so the schema is written once.

extension OneStepDecomposition {
    /// `decompose`'s main table: one row per pair and η.
    public static let changesHeader = ["u", "v", "level", "eta", "predicted", "measured", "residual", "relative_error", "used_in_fit"]
    /// `decompose`'s OUT.shares.csv: each parameter tensor's part of the prediction per unit η (shares sum to 1).
    public static let sharesHeader = ["u", "v", "tensor", "product", "share"]

    /// Both tables for decompositions of the pairs labelled (u, v) at `level`.
    public static func tables(_ decompositions: [OneStepDecomposition], pairs: [(String, String)], level: String) -> (changes: CSVTable, shares: CSVTable) {
        var table = CSVTable(header: changesHeader)
        var shares = CSVTable(header: sharesHeader)
        for ((uRef, vRef), d) in zip(pairs, decompositions) {
            for c in d.changes {
                table.append([.string(uRef), .string(vRef), .string(level), .double(c.eta), .double(c.predicted), .double(c.measured),
                              .double(c.residual), .double(c.relativeError), .flag(d.usedInResidualFit(c))])
            }
            for s in d.shares { shares.append([.string(uRef), .string(vRef), .string(s.tensor), .double(s.product), .double(s.share)]) }
        }
        return (table, shares)
    }
}

extension InfluenceMatrix {
    /// `influence`'s long table (a `measured` column with --measure).
    public static func header(measured: Bool) -> [String] { ["probe", "probe_task", "train", "train_task", "influence"] + (measured ? ["measured"] : []) }
    /// `influence`'s OUT.tasks.csv.
    public static let tasksHeader = ["probe_task", "train_task", "n", "mean", "sd"]

    /// One row per (probe, training example), probes outermost.
    public func table(probes: [EncodedExample], train: [EncodedExample], probeTasks: [String], trainTasks: [String]) -> CSVTable {
        var table = CSVTable(header: Self.header(measured: measured != nil))
        for i in probes.indices {
            for j in train.indices {
                table.append([.string(probes[i].id), .string(probeTasks[i]), .string(train[j].id), .string(trainTasks[j]), .double(influence[i, j])]
                             + (measured.map { [.double($0[i, j])] } ?? []))
            }
        }
        return table
    }

    /// The per-task-pair summary of I, leaving out a probe that is the training example itself.
    public func summary(probes: [EncodedExample], train: [EncodedExample], probeTasks: [String], trainTasks: [String]) throws -> [InfluenceByTask] {
        try InfluenceByTask.summarize(influence, probeTasks: probeTasks, trainTasks: trainTasks) { i, j in
            probes[i].id == train[j].id && probes[i].input == train[j].input && probes[i].responseStart == train[j].responseStart
        }
    }

    /// ‖measured − I‖ / ‖I‖ over all entries: how far the measured changes are from first order (with --measure).
    public var relativeDeviation: Double? {
        measured.map { m in BLAS.norm2(zip(m.storage, influence.storage).map { $0 - $1 }) / BLAS.norm2(influence.storage) }
    }

    /// The run record's details: the settings, the set sizes and, with `measure`, the relative deviation.
    public func runDetails(eta: Double, measure: Bool, probes: Int, train: Int) -> [String: String] {
        var details = ["eta": "\(eta)", "measure": String(measure), "probes": String(probes), "train": String(train)]
        if let deviation = relativeDeviation { details["relative_deviation"] = "\(deviation)" }
        return details
    }
}

extension InfluenceByTask {
    /// The rows of OUT.tasks.csv.
    public static func table(_ summary: [InfluenceByTask]) -> CSVTable {
        var tasks = CSVTable(header: InfluenceMatrix.tasksHeader)
        for r in summary { tasks.append([.string(r.probeTask), .string(r.trainTask), .int(r.n), .double(r.mean), .double(r.sd)]) }
        return tasks
    }
}

/// `drift`: kernels of the same probe set compared pairwise, and each one's spectrum.
public struct KernelDriftComparison: Sendable {
    /// One compared pair (a, b), a < b.
    public struct Row: Sendable {
        public let a: Int, b: Int
        public let traceDistance: Double, fullDistance: Double, influenceSpearman: Double
    }

    public let names: [String]
    public let probeCount: Int
    public let spectra: [KernelDrift.Spectrum]
    public let rows: [Row]

    public static let header = ["a", "b", "probes", "trace_distance", "full_distance", "influence_spearman", "effective_rank_a", "effective_rank_b"]
    public static let spectrumHeader = ["checkpoint", "index", "eigenvalue"]

    public init(names: [String], kernels: [ProbeKernel]) throws {
        spectra = try kernels.map { try KernelDrift.spectrum($0.traceKernel) }
        var rows: [Row] = []
        for a in kernels.indices {
            for b in (a + 1)..<kernels.count {
                rows.append(Row(a: a, b: b, traceDistance: try KernelDrift.distance(kernels[a].traceKernel, kernels[b].traceKernel),
                                fullDistance: try KernelDrift.fullDistance(kernels[a], kernels[b]),
                                influenceSpearman: try KernelDrift.influenceSpearman(kernels[a], kernels[b])))
            }
        }
        self.rows = rows
        self.names = names
        probeCount = kernels[0].probes.count
    }

    public var table: CSVTable {
        var table = CSVTable(header: Self.header)
        for r in rows {
            table.append([.string(names[r.a]), .string(names[r.b]), .int(probeCount), .double(r.traceDistance), .double(r.fullDistance),
                          .double(r.influenceSpearman), .double(spectra[r.a].effectiveRank), .double(spectra[r.b].effectiveRank)])
        }
        return table
    }

    /// Every eigenvalue of each trace kernel, largest first.
    public var spectrumTable: CSVTable {
        var spectrum = CSVTable(header: Self.spectrumHeader)
        for (name, s) in zip(names, spectra) {
            for (k, value) in s.eigenvalues.enumerated() { spectrum.append([.string(name), .int(k), .double(value)]) }
        }
        return spectrum
    }
}

extension ProbeKernel {
    /// The metadata keys a kernel file carries beyond the kernel's own (shards must share them to be merged).
    public static func fileKeys(checkpoint: Checkpoint, selection: String, examples: String) -> [String: String] {
        ["fingerprint": checkpoint.model.fingerprint, "selection": selection, "examples": (examples as NSString).lastPathComponent]
    }

    /// The files of a kernel result: the safetensors file, the pair table (`pairTable`) and the per-tensor traces.
    public func writeFiles(kernel url: URL, pairs: URL, tensors: URL, extra: [String: String]) throws {
        try write(to: url, extra: extra)
        try pairTable().write(to: pairs)
        try tensorTable().write(to: tensors)
    }
}

extension KernelDriftComparison {
    /// The probe kernels (with blocks) of each checkpoint on the token examples `selection` takes from the first
    /// `limit` examples of `examples`; `progress(path, pairs)` gives each computation's per-pair callback.
    public static func kernels(checkpoints: [String], examples: String, selection: TokenSelection, limit: Int?, strategy: KernelStrategy,
                               threads: Int, progress: (String, Int) -> @Sendable (Int, Int) -> Void) throws -> [ProbeKernel] {
        try checkpoints.map { path in
            let ckpt = try Checkpoint.load(from: URL(fileURLWithPath: path))
            let set = try ProbeToken.load(examples: examples, select: selection, limit: limit, for: ckpt)
            return try ProbeKernel(model: ckpt.model, probes: set, strategy: strategy, blocks: true, threads: threads,
                                   progress: progress(path, set.count * (set.count + 1) / 2))
        }
    }

    /// Complete kernels with blocks read from `files` (from `analyze kernel --blocks` or `kernel-merge`).
    public static func kernels(files: [String]) throws -> [ProbeKernel] {
        try files.map { path in
            let kernel = try ProbeKernel.read(URL(fileURLWithPath: path)).kernel
            guard kernel.isComplete, kernel.hasBlocks else {
                throw KernelError.badFile(path: path, reason: "drift needs a complete kernel with blocks (analyze kernel --blocks, or merged shards)")
            }
            return kernel
        }
    }

    /// The summary `analyze drift` prints: one line per compared pair, then one per kernel's spectrum.
    public var lines: [String] {
        rows.map { r in
            String(format: "  %@ → %@: trace distance %.3e, full distance %.3e, influence Spearman %.4f",
                   names[r.a], names[r.b], r.traceDistance, r.fullDistance, r.influenceSpearman)
        } + zip(names, spectra).map { name, s in
            String(format: "  %@: effective rank %.3f, top eigenvalues %@", name, s.effectiveRank,
                   s.eigenvalues.prefix(3).map { String(format: "%.4g", $0) }.joined(separator: ", "))
        }
    }
}

extension ProbeToken {
    /// The token examples `select` takes from the first `limit` examples of the file `examples`, encoded for `checkpoint`.
    public static func load(examples: String, select: TokenSelection, limit: Int?, for checkpoint: Checkpoint) throws -> [ProbeToken] {
        let file = try ExampleFile(url: URL(fileURLWithPath: examples))
        let chosen = Array(file.examples.prefix(limit ?? file.examples.count))
        let encoded = try chosen.map { try EncodedExample($0, file: file, tokenizer: checkpoint.tokenizer, config: checkpoint.model.config) }
        return ProbeToken.all(encoded, tasks: chosen.map { $0.task ?? "unknown" }, selection: select)
    }
}

extension OneStepDecomposition {
    /// `--u`/`--v` references paired in order; a single one pairs with every one of the other.
    public static func pairs(_ u: [String], _ v: [String]) -> [(String, String)] {
        (0..<max(u.count, v.count)).map { (u[u.count == 1 ? 0 : $0], v[v.count == 1 ? 0 : $0]) }
    }

    /// One decomposition per pair at `level`: the update is ℓ̄ of u (GRPO-weighted with `weighting` when given), the
    /// probe log π of v. Pairs run over `threads` cores, each with single-threaded BLAS, so the numbers do not
    /// depend on `threads`; `progress` gets the pairs each chunk finished.
    public static func all(_ model: Transformer, pairs: [(String, String)], lookup: ExampleLookup, level: DynamicsLevel, etas: [Double],
                           weighting: AdvantageWeighting?, threads: Int, progress: (Int) -> Void) throws -> [OneStepDecomposition] {
        let requests = try pairs.map { uRef, vRef in
            let update = try lookup.target(uRef, level: level, sequence: LogProbSum.meanLogLikelihood)
            return (update: try weighting?.weighted(update, model: model) ?? update,
                    probe: try lookup.target(vRef, level: level, sequence: LogProbSum.sequence))
        }
        return try Parallel.chunkedMap(requests, threads: threads, chunk: threads, progress: progress) { r in
            try OneStepDecomposition(model, update: r.update, probe: r.probe, etas: etas)
        }
    }

    /// The run record's settings and fit: level, η, pairs, the regime criteria and the residual slope.
    public static func details(_ decompositions: [OneStepDecomposition], etas: [Double], level: DynamicsLevel) -> [String: String] {
        let fit = residualSlope(decompositions)
        let criteria = RegimeCriteria()
        return ["level": level.rawValue, "eta": etas.map { "\($0)" }.joined(separator: ","), "pairs": String(decompositions.count),
                "floor_factor": "\(criteria.floorFactor)", "max_relative_residual": "\(criteria.maxRelativeResidual)",
                "residual_slope": fit.map { "\($0.slope)" } ?? "nan", "residual_slope_se": fit.map { "\($0.slopeError)" } ?? "nan"]
    }
}

extension ProbeKernel {
    /// The run record's figures of a kernel computed with `plan` in `seconds`.
    public static func runDetails(plan: KernelPlan, strategy: String, shard: String, probes: Int, pairs: Int, ranks: Int = 1,
                                  seconds: Double) -> [String: String] {
        ["strategy": strategy, "shard": shard, "probes": String(probes), "pairs": String(pairs), "ranks": String(ranks),
         "seconds": String(format: "%.3f", seconds),
         "plan": plan.report.joined(separator: "; "), "estimated_gflop": String(format: "%.3f", plan.estimatedFlops / 1e9)]
    }

    /// The one-line result of a kernel of `probes` probes and `pairs` pairs written as `out` in `seconds`.
    public static func summary(out: String, probes: Int, pairs: Int, shard: String, seconds: Double, strategy: String, plan: KernelPlan) -> String {
        let (factored, dense) = plan.factoredCount
        return String(format: "wrote %@: %d probes, %d pairs (shard %@) in %.2f s (%.1f pairs/s); strategy %@: %d of %d dense weights structured, est. %.2f GFLOP",
                      out, probes, pairs, shard, seconds, Double(pairs) / max(seconds, 1e-9), strategy, factored, dense, plan.estimatedFlops / 1e9)
    }

    /// The shard files read, checked to come from one computation (the same extra keys), and merged.
    public static func merge(files: [String]) throws -> (kernel: ProbeKernel, extra: [String: String]) {
        let read = try files.map { try ProbeKernel.read(URL(fileURLWithPath: $0)) }
        for (path, r) in zip(files, read) where r.extra != read[0].extra {
            let keys = Set(r.extra.keys).union(read[0].extra.keys).filter { r.extra[$0] != read[0].extra[$0] }.sorted()
            throw KernelError.incompatibleShards("\(path) differs from \(files[0]) in \(keys.joined(separator: ", "))")
        }
        return (try ProbeKernel.merge(read.map(\.kernel)), read[0].extra)
    }
}

extension KernelPlan {
    /// Dense weights the plan keeps factored, of all dense weights.
    public var factoredCount: (factored: Int, dense: Int) {
        (decisions.filter { $0.method == .factor }.count, decisions.filter { $0.structuredFlops != nil }.count)
    }
}

extension InfluenceByTask {
    /// The summary as text rows (a header row first), as `analyze influence` prints it.
    public static func textRows(_ summary: [InfluenceByTask]) -> [[String]] {
        [["probe task", "train task", "n", "mean I", "sd"]] + summary.map {
            [$0.probeTask, $0.trainTask, String($0.n), String(format: "%.4e", $0.mean), String(format: "%.4e", $0.sd)]
        }
    }
}

extension KernelDriftComparison {
    /// The run record's inputs: the probe examples and each kernel's source as `checkpointK`, or `kernelK` when
    /// the kernels were read from files.
    public func runInputs(examples: String?, fromFiles: Bool) -> [String: String] {
        var inputs = ["examples": examples ?? ""]
        for (k, name) in names.enumerated() { inputs["\(fromFiles ? "kernel" : "checkpoint")\(k)"] = name }
        return inputs
    }

    /// The run record's details: the settings and each kernel's effective rank.
    public func runDetails(strategy: String, selection: TokenSelection) -> [String: String] {
        ["strategy": strategy, "selection": selection.rawValue, "effective_ranks": spectra.map { String(format: "%.4f", $0.effectiveRank) }.joined(separator: ",")]
    }
}

extension OneStepDecomposition {
    /// The run record's inputs and details; a GRPO-weighted update (`advantages`) adds its file, β and reference.
    public static func runRecord(_ decompositions: [OneStepDecomposition], etas: [Double], level: DynamicsLevel, checkpoint: String, examples: String,
                                 advantages: String?, beta: Double, reference: String?) -> (inputs: [String: String], details: [String: String]) {
        var details = details(decompositions, etas: etas, level: level)
        var inputs = ["checkpoint": checkpoint, "examples": examples]
        if let advantages { inputs["advantages"] = advantages; details["beta"] = "\(beta)" }
        if let reference { inputs["reference"] = reference }
        return (inputs, details)
    }
}
