import ArgumentParser
import Dynamics
import Foundation

struct DecomposeCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "decompose",
        abstract: "One-step change of log π(x_v) after an SGD step on x_u: predicted η·⟨∇log π(v), ∇log π(u)⟩ vs measured (THEORY §3).",
        discussion: OneStepDecomposition.outputs)

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption

    @Option(name: .long, help: "Updated example: ID:POSITION (token level) or ID (sequence level); repeatable.")
    var u: [String]

    @Option(name: .long, help: "Observed example: ID:POSITION (token level) or ID (sequence level); repeatable.")
    var v: [String]

    @Option(name: .long, help: "Comma-separated learning rates η.")
    var eta = "1e-6,3e-6,1e-5,3e-5,1e-4,3e-4,1e-3,3e-3,1e-2"

    @Option(name: .long, help: "token or sequence.")
    var level: DynamicsLevel = .token

    @Option(name: .long, help: "CSV with columns id,advantage: the update is GRPO-weighted with the advantage of x_u's example.")
    var advantages: String?

    @Option(name: .long, parsing: .unconditional, help: "KL coefficient β of the GRPO coefficients (with --advantages).")
    var beta = 0.04

    @Option(name: .long, help: "Reference checkpoint π_ref for the GRPO coefficients (with --advantages; default: none, c_t = Â).")
    var reference: String?

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--beta", beta, FlagRange.rate)
        _ = try validating { try FlagRange.learningRates(eta, flag: "--eta") }
        guard !u.isEmpty, !v.isEmpty else { throw ValidationError("give at least one --u and one --v") }
        guard u.count == v.count || u.count == 1 || v.count == 1 else {
            throw ValidationError("--u given \(u.count) times and --v \(v.count) times: give them equally often, or one of them once")
        }
        guard advantages != nil || reference == nil else { throw ValidationError("--reference needs --advantages") }
    }

    func run() throws {
        let sharesURL = output.sibling("shares.csv"), metaURL = output.sibling("meta.json")
        let group = ProcessGroup.world
        let (etas, model, lookup, weighting) = try group.agree {
            if group.isRoot { try output.checkWritable([output.url, sharesURL, metaURL]) }
            let etas = try validating { try FlagRange.learningRates(eta, flag: "--eta") }
            let ckpt = try checkpoint.load()
            let lookup = ExampleLookup(file: try examples.load(), checkpoint: ckpt)
            return (etas, ckpt.model, lookup, try advantages.map {
                try AdvantageWeighting(path: $0, beta: beta, reference: try reference.map { try Checkpoint.load(from: URL(fileURLWithPath: $0)).model })
            })
        }
        let pairs = OneStepDecomposition.pairs(u, v)
        guard let decompositions = try OneStepDecomposition.all(model, pairs: pairs, lookup: lookup, level: level, etas: etas, weighting: weighting, group: group,
                                                                threads: threads.threads, progress: group.progress("decompose", total: pairs.count, unit: "pairs"))
        else { return }
        let (table, shares) = OneStepDecomposition.tables(decompositions, pairs: pairs, level: level.rawValue)
        try table.write(to: output.url)
        try shares.write(to: sharesURL)
        let fit = OneStepDecomposition.residualSlope(decompositions)
        let (inputs, details) = OneStepDecomposition.runRecord(decompositions, etas: etas, level: level, checkpoint: checkpoint.checkpoint,
                                                               examples: examples.examples, advantages: advantages, beta: beta, reference: reference)
        try RunRecord(command: commandLine, inputs: inputs, outputs: [output.out, output.siblingPath("shares.csv")], details: details).write(to: metaURL)
        print(String(format: "wrote %@: %d pair(s) × %d η (%@ level); residual slope %@ over %d points (expected ≈ 2); first pair ⟨∇f_v, Δθ/η⟩ = %.6e",
                     output.out, pairs.count, etas.count, level.rawValue, PooledSlope.text(fit), fit?.count ?? 0, decompositions[0].firstOrder))
    }
}
