import Foundation

/// `analyze report`: the demo's figures and `report.md` from a demo output folder laid out as `scripts/demo.sh` and
/// `scripts/demo-report.sh` write it. Every figure is drawn through `PlotFigure` and `Gnuplot` into `DIR/figures/`;
/// every number in the text is read (or computed) from the run's CSVs, never typed in.
///
/// Inputs (relative to the demo folder):
/// - required: `summary.csv` (`table`); `sft-gt/` and `grpo/` run folders with `metrics.csv`, `probes.csv`, `eval.csv`;
///   `perplexity/ppl.csv` and its `.gaps.csv`, `.summary.csv`, `.histogram.csv`, `.test.csv` (`perplexity` of GRPO
///   against the base); `symmetry/symmetry.csv` and `.slopes.csv` (`symmetry` on the base);
///   `influence/gt.csv` and `influence/rollouts.csv` with their `.tasks.csv` (`influence` on the base of jigsaw
///   ground truth and of GRPO's rollouts on prior-task probes; the rollouts' may be absent, see below).
/// - optional: `sft-rollouts/` (a third run overlaid everywhere), `grpo-no-restart/metrics.csv` (overlaid on Fig. 6),
///   `influence/rollouts.csv` (absent when no GRPO rollout ended),
///   `base/metrics.csv` (the base's pretraining steps in the table), jigsaw rows in every run's `eval.csv` (the forgetting
///   curve, `ForgettingCurve`: forgetting against learning, and SFT-GT at each other run's jigsaw accuracy). A missing
///   optional input is a sentence in the report.
public struct DemoReport {
    /// The demo output folder.
    public let run: URL
    /// The Markdown file written (default `DIR/report.md`).
    public let out: URL
    /// Where the figures go: `DIR/figures/`.
    public var figures: URL { run.appendingPathComponent("figures") }

    public init(run: URL, out: URL? = nil) {
        self.run = run.standardizedFileURL
        self.out = (out ?? run.appendingPathComponent("report.md")).standardizedFileURL
    }

    /// What `write` produced.
    public struct Result: Sendable {
        public let report: URL
        /// The PNG of every figure, in the report's order.
        public let figures: [URL]
        /// One sentence per optional input that was not there.
        public let skipped: [String]
        /// The Fig. 5 verdict in one line (p-value, median gap difference and its interval).
        public let verdict: String
        public let markdown: String
    }

    /// Files the report needs, by path relative to the demo folder, with the command that makes each.
    public static let required: [(path: String, madeBy: String)] = [
        ("summary.csv", "`analyze table` (scripts/demo.sh)"),
        ("sft-gt/metrics.csv", "`analyze train sft` (scripts/demo.sh)"),
        ("sft-gt/probes.csv", "`analyze train sft --probe …` (scripts/demo.sh)"),
        ("sft-gt/eval.csv", "`analyze train sft --eval-data …` (scripts/demo.sh)"),
        ("grpo/metrics.csv", "`analyze train grpo` (scripts/demo.sh)"),
        ("grpo/probes.csv", "`analyze train grpo --probe …` (scripts/demo.sh)"),
        ("grpo/eval.csv", "`analyze train grpo --eval-data …` (scripts/demo.sh)"),
        ("perplexity/ppl.csv", "`analyze perplexity` (scripts/demo-report.sh)"),
        ("perplexity/ppl.gaps.csv", "`analyze perplexity` (scripts/demo-report.sh)"),
        ("perplexity/ppl.summary.csv", "`analyze perplexity` (scripts/demo-report.sh)"),
        ("perplexity/ppl.histogram.csv", "`analyze perplexity` (scripts/demo-report.sh)"),
        ("perplexity/ppl.test.csv", "`analyze perplexity` (scripts/demo-report.sh)"),
        ("symmetry/symmetry.csv", "`analyze symmetry` (scripts/demo-report.sh)"),
        ("symmetry/symmetry.slopes.csv", "`analyze symmetry` (scripts/demo-report.sh)"),
        ("influence/gt.csv", "`analyze influence --train <jigsaw ground truth>` (scripts/demo-report.sh)"),
        ("influence/gt.tasks.csv", "`analyze influence --train <jigsaw ground truth>` (scripts/demo-report.sh)"),
    ]

    func url(_ relative: String) -> URL { run.appendingPathComponent(relative) }
    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: url(relative).path) }

    /// Draws every figure into `DIR/figures/` and writes the report. Without `force`, an existing report or figure
    /// file is an error before anything is written; a missing required input is an error naming every missing file.
    @discardableResult
    public func write(force: Bool = false) throws -> Result {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw DemoReportError.notAFolder(path: run.path)
        }
                let missing = Self.required.filter { !exists($0.path) }
        if !missing.isEmpty {
            throw DemoReportError.missingInputs(missing.map { (url($0.path).path, $0.madeBy) })
        }
        guard Gnuplot.executable() != nil else { throw PlotError.gnuplotMissing }
        var skipped: [String] = []
        var runs = ["sft-gt", "grpo"]
        if exists("sft-rollouts") {
            for f in ["metrics.csv", "probes.csv", "eval.csv"] where !exists("sft-rollouts/\(f)") {
                throw DemoReportError.missingInputs([(url("sft-rollouts/\(f)").path, "`analyze train sft` on GRPO's correct rollouts (scripts/demo.sh)")])
            }
            runs.append("sft-rollouts")
        } else {
            skipped.append("There is no `sft-rollouts` run in this folder (GRPO wrote no correct rollout), so SFT on rollouts is absent from every figure.")
        }
        let rolloutInfluence = exists("influence/rollouts.csv")
        if rolloutInfluence {
            if !exists("influence/rollouts.tasks.csv") {
                throw DemoReportError.missingInputs([(url("influence/rollouts.tasks.csv").path, "`analyze influence --train <GRPO rollouts>` (scripts/demo-report.sh)")])
            }
        } else {
            skipped.append("There is no `influence/rollouts.csv` (no GRPO rollout ended within max_seq_len), so the influence section shows the ground truth alone.")
        }
        let noRestart = exists("grpo-no-restart/metrics.csv")
        if !noRestart {
            skipped.append("There is no `grpo-no-restart` run (GRPO with `--restart-every 0`), so Fig. 6 shows the run with restarts alone.")
        }

        // Tables.
        let summary = try CSVReader.table(url("summary.csv"), requiring: ["checkpoint", "task", "style", "n", "accuracy"]).rows
        let metrics = try Dictionary(uniqueKeysWithValues: runs.map { ($0, try CSVReader.table(url("\($0)/metrics.csv"), requiring: ["step"]).rows) })
        let probes = try Dictionary(uniqueKeysWithValues: runs.map {
            ($0, try CSVReader.table(url("\($0)/probes.csv"), requiring: PlotKind.probes.requiredColumns).rows)
        })
        let evals = try Dictionary(uniqueKeysWithValues: runs.map { ($0, try CSVReader.table(url("\($0)/eval.csv"), requiring: PlotKind.eval.requiredColumns).rows) })
        let grpo = try CSVReader.table(url("grpo/metrics.csv"), requiring: PlotKind.grpo.requiredColumns).rows
        let grpoNR = noRestart ? try CSVReader.table(url("grpo-no-restart/metrics.csv"), requiring: PlotKind.grpo.requiredColumns).rows : nil
        let pplSummary = try CSVReader.table(url("perplexity/ppl.summary.csv"), requiring: ["distribution", "n", "q25", "q50", "q75"]).rows
        let pplTest = try CSVReader.table(url("perplexity/ppl.test.csv"), requiring: ["quantity", "value"]).rows
        let slopes = try CSVReader.table(url("symmetry/symmetry.slopes.csv"), requiring: ["optimizer", "quantity", "scope", "slope", "slope_se", "n_points"]).rows
        let symmetry = try CSVReader.table(url("symmetry/symmetry.csv"), requiring: PlotKind.symmetry.requiredColumns).rows
        let influenceSets = rolloutInfluence ? ["gt", "rollouts"] : ["gt"]
        let influence = try influenceSets.map { try CSVReader.table(url("influence/\($0).csv"), requiring: PlotKind.influence.requiredColumns).rows }
        let influenceTasks = try influenceSets.map {
            try CSVReader.table(url("influence/\($0).tasks.csv"), requiring: ["probe_task", "train_task", "n", "mean", "sd"]).rows
        }

        // Forgetting against learning, from the runs' periodic evaluations when they include the jigsaw test set.
        // GRPO without restart joins the curve when its evaluations include jigsaw too.
        // A file that is there but unreadable is an error, like every input's; evaluations without jigsaw only skip.
        var curveRuns = runs.map { ($0, evals[$0] ?? []) }
        if exists("grpo-no-restart/eval.csv") {
            let rows = try CSVReader.table(url("grpo-no-restart/eval.csv"), requiring: PlotKind.eval.requiredColumns).rows
            if rows.contains(where: { $0["task"] == "jigsaw" }) { curveRuns.append(("grpo-no-restart", rows)) }
        }
        var curve: ForgettingCurve?
        do {
            curve = try ForgettingCurve(runs: curveRuns, novelTask: "jigsaw")
        } catch {
            skipped.append("There is no forgetting curve (\(error)); scripts/demo.sh gives the runs the jigsaw test set as a second `--eval-data`.")
        }

        // The influence figure draws both training sets side by side: one CSV with the train task renamed.
        var combined = CSVTable(header: PlotKind.influence.requiredColumns)
        for (k, rows) in influence.enumerated() {
            for r in rows {
                combined.append([.string(r["probe"]!), .string(r["probe_task"]!), .string((k == 0 ? "gt:" : "rollout:") + r["train"]!),
                                 .string(k == 0 ? "jigsaw GT" : "jigsaw rollouts"), .string(r["influence"]!)])
            }
        }

        // Figures: name, inputs, kind, the section they belong to.
        var planned: [(name: String, inputs: [PlotInput], kind: PlotKind)] = []
        planned.append(("table", [try PlotInput(url: url("summary.csv"))], .table))
        planned.append(("probes", try runs.map { try PlotInput(url: url("\($0)/probes.csv")) }, .probes))
        planned.append(("eval", try runs.map { try PlotInput(url: url("\($0)/eval.csv")) }, .eval))
        let sftRuns = runs.filter { $0 != "grpo" && metrics[$0]?.first?["loss"] != nil && metrics[$0]?.first?["lr"] != nil }
        planned.append(("sft-loss", try sftRuns.map { try PlotInput(url: url("\($0)/metrics.csv")) }, .metrics))
        planned.append(("perplexity-histogram", [try PlotInput(url: url("perplexity/ppl.histogram.csv"))], .perplexityHistogram))
        planned.append(("perplexity-ecdf", [try PlotInput(url: url("perplexity/ppl.csv"), label: "grpo")], .perplexity))
        planned.append(("perplexity-gaps", [try PlotInput(url: url("perplexity/ppl.gaps.csv"))], .perplexityGaps))
        planned.append(("grpo", [try PlotInput(url: url("grpo/metrics.csv"))] + (noRestart ? [try PlotInput(url: url("grpo-no-restart/metrics.csv"))] : []), .grpo))
        planned.append(("symmetry", [try PlotInput(url: url("symmetry/symmetry.csv"))], .symmetry))
        var made: [(name: String, figure: PlotFigure)] = []
        for p in planned { made.append((p.name, try PlotFigure.make(p.inputs, kind: p.kind, prefix: p.name))) }

        // Nothing is overwritten without force: check every file before writing any.
        let combinedURL = figures.appendingPathComponent("influence.csv")
        var outputs = [out, combinedURL]
        for (name, f) in made { outputs += [name + ".png", name + ".svg", name + ".gp"].map(figures.appendingPathComponent) + f.data.map { figures.appendingPathComponent($0.name) } }
        outputs += ["influence.png", "influence.svg", "influence.gp"].map(figures.appendingPathComponent)
        let curveURL = figures.appendingPathComponent("forgetting-curve.csv")
        if curve != nil {
            outputs += ["forgetting-curve.csv", "forgetting-curve.png", "forgetting-curve.svg", "forgetting-curve.gp", "forgetting-curve.curve.dat"]
                .map(figures.appendingPathComponent)
        }
        if !force, let existing = outputs.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { throw FileError.exists(path: existing.path) }

        try FileManager.default.createDirectory(at: figures, withIntermediateDirectories: true)
        try combined.write(to: combinedURL)
        made.append(("influence", try PlotFigure.make([try PlotInput(url: combinedURL)], kind: .influence, prefix: "influence")))
        if let curve {
            try curve.table.write(to: curveURL)
            made.append(("forgetting-curve", try PlotFigure.make([try PlotInput(url: curveURL)], kind: .forgettingCurve, prefix: "forgetting-curve")))
        }
        var pngs: [String: URL] = [:]
        for (name, f) in made {
            try Gnuplot.render(f, prefix: figures.appendingPathComponent(name))
            pngs[name] = figures.appendingPathComponent(name + ".png")
        }

        // The text.
        let text = ReportText(report: self, runs: runs, summary: summary, metrics: metrics, probes: probes, evals: evals, grpo: grpo, grpoNoRestart: grpoNR,
                              pplSummary: pplSummary, pplTest: pplTest, slopes: slopes, symmetry: symmetry, influence: influence,
                              influenceTasks: influenceTasks, curve: curve, skipped: skipped)
        let markdown = try text.markdown(figure: { name in RelativePath.from(out.deletingLastPathComponent(), to: pngs[name]!) })
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(Data(markdown.utf8), to: out)
        let order = ["table", "forgetting-curve", "probes", "eval", "sft-loss", "perplexity-histogram", "perplexity-ecdf", "perplexity-gaps", "grpo", "symmetry", "influence"]
        return Result(report: out, figures: order.compactMap { pngs[$0] }, skipped: skipped, verdict: text.verdictLine, markdown: markdown)
    }
}

/// A report that cannot be made.
public enum DemoReportError: Error, CustomStringConvertible {
    case missingInputs([(path: String, madeBy: String)])
    case malformed(path: String, reason: String)
    case notAFolder(path: String)

    public var description: String {
        switch self {
        case let .missingInputs(files):
            "missing required input\(files.count == 1 ? "" : "s") of the report: " + files.map { "\($0.path) (written by \($0.madeBy))" }.joined(separator: "; ")
                + ". Run scripts/demo.sh, then scripts/demo-report.sh DIR for the perplexity, symmetry and influence inputs."
        case let .malformed(path, reason): "\(path): \(reason)"
        case let .notAFolder(path): "\(path) is not a folder: give --run the demo output folder (e.g. out/demo)"
        }
    }
}

/// Number formats used in the text (the CLI test quotes them to find a CSV's value in the report).
public enum ReportFormat {
    /// Three significant digits: p-values, perplexities, slopes, influences.
    public static func g3(_ x: Double) -> String { x.isNaN ? "n/a" : String(format: "%.3g", x) }
    /// A fraction as a percentage with one decimal: accuracies.
    public static func percent(_ x: Double) -> String { x.isNaN ? "n/a" : String(format: "%.1f", 100 * x) }
    /// A change of a fraction in percentage points with its sign: "+3.0", "−12.5".
    public static func points(_ x: Double) -> String { x.isNaN ? "n/a" : (x >= 0 ? "+" : "−") + String(format: "%.1f", abs(100 * x)) }
    /// Two decimals: slopes and their errors.
    public static func f2(_ x: Double) -> String { x.isNaN ? "n/a" : String(format: "%.2f", x) }
}

/// The Markdown of the report from the tables read.
struct ReportText {
    let report: DemoReport
    let runs: [String]
    let summary: [[String: String]]
    let metrics: [String: [[String: String]]]
    let probes: [String: [[String: String]]]
    let evals: [String: [[String: String]]]
    let grpo: [[String: String]]
    let grpoNoRestart: [[String: String]]?
    let pplSummary: [[String: String]]
    let pplTest: [[String: String]]
    let slopes: [[String: String]]
    let symmetry: [[String: String]]
    let influence: [[[String: String]]]
    let influenceTasks: [[[String: String]]]
    let curve: ForgettingCurve?
    let skipped: [String]

    typealias F = ReportFormat

    func number(_ row: [String: String]?, _ column: String) -> Double { row.flatMap { Double($0[column] ?? "") } ?? .nan }
    func unique(_ rows: [[String: String]], _ column: String) -> [String] { rows.compactMap { $0[column] }.distinctInOrder() }
    func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
    func test(_ quantity: String) -> String? { pplTest.first { $0["quantity"] == quantity }?["value"] }
    func testNumber(_ quantity: String) -> Double { test(quantity).flatMap(Double.init) ?? .nan }
    /// Steps of a run: the last step of its metrics.csv.
    func steps(_ name: String) -> Int? {
        let rows = metrics[name] ?? (try? CSVReader.rows(report.url("\(name)/metrics.csv"))) ?? []
        return rows.last.flatMap { Int($0["step"] ?? "") }
    }

    var verdictLine: String {
        let p = testNumber("wilcoxon_p_one_sided")
        return "Fig. 5: Wilcoxon signed-rank g_R < g_GT: n = \(test("wilcoxon_n_nonzero") ?? "?"), p = \(F.g3(p)) (\(test("wilcoxon_method") ?? "?")) → "
            + (p < 0.05 ? "supported at 5 %" : "not supported at 5 %") + "; median(g_GT − g_R) = \(F.g3(testNumber("median_g_GT_minus_g_R"))), "
            + "95 % bootstrap CI [\(F.g3(testNumber("bootstrap_ci95_lower"))), \(F.g3(testNumber("bootstrap_ci95_upper")))]"
    }

    func markdown(figure: (String) -> String) throws -> String {
        var md: [String] = []
        let folder = report.run.lastPathComponent
        md.append("# Demo report: `\(folder)`")
        md.append("")
        md.append("The paper's comparison at toy scale — SFT on jigsaw ground truth (`sft-gt`), GRPO (`grpo`)"
                  + (runs.contains("sft-rollouts") ? " and SFT on GRPO's correct rollouts (`sft-rollouts`)" : "")
                  + ", all from the same pretrained base — with the figures of the paper redrawn from this run's files. Written by "
                  + "`analyze report --run \(folder)`; every number below is read from the CSVs named in each section, "
                  + "and each figure's gnuplot script and data sit beside its PNG in `figures/`.")
        md.append("")
        if !skipped.isEmpty {
            md += skipped.map { "- " + $0 }
            md.append("")
        }
        md += try table(figure)
        md += matched(figure)
        md += fig3(figure)
        md += fig5(figure)
        md += fig6(figure)
        md += theorem(figure)
        md += influenceSection(figure)
        md.append("## Figures")
        md.append("")
        for name in ["table"] + (curve == nil ? [] : ["forgetting-curve"])
                    + ["probes", "eval", "sft-loss", "perplexity-histogram", "perplexity-ecdf", "perplexity-gaps", "grpo", "symmetry", "influence"] {
            let png = figure(name)
            md.append("- `\(png)` (also `.svg`, and `.gp` to re-render)")
        }
        md.append("")
        return md.joined(separator: "\n")
    }

    // MARK: Table 1

    func table(_ figure: (String) -> String) throws -> [String] {
        let all = summary.filter { $0["style"] == "all" }
        let rows = all.isEmpty ? summary : all
        let checkpoints = unique(rows, "checkpoint"), tasks = unique(rows, "task")
        guard let base = checkpoints.first else {
            throw DemoReportError.malformed(path: report.url("summary.csv").path, reason: "no rows")
        }
        func entry(_ c: String, _ t: String) -> [String: String]? { rows.first { $0["checkpoint"] == c && $0["task"] == t } }
        func interval(_ r: [String: String]) -> (Double, Double) {
            let lo = number(r, "ci_low"), hi = number(r, "ci_high")
            if lo.isFinite && hi.isFinite { return (lo, hi) }
            let n = Int(r["n"] ?? "") ?? 0, acc = number(r, "accuracy")
            let w = Statistics.wilsonInterval(successes: Int((acc * Double(n)).rounded()), n: n)
            return (w.low, w.high)
        }
        func change(_ r: [String: String]) -> Double {
            let c = number(r, "change")
            if c.isFinite { return c }
            return number(r, "accuracy") - number(entry(base, r["task"] ?? ""), "accuracy")
        }
        var md = ["## 1. The forgetting table (Table 1)", "",
                  "Accuracy in percent per task (greedy decoding; `summary.csv` from `analyze table`, the evaluations in `eval/`), "
                    + "the change from `\(base)` in points, and below it the Wilson 95 % interval and the number of examples.", "",
                  "| task | " + checkpoints.map { "`\($0)`" }.joined(separator: " | ") + " |",
                  "|---|" + checkpoints.map { _ in "---:|" }.joined()]
        for t in tasks {
            var cells: [String] = []
            for c in checkpoints {
                guard let r = entry(c, t) else { cells.append("—"); continue }
                let (lo, hi) = interval(r)
                cells.append(F.percent(number(r, "accuracy")) + (c == base ? "" : " (\(F.points(change(r))))")
                             + "<br>[\(F.percent(lo)), \(F.percent(hi))] n=\(r["n"] ?? "?")")
            }
            md.append("| \(t) | " + cells.joined(separator: " | ") + " |")
        }
        md.append("| steps | " + checkpoints.map { c in
            let s = summary.first { $0["checkpoint"] == c }?["steps"].flatMap(Int.init) ?? steps(c)
            return s.map(String.init) ?? "—"
        }.joined(separator: " | ") + " |")
        md += ["", "![Table 1: accuracy per task and checkpoint with Wilson intervals](\(figure("table")))", ""]

        // The paragraph: what each fine-tuned checkpoint gained on jigsaw and lost on the prior tasks.
        let newTasks = tasks.filter { $0.contains("jigsaw") }, prior = tasks.filter { !$0.contains("jigsaw") }
        var sentences: [String] = []
        for c in checkpoints.dropFirst() {
            var s = "`\(c)`"
            if let t = newTasks.first, let r = entry(c, t), let b = entry(base, t) {
                s += " reaches \(F.percent(number(r, "accuracy"))) % on \(t) (\(F.points(change(r))) points from the base's \(F.percent(number(b, "accuracy"))) %)"
            }
            let changes = prior.compactMap { t in entry(c, t).map { (t, change($0), $0) } }
            if !changes.isEmpty {
                let worst = changes.min { $0.1 < $1.1 }!
                let below = changes.filter { t, _, r in
                    guard let b = entry(base, t) else { return false }
                    return interval(r).1 < interval(b).0
                }.map(\.0)
                s += (s.contains("reaches") ? " and" : "") + " changes the \(changes.count) prior tasks by \(F.points(mean(changes.map(\.1)))) points on average"
                    + " (most: \(worst.0) \(F.points(worst.1)))"
                s += below.isEmpty ? "; no prior task falls so far that its interval lies below the base's"
                    : "; on \(below.joined(separator: ", ")) its whole interval lies below the base's"
            }
            sentences.append(s + ".")
        }
        md.append("The bars are the table's accuracies with their Wilson 95 % intervals, one colour per checkpoint. "
                  + sentences.joined(separator: " ") + " Changes whose intervals overlap the base's are within sampling noise at this n.")
        md.append("")
        return md
    }

    // MARK: Forgetting at matched learning

    /// Each run that learned more slowly than SFT-GT, at its last evaluation, beside SFT-GT's evaluation with the nearest
    /// jigsaw accuracy: what each had lost by the time it knew the puzzle equally well.
    func matched(_ figure: (String) -> String) -> [String] {
        guard let curve, curve.runs.contains("sft-gt") else { return [] }
        let tasks = curve.priorTasks
        var md = ["### Forgetting at the same jigsaw accuracy", "",
                  "![Forgetting against learning: each evaluation of each run](\(figure("forgetting-curve")))", "",
                  "Each point is one periodic evaluation of a run (`eval.csv`, on the prior tasks' and the jigsaw test sets; "
                    + "`figures/forgetting-curve.csv`): the jigsaw accuracy it had reached against each prior task's change from the base, "
                    + "in points. The runs learn at different speeds, so the fair comparison is at the same jigsaw accuracy: below, each run's "
                    + "last evaluation beside the evaluation of `sft-gt` whose jigsaw accuracy is nearest.", "",
                  "| run | step | jigsaw | " + tasks.joined(separator: " | ") + " | mean |",
                  "|---|---:|---:|" + tasks.map { _ in "---:|" }.joined() + "---:|"]
        func row(_ label: String, _ p: ForgettingCurve.Point) -> String {
            "| \(label) | \(p.step) | \(F.percent(p.novelAccuracy)) | " + p.changes.map(F.points).joined(separator: " | ") + " | \(F.points(p.meanChange)) |"
        }
        var sentences: [String] = []
        for (p, q) in curve.matched(to: "sft-gt") {
            let run = p.run
            md.append(row("`\(run)`", p))
            md.append(row("`sft-gt` at the nearest jigsaw accuracy", q))
            let less = zip(p.changes, q.changes).filter { $0.0 > $0.1 }.count
            sentences.append("`\(run)` at \(F.percent(p.novelAccuracy)) % jigsaw has changed the prior tasks by \(F.points(p.meanChange)) points on average "
                             + "(worst \(F.points(p.worstChange))); `sft-gt` at \(F.percent(q.novelAccuracy)) % (step \(q.step)) by \(F.points(q.meanChange)) "
                             + "(worst \(F.points(q.worstChange))): `\(run)` lost less on \(less) of the \(tasks.count) prior tasks.")
        }
        md += ["", sentences.joined(separator: " ") + " The evaluation sets are the runs' `--eval-data` (the first `--eval-limit` examples of each), "
               + "so these numbers equal the table's only where those are the whole test sets.", ""]
        return md
    }

    // MARK: Fig. 3

    func fig3(_ figure: (String) -> String) -> [String] {
        var md = ["## 2. Prior knowledge during fine-tuning (Fig. 3)", "",
                  "![Fig. 3 analogue: probe-set perplexities during fine-tuning](\(figure("probes")))", ""]
        var parts: [String] = []
        for run in runs {
            let rows = probes[run] ?? []
            let names = unique(rows, "probe")
            let pieces = names.compactMap { p -> String? in
                let series = rows.filter { $0["probe"] == p }
                guard let first = series.first, let last = series.last else { return nil }
                let a = number(first, "mean_ppl"), b = number(last, "mean_ppl")
                return "\(p) \(F.g3(a)) → \(F.g3(b)) (×\(F.g3(b / a)))"
            }
            let last = rows.last.flatMap { $0["step"] } ?? "?"
            parts.append("`\(run)` (to step \(last)): " + pieces.joined(separator: ", "))
        }
        md.append("Mean perplexity of each probe set under the model being fine-tuned, on a log scale, for every run (`probes.csv` in each "
                  + "run folder); step 0 is the base model. The jigsaw probe is the puzzles' ground-truth answers, the others hold prior-task "
                  + "responses, so a rise there is forgetting in the making. From the first to the last logged step: " + parts.joined(separator: "; ") + ".")
        md += ["", "![Fig. 3 analogue: prior-task accuracy during fine-tuning](\(figure("eval")))", ""]
        var evalParts: [String] = []
        for run in runs {
            let rows = (evals[run] ?? []).filter { $0["style"] == "all" }
            let steps = unique(rows, "step")
            guard let s0 = steps.first, let s1 = steps.last else { continue }
            let tasks = unique(rows, "task").filter { !$0.contains("jigsaw") }
            func acc(_ step: String, _ task: String) -> Double { number(rows.first { $0["step"] == step && $0["task"] == task }, "accuracy") }
            let a = mean(tasks.map { acc(s0, $0) }), b = mean(tasks.map { acc(s1, $0) })
            let drops = tasks.map { ($0, acc(s1, $0) - acc(s0, $0)) }.filter { $0.1.isFinite }
            var s = "`\(run)` \(F.percent(a)) % → \(F.percent(b)) % (step \(s0) → \(s1))"
            if let worst = drops.min(by: { $0.1 < $1.1 }) { s += ", largest change \(worst.0) \(F.points(worst.1)) points" }
            evalParts.append(s)
        }
        md.append("Greedy accuracy per prior task on the evaluation subset logged during training (`eval.csv`, style `all`), runs overlaid. "
                  + "Mean over the prior tasks from the first to the last evaluation: " + evalParts.joined(separator: "; ") + ".")
        md += ["", "![Training loss of the SFT runs](\(figure("sft-loss")))", "",
               "The SFT runs' training loss (mean negative log-likelihood per response token, `metrics.csv`): "
                + runs.filter { $0 != "grpo" }.compactMap { run -> String? in
                    guard let rows = metrics[run], let f = rows.first, let l = rows.last else { return nil }
                    return "`\(run)` \(F.g3(number(f, "loss"))) → \(F.g3(number(l, "loss"))) over \(l["step"] ?? "?") steps"
                }.joined(separator: ", ") + ".", ""]
        return md
    }

    // MARK: Fig. 5

    func fig5(_ figure: (String) -> String) -> [String] {
        func q(_ distribution: String, _ column: String) -> Double { number(pplSummary.first { $0["distribution"] == distribution }, column) }
        let p = testNumber("wilcoxon_p_one_sided")
        var md = ["## 3. Where the base model puts each source (Fig. 5)", "",
                  "![Fig. 5: perplexity histograms per source and the gap histograms](\(figure("perplexity-histogram")))", ""]
        md.append("Every response scored by the base model π_0 (`perplexity/ppl.csv`, \(test("questions") ?? "?") questions): its own rollouts "
                  + "and GRPO's on the reasoning prompt, its own rollouts on the plain prompt, and the ground-truth answer. Median perplexities: "
                  + "base reasoning \(F.g3(q("ppl_base_reasoning", "q50"))), GRPO reasoning \(F.g3(q("ppl_policy_reasoning", "q50"))), "
                  + "base plain \(F.g3(q("ppl_base_plain", "q50"))), ground truth \(F.g3(q("ppl_ground_truth", "q50"))). The lower panel is the "
                  + "paper's comparison per question: g_R = median PPL of GRPO's rollouts − the first quartile of the base's rollouts "
                  + "(median \(F.g3(q("g_R", "q50"))), IQR \(F.g3(q("g_R", "q25")))–\(F.g3(q("g_R", "q75")))) against g_GT = PPL of the ground truth − "
                  + "the first quartile of the base's plain rollouts (median \(F.g3(q("g_GT", "q50"))), IQR \(F.g3(q("g_GT", "q25")))–\(F.g3(q("g_GT", "q75")))).")
        md += ["", "| claim g_R < g_GT, paired by question | value |", "|---|---|",
               "| Wilcoxon signed-rank, one-sided (\(test("wilcoxon_method") ?? "?")) | n = \(test("wilcoxon_n_nonzero") ?? "?"), V = \(F.g3(testNumber("wilcoxon_V"))), "
                + "z = \(F.g3(testNumber("wilcoxon_z"))), **p = \(F.g3(p))** |",
               "| verdict at 5 % | " + (p < 0.05 ? "supported" : "not supported") + " |",
               "| median(g_GT − g_R), 95 % bootstrap CI | \(F.g3(testNumber("median_g_GT_minus_g_R"))) [\(F.g3(testNumber("bootstrap_ci95_lower"))), "
                + "\(F.g3(testNumber("bootstrap_ci95_upper")))] (\(test("bootstrap_resamples") ?? "?") resamples) |",
               "| questions with g_R < g_GT | \(F.percent(testNumber("fraction_g_R_below_g_GT"))) % |",
               "| ground-truth PPL percentile among base rollouts | median \(F.g3(testNumber("gt_percentile_median"))) "
                + "(IQR \(F.g3(testNumber("gt_percentile_q25")))–\(F.g3(testNumber("gt_percentile_q75")))) |", ""]
        md.append(p < 0.05
                  ? "The test supports the paper's explanation on this run: GRPO's rollouts sit closer to where the base model already puts probability than the ground truth does (p = \(F.g3(p)))."
                  : "On this run the test does not support g_R < g_GT at 5 % (p = \(F.g3(p))): the gap difference is not distinguishable from zero at this number of questions and samples.")
        md += ["", "![Fig. 5: empirical CDF of PPL per source](\(figure("perplexity-ecdf")))", "",
               "The same perplexities as empirical CDFs (`perplexity/ppl.csv`): a curve further left holds responses the base model finds more likely; "
                + "the ground truth's interquartile range is \(F.g3(q("ppl_ground_truth", "q25")))–\(F.g3(q("ppl_ground_truth", "q75"))), GRPO's rollouts' "
                + "\(F.g3(q("ppl_policy_reasoning", "q25")))–\(F.g3(q("ppl_policy_reasoning", "q75"))).",
               "", "![g_R against g_GT per question](\(figure("perplexity-gaps")))", "",
               "Each point is one question (`perplexity/ppl.gaps.csv`); below the dashed diagonal, GRPO's rollouts are closer to the base than the "
                + "ground truth (\(F.percent(testNumber("fraction_g_R_below_g_GT"))) % of the questions).", ""]
        return md
    }

    // MARK: Fig. 6

    func fig6(_ figure: (String) -> String) -> [String] {
        func stats(_ rows: [[String: String]]) -> (steps: String, restarts: Int, maxKL: Double, lastKL: Double, acc0: Double, acc1: Double, r0: Double, r1: Double) {
            let w = max(1, rows.count / 10)
            let col = { (name: String) in rows.map { Double($0[name] ?? "") ?? .nan } }
            let kl = col("kl").filter(\.isFinite), acc = col("acc_mean"), reward = col("reward_mean")
            return (rows.last?["step"] ?? "?", rows.filter { $0["restarted"] == "1" || $0["restarted"] == "true" }.count, kl.max() ?? .nan,
                    mean(Array(kl.suffix(w))), mean(Array(acc.prefix(w))), mean(Array(acc.suffix(w))), mean(Array(reward.prefix(w))), mean(Array(reward.suffix(w))))
        }
        let s = stats(grpo), w = max(1, grpo.count / 10)
        var md = ["## 4. GRPO's rewards and KL, with restarts (Fig. 6)", "", "![Fig. 6: GRPO reward components and KL](\(figure("grpo")))", ""]
        var text = "GRPO's reward components (mean over each update's rollouts) and the k3 KL to the reference policy against the update step "
            + "(`grpo/metrics.csv`); "
            + (s.restarts == 0 ? "no restart fell within this run (they come every `--restart-every` epochs). "
                : "dashed lines mark the \(s.restarts) restart\(s.restarts == 1 ? "" : "s"), where the optimizer is reset and the reference becomes the "
                    + "current policy (so the KL drops to 0). ")
            + "Over \(s.steps) updates the accuracy reward R_acc goes from \(F.g3(s.acc0)) (mean of the first \(w) update\(w == 1 ? "" : "s")) to "
            + "\(F.g3(s.acc1)) (last \(w)), the total reward from \(F.g3(s.r0)) to \(F.g3(s.r1)); the KL peaks at \(F.g3(s.maxKL)) and averages \(F.g3(s.lastKL)) over the last \(w) update\(w == 1 ? "" : "s")."
        if let nr = grpoNoRestart {
            let t = stats(nr)
            text += " Overlaid, `grpo-no-restart` (no restarts, \(t.steps) updates): R_acc \(F.g3(t.acc0)) → \(F.g3(t.acc1)), KL peak \(F.g3(t.maxKL)), "
                + "last-\(max(1, nr.count / 10)) mean \(F.g3(t.lastKL))."
        } else {
            text += " No `grpo-no-restart` run is in this folder, so the run without restarts is not overlaid."
        }
        md += [text, ""]
        return md
    }

    // MARK: Theorem 5.2

    func theorem(_ figure: (String) -> String) -> [String] {
        let pairs = unique(symmetry, "pair").count, optimizers = unique(symmetry, "optimizer")
        let etas = symmetry.compactMap { Double($0["eta"] ?? "") }
        var parts: [String] = []
        for o in optimizers {
            func pooled(_ quantity: String) -> [String: String]? {
                slopes.first { $0["optimizer"] == o && $0["quantity"] == quantity && $0["scope"] == "pooled" }
            }
            let d = pooled("delta"), a = pooled("asymmetry")
            let fit = a.flatMap { r -> PooledSlope? in
                let s = number(r, "slope"), se = number(r, "slope_se")
                guard s.isFinite, se.isFinite else { return nil }
                return PooledSlope(slope: s, slopeError: se, count: Int(r["n_points"] ?? "") ?? 0, groups: pairs)
            }
            let name = o == "sgd" ? "SGD" : o == "adam" ? "Adam (one step from fresh state)" : o
            parts.append("\(name): |Δ| slope \(F.f2(number(d, "slope"))) ± \(F.f2(number(d, "slope_se"))) over \(d?["n_points"] ?? "0") points, "
                         + "asymmetry slope \(F.f2(number(a, "slope"))) ± \(F.f2(number(a, "slope_se"))) over \(a?["n_points"] ?? "0") points — "
                         + SymmetryVerdict(asymmetrySlope: fit).description)
        }
        return ["## 5. Theorem 5.2 on the base model", "", "![Theorem 5.2: |Δ| and asymmetry against η](\(figure("symmetry")))", "",
                "One step on token example u probed on v and the reverse, for \(pairs) random pairs of prior-task answer tokens on the base model, "
                + "at \(unique(symmetry, "eta").count) learning rates from \(F.g3(etas.min() ?? .nan)) to \(F.g3(etas.max() ?? .nan)) (`symmetry/symmetry.csv`; "
                + "pooled log-log slopes from `symmetry/symmetry.slopes.csv`, fitted on the points above round-off and in the first-order regime). "
                + "Theorem 5.2 says the asymmetry |Δ_{v|u} − Δ_{u|v}| is O(η²) under SGD, slope 2, while each change is O(η), slope 1. "
                + parts.joined(separator: "; ") + ".", ""]
    }

    // MARK: Influence

    func influenceSection(_ figure: (String) -> String) -> [String] {
        let names = ["jigsaw ground truth", "GRPO's rollouts"]
        let magnitude = influence.map { rows in mean(rows.compactMap { Double($0["influence"] ?? "") }.map(abs)) }
        let signed = influence.map { rows in mean(rows.compactMap { Double($0["influence"] ?? "") }) }
        let counts = influence.map { rows in (unique(rows, "probe").count, unique(rows, "train").count) }
        let probeTasks = unique(influenceTasks[0], "probe_task")
        let sds = probeTasks.map { t in influenceTasks.map { rows in mean(rows.filter { $0["probe_task"] == t }.map { number($0, "sd") }) } }
        var md = ["## 6. Influence of jigsaw ground truth vs GRPO rollouts on prior-task probes", "",
                  "![Influence of jigsaw ground truth and of GRPO rollouts on prior-task probes](\(figure("influence")))", ""]
        var text = "I_ij = η·⟨∇θ log π(probe i), ∇θ ℓ̄(train j)⟩ on the base model: the first-order change of prior-task probe i's log-probability "
            + "after one SFT step on training example j (`influence/gt.csv`: \(counts[0].0) probes × \(counts[0].1) \(names[0]) answers"
        guard influence.count == 2 else {
            text += "). The mean |I| of a ground-truth step is \(F.g3(magnitude[0])), its mean signed push \(F.g3(signed[0])); the sd of I per prior task: "
                + zip(probeTasks, sds).map { "\($0) \(F.g3($1[0]))" }.joined(separator: ", ")
                + ". No GRPO rollout ended within max_seq_len, so there is no rollout influence to compare with."
            return md + [text, ""]
        }
        let larger = sds.filter { $0[0] > $0[1] }.count
        let ratio = magnitude[0] / magnitude[1]
        text += "; `influence/rollouts.csv`: \(counts[1].0) probes × \(counts[1].1) of \(names[1]); the heatmap puts the two training sets side by side, "
            + "probes ordered by task). The mean |I| is \(F.g3(magnitude[0])) for a ground-truth step and \(F.g3(magnitude[1])) for a rollout step "
            + "(ratio \(F.g3(ratio))); the mean signed push is \(F.g3(signed[0])) and \(F.g3(signed[1])). Spread (sd of I) per prior task, ground truth vs "
            + "rollouts (`.tasks.csv`): " + zip(probeTasks, sds).map { "\($0) \(F.g3($1[0])) vs \(F.g3($1[1]))" }.joined(separator: ", ")
            + " — the ground truth pushes harder on \(larger) of \(probeTasks.count) tasks. "
            + (ratio > 1 ? "On average a step on the ground truth, which the base finds less likely than its own outputs, moves the prior probes "
                + "\(F.g3(ratio)) times as far as a step on a rollout: the direction the paper's explanation of forgetting predicts."
                : "On this run a step on a rollout moves the prior probes at least as far as a step on the ground truth (ratio \(F.g3(ratio))), "
                + "against the direction the paper's explanation predicts.")
        md += [text, ""]
        return md
    }
}
