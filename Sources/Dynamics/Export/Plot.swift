import Foundation

/// The figures `analyze plot` draws, one per kind of CSV the workbench writes. A kind is recognised by the columns
/// of the input's header (`PlotKind.detect`); each builds a gnuplot script and the whitespace-separated data files it
/// reads (`PlotFigure`), which `Gnuplot.render` turns into PNG and SVG.
public enum PlotKind: String, CaseIterable, Sendable {
    /// `train grpo` metrics.csv: reward components and KL against steps, restarts marked (the paper's Fig. 6).
    case grpo
    /// `train pretrain|sft` metrics.csv: the loss against steps.
    case metrics
    /// probes.csv: probe-set perplexities against steps, several runs overlaid (Fig. 3).
    case probes
    /// eval.csv: accuracy per task against steps, several runs overlaid (Fig. 3).
    case eval
    /// `table` summary.csv: the forgetting table as grouped bars with Wilson 95 % intervals (Table 1).
    case table
    /// `perplexity` OUT: the distribution (ECDF) of each source's PPL under the base model (Fig. 5).
    case perplexity
    /// `perplexity` OUT.histogram.csv: PPL histograms per source and the g_R vs g_GT histograms (Fig. 5).
    case perplexityHistogram = "perplexity-histogram"
    /// `perplexity` OUT.gaps.csv: g_R against g_GT per question, with the diagonal.
    case perplexityGaps = "perplexity-gaps"
    /// `symmetry` OUT: |Δ| and the asymmetry against η, log-log, fitted slopes, one panel per optimizer (Theorem 5.2).
    case symmetry
    /// `decompose` OUT: predicted vs measured, and |residual| against η with an η² guide.
    case decompose
    /// `kernel` OUT.csv: the trace kernel as a heatmap ordered by task, task boundaries drawn.
    case kernel
    /// `influence` OUT: the influence matrix (probes × training examples) ordered by task, boundaries drawn.
    case influence
    /// `drift` OUT.spectrum.csv: eigenvalues of each trace kernel against their index.
    case drift
    /// A `ForgettingCurve` table: each prior task's change (and their mean) against the novel task's accuracy, a line
    /// per run through its evaluations in step order, one panel per task.
    case forgettingCurve = "forgetting-curve"

    /// The columns a CSV of this kind has (the first kind whose columns are all present is the detected one).
    public var requiredColumns: [String] {
        switch self {
        case .grpo: ["step", "reward_mean", "fmt_mean", "hit_mean", "acc_mean", "kl", "restarted"]
        case .metrics: ["step", "loss", "lr"]
        case .probes: ["step", "probe", "mean_ppl"]
        case .eval: ["step", "task", "style", "accuracy"]
        case .table: ["checkpoint", "task", "style", "n", "accuracy"]
        case .perplexity: ["question", "source", "sample", "ppl"]
        case .perplexityHistogram: ["distribution", "bin_lo", "bin_hi", "count"]
        case .perplexityGaps: ["question", "g_R", "g_GT"]
        case .symmetry: ["optimizer", "pair", "eta", "delta_vu", "delta_uv", "asymmetry", "used_in_fit", "used_in_delta_fit"]
        case .decompose: ["u", "v", "eta", "predicted", "measured", "residual", "used_in_fit"]
        case .kernel: ["i", "j", "task_i", "task_j", "trace"]
        case .influence: ["probe", "probe_task", "train", "train_task", "influence"]
        case .drift: ["checkpoint", "index", "eigenvalue"]
        case .forgettingCurve: ["run", "step", "novel_accuracy", "task", "change"]
        }
    }

    /// Kinds whose figure overlays several inputs (runs); the others draw exactly one.
    public var overlays: Bool { [.grpo, .metrics, .probes, .eval, .perplexity, .drift].contains(self) }

    /// The kind of a CSV with `header`, or an error listing every kind's columns.
    public static func detect(header: [String], path: String) throws -> PlotKind {
        if let kind = allCases.first(where: { $0.requiredColumns.allSatisfy(header.contains) }) { return kind }
        throw PlotError.unknownKind(path: path, header: header)
    }
}

/// An input table: its rows by column name, and the label its series carry in legends.
public struct PlotInput: Sendable {
    public let url: URL
    public let label: String
    public let header: [String]
    public let rows: [[String: String]]

    /// Reads `url` with the workbench's CSV reader (RFC 4180 quoting). The label defaults to the run folder's name
    /// for a run's metrics.csv, probes.csv or eval.csv, else the file name without `.csv`.
    public init(url: URL, label: String? = nil) throws {
        let table = try CSVReader.table(url)
        self.url = url
        header = table.header
        rows = table.rows
        let name = url.lastPathComponent
        self.label = label ?? (["metrics.csv", "probes.csv", "eval.csv"].contains(name) ? url.deletingLastPathComponent().lastPathComponent
                               : name.hasSuffix(".csv") ? String(name.dropLast(4)) : name)
    }

    /// The numbers of column `name` (NaN where a cell is not a number).
    func numbers(_ name: String) -> [Double] { rows.map { Double($0[name] ?? "") ?? .nan } }
}

/// A figure ready for gnuplot: the script body (terminal and output are set by `Gnuplot`), its data files, its size.
public struct PlotFigure: Sendable {
    public let kind: PlotKind
    public var width = 800
    public var height = 500
    /// Script lines after the terminal set-up; data files are named relative to the script's folder.
    public var body: [String] = []
    /// Data files (name → whitespace-separated text), written beside the script.
    public var data: [(name: String, text: String)] = []
    /// Where the inputs came from, for the script's header comment.
    public var sources: [String] = []

    init(kind: PlotKind) { self.kind = kind }

    /// Adds a data file `<prefix>.<suffix>.dat` with blocks (separated by two blank lines, gnuplot's `index`)
    /// of rows of numbers; returns its name.
    mutating func dataFile(_ prefix: String, _ suffix: String, blocks: [[[Double]]], header: String) -> String {
        let name = "\(prefix).\(suffix).dat"
        let text = "# " + header + "\n" + blocks.map { block in
            block.map { row in row.map { $0.isNaN ? "nan" : "\($0)" }.joined(separator: " ") }.joined(separator: "\n")
        }.joined(separator: "\n\n\n") + "\n"
        data.append((name, text))
        return name
    }
}

/// Kinds that cannot be drawn from the given inputs.
public enum PlotError: Error, Equatable, CustomStringConvertible {
    case unknownKind(path: String, header: [String])
    case wrongColumns(path: String, kind: String, missing: [String], expected: [String])
    case inputs(String)
    case gnuplotMissing
    case gnuplotFailed(status: Int32, message: String)

    public var description: String {
        switch self {
        case let .unknownKind(path, header):
            "\(path): no plot kind has these columns (\(header.joined(separator: ","))); expected one of: "
                + PlotKind.allCases.map { "\($0.rawValue) (\($0.requiredColumns.joined(separator: ",")))" }.joined(separator: "; ")
        case let .wrongColumns(path, kind, missing, expected):
            "\(path) is not a \(kind) CSV: no column \(missing.joined(separator: ", ")) (expected columns \(expected.joined(separator: ",")))"
        case let .inputs(message): message
        case .gnuplotMissing: "gnuplot not found on PATH: install it with `apt-get install gnuplot-nox` (scripts/setup.sh does)"
        case let .gnuplotFailed(status, message): "gnuplot failed (status \(status)): \(message)"
        }
    }
}

extension PlotFigure {
    /// The figure of `kind` (detected from the first input's header when nil) for `inputs`; data files are named
    /// after `prefix` (the output's file name without folder).
    public static func make(_ inputs: [PlotInput], kind: PlotKind? = nil, prefix: String) throws -> PlotFigure {
        guard let first = inputs.first else { throw PlotError.inputs("no input CSV given") }
        let kind = try kind ?? PlotKind.detect(header: first.header, path: first.url.path)
        for input in inputs {
            let missing = kind.requiredColumns.filter { !input.header.contains($0) }
            guard missing.isEmpty else {
                throw PlotError.wrongColumns(path: input.url.path, kind: kind.rawValue, missing: missing, expected: kind.requiredColumns)
            }
            guard !input.rows.isEmpty else { throw PlotError.inputs("\(input.url.path) has no rows to plot") }
        }
        guard kind.overlays || inputs.count == 1 else {
            throw PlotError.inputs("a \(kind.rawValue) figure draws one CSV; got \(inputs.count) (overlays: "
                                   + PlotKind.allCases.filter(\.overlays).map(\.rawValue).joined(separator: ", ") + ")")
        }
        var f = PlotFigure(kind: kind)
        f.sources = inputs.map(\.url.path)
        f.body = ["set encoding utf8", "set grid lc rgb '#dddddd'", "set key noenhanced"]
        switch kind {
        case .grpo: f.grpo(inputs, prefix)
        case .metrics: f.lines(inputs, prefix, x: "step", y: "loss", title: "training loss", xlabel: "step (optimizer updates)",
                               ylabel: "loss (mean negative log-likelihood per token, nats)")
        case .probes: f.grouped(inputs, prefix, by: "probe", y: "mean_ppl", filter: { _ in true }, title: "probe-set perplexity during training",
                                ylabel: "mean perplexity of the probe set (log scale)", logY: true)
        case .eval: f.grouped(inputs, prefix, by: "task", y: "accuracy", filter: { $0["style"] == "all" }, title: "evaluation accuracy during training",
                              ylabel: "accuracy (fraction correct, greedy)", logY: false)
        case .table: f.table(first, prefix)
        case .perplexity: f.perplexityECDF(inputs, prefix)
        case .perplexityHistogram: f.perplexityHistogram(first, prefix)
        case .perplexityGaps: f.perplexityGaps(first, prefix)
        case .symmetry: try f.symmetry(first, prefix)
        case .decompose: f.decompose(first, prefix)
        case .kernel: f.kernel(first, prefix)
        case .influence: f.influence(first, prefix)
        case .drift: f.drift(inputs, prefix)
        case .forgettingCurve: f.forgettingCurve(first, prefix)
        }
        return f
    }

    static func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }

    /// Sorted by x, NaN rows dropped.
    static func points(_ xs: [Double], _ ys: [Double]) -> [[Double]] {
        zip(xs, ys).filter { $0.0.isFinite && $0.1.isFinite }.sorted { $0.0 < $1.0 }.map { [$0.0, $0.1] }
    }

    mutating func lines(_ inputs: [PlotInput], _ prefix: String, x: String, y: String, title: String, xlabel: String, ylabel: String) {
        let file = dataFile(prefix, "lines", blocks: inputs.map { PlotFigure.points($0.numbers(x), $0.numbers(y)) }, header: "\(x) \(y); one block per run")
        body += ["set title \(PlotFigure.quoted(title))", "set xlabel \(PlotFigure.quoted(xlabel))", "set ylabel \(PlotFigure.quoted(ylabel))",
                 "set key top right",
                 "plot " + inputs.enumerated().map { k, input in "'\(file)' index \(k) using 1:2 with lines lw 2 title \(PlotFigure.quoted(input.label))" }
                    .joined(separator: ", \\\n     ")]
    }

    /// One line per (run, value of `by`) of `y` against step.
    mutating func grouped(_ inputs: [PlotInput], _ prefix: String, by: String, y: String, filter: ([String: String]) -> Bool, title: String,
                          ylabel: String, logY: Bool) {
        var blocks: [[[Double]]] = [], titles: [String] = []
        for input in inputs {
            for g in input.rows.filter(filter).compactMap({ $0[by] }).distinctInOrder() {
                let rows = input.rows.filter { filter($0) && $0[by] == g }
                blocks.append(PlotFigure.points(rows.map { Double($0["step"] ?? "") ?? .nan }, rows.map { Double($0[y] ?? "") ?? .nan }))
                titles.append(inputs.count > 1 ? "\(input.label): \(g)" : g)
            }
        }
        let file = dataFile(prefix, "lines", blocks: blocks, header: "step \(y); one block per series: " + titles.joined(separator: " | "))
        body += ["set title \(PlotFigure.quoted(title))", "set xlabel 'step (optimizer updates)'", "set ylabel \(PlotFigure.quoted(ylabel))",
                 logY ? "set logscale y" : "set yrange [0:1.05]", "set key outside right top",
                 "plot " + titles.enumerated().map { k, t in "'\(file)' index \(k) using 1:2 with linespoints lw 2 pt 7 ps 0.6 title \(PlotFigure.quoted(t))" }
                    .joined(separator: ", \\\n     ")]
    }

    mutating func grpo(_ inputs: [PlotInput], _ prefix: String) {
        height = 800
        let components = [("reward_mean", "total reward"), ("fmt_mean", "R_fmt"), ("hit_mean", "R_hit"), ("acc_mean", "R_acc")]
        var blocks: [[[Double]]] = [], titles: [String] = []
        for input in inputs {
            let steps = input.numbers("step")
            for (column, name) in components {
                blocks.append(PlotFigure.points(steps, input.numbers(column)))
                titles.append(inputs.count > 1 ? "\(input.label): \(name)" : name)
            }
        }
        let rewards = dataFile(prefix, "rewards", blocks: blocks, header: "step mean; blocks: " + titles.joined(separator: " | "))
        let kl = dataFile(prefix, "kl", blocks: inputs.map { PlotFigure.points($0.numbers("step"), $0.numbers("kl")) }, header: "step kl; one block per run")
        let restarts = zip(first(inputs).numbers("step"), first(inputs).numbers("restarted")).filter { $0.1 == 1 }.map(\.0)
        let marks = restarts.prefix(500).map { "set arrow from \($0), graph 0 to \($0), graph 1 nohead dt 2 lc rgb '#999999'" }
        body += ["set multiplot layout 2,1 title " + PlotFigure.quoted("GRPO training" + (restarts.isEmpty ? "" : " (dashed: periodic restarts of the optimizer and reference)")),
                 "set xlabel 'step (optimizer updates)'", "set lmargin at screen 0.09", "set rmargin at screen 0.74"] + marks
        body += ["set title \"reward components (mean over the update's rollouts)\"", "set ylabel 'reward (mean over rollouts)'", "set key outside right top",
                 "plot " + titles.enumerated().map { k, t in "'\(rewards)' index \(k) using 1:2 with lines lw 2 title \(PlotFigure.quoted(t))" }
                    .joined(separator: ", \\\n     ")]
        body += ["set title 'KL to the reference policy (k3 estimator)'", "set ylabel 'KL (nats per token)'",
                 "plot " + inputs.enumerated().map { k, input in "'\(kl)' index \(k) using 1:2 with lines lw 2 title \(PlotFigure.quoted(input.label))" }
                    .joined(separator: ", \\\n     "),
                 "unset multiplot"]
    }

    func first(_ inputs: [PlotInput]) -> PlotInput { inputs[0] }

    /// Wilson score interval of k successes in n at 95 %.
    static func wilson(_ p: Double, _ n: Int) -> (Double, Double) {
        guard n > 0 else { return (0, 1) }
        let z = 1.959963984540054, nn = Double(n)
        let centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        let half = z / (1 + z * z / nn) * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot()
        return (max(0, centre - half), min(1, centre + half))
    }

    mutating func table(_ input: PlotInput, _ prefix: String) {
        let rows = input.rows.filter { $0["style"] == "all" }.isEmpty ? input.rows : input.rows.filter { $0["style"] == "all" }
        var checkpoints: [String] = [], tasks: [String] = []
        for r in rows {
            if let c = r["checkpoint"], !checkpoints.contains(c) { checkpoints.append(c) }
            if let t = r["task"], !tasks.contains(t) { tasks.append(t) }
        }
        let width = 0.8 / Double(max(1, checkpoints.count))
        let blocks = checkpoints.enumerated().map { ci, c in
            tasks.enumerated().compactMap { ti, t -> [Double]? in
                guard let r = rows.first(where: { $0["checkpoint"] == c && $0["task"] == t }), let acc = Double(r["accuracy"] ?? ""),
                      let n = Int(r["n"] ?? "") else { return nil }
                let (lo, hi) = PlotFigure.wilson(acc, n)
                return [Double(ti) + (Double(ci) - Double(checkpoints.count - 1) / 2) * width, acc, lo, hi, width * 0.9]
            }
        }
        let file = dataFile(prefix, "bars", blocks: blocks, header: "x accuracy wilson_lo wilson_hi width; one block per checkpoint: " + checkpoints.joined(separator: " | "))
        body += ["set title 'accuracy per task (bars: 95 % Wilson intervals)'", "set ylabel 'accuracy (fraction correct)'", "set yrange [0:1.05]",
                 "set xrange [-0.6:\(Double(tasks.count) - 0.4)]", "set grid noxtics",
                 "set xtics (" + tasks.enumerated().map { "\(PlotFigure.quoted($1)) \($0)" }.joined(separator: ", ") + ")",
                 "set style fill solid 0.7 border -1", "set key outside right top", "set errorbars lw 1.5",
                 "plot " + checkpoints.enumerated().map { k, c in "'\(file)' index \(k) using 1:2:3:4:5 with boxerrorbars title \(PlotFigure.quoted(c))" }
                    .joined(separator: ", \\\n     ")]
    }

    mutating func perplexityECDF(_ inputs: [PlotInput], _ prefix: String) {
        var blocks: [[[Double]]] = [], titles: [String] = []
        for input in inputs {
            for source in PerplexitySource.allCases {
                let ppl = input.rows.filter { $0["source"] == source.rawValue }.compactMap { Double($0["ppl"] ?? "") }.filter(\.isFinite).sorted()
                guard !ppl.isEmpty else { continue }
                blocks.append(ppl.enumerated().map { [$1, Double($0 + 1) / Double(ppl.count)] })
                titles.append(inputs.count > 1 ? "\(input.label): \(source.rawValue)" : source.rawValue)
            }
        }
        let file = dataFile(prefix, "ecdf", blocks: blocks, header: "ppl cumulative_fraction; blocks: " + titles.joined(separator: " | "))
        body += ["set title 'perplexity under the base model, by source (empirical CDF)'", "set xlabel 'perplexity under π_0 (log scale)'",
                 "set ylabel 'fraction of responses with PPL ≤ x'", "set logscale x", "set yrange [0:1]", "set key bottom right",
                 "plot " + titles.enumerated().map { k, t in "'\(file)' index \(k) using 1:2 with steps lw 2 title \(PlotFigure.quoted(t))" }
                    .joined(separator: ", \\\n     ")]
    }

    mutating func perplexityHistogram(_ input: PlotInput, _ prefix: String) {
        height = 800
        let names = input.rows.compactMap { $0["distribution"] }.distinctInOrder()
        func block(_ name: String) -> [[Double]] {
            input.rows.filter { $0["distribution"] == name }.compactMap { r in
                guard let lo = Double(r["bin_lo"] ?? ""), let hi = Double(r["bin_hi"] ?? ""), let c = Double(r["count"] ?? "") else { return nil }
                return [(lo + hi) / 2, c, hi - lo]
            }
        }
        let ppl = names.filter { $0.hasPrefix("ppl_") }, gaps = names.filter { !$0.hasPrefix("ppl_") }
        let pplFile = dataFile(prefix, "ppl", blocks: ppl.map(block), header: "bin_centre count bin_width; blocks: " + ppl.joined(separator: " | "))
        let gapFile = dataFile(prefix, "gaps", blocks: gaps.map(block), header: "bin_centre count bin_width; blocks: " + gaps.joined(separator: " | "))
        body += ["set multiplot layout 2,1 title 'Fig. 5: where the base model puts each source'", "set style fill transparent solid 0.35 border",
                 "set key top right", "set ylabel 'count'", "set yrange [0:*]", "set offsets 0, 0, graph 0.1, 0"]
        if !ppl.isEmpty {
            body += ["set title 'PPL under the base model π_0, per source'", "set xlabel 'perplexity under π_0'",
                     "plot " + ppl.enumerated().map { k, n in "'\(pplFile)' index \(k) using 1:2:3 with boxes title \(PlotFigure.quoted(String(n.dropFirst(4))))" }
                        .joined(separator: ", \\\n     ")]
        }
        if !gaps.isEmpty {
            body += ["set title 'gaps per question: g_R (policy rollouts) vs g_GT (ground truth)'",
                     "set xlabel 'gap = PPL − Q1 of base rollouts (perplexity units)'",
                     "plot " + gaps.enumerated().map { k, n in "'\(gapFile)' index \(k) using 1:2:3 with boxes title \(PlotFigure.quoted(n))" }
                        .joined(separator: ", \\\n     ")]
        }
        body += ["unset multiplot"]
    }

    mutating func perplexityGaps(_ input: PlotInput, _ prefix: String) {
        let pts = zip(input.numbers("g_GT"), input.numbers("g_R")).filter { $0.0.isFinite && $0.1.isFinite }.map { [$0.0, $0.1] }
        let file = dataFile(prefix, "gaps", blocks: [pts], header: "g_GT g_R; one row per question")
        let all = pts.flatMap { $0 }
        let lo = all.min() ?? 0, hi = all.max() ?? 1, pad = max(1e-9, (hi - lo) * 0.05)
        body += ["set title 'per question: g_R against g_GT (below the diagonal: rollouts sit closer to the base model)'",
                 "set xlabel 'g_GT = PPL(ground truth) − Q1 PPL(base, plain prompt)'", "set ylabel 'g_R = median PPL(policy) − Q1 PPL(base, reasoning prompt)'",
                 "set xrange [\(lo - pad):\(hi + pad)]", "set yrange [\(lo - pad):\(hi + pad)]", "set size ratio -1", "set key top left",
                 "plot '\(file)' using 1:2 with points pt 7 ps 0.8 title 'question', x with lines dt 2 lc rgb '#666666' title 'g_R = g_GT'"]
    }

    mutating func symmetry(_ input: PlotInput, _ prefix: String) throws {
        height = 450
        var optimizers: [String] = []
        for r in input.rows { if let o = r["optimizer"], !optimizers.contains(o) { optimizers.append(o) } }
        // Pooled slopes from OUT.slopes.csv beside the input when present (the command's fit, one intercept per pair).
        let slopesURL = input.url.deletingPathExtension().appendingPathExtension("slopes.csv")
        let slopes = (try? CSVReader.rows(slopesURL)) ?? []
        body += ["set multiplot layout 1,\(optimizers.count) title 'Theorem 5.2: one step on u probed on v, and back'", "set logscale xy",
                 "set format x '10^{%L}'", "set format y '10^{%L}'", "set termoption enhanced", "set xlabel 'learning rate η'",
                 "set ylabel 'change in log-probability (nats)'", "set key bottom right font ',9'"]
        for (k, o) in optimizers.enumerated() {
            let rows = input.rows.filter { $0["optimizer"] == o }
            func column(_ name: String, _ rs: [[String: String]]) -> [Double] { rs.map { Double($0[name] ?? "") ?? .nan } }
            let eta = column("eta", rows)
            let delta = zip(eta, zip(column("delta_vu", rows), column("delta_uv", rows))).flatMap { [[$0, abs($1.0)], [$0, abs($1.1)]] }
                .filter { $0[1] > 0 && $0[1].isFinite }
            let asym = zip(eta, column("asymmetry", rows)).filter { $0.1 > 0 && $0.1.isFinite }.map { [$0.0, $0.1] }
            var blocks = [delta, asym], lines: [String] = []
            for (quantity, flag, name) in [("delta", "used_in_delta_fit", "|Δ|"), ("asymmetry", "used_in_fit", "asymmetry")] {
                let used = rows.filter { $0[flag] == "1" || $0[flag] == "true" }
                let ys = quantity == "delta" ? used.flatMap { [abs(Double($0["delta_vu"] ?? "") ?? .nan), abs(Double($0["delta_uv"] ?? "") ?? .nan)] }
                    : column("asymmetry", used)
                let xs = quantity == "delta" ? used.flatMap { [Double($0["eta"] ?? "") ?? .nan, Double($0["eta"] ?? "") ?? .nan] } : column("eta", used)
                let fit = zip(xs, ys).filter { $0.0 > 0 && $0.1 > 0 && $0.0.isFinite && $0.1.isFinite }.map { (log($0.0), log($0.1)) }
                guard fit.count >= 2 else { continue }
                let pooled = slopes.first { $0["optimizer"] == o && $0["quantity"] == quantity && $0["scope"] == "pooled" }.flatMap { Double($0["slope"] ?? "") }
                let slope: Double
                if let pooled, pooled.isFinite { slope = pooled } else if fit.count >= 3, let f = try? Statistics.linearFit(x: fit.map(\.0), y: fit.map(\.1)) {
                    slope = f.slope
                } else { continue }
                let mx = fit.map(\.0).reduce(0, +) / Double(fit.count), my = fit.map(\.1).reduce(0, +) / Double(fit.count)
                let lo = fit.map(\.0).min()!, hi = fit.map(\.0).max()!
                blocks.append([lo, hi].map { [exp($0), exp(my + slope * ($0 - mx))] })
                lines.append(String(format: "fit %@: slope %.2f", name, slope))
            }
            let file = dataFile(prefix, "\(o)", blocks: blocks, header: "eta value; blocks: |delta| points, asymmetry points, then fitted lines: " + lines.joined(separator: " | "))
            var clauses = ["'\(file)' index 0 using 1:2 with points pt 6 ps 0.6 lc rgb '#1f77b4' title '|Δ| (both directions)'",
                           "'\(file)' index 1 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' title 'asymmetry a(η)'"]
            for (j, l) in lines.enumerated() {
                clauses.append("'\(file)' index \(2 + j) using 1:2 with lines lw 2.5 lc rgb '\(l.contains("|Δ|") ? "#1f77b4" : "#d62728")' title \(PlotFigure.quoted(l))")
            }
            body += ["set title \(PlotFigure.quoted(o == "sgd" ? "SGD" : o == "adam" ? "Adam (first step from fresh state)" : o))",
                     "plot " + clauses.joined(separator: ", \\\n     ")]
            _ = k
        }
        body += ["unset multiplot"]
    }

    mutating func decompose(_ input: PlotInput, _ prefix: String) {
        height = 450
        let predicted = input.numbers("predicted"), measured = input.numbers("measured"), eta = input.numbers("eta"), residual = input.numbers("residual")
        let scatter = zip(predicted, measured).filter { $0.0.isFinite && $0.1.isFinite }.map { [$0.0, $0.1] }
        let res = zip(eta, residual).filter { $0.0 > 0 && $0.1 != 0 && $0.1.isFinite }.map { [$0.0, abs($0.1)] }
        // The η² guide c·η² passes through the median of |residual|/η² over the points used in the command's fit (all when none).
        var ratios: [Double] = []
        for (k, r) in input.rows.enumerated() where r["used_in_fit"] == "1" || r["used_in_fit"] == "true" {
            if eta[k] > 0 && residual[k] != 0 && residual[k].isFinite { ratios.append(abs(residual[k]) / (eta[k] * eta[k])) }
        }
        if ratios.isEmpty { ratios = res.map { p -> Double in p[1] / (p[0] * p[0]) } }
        ratios.sort()
        let c: Double = ratios.isEmpty ? 1 : ratios[ratios.count / 2]
        let etas: [Double] = res.map { $0[0] }
        var guide: [[Double]] = []
        if let a = etas.min(), let b = etas.max() { guide = [[a, c * a * a], [b, c * b * b]] }
        let all = scatter.flatMap { $0 }, lo = all.min() ?? -1, hi = all.max() ?? 1, pad = max(1e-12, (hi - lo) * 0.05)
        let file = dataFile(prefix, "decompose", blocks: [scatter, res, guide], header: "blocks: predicted measured | eta |residual| | eta² guide")
        body += ["set multiplot layout 1,2 title 'one-step change: η·A·K·G against the real step'",
                 "set title 'predicted vs measured'", "set xlabel 'predicted Δ log π (nats)'", "set ylabel 'measured Δ log π (nats)'",
                 "set xrange [\(lo - pad):\(hi + pad)]", "set yrange [\(lo - pad):\(hi + pad)]", "set key top left",
                 "plot '\(file)' index 0 using 1:2 with points pt 7 ps 0.6 title 'pair × η', x with lines dt 2 lc rgb '#666666' title 'measured = predicted'",
                 "set autoscale", "set logscale xy", "set termoption enhanced", "set format x '10^{%L}'", "set format y '10^{%L}'",
                 "set title '|residual| against η'", "set xlabel 'learning rate η'", "set ylabel '|measured − predicted| (nats)'", "set key top left",
                 "plot '\(file)' index 1 using 1:2 with points pt 7 ps 0.6 title '|residual|', '\(file)' index 2 using 1:2 with lines dt 2 lw 2 lc rgb '#d62728' title 'η² guide'",
                 "unset multiplot"]
    }

    /// A square or rectangular matrix heatmap with rows and columns ordered by task, white lines at task boundaries.
    mutating func heatmap(_ prefix: String, values: [[Double]], rowTasks: [String], columnTasks: [String], title: String, xlabel: String,
                          ylabel: String, cblabel: String) {
        height = 700
        let file = dataFile(prefix, "matrix", blocks: [values.map { $0 }], header: "matrix rows (y) × columns (x), ordered by task")
        func ticsAndLines(_ tasks: [String], axis: String) -> [String] {
            var starts: [(String, Int)] = []
            for (k, t) in tasks.enumerated() where starts.last?.0 != t { starts.append((t, k)) }
            let tics = starts.enumerated().map { j, s in
                let end = j + 1 < starts.count ? starts[j + 1].1 : tasks.count
                return "\(PlotFigure.quoted(s.0)) \(Double(s.1 + end - 1) / 2)"
            }
            let lines = starts.dropFirst().map { s -> String in
                let p = Double(s.1) - 0.5
                return axis == "x" ? "set arrow from \(p), graph 0 to \(p), graph 1 nohead front lc rgb 'black' lw 1.5"
                    : "set arrow from graph 0, first \(p) to graph 1, first \(p) nohead front lc rgb 'black' lw 1.5"
            }
            return ["set \(axis)tics (" + tics.joined(separator: ", ") + ") rotate by 0"] + lines
        }
        let finite = values.flatMap { $0 }.filter(\.isFinite)
        let negative = (finite.min() ?? 0) < 0
        let bound = finite.map(abs).max() ?? 1
        body += ["set title \(PlotFigure.quoted(title))", "set xlabel \(PlotFigure.quoted(xlabel))", "set ylabel \(PlotFigure.quoted(ylabel))",
                 "set cblabel \(PlotFigure.quoted(cblabel))", "unset grid", "set size ratio -1",
                 "set xrange [-0.5:\(Double(columnTasks.count) - 0.5)]", "set yrange [\(Double(rowTasks.count) - 0.5):-0.5]",
                 negative ? "set palette defined (-1 '#2166ac', 0 'white', 1 '#b2182b')" : "set palette rgb 33,13,10",
                 negative ? "set cbrange [\(-bound):\(bound)]" : "set autoscale cb"]
            + ticsAndLines(columnTasks, axis: "x") + ticsAndLines(rowTasks, axis: "y")
            + ["plot '\(file)' matrix with image notitle"]
    }

    mutating func kernel(_ input: PlotInput, _ prefix: String) {
        var task: [Int: String] = [:], entries: [(Int, Int, Double)] = []
        for r in input.rows {
            guard let i = Int(r["i"] ?? ""), let j = Int(r["j"] ?? ""), let t = Double(r["trace"] ?? "") else { continue }
            task[i] = r["task_i"] ?? ""
            task[j] = r["task_j"] ?? ""
            entries.append((i, j, t))
        }
        let ids = task.keys.sorted()
        let order = ids.sorted { (task[$0]!, $0) < (task[$1]!, $1) }
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        var m = [[Double]](repeating: [Double](repeating: .nan, count: order.count), count: order.count)
        for (i, j, t) in entries {
            guard let a = position[i], let b = position[j] else { continue }
            m[a][b] = t
            m[b][a] = t
        }
        heatmap(prefix, values: m, rowTasks: order.map { task[$0]! }, columnTasks: order.map { task[$0]! },
                title: "trace eNTK Θ_ij = tr K(x_i, x_j) over the probe set", xlabel: "probe j (ordered by task)", ylabel: "probe i (ordered by task)",
                cblabel: "tr K = Σ_o ⟨∇θ z_o(x_i), ∇θ z_o(x_j)⟩ (logit²)")
    }

    mutating func influence(_ input: PlotInput, _ prefix: String) {
        var probeTask: [String: String] = [:], trainTask: [String: String] = [:], probes: [String] = [], trains: [String] = []
        var value: [String: Double] = [:]
        for r in input.rows {
            guard let p = r["probe"], let t = r["train"], let v = Double(r["influence"] ?? "") else { continue }
            if probeTask[p] == nil { probes.append(p) }
            if trainTask[t] == nil { trains.append(t) }
            probeTask[p] = r["probe_task"] ?? ""
            trainTask[t] = r["train_task"] ?? ""
            value[p + "\u{1}" + t] = v
        }
        let pOrder = probes.enumerated().sorted { (probeTask[$0.1]!, $0.0) < (probeTask[$1.1]!, $1.0) }.map(\.1)
        let tOrder = trains.enumerated().sorted { (trainTask[$0.1]!, $0.0) < (trainTask[$1.1]!, $1.0) }.map(\.1)
        let m = pOrder.map { p in tOrder.map { t in value[p + "\u{1}" + t] ?? .nan } }
        heatmap(prefix, values: m, rowTasks: pOrder.map { probeTask[$0]! }, columnTasks: tOrder.map { trainTask[$0]! },
                title: "influence I_ij: first-order change of probe i's log-probability after a step on training example j",
                xlabel: "training example j (ordered by task)", ylabel: "probe i (ordered by task)", cblabel: "I_ij (nats)")
    }

    mutating func drift(_ inputs: [PlotInput], _ prefix: String) {
        var blocks: [[[Double]]] = [], titles: [String] = []
        for input in inputs {
            for c in input.rows.compactMap({ $0["checkpoint"] }).distinctInOrder() {
                let rows = input.rows.filter { $0["checkpoint"] == c }
                blocks.append(PlotFigure.points(rows.map { (Double($0["index"] ?? "") ?? .nan) + 1 }, rows.map { Double($0["eigenvalue"] ?? "") ?? .nan })
                    .filter { $0[1] > 0 })
                titles.append(inputs.count > 1 ? "\(input.label): \(c)" : c)
            }
        }
        let file = dataFile(prefix, "spectrum", blocks: blocks, header: "rank eigenvalue; blocks: " + titles.joined(separator: " | "))
        body += ["set title 'spectrum of the trace kernel Θ per checkpoint'", "set xlabel 'eigenvalue rank (1 = largest)'",
                 "set ylabel 'eigenvalue of Θ (log scale)'", "set logscale y", "set key top right",
                 "plot " + titles.enumerated().map { k, t in "'\(file)' index \(k) using 1:2 with linespoints lw 2 pt 7 ps 0.6 title \(PlotFigure.quoted(t))" }
                    .joined(separator: ", \\\n     ")]
    }
}

extension PlotFigure {
    /// One panel per task (the prior tasks, then their mean): change from step 0 against the novel task's accuracy,
    /// a line per run through its evaluations in step order, zero drawn.
    mutating func forgettingCurve(_ input: PlotInput, _ prefix: String) {
        let runs = input.rows.compactMap { $0["run"] }.distinctInOrder(), tasks = input.rows.compactMap { $0["task"] }.distinctInOrder()
        var blocks: [[[Double]]] = [], titles: [String] = []
        for task in tasks {
            for run in runs {
                let rows = input.rows.filter { $0["task"] == task && $0["run"] == run }
                    .sorted { (Int($0["step"] ?? "") ?? 0) < (Int($1["step"] ?? "") ?? 0) }
                blocks.append(rows.map { [Double($0["novel_accuracy"] ?? "") ?? .nan, Double($0["change"] ?? "") ?? .nan, Double($0["step"] ?? "") ?? .nan] })
                titles.append("\(task): \(run)")
            }
        }
        let file = dataFile(prefix, "curve", blocks: blocks, header: "novel_accuracy change step; blocks in step order: " + titles.joined(separator: " | "))
        let columns = min(3, tasks.count), rowsOfPanels = (tasks.count + columns - 1) / columns
        width = 420 * columns
        height = 340 * rowsOfPanels + 40
        let changes = input.numbers("change").filter(\.isFinite), xs = input.numbers("novel_accuracy").filter(\.isFinite)
        let low = min(-0.05, (changes.min() ?? 0) - 0.05), high = max(0.05, (changes.max() ?? 0) + 0.05)
        body += ["set multiplot layout \(rowsOfPanels),\(columns) title " + PlotFigure.quoted("forgetting against learning: each evaluation of each run, in step order"),
                 "set xlabel " + PlotFigure.quoted("novel-task accuracy"), "set ylabel 'change from step 0'",
                 "set xrange [0:\(max(0.1, (xs.max() ?? 0) + 0.05))]", "set yrange [\(low):\(high)]", "set key bottom left"]
        for (k, task) in tasks.enumerated() {
            body += ["set title " + PlotFigure.quoted(task == "mean" ? "mean over the prior tasks" : task),
                     "plot " + runs.enumerated().map { r, run in
                         "'\(file)' index \(k * runs.count + r) using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc \(r + 1) title \(PlotFigure.quoted(k == 0 ? run : ""))"
                     }.joined(separator: ", \\\n     ") + ", \\\n     0 with lines lc rgb '#999999' dt 2 notitle"]
        }
        body.append("unset multiplot")
    }
}
