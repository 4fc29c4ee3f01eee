import ArgumentParser
import Dynamics
import Foundation

extension KernelStrategy: ExpressibleByArgument {}
extension TokenSelection: ExpressibleByArgument {}

/// `--examples FILE --select answer|first|last|all --limit N`: a probe set of token examples.
struct ProbeSetOption: ParsableArguments {
    @Option(name: .long, help: "Probe examples: JSONL with id, prompt, response, image (and task).")
    var examples: String

    @Option(name: .customLong("select"), help: "Token examples of each probe: answer (first token after <answer>), first, last (<eos>) or all.")
    var selection: TokenSelection = .answer
    var select: String { selection.rawValue }

    @Option(name: .long, parsing: .unconditional, help: "Use the first N examples of the file.")
    var limit: Int?

    func validate() throws {
        try NumericFlag.check("--limit", limit, FlagRange.count)
    }

    /// The probe token examples, encoded for `checkpoint`.
    func load(for checkpoint: Checkpoint) throws -> [ProbeToken] {
        try ProbeToken.load(examples: examples, select: selection, limit: limit, for: checkpoint)
    }
}

/// `--strategy explicit|materialised|structured|automatic`.
struct StrategyOption: ParsableArguments {
    @Option(name: .customLong("strategy"), help: "eNTK strategy: explicit (full J·Jᵀ, the reference), materialised, structured or automatic (per layer, by FLOP count; through the head basis when D < V).")
    var value: KernelStrategy = .automatic
    var strategy: String { value.rawValue }
}

struct KernelCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "The eNTK over a probe set: trace kernel Θ (N × N), influences, per-tensor traces and optionally every V × V block.",
        discussion: ProbeKernel.outputs)

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var probes: ProbeSetOption
    @OptionGroup var strategy: StrategyOption

    @Flag(name: .long, help: "Also keep every V × V block K(x_i, x_j).")
    var blocks = false

    @Option(name: .long, help: "Compute only slice k of n of the pairs (k/n, 1 ≤ k ≤ n).")
    var shard: String = "1/1"

    @OptionGroup var output: OutputOption
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        do { _ = try ProbeKernel.Shard(parsing: shard) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let outputs = [output.url, output.sibling("csv"), output.sibling("tensors.csv"), output.sibling("meta.json")]
        let group = ProcessGroup.world
        let (ckpt, set) = try group.agree {
            if group.isRoot { try output.checkWritable(outputs) }
            let ckpt = try checkpoint.load()
            return (ckpt, try probes.load(for: ckpt))
        }
        let slice = try ProbeKernel.Shard(parsing: shard)
        let total = slice.range(of: set.count * (set.count + 1) / 2).count
        let display = group.isRoot ? Progress("kernel", total: total, unit: "pairs") : nil
        let progress = DistributedProgress(group: group) { done in display?.advance(to: done) }
        let start = Date()
        guard let kernel = try ProbeKernel.computeAndWrite(model: ckpt.model, probes: set, strategy: strategy.value, blocks: blocks, shard: slice,
                                                           group: group, threads: threads.threads, progress: progress, kernel: outputs[0],
                                                           pairs: outputs[1], tensors: outputs[2],
                                                           extra: ProbeKernel.fileKeys(checkpoint: ckpt, selection: probes.select, examples: probes.examples))
        else { return }
        let seconds = Date().timeIntervalSince(start)
        let plan = kernel.plan!
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": probes.examples], outputs: outputs.dropLast().map(\.path),
                      details: ProbeKernel.runDetails(plan: plan, strategy: strategy.strategy, shard: shard, probes: set.count, pairs: total, ranks: group.size,
                                                      seconds: seconds)).write(to: output.sibling("meta.json"))
        print(ProbeKernel.summary(out: output.out, probes: set.count, pairs: total, shard: shard, seconds: seconds, strategy: strategy.strategy, plan: plan))
    }
}

struct KernelMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-merge",
        abstract: "Assembles the shards of one 'analyze kernel' computation into the result one run gives.",
        discussion: "Every shard k/n must be given once, computed from the same checkpoint, probes, selection and settings. Writes the same files as 'analyze kernel'.")

    @Argument(help: "Shard files written by 'analyze kernel --shard k/n'.")
    var shards: [String]

    @OptionGroup var output: OutputOption

    func run() throws {
        let outputs = [output.url, output.sibling("csv"), output.sibling("tensors.csv"), output.sibling("meta.json")]
        try output.checkWritable(outputs)
        guard !shards.isEmpty else { throw ValidationError("give the shard files to merge") }
        let (merged, extra) = try ProbeKernel.merge(files: shards)
        try merged.writeFiles(kernel: outputs[0], pairs: outputs[1], tensors: outputs[2], extra: extra)
        try RunRecord(command: commandLine, inputs: ["shards": shards.joined(separator: ",")], outputs: outputs.dropLast().map(\.path),
                      details: extra).write(to: output.sibling("meta.json"))
        print("wrote \(output.out): \(merged.probes.count) probes, \(merged.entries.count) pairs from \(shards.count) shards")
    }
}
