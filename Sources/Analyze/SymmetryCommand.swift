import ArgumentParser
import Dynamics
import Foundation

struct SymmetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symmetry",
        abstract: "Is Δlog π(v)|u − Δlog π(u)|v = O(η²)? One-step changes both ways over an η grid, SGD vs one Adam step (THEORY §4).",
        discussion: """
            For each pair and η, one step on u and one on v from the same θ, each probed on the other. Token level: \
            pairs of token examples (--pair ID:POS,ID:POS, or --pairs N drawn with --seed from the tokens --select picks); \
            sequence level: pairs of examples (--pair ID,ID or drawn), update and probe both ℓ̄ (Eq. 10's SFT step). \
            Writes OUT (every point: optimizer,pair,u,v,eta,delta_vu,delta_uv,predicted_vu,predicted_uv,asymmetry,\
            relative_asymmetry,above_floor,first_order,used_in_fit,used_in_delta_fit), OUT.slopes.csv (optimizer,quantity,\
            scope,pair,u,v,slope,slope_se,n_points: log-log slopes of |Δ| and of a = |Δ_vu − Δ_uv| vs η, pooled over pairs \
            with one intercept per pair, and per pair) and OUT.meta.json, and prints a verdict per optimizer. Points enter \
            the fits when above the round-off floor c·ε·(|f_u| + |f_v| + 1) (--floor-factor c) and when both changes are \
            within --max-relative-residual of their first-order predictions.
            """)

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
    var select = "answer"

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
        guard etaMin.isFinite, etaMin > 0, etaMax.isFinite, etaMax > etaMin else {
            throw ValidationError("--eta-min and --eta-max must be positive and finite with --eta-min < --eta-max")
        }
        guard etaPoints >= 3 else { throw ValidationError("--eta-points must be at least 3 (a slope with an error needs 3 points)") }
        guard pairs >= 1 else { throw ValidationError("--pairs must be at least 1") }
        guard TokenSelection(rawValue: select) != nil else {
            throw ValidationError("unknown --select '\(select)'; choose one of \(TokenSelection.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try rules()
        for p in pair { _ = try Self.split(p) }
        guard floorFactor.isFinite, floorFactor >= 0, maxRelativeResidual.isFinite, maxRelativeResidual > 0 else {
            throw ValidationError("--floor-factor must be ≥ 0 and --max-relative-residual > 0")
        }
    }

    func rules() throws -> [UpdateRule] {
        try optimizers.split(separator: ",").map { name in
            guard let rule = UpdateRule(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown optimizer '\(name)' in --optimizers; choose sgd and/or adam")
            }
            return rule
        }
    }

    func run() throws {
        let slopesURL = output.sibling("slopes.csv"), metaURL = output.sibling("meta.json")
        try output.checkWritable([output.url, slopesURL, metaURL])
        let ckpt = try checkpoint.load()
        let lookup = ExampleLookup(file: try examples.load(), checkpoint: ckpt)
        let rules = try rules()
        let etas = try SymmetrySweep.etaGrid(min: etaMin, max: etaMax, count: etaPoints)
        let criteria = RegimeCriteria(floorFactor: floorFactor, maxRelativeResidual: maxRelativeResidual)
        let labelled = try pairRequests(lookup)

        let model = ckpt.model
        let progress = Progress("symmetry", total: labelled.count, unit: "pairs")
        let sweeps = try progress.map(labelled, threads: threads.threads, chunk: threads.threads) { pair in
            try SymmetrySweep(model, u: pair.u, v: pair.v, etas: etas, rules: rules, criteria: criteria)
        }

        var points = CSVTable(header: ["optimizer", "pair", "u", "v", "eta", "delta_vu", "delta_uv", "predicted_vu", "predicted_uv", "asymmetry",
                                       "relative_asymmetry", "above_floor", "first_order", "used_in_fit", "used_in_delta_fit"])
        for rule in rules {
            for (k, (pair, sweep)) in zip(labelled, sweeps).enumerated() {
                for p in sweep.points where p.rule == rule {
                    points.append([.string(rule.rawValue), .int(k), .string(pair.uLabel), .string(pair.vLabel), .double(p.eta), .double(p.deltaVU),
                                   .double(p.deltaUV), .double(p.predictedVU), .double(p.predictedUV), .double(p.asymmetry),
                                   .double(p.relativeAsymmetry), .flag(p.aboveFloor), .flag(p.firstOrder), .flag(p.usedInAsymmetryFit),
                                   .flag(p.usedInDeltaFit)])
                }
            }
        }
        let summaries = rules.map { SymmetrySummary(rule: $0, sweeps: sweeps) }
        var slopes = CSVTable(header: ["optimizer", "quantity", "scope", "pair", "u", "v", "slope", "slope_se", "n_points"])
        func add(_ rule: UpdateRule, _ quantity: String, _ pair: Int?, _ fit: PooledSlope?) {
            let (u, v) = pair.map { (labelled[$0].uLabel, labelled[$0].vLabel) } ?? ("", "")
            slopes.append([.string(rule.rawValue), .string(quantity), .string(pair == nil ? "pooled" : "pair"), pair.map { .int($0) } ?? .string(""),
                           .string(u), .string(v), .double(fit?.slope ?? .nan), .double(fit?.slopeError ?? .nan), .int(fit?.count ?? 0)])
        }
        for s in summaries {
            add(s.rule, "delta", nil, s.delta)
            add(s.rule, "asymmetry", nil, s.asymmetry)
            for k in labelled.indices {
                add(s.rule, "delta", k, s.pairDelta[k])
                add(s.rule, "asymmetry", k, s.pairAsymmetry[k])
            }
        }
        try points.write(to: output.url)
        try slopes.write(to: slopesURL)
        var details = ["level": level.rawValue, "pairs": String(labelled.count), "eta_min": "\(etaMin)", "eta_max": "\(etaMax)",
                       "eta_points": String(etaPoints), "optimizers": rules.map(\.rawValue).joined(separator: ","),
                       "floor_factor": "\(floorFactor)", "max_relative_residual": "\(maxRelativeResidual)"]
        if pair.isEmpty { details["seed"] = String(seed); details["select"] = select }
        for s in summaries {
            details["verdict_\(s.rule.rawValue)"] = s.verdict.description
            details["asymmetry_slope_\(s.rule.rawValue)"] = s.asymmetry.map { "\($0.slope)" } ?? "nan"
        }
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out, output.siblingPath("slopes.csv")], details: details).write(to: metaURL)

        print("wrote \(output.out): \(labelled.count) pair(s) at \(level.rawValue) level × \(etas.count) η (\(etaMin)…\(etaMax)) × \(rules.count) optimizer(s)")
        let rows = [["optimizer", "Δ slope ± se", "asymmetry slope ± se", "points", "verdict"]] + summaries.map { s in
            [s.rule.rawValue, slopeText(s.delta), slopeText(s.asymmetry), "\(s.asymmetry?.count ?? 0)/\(labelled.count * etas.count)", s.verdict.description]
        }
        printTable(rows)
    }

    /// U and V of `--pair U,V`.
    static func split(_ text: String) throws -> (String, String) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ValidationError("--pair takes U,V (ID:POS,ID:POS at token level, ID,ID at sequence level), got '\(text)'")
        }
        return (parts[0], parts[1])
    }

    /// The pairs to sweep: --pair as given, or --pairs drawn at random from the file's token or sequence examples.
    func pairRequests(_ lookup: ExampleLookup) throws -> [(uLabel: String, vLabel: String, u: GradientRequest, v: GradientRequest)] {
        let sum: (EncodedExample) -> LogProbSum = LogProbSum.meanLogLikelihood
        if !pair.isEmpty {
            return try pair.map { text in
                let (u, v) = try Self.split(text)
                return (u, v, try lookup.target(u, level: level, sequence: sum), try lookup.target(v, level: level, sequence: sum))
            }
        }
        let encoded = try lookup.all()
        let items: [(String, GradientRequest)]
        switch level {
        case .token:
            let selection = TokenSelection(rawValue: select) ?? .answer
            items = encoded.flatMap { e in
                selection.positions(in: e).map { p in (TokenReference(id: e.id, position: p).description, GradientRequest(example: e, sum: .token(p))) }
            }
        case .sequence:
            items = encoded.map { ($0.id, GradientRequest(example: $0, sum: sum($0))) }
        }
        return try RandomPairs.draw(pairs, from: items.count, seed: seed).map { i, j in (items[i].0, items[j].0, items[i].1, items[j].1) }
    }
}
