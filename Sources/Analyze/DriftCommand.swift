import ArgumentParser
import Dynamics
import Foundation

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "eNTK drift between checkpoints on one probe set: kernel distances, influence rank correlation, spectra.",
        discussion: """
            For each checkpoint the probe kernel is computed (or read with --kernel, e.g. merged shards); then one CSV row per \
            checkpoint pair (a, b): trace_distance and full_distance (1 − ⟨K_a, K_b⟩_F / (‖K_a‖_F ‖K_b‖_F) for the N × N trace kernel \
            and the (N·V) × (N·V) kernel), influence_spearman (rank correlation of the off-diagonal influences I_ij = A K G), and each \
            side's effective rank. OUT.spectrum.csv lists every eigenvalue of each trace kernel (LAPACKE dsyevd), largest first.
            """)

    @Option(name: .customLong("checkpoint"), help: "A checkpoint directory (repeat, in order: e.g. base, then fine-tuned).")
    var checkpoints: [String] = []

    @Option(name: .customLong("kernel"), help: "A complete kernel file from 'analyze kernel --blocks' or 'kernel-merge' (repeatable; instead of --checkpoint).")
    var kernels: [String] = []

    @Option(name: .long, help: "Probe examples (with --checkpoint).")
    var examples: String?

    @Option(name: .long, help: "Token examples of each probe: answer, first, last or all.")
    var select: String = TokenSelection.answer.rawValue

    @Option(name: .long, parsing: .unconditional, help: "Use the first N probe examples.")
    var limit: Int?

    @OptionGroup var strategy: StrategyOption
    @OptionGroup var output: OutputOption
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        try NumericFlag.check("--limit", limit, FlagRange.count)
        guard checkpoints.isEmpty != kernels.isEmpty else { throw ValidationError("give either --checkpoint (twice or more) or --kernel, not both") }
        guard checkpoints.count + kernels.count >= 2 else { throw ValidationError("drift needs at least two checkpoints or kernels") }
        if !checkpoints.isEmpty && examples == nil { throw ValidationError("--checkpoint needs --examples (the probe set)") }
        guard TokenSelection(rawValue: select) != nil else { throw ValidationError("--select must be one of answer, first, last, all") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let outputs = [output.url, output.sibling("spectrum.csv"), output.sibling("meta.json")]
        try output.checkWritable(outputs)
        var names: [String] = [], computed: [ProbeKernel] = []
        if kernels.isEmpty {
            for path in checkpoints {
                let ckpt = try Checkpoint.load(from: URL(fileURLWithPath: path))
                let set = try ProbeSetOption.load(examples: examples!, select: TokenSelection(rawValue: select)!, limit: limit, for: ckpt)
                let pairs = set.count * (set.count + 1) / 2
                let progress = SharedProgress("drift \((path as NSString).lastPathComponent)", total: pairs, unit: "pairs")
                computed.append(try ProbeKernel(model: ckpt.model, probes: set, strategy: strategy.value, blocks: true,
                                                threads: threads.threads) { _, _ in progress.advance() })
                names.append(path)
            }
        } else {
            for path in kernels {
                let kernel = try ProbeKernel.read(URL(fileURLWithPath: path)).kernel
                guard kernel.isComplete, kernel.hasBlocks else {
                    throw KernelError.badFile(path: path, reason: "drift needs a complete kernel with blocks (analyze kernel --blocks, or merged shards)")
                }
                computed.append(kernel)
                names.append(path)
            }
        }
        let drift = try KernelDriftComparison(names: names, kernels: computed)
        try drift.table.write(to: output.url)
        try drift.spectrumTable.write(to: output.sibling("spectrum.csv"))
        var inputs = ["examples": examples ?? ""]
        for (k, name) in names.enumerated() { inputs["\(kernels.isEmpty ? "checkpoint" : "kernel")\(k)"] = name }
        try RunRecord(command: commandLine, inputs: inputs, outputs: [output.out, output.siblingPath("spectrum.csv")],
                      details: ["strategy": strategy.strategy, "selection": select,
                                "effective_ranks": drift.spectra.map { String(format: "%.4f", $0.effectiveRank) }.joined(separator: ",")])
            .write(to: output.sibling("meta.json"))
        print("wrote \(output.out): \(computed.count) kernels over \(computed[0].probes.count) probes")
        for r in drift.rows {
            print(String(format: "  %@ → %@: trace distance %.3e, full distance %.3e, influence Spearman %.4f",
                         names[r.a], names[r.b], r.traceDistance, r.fullDistance, r.influenceSpearman))
        }
        for (name, s) in zip(names, drift.spectra) {
            print(String(format: "  %@: effective rank %.3f, top eigenvalues %@", name, s.effectiveRank,
                         s.eigenvalues.prefix(3).map { String(format: "%.4g", $0) }.joined(separator: ", ")))
        }
    }
}
