import ArgumentParser
import Dynamics
import Foundation

struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table", abstract: "The forgetting table: accuracy per task of several checkpoints, from their eval summaries.",
        discussion: "Each --eval NAME=FILE names a checkpoint and an OUT.summary.csv from `analyze eval` (several files per name are fine, e.g. one for the prior tasks and one for jigsaw); the first name is the base that changes are measured from. Writes OUT (checkpoint,task,style,n,accuracy,correct,ci_low,ci_high,change,steps; ci the Wilson 95 % interval) and prints the table in percent, a column per checkpoint as in the paper's Table 1.")

    @Option(name: .long, help: "NAME=EVAL.summary.csv (repeatable).")
    var eval: [String]
    @Option(name: .long, help: "NAME=N: the training steps of checkpoint NAME's run, shown in the table (repeatable).")
    var steps: [String] = []
    @OptionGroup var output: OutputOption

    func run() throws {
        try output.checkWritable([output.url, output.sibling("meta.json")])
        let pairs = try eval.map { spec -> (name: String, url: URL) in
            let (name, path) = try validating { try FlagRange.namedValue(spec, flag: "--eval") }
            return (name, URL(fileURLWithPath: path))
        }
        guard !pairs.isEmpty else { throw ValidationError("give at least one --eval NAME=FILE") }
        let stepCounts = try validating { try ForgettingTable.stepCounts(parsing: steps) }
        let table = try ForgettingTable(summaries: pairs, steps: stepCounts)
        try table.table.write(to: output.url)
        try RunRecord(command: commandLine, inputs: Dictionary(pairs.enumerated().map { ("eval.\($0.offset)", "\($0.element.name)=\($0.element.url.path)") },
                                                                uniquingKeysWith: { a, _ in a }),
                      outputs: [output.out]).write(to: output.sibling("meta.json"))
        note(table.text)
        print("wrote \(output.out): \(pairs.count) evaluation(s) of \(Set(pairs.map(\.name)).count) checkpoint(s)")
    }
}
