import ArgumentParser
import Dynamics
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "The demo's figures (DIR/figures/) and report (DIR/report.md), every number read from the run's files.",
        discussion: "DIR is a demo output folder as scripts/demo.sh and scripts/demo-report.sh write it. Required: "
            + DemoReport.required.map(\.path).joined(separator: ", ")
            + ". Optional: sft-rollouts/ (overlaid everywhere), grpo-no-restart/metrics.csv (overlaid on Fig. 6), influence/rollouts.csv with its .tasks.csv (the rollouts' side of the influence heatmap); a missing optional input is a "
            + "sentence in the report, a missing required one an error naming it. Needs gnuplot (Debian: apt-get install gnuplot-nox).")

    @Option(name: .customLong("run"), help: "The demo output folder (e.g. out/demo).")
    var folder: String
    @Option(name: .long, help: "The report's path (default: DIR/report.md); figures always go to DIR/figures/.")
    var out: String?
    @Flag(name: .long, help: "Replace an existing report and figures.")
    var force = false

    func run() throws {
        let report = DemoReport(run: URL(fileURLWithPath: folder), out: out.map { URL(fileURLWithPath: $0) })
        let result = try report.write(force: force)
        let shown = out ?? (folder as NSString).appendingPathComponent("report.md")
        print("wrote \(shown) with \(result.figures.count) figures in \((folder as NSString).appendingPathComponent("figures"))/: "
              + result.figures.map(\.lastPathComponent).joined(separator: ", "))
        for s in result.skipped { note("skipped: " + s) }
        note(result.verdict)
    }
}
