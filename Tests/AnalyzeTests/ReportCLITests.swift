import Dynamics
import Foundation
import Testing

/// `scripts/demo-report.sh` and `analyze report` on a miniature demo folder (tiny preset, a few steps per run): the
/// report has its sections, every figure it references is a valid PNG, and numbers in the text are the CSVs' values.
/// Skipped (with the reason) only without gnuplot.
@Suite(.serialized) struct ReportCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    static let hasGnuplot = Gnuplot.executable() != nil
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ args: [String]) throws {
        let r = try cli.analyze(args)
        #expect(r.status == 0, "analyze \(args.joined(separator: " ")): \(r.stderr)")
    }

    /// The folder scripts/demo.sh writes, in miniature: data, base, sft-gt, grpo (no sft-rollouts), evaluations, summary.csv.
    func makeDemo(_ out: String) throws {
        let d = out + "/data"
        func gen(_ args: [String]) throws { try run(["data", "generate", "--seed", "0", "--image-size", "8"] + args) }
        try gen(["--tasks", "prior,jigsaw-format", "--split", "train", "--count", "40", "--style", "both", "--grid", "2x2", "--out", d + "/pretrain"])
        try gen(["--tasks", "prior", "--split", "test", "--count", "20", "--style", "both", "--out", d + "/prior"])
        try gen(["--tasks", "jigsaw", "--split", "train", "--count", "8", "--style", "plain", "--grid", "2x2", "--out", d + "/jigsaw-plain"])
        try gen(["--tasks", "jigsaw", "--split", "train", "--count", "8", "--style", "reasoning", "--grid", "2x2", "--out", d + "/jigsaw-reasoning"])
        try gen(["--tasks", "jigsaw", "--split", "test", "--count", "6", "--style", "both", "--grid", "2x2", "--out", d + "/jigsaw"])
        try run(["train", "pretrain", "--preset", "tiny", "--data", d + "/pretrain/train.jsonl", "--steps", "40", "--batch-size", "8", "--lr", "1e-2",
                 "--out", out + "/base"])
        let probes = ["--probe", "jigsaw=\(d)/jigsaw-plain/train.jsonl", "--probe", "prior=\(d)/prior/test.jsonl", "--eval-data", d + "/prior/test.jsonl",
                      "--eval-data", d + "/jigsaw/test.jsonl", "--eval-limit", "10", "--eval-every", "2"]
        try run(["train", "sft", "--checkpoint", out + "/base/final", "--data", d + "/jigsaw-plain/train.jsonl", "--steps", "4", "--batch-size", "4",
                 "--lr", "1e-2", "--out", out + "/sft-gt"] + probes)
        try run(["train", "grpo", "--checkpoint", out + "/base/final", "--data", d + "/jigsaw-reasoning/train.jsonl", "--steps", "6", "-G", "4",
                 "--batch-size", "2", "--accumulation", "1", "--restart-every", "1", "--lr", "5e-3", "--probe-every", "3", "--out", out + "/grpo"] + probes)
        try run(["rollouts", "--checkpoint", out + "/grpo/final", "--data", d + "/jigsaw-reasoning/train.jsonl", "--samples", "4", "--keep", "correct",
                 "--out", d + "/grpo-correct.jsonl"])
        var tables: [String] = []
        for name in ["base", "sft-gt", "grpo"] {
            for set in ["prior", "jigsaw"] {
                try run(["eval", "--checkpoint", "\(out)/\(name)/final", "--data", "\(d)/\(set)/test.jsonl", "--limit", "6", "--out", "\(out)/eval/\(name)-\(set).csv"])
                tables += ["--eval", "\(name)=\(out)/eval/\(name)-\(set).summary.csv"]
            }
        }
        try run(["table"] + tables + ["--out", out + "/summary.csv"])
    }

    /// Runs scripts/demo-report.sh on `out` with small settings.
    func demoReport(_ out: String) throws -> CLITests.Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.repository.appendingPathComponent("scripts/demo-report.sh").path, out]
        var env = ProcessInfo.processInfo.environment
        env["ANALYZE"] = try CLITests.executable().path
        for (k, v) in ["REPORT_QUESTIONS": "4", "REPORT_SAMPLES": "3", "REPORT_SYMMETRY_PAIRS": "2", "REPORT_ETA_POINTS": "6", "REPORT_PROBES": "10",
                       "REPORT_TRAIN": "4"] { env[k] = v }
        process.environment = env
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let o = stdout.fileHandleForReading.readDataToEndOfFile(), e = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLITests.Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
                            crashed: process.terminationReason == .uncaughtSignal)
    }

    /// The targets of the report's image links, relative to its folder.
    func imageLinks(_ markdown: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: #"!\[[^\]]*\]\(([^)]+)\)"#)
        return regex.matches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown)).map {
            String(markdown[Range($0.range(at: 1), in: markdown)!])
        }
    }

    func expectValidPNG(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(bytes.count > 24 && Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(url.path) is a PNG", sourceLocation: sourceLocation)
        let image = try PNGCodec.read(url)
        #expect(image.width >= 800 && image.height >= 380, "\(url.lastPathComponent): \(image.width)×\(image.height)", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: hasGnuplot, "gnuplot is not installed (apt-get install gnuplot-nox): the report is not tested"))
    func miniatureDemoReport() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        let out = cli.path("demo")
        try makeDemo(out)
        let r = try demoReport(out)
        #expect(r.status == 0, "scripts/demo-report.sh: \(r.stderr)")
        #expect(r.stdout.contains("wrote \(out)/report.md with 11 figures"), "\(r.stdout)")
        let report = URL(fileURLWithPath: out + "/report.md")
        let md = try String(contentsOf: report, encoding: .utf8)

        // Sections, and the sentences for the optional inputs that are not there.
        for heading in ["## 1. The forgetting table (Table 1)", "## 2. Prior knowledge during fine-tuning (Fig. 3)",
                        "## 3. Where the base model puts each source (Fig. 5)", "## 4. GRPO's rewards and KL, with restarts (Fig. 6)",
                        "## 5. Theorem 5.2 on the base model", "## 6. Influence of jigsaw ground truth vs GRPO rollouts on prior-task probes"] {
            #expect(md.contains(heading), "report has \(heading)")
        }
        #expect(md.contains("There is no `sft-rollouts` run") && md.contains("There is no `grpo-no-restart` run"))

        // Every figure referenced exists and is a valid PNG.
        let links = try imageLinks(md)
        #expect(links.count == 11, "\(links)" as Comment)
        for link in links {
            #expect(link.hasPrefix("figures/"), "\(link)")
            try expectValidPNG(report.deletingLastPathComponent().appendingPathComponent(link))
        }

        // Numbers quoted in the text are the CSVs' values.
        let test = try CSVReader.rows(URL(fileURLWithPath: out + "/perplexity/ppl.test.csv"))
        let p = try #require(test.first { $0["quantity"] == "wilcoxon_p_one_sided" }.flatMap { Double($0["value"]!) })
        #expect(md.contains("**p = \(ReportFormat.g3(p))**"), "the Wilcoxon p-value \(p) is quoted")
        let median = try #require(test.first { $0["quantity"] == "median_g_GT_minus_g_R" }.flatMap { Double($0["value"]!) })
        #expect(md.contains("| \(ReportFormat.g3(median)) ["), "the median gap difference \(median) is quoted")
        let summary = try CSVReader.rows(URL(fileURLWithPath: out + "/summary.csv"))
        let grpoJigsaw = try #require(summary.first { $0["checkpoint"] == "grpo" && $0["task"] == "jigsaw" && $0["style"] == "all" })
        let accuracy = Double(grpoJigsaw["accuracy"]!)!, change = Double(grpoJigsaw["change"]!)!
        #expect(md.contains("`grpo` reaches \(ReportFormat.percent(accuracy)) % on jigsaw (\(ReportFormat.points(change)) points"))
        let slopes = try CSVReader.rows(URL(fileURLWithPath: out + "/symmetry/symmetry.slopes.csv"))
        let sgd = try #require(slopes.first { $0["optimizer"] == "sgd" && $0["quantity"] == "asymmetry" && $0["scope"] == "pooled" })
        #expect(md.contains("SGD: |Δ| slope") && md.contains("asymmetry slope \(ReportFormat.f2(Double(sgd["slope"]!)!)) ± \(ReportFormat.f2(Double(sgd["slope_se"]!)!))"))
        let influence = try CSVReader.rows(URL(fileURLWithPath: out + "/influence/gt.csv")).map { abs(Double($0["influence"]!)!) }
        #expect(md.contains("The mean |I| is \(ReportFormat.g3(influence.reduce(0, +) / Double(influence.count))) for a ground-truth step"))
        let probes = try CSVReader.rows(URL(fileURLWithPath: out + "/sft-gt/probes.csv")).filter { $0["probe"] == "prior" }
        let first = Double(probes.first!["mean_ppl"]!)!, last = Double(probes.last!["mean_ppl"]!)!
        #expect(md.contains("prior \(ReportFormat.g3(first)) → \(ReportFormat.g3(last))"), "sft-gt's prior probe perplexity is quoted")

        // Forgetting at matched learning: the runs' evaluations hold jigsaw too, so the curve is drawn and each run's last
        // evaluation sits beside SFT-GT's nearest in jigsaw accuracy, with the curve CSV's numbers.
        #expect(md.contains("### Forgetting at the same jigsaw accuracy"))
        let curve = try CSVReader.rows(URL(fileURLWithPath: out + "/figures/forgetting-curve.csv"))
        let grpoMean = try #require(curve.last { $0["run"] == "grpo" && $0["task"] == "mean" })
        let grpoSteps = Set(curve.filter { $0["run"] == "grpo" }.map { $0["step"]! })
        #expect(grpoSteps == ["0", "2", "4", "6"], "GRPO evaluated at steps 0, 2, 4 and 6: \(grpoSteps)")
        #expect(md.contains("| `grpo` | 6 | \(ReportFormat.percent(Double(grpoMean["novel_accuracy"]!)!)) | "), "GRPO's last evaluation is a row")
        #expect(md.contains(" | \(ReportFormat.points(Double(grpoMean["change"]!)!)) |\n| `sft-gt` at the nearest jigsaw accuracy | "))
        // `analyze curve` makes the same table from the same eval.csv files, and prints GRPO beside SFT-GT's nearest.
        let c = try cli.analyze(["curve", "--run", "sft-gt=\(out)/sft-gt/eval.csv", "--run", "grpo=\(out)/grpo/eval.csv", "--out", out + "/curve.csv"])
        #expect(c.status == 0 && c.stderr.contains("sft-gt nearest"), "\(c.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/curve.csv")) == Data(contentsOf: URL(fileURLWithPath: out + "/figures/forgetting-curve.csv")))
        try cli.expectFailure(["curve", "--run", "sft-gt=\(out)/sft-gt/eval.csv", "--reference", "ppo", "--out", out + "/c2.csv"], mentioning: "--reference 'ppo'")
        try cli.expectFailure(["curve", "--run", "sft-gt=\(out)/sft-gt/eval.csv", "--novel", "chess", "--out", out + "/c2.csv"],
                              mentioning: "has no 'chess' evaluation")
        // --probe-every 3 with --eval-every 2: probes at 0, 3 and the end, evaluations at 0, 2, 4 and the end.
        let probeSteps = Set(try CSVReader.rows(URL(fileURLWithPath: out + "/grpo/probes.csv")).map { $0["step"]! })
        #expect(probeSteps == ["0", "3", "6"], "\(probeSteps)")
        let grpoEval = try CSVReader.rows(URL(fileURLWithPath: out + "/grpo/eval.csv"))
        #expect(Set(grpoEval.map { $0["task"]! }).isSuperset(of: ["jigsaw", "pope", "grounding"]), "eval.csv summarises both --eval-data files per task")

        // Nothing is overwritten without --force; a GRPO run without restarts is overlaid when present; --out elsewhere links back.
        let again = try cli.analyze(["report", "--run", out])
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")
        try run(["train", "grpo", "--checkpoint", out + "/base/final", "--data", out + "/data/jigsaw-reasoning/train.jsonl", "--steps", "6", "-G", "4",
                 "--batch-size", "2", "--accumulation", "1", "--restart-every", "0", "--lr", "5e-3", "--eval-data", out + "/data/prior/test.jsonl",
                 "--eval-data", out + "/data/jigsaw/test.jsonl", "--eval-limit", "10", "--eval-every", "3", "--out", out + "/grpo-no-restart"])
        try run(["report", "--run", out, "--out", out + "/elsewhere/r.md", "--force"])
        let moved = try String(contentsOfFile: out + "/elsewhere/r.md", encoding: .utf8)
        #expect(moved.contains("Overlaid, `grpo-no-restart`") && !moved.contains("There is no `grpo-no-restart` run"))
        #expect(moved.contains("| `grpo-no-restart` | 6 | "), "GRPO without restart joins the matched table")
        for link in try imageLinks(moved) {
            #expect(link.hasPrefix("../figures/"), "\(link)")
            try expectValidPNG(URL(fileURLWithPath: out + "/elsewhere").appendingPathComponent(link))
        }

        // A missing required input is an error naming the file.
        try FileManager.default.removeItem(atPath: out + "/perplexity/ppl.test.csv")
        try cli.expectFailure(["report", "--run", out, "--force"], mentioning: "perplexity/ppl.test.csv")
        try FileManager.default.removeItem(atPath: out + "/sft-gt/probes.csv")
        try cli.expectFailure(["report", "--run", out, "--force"], mentioning: "sft-gt/probes.csv")
    }
}
