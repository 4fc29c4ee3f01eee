import Foundation

/// One pair of a symmetry study: u and v as the command line names them, and what to update and probe.
public struct SymmetryPair: Sendable {
    public let uLabel: String
    public let vLabel: String
    public let u: GradientRequest
    public let v: GradientRequest

    public init(uLabel: String, vLabel: String, u: GradientRequest, v: GradientRequest) {
        self.uLabel = uLabel
        self.vLabel = vLabel
        self.u = u
        self.v = v
    }

    /// The functional symmetry updates and probes at sequence level: ℓ̄ (Eq. 10's SFT step, see `SymmetrySweep`).
    public static let sequenceSum: @Sendable (EncodedExample) -> LogProbSum = LogProbSum.meanLogLikelihood

    /// The pairs given as (U, V) references (ID:POS at token level, ID at sequence level).
    public static func given(_ references: [(String, String)], in lookup: ExampleLookup, level: DynamicsLevel) throws -> [SymmetryPair] {
        try references.map { u, v in
            SymmetryPair(uLabel: u, vLabel: v, u: try lookup.target(u, level: level, sequence: sequenceSum),
                         v: try lookup.target(v, level: level, sequence: sequenceSum))
        }
    }

    /// `count` pairs drawn with `seed` (`RandomPairs`) from the file's token examples `selection` picks (token
    /// level) or its sequences (sequence level).
    public static func drawn(_ count: Int, seed: UInt64, from lookup: ExampleLookup, level: DynamicsLevel,
                             selection: TokenSelection) throws -> [SymmetryPair] {
        let encoded = try lookup.all()
        let items: [(String, GradientRequest)]
        switch level {
        case .token:
            items = encoded.flatMap { e in
                selection.positions(in: e).map { p in (TokenReference(id: e.id, position: p).description, GradientRequest(example: e, sum: .token(p))) }
            }
        case .sequence:
            items = encoded.map { ($0.id, GradientRequest(example: $0, sum: sequenceSum($0))) }
        }
        return try RandomPairs.draw(count, from: items.count, seed: seed).map { i, j in
            SymmetryPair(uLabel: items[i].0, vLabel: items[j].0, u: items[i].1, v: items[j].1)
        }
    }
}

/// THEORY §4 over a set of pairs: a `SymmetrySweep` per pair, the fits per update rule, and the study's tables.
public struct SymmetryStudy: Sendable {
    public let pairs: [SymmetryPair]
    public let rules: [UpdateRule]
    public let etas: [Double]
    public let sweeps: [SymmetrySweep]
    public let summaries: [SymmetrySummary]

    /// The points table's columns (one row per rule, pair and η).
    public static let pointsHeader = ["optimizer", "pair", "u", "v", "eta", "delta_vu", "delta_uv", "predicted_vu", "predicted_uv", "asymmetry",
                                      "relative_asymmetry", "above_floor", "first_order", "used_in_fit", "used_in_delta_fit"]
    /// The slopes table's columns (pooled and per-pair fits of |Δ| and a vs η).
    public static let slopesHeader = ["optimizer", "quantity", "scope", "pair", "u", "v", "slope", "slope_se", "n_points"]

    /// Sweeps the pairs over `threads` cores (each pair single-threaded, so the numbers do not depend on
    /// `threads`), `threads` pairs at a time; `progress` gets the pairs done so far.
    public init(_ model: Transformer, pairs: [SymmetryPair], etas: [Double], rules: [UpdateRule], criteria: RegimeCriteria,
                threads: Int, progress: (Int) -> Void = { _ in }) throws {
        self.init(pairs: pairs, etas: etas, rules: rules, sweeps: try Self.sweeps(model, pairs: pairs[...], etas: etas, rules: rules, criteria: criteria,
                                                                                  threads: threads, progress: progress))
    }

    /// The study of `pairs` from their sweeps (one per pair, in order).
    init(pairs: [SymmetryPair], etas: [Double], rules: [UpdateRule], sweeps: [SymmetrySweep]) {
        self.pairs = pairs
        self.rules = rules
        self.etas = etas
        self.sweeps = sweeps
        summaries = rules.map { SymmetrySummary(rule: $0, sweeps: sweeps) }
    }

    /// The sweeps of `pairs`, `threads` pairs at a time, each single-threaded.
    static func sweeps(_ model: Transformer, pairs: ArraySlice<SymmetryPair>, etas: [Double], rules: [UpdateRule], criteria: RegimeCriteria,
                       threads: Int, progress: (Int) -> Void) throws -> [SymmetrySweep] {
        try Parallel.chunkedMap(Array(pairs), threads: threads, chunk: threads, progress: progress) { pair in
            try SymmetrySweep(model, u: pair.u, v: pair.v, etas: etas, rules: rules, criteria: criteria)
        }
    }

    /// Every point: rule, pair, η, both changes, their predictions and the regime flags.
    public var pointsTable: CSVTable {
        var points = CSVTable(header: Self.pointsHeader)
        for rule in rules {
            for (k, (pair, sweep)) in zip(pairs, sweeps).enumerated() {
                for p in sweep.points where p.rule == rule {
                    points.append([.string(rule.rawValue), .int(k), .string(pair.uLabel), .string(pair.vLabel), .double(p.eta), .double(p.deltaVU),
                                   .double(p.deltaUV), .double(p.predictedVU), .double(p.predictedUV), .double(p.asymmetry),
                                   .double(p.relativeAsymmetry), .flag(p.aboveFloor), .flag(p.firstOrder), .flag(p.usedInAsymmetryFit),
                                   .flag(p.usedInDeltaFit)])
                }
            }
        }
        return points
    }

    /// The log-log slopes of |Δ| and a vs η per rule: pooled over pairs, then per pair.
    public var slopesTable: CSVTable {
        var slopes = CSVTable(header: Self.slopesHeader)
        func add(_ rule: UpdateRule, _ quantity: String, _ pair: Int?, _ fit: PooledSlope?) {
            let (u, v) = pair.map { (pairs[$0].uLabel, pairs[$0].vLabel) } ?? ("", "")
            slopes.append([.string(rule.rawValue), .string(quantity), .string(pair == nil ? "pooled" : "pair"), pair.map { .int($0) } ?? .string(""),
                           .string(u), .string(v), .double(fit?.slope ?? .nan), .double(fit?.slopeError ?? .nan), .int(fit?.count ?? 0)])
        }
        for s in summaries {
            add(s.rule, "delta", nil, s.delta)
            add(s.rule, "asymmetry", nil, s.asymmetry)
            for k in pairs.indices {
                add(s.rule, "delta", k, s.pairDelta[k])
                add(s.rule, "asymmetry", k, s.pairAsymmetry[k])
            }
        }
        return slopes
    }

    /// The run record's figures: each rule's verdict and pooled asymmetry slope.
    public var verdictDetails: [String: String] {
        var details: [String: String] = [:]
        for s in summaries {
            details["verdict_\(s.rule.rawValue)"] = s.verdict.description
            details["asymmetry_slope_\(s.rule.rawValue)"] = s.asymmetry.map { "\($0.slope)" } ?? "nan"
        }
        return details
    }
}

extension SymmetryStudy {
    /// The update rules of `--optimizers`: a comma-separated list of sgd and/or adam.
    public static func rules(parsing text: String) throws -> [UpdateRule] {
        try text.split(separator: ",").map { name in
            guard let rule = UpdateRule(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ArgumentProblem("unknown optimizer '\(name)' in --optimizers; choose sgd and/or adam")
            }
            return rule
        }
    }

    /// U and V of `--pair U,V`.
    public static func pair(parsing text: String) throws -> (String, String) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ArgumentProblem("--pair takes U,V (ID:POS,ID:POS at token level, ID,ID at sequence level), got '\(text)'")
        }
        return (parts[0], parts[1])
    }

    /// The summary printed after a study: per rule, the pooled Δ and asymmetry slopes, the points in the fit and the verdict.
    public var summaryRows: [[String]] {
        [["optimizer", "Δ slope ± se", "asymmetry slope ± se", "points", "verdict"]] + summaries.map { s in
            [s.rule.rawValue, PooledSlope.text(s.delta), PooledSlope.text(s.asymmetry), "\(s.asymmetry?.count ?? 0)/\(pairs.count * etas.count)", s.verdict.description]
        }
    }

    /// The run record's details: the settings (`drawn` with the seed and token selection of drawn pairs, nil for
    /// given pairs), then the verdicts.
    public func runDetails(level: DynamicsLevel, etaMin: Double, etaMax: Double, etaPoints: Int, criteria: RegimeCriteria,
                           drawn: (seed: UInt64, selection: TokenSelection)?) -> [String: String] {
        var details = ["level": level.rawValue, "pairs": String(pairs.count), "eta_min": "\(etaMin)", "eta_max": "\(etaMax)",
                       "eta_points": String(etaPoints), "optimizers": rules.map(\.rawValue).joined(separator: ","),
                       "floor_factor": "\(criteria.floorFactor)", "max_relative_residual": "\(criteria.maxRelativeResidual)"].merging(verdictDetails) { a, _ in a }
        if let drawn { details["seed"] = String(drawn.seed); details["select"] = drawn.selection.rawValue }
        return details
    }
}
