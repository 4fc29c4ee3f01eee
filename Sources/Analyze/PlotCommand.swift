import ArgumentParser
import Dynamics
import Foundation

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot", abstract: "Figures from the workbench's CSVs, rendered by gnuplot: PREFIX.png, PREFIX.svg and PREFIX.gp with its data.",
        discussion: "The kind follows from the first input's header (--kind overrides): "
            + PlotKind.allCases.map { "\($0.rawValue) (\($0.requiredColumns.joined(separator: ",")))" }.joined(separator: "; ")
            + ". grpo, metrics, probes, eval, perplexity and drift overlay several inputs (runs); the others draw one. "
            + "Re-render after editing the script: cd into its folder and run gnuplot PREFIX.gp (PNG) or gnuplot -e 'term=\"svg\"' PREFIX.gp. "
            + "Needs gnuplot (Debian: apt-get install gnuplot-nox).")

    @Argument(help: "Input CSV files.")
    var inputs: [String]
    @Option(name: .long, help: "Output path without extension: writes PREFIX.png, PREFIX.svg, PREFIX.gp and PREFIX.*.dat.")
    var out: String
    @Option(name: .long, help: "Figure kind (default: from the header).")
    var kind: String?
    @Option(name: .long, help: "Legend labels of the inputs, comma-separated (default: run folder or file name).")
    var labels: String?
    @Flag(name: .long, help: "Replace existing output files.")
    var force = false

    func run() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input CSV") }
        let plotKind = try kind.map { name in
            guard let k = PlotKind(rawValue: name) else {
                throw ValidationError("unknown --kind '\(name)'; choose \(PlotKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return k
        }
        let names = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let names, names.count != inputs.count { throw ValidationError("--labels has \(names.count) labels for \(inputs.count) inputs") }
        guard Gnuplot.executable() != nil else { throw PlotError.gnuplotMissing }
        let prefix = URL(fileURLWithPath: out)
        let tables = try inputs.enumerated().map { k, path in try PlotInput(url: URL(fileURLWithPath: path), label: names?[k]) }
        let figure = try PlotFigure.make(tables, kind: plotKind, prefix: prefix.lastPathComponent)
        let folder = prefix.deletingLastPathComponent(), name = prefix.lastPathComponent
        let planned = [name + ".png", name + ".svg", name + ".gp"] + figure.data.map(\.name)
        if !force, let existing = planned.map({ folder.appendingPathComponent($0) }).first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw FileError.exists(path: existing.path)
        }
        let written = try Gnuplot.render(figure, prefix: prefix)
        print("wrote \(out).png, \(out).svg and \(out).gp (\(figure.kind.rawValue), \(figure.width)×\(figure.height) px; data: "
              + written.dropFirst(3).map(\.lastPathComponent).joined(separator: ", ") + ")")
    }
}
