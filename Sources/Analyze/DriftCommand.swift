import ArgumentParser
import Dynamics
import Foundation

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "eNTK drift between checkpoints on one probe set: kernel distances, influence rank correlation, spectra.",
        discussion: KernelDriftComparison.outputs)

    @Option(name: .customLong("checkpoint"), help: "A checkpoint directory (repeat, in order: e.g. base, then fine-tuned).")
    var checkpoints: [String] = []

    @Option(name: .customLong("kernel"), help: "A complete kernel file from 'analyze kernel --blocks' or 'kernel-merge' (repeatable; instead of --checkpoint).")
    var kernels: [String] = []

    @Option(name: .long, help: "Probe examples (with --checkpoint).")
    var examples: String?

    @Option(name: .long, help: "Token examples of each probe: answer, first, last or all.")
    var select: TokenSelection = .answer

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
    }

    func run() throws {
        let outputs = [output.url, output.sibling("spectrum.csv"), output.sibling("meta.json")]
        try output.checkWritable(outputs)
        let names = kernels.isEmpty ? checkpoints : kernels
        let computed = try kernels.isEmpty
            ? KernelDriftComparison.kernels(checkpoints: checkpoints, examples: examples!, selection: select, limit: limit,
                                            strategy: strategy.value, threads: threads.threads) { path, pairs in
                let progress = Progress("drift \((path as NSString).lastPathComponent)", total: pairs, unit: "pairs")
                return { _, _ in progress.advance() }
            }
            : KernelDriftComparison.kernels(files: kernels)
        let drift = try KernelDriftComparison(names: names, kernels: computed)
        try drift.table.write(to: output.url)
        try drift.spectrumTable.write(to: output.sibling("spectrum.csv"))
        try RunRecord(command: commandLine, inputs: drift.runInputs(examples: examples, fromFiles: !kernels.isEmpty), outputs: [output.out, output.siblingPath("spectrum.csv")],
                      details: drift.runDetails(strategy: strategy.strategy, selection: select))
            .write(to: output.sibling("meta.json"))
        print("wrote \(output.out): \(computed.count) kernels over \(computed[0].probes.count) probes")
        drift.lines.forEach { note($0) }
    }
}
