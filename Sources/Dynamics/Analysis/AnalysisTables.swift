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
