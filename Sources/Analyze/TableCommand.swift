import ArgumentParser
import Dynamics
import Foundation

struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table", abstract: "The forgetting table: accuracy per task of several checkpoints, from their eval summaries.",
        discussion: "Each --eval NAME=FILE names a checkpoint and an OUT.summary.csv from `analyze eval` (several files per name are fine, e.g. one for the prior tasks and one for jigsaw). Writes OUT (checkpoint,task,style,n,accuracy) and prints the table in percent.")

    @Option(name: .long, help: "NAME=EVAL.summary.csv (repeatable).")
    var eval: [String]
    @OptionGroup var output: OutputOption

    func run() throws {
        try output.checkWritable([output.url, output.sibling("meta.json")])
        let pairs = try eval.map { spec -> (name: String, url: URL) in
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else { throw ValidationError("--eval takes NAME=FILE, got '\(spec)'") }
            return (String(spec[..<eq]), URL(fileURLWithPath: String(spec[spec.index(after: eq)...])))
        }
        guard !pairs.isEmpty else { throw ValidationError("give at least one --eval NAME=FILE") }
        let table = try ForgettingTable(summaries: pairs)
        try table.table.write(to: output.url)
        try RunRecord(command: commandLine, inputs: Dictionary(pairs.enumerated().map { ("eval.\($0.offset)", "\($0.element.name)=\($0.element.url.path)") },
                                                                uniquingKeysWith: { a, _ in a }),
                      outputs: [output.out]).write(to: output.sibling("meta.json"))
        print(table.text)
        print("wrote \(output.out)")
    }
}
