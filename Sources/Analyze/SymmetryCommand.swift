import ArgumentParser
import Dynamics
import Foundation

struct SymmetryCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "symmetry",
        abstract: "Is Δlog π(v)|u − Δlog π(u)|v = O(η²)? One-step changes both ways over an η grid, SGD vs one Adam step (THEORY §4).",
        discussion: SymmetryStudy.outputs)

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption

    @Option(name: .long, help: "A pair U,V (ID:POS,ID:POS at token level, ID,ID at sequence level); repeatable. Overrides --pairs.")
    var pair: [String] = []

    @Option(name: .long, parsing: .unconditional, help: "Number of pairs drawn at random (without --pair).")
    var pairs = 10

    @Option(name: .long, parsing: .unconditional, help: "Seed of the pair draw.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "token or sequence.")
    var level: DynamicsLevel = .token

    @Option(name: .long, help: "Token examples drawn pairs use at token level: answer, first, last or all.")
    var select: TokenSelection = .answer

    @Option(name: .customLong("eta-min"), parsing: .unconditional, help: "Smallest η.")
    var etaMin = 1e-6

    @Option(name: .customLong("eta-max"), parsing: .unconditional, help: "Largest η.")
    var etaMax = 1e-1

    @Option(name: .customLong("eta-points"), parsing: .unconditional, help: "η values, log-spaced.")
    var etaPoints = 11

    @Option(name: .long, help: "Comma-separated update rules: sgd, adam (one AdamW step from fresh state, no weight decay).")
    var optimizers = "sgd,adam"

    @Option(name: .customLong("floor-factor"), parsing: .unconditional, help: "c of the round-off floor c·ε·(|f_u| + |f_v| + 1).")
    var floorFactor = RegimeCriteria.defaultFloorFactor

    @Option(name: .customLong("max-relative-residual"), parsing: .unconditional, help: "First-order regime: |measured − predicted| ≤ this × |predicted| for both changes.")
    var maxRelativeResidual = RegimeCriteria.defaultMaxRelativeResidual

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--pairs", pairs, FlagRange.pairs)
        try NumericFlag.check("--eta-min", etaMin, FlagRange.eta, exclusiveLower: true)
        try NumericFlag.check("--eta-max", etaMax, FlagRange.eta, exclusiveLower: true)
        try NumericFlag.check("--eta-points", etaPoints, FlagRange.etaPoints)
        try NumericFlag.check("--floor-factor", floorFactor, 0...1e12)
        try NumericFlag.check("--max-relative-residual", maxRelativeResidual, 0...1e12, exclusiveLower: true)
        // Ranges, finiteness and ≥ 3 η points are the checks above; what they cannot say:
        guard etaMax > etaMin else { throw ValidationError("--eta-min and --eta-max must be positive and finite with --eta-min < --eta-max") }
        _ = try rules()
        for p in pair { _ = try validating { try SymmetryStudy.pair(parsing: p) } }
    }

    func rules() throws -> [UpdateRule] { try validating { try SymmetryStudy.rules(parsing: optimizers) } }

    func run() throws {
        let slopesURL = output.sibling("slopes.csv"), metaURL = output.sibling("meta.json")
        let group = ProcessGroup.world
        let (model, pairs, etas) = try group.agree {
            if group.isRoot { try output.checkWritable([output.url, slopesURL, metaURL]) }
            let ckpt = try checkpoint.load()
            let lookup = ExampleLookup(file: try examples.load(), checkpoint: ckpt)
            let pairs = try pair.isEmpty ? SymmetryPair.drawn(self.pairs, seed: seed, from: lookup, level: level, selection: select)
                : SymmetryPair.given(try pair.map { p in try validating { try SymmetryStudy.pair(parsing: p) } }, in: lookup, level: level)
            return (ckpt.model, pairs, try SymmetrySweep.etaGrid(min: etaMin, max: etaMax, count: etaPoints))
        }
        let criteria = RegimeCriteria(floorFactor: floorFactor, maxRelativeResidual: maxRelativeResidual)
        guard let study = try SymmetryStudy.distributed(model, pairs: pairs, etas: etas, rules: try rules(), criteria: criteria, group: group, threads: threads.threads,
                                                        progress: group.progress("symmetry", total: pairs.count, unit: "pairs")) else { return }
        try study.pointsTable.write(to: output.url)
        try study.slopesTable.write(to: slopesURL)
        let details = study.runDetails(level: level, etaMin: etaMin, etaMax: etaMax, etaPoints: etaPoints, criteria: criteria, drawn: pair.isEmpty ? (seed, select) : nil)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out, output.siblingPath("slopes.csv")], details: details).write(to: metaURL)
        print("wrote \(output.out): \(pairs.count) pair(s) at \(level.rawValue) level × \(study.etas.count) η (\(etaMin)…\(etaMax)) × \(study.rules.count) optimizer(s)")
        printTable(study.summaryRows)
    }
}
