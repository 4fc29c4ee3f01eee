import ArgumentParser
import Dynamics
import Foundation

struct EntkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entk",
        abstract: "The eNTK block K = J(x_v) J(x_u)ᵀ [V, V] of two token examples.",
        discussion: "Writes tensor 'K', OUT.contributions.csv (tensor,trace,frobenius: each parameter tensor's share J_g(x_v) J_g(x_u)ᵀ, which add up to K) and OUT.meta.json with the per-layer plan. --strategy explicit materialises both Jacobians (the reference); automatic picks, per dense weight, materialised or structured products by FLOP count, and when D < V runs D cotangents through the head's column space (W_head = QR) instead of V on the logits.")

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption

    @Option(name: .long, help: "The updated token example x_u as ID:POSITION.")
    var u: String

    @Option(name: .long, help: "The observed token example x_v as ID:POSITION.")
    var v: String

    @OptionGroup var strategy: StrategyOption
    @OptionGroup var output: OutputOption

    func run() throws {
        let contributionsURL = output.sibling("contributions.csv"), metaURL = output.sibling("meta.json")
        try output.checkWritable([output.url, contributionsURL, metaURL])
        let start = Date()  // the figure includes loading the checkpoint and examples and making the plan
        let ckpt = try checkpoint.load()
        let lookup = ExampleLookup(file: try examples.load(), checkpoint: ckpt)
        let (tu, tv) = (try lookup.target(u, level: .token, sequence: LogProbSum.sequence), try lookup.target(v, level: .token, sequence: LogProbSum.sequence))
        let pair = try TokenPairKernel(ckpt.model, u: (tu.sum.positions[0], tu.example.input), v: (tv.sum.positions[0], tv.example.input), strategy: strategy.value)
        let seconds = Date().timeIntervalSince(start)
        let (k, plan, akg) = (pair.kernel, pair.plan, pair.akg)
        try pair.writeKernel(to: output.url, u: u, v: v, strategy: strategy.strategy)
        try pair.contributionsTable(ckpt.model.layout).write(to: contributionsURL)
        for line in plan.report { note("plan: \(line)") }
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out, output.siblingPath("contributions.csv")], details: pair.runDetails(u: u, v: v, strategy: strategy.strategy, seconds: seconds))
            .write(to: metaURL)
        print(String(format: "wrote %@: K [%d, %d] for v=%@, u=%@ (%@, %.3f s with loading); tr K = %.6e, ‖K‖_F = %.6e, A·K·G = %.6e",
                     output.out, k.rows, k.cols, v, u, strategy.strategy, seconds, k.trace, k.frobeniusNorm, akg))
    }
}
