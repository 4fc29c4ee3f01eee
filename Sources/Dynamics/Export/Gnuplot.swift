import Foundation

/// Renders a `PlotFigure` with gnuplot (Debian `gnuplot-nox`): writes `PREFIX.gp` (the script, which picks PNG or
/// SVG from the variable `term`), the data files beside it, and runs gnuplot twice in that folder for `PREFIX.png`
/// (pngcairo) and `PREFIX.svg`. Re-render after restyling with `cd FOLDER && gnuplot PREFIX.gp` (PNG) or
/// `gnuplot -e 'term="svg"' PREFIX.gp`.
public enum Gnuplot {
    /// The gnuplot executable on PATH, or nil.
    public static func executable(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> URL? {
        for dir in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("gnuplot")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// The full script of `figure` for output files named `name`.png / `name`.svg.
    public static func script(_ figure: PlotFigure, name: String) -> String {
        let w = figure.width, h = figure.height
        let header = ["# \(name).gp — made by `analyze plot` (\(figure.kind.rawValue)) from:"] + figure.sources.map { "#   \($0)" } + [
            "# Data: " + figure.data.map(\.name).joined(separator: ", ") + " (whitespace-separated, blocks are gnuplot's `index`).",
            "# Render: cd into this folder, then `gnuplot \(name).gp` (PNG) or `gnuplot -e 'term=\"svg\"' \(name).gp` (SVG).",
            "if (!exists(\"term\")) term = \"png\"",
            "if (term eq \"svg\") { set terminal svg size \(w),\(h) dynamic noenhanced font \"sans,12\" background \"white\"; set output \"\(name).svg\" } "
                + "else { set terminal pngcairo size \(w),\(h) noenhanced font \"sans,11\"; set output \"\(name).png\" }",
        ]
        return (header + figure.body + ["unset output"]).joined(separator: "\n") + "\n"
    }

    /// Writes the script and data beside `prefix` (a path without extension) and renders PNG and SVG.
    /// Throws `PlotError.gnuplotMissing` when gnuplot is not on PATH (before writing anything).
    @discardableResult
    public static func render(_ figure: PlotFigure, prefix: URL) throws -> [URL] {
        guard let gnuplot = executable() else { throw PlotError.gnuplotMissing }
        let folder = prefix.deletingLastPathComponent(), name = prefix.lastPathComponent
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let scriptURL = folder.appendingPathComponent(name + ".gp")
        try AtomicFile.write(Data(script(figure, name: name).utf8), to: scriptURL)
        for d in figure.data { try AtomicFile.write(Data(d.text.utf8), to: folder.appendingPathComponent(d.name)) }
        for term in ["png", "svg"] {
            let process = Process()
            process.executableURL = gnuplot
            process.arguments = ["-e", "term=\"\(term)\"", scriptURL.lastPathComponent]
            process.currentDirectoryURL = folder
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw PlotError.gnuplotFailed(status: process.terminationStatus, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return [scriptURL, folder.appendingPathComponent(name + ".png"), folder.appendingPathComponent(name + ".svg")]
            + figure.data.map { folder.appendingPathComponent($0.name) }
    }
}
