import ArgumentParser
import Dynamics
import Foundation

struct CurveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curve", abstract: "Forgetting against learning: prior-task changes against the novel task's accuracy, from runs' eval.csv.",
        discussion: "Each --run NAME=EVAL.csv is a training run's eval.csv written with the prior tasks' and the novel task's test sets as --eval-data (repeatable). Every evaluation becomes a point: the novel task's accuracy and each prior task's change from the run's step 0. Writes OUT (run,step,novel_accuracy,task,accuracy,change; task \"mean\" is the mean over the prior tasks; `analyze plot` draws it) and prints each run's last evaluation beside the evaluation of --reference (default: the first run) whose novel-task accuracy is nearest: forgetting at matched learning.")

    @Option(name: [.customLong("run")], help: "NAME=EVAL.csv (repeatable).")
    var runSpecs: [String]
    @Option(name: .long, help: "The task being learned; every other task at step 0 is a prior task.")
    var novel = "jigsaw"
    @Option(name: .long, help: "The run the others are compared with at the same novel-task accuracy (default: the first --run).")
    var reference: String?
    @OptionGroup var output: OutputOption

    func run() throws {
        try output.checkWritable([output.url])
        let runs = try runSpecs.map { spec -> (name: String, url: URL) in
            let (name, path) = try validating { try FlagRange.namedValue(spec, flag: "--run", value: "EVAL.csv") }
            return (name, URL(fileURLWithPath: path))
        }
        guard let first = runs.first else { throw ValidationError("give at least one --run NAME=EVAL.csv") }
        let reference = reference ?? first.name
        guard runs.contains(where: { $0.name == reference }) else { throw ValidationError("--reference '\(reference)' is not one of the --run names") }
        let curve = try ForgettingCurve(runs: runs.map { ($0.name, try CSVReader.table($0.url, requiring: ["step", "task", "style", "accuracy"]).rows) },
                                        novelTask: novel)
        try curve.table.write(to: output.url)
        note(curve.matchedText(to: reference))
        print("wrote \(output.out): \(curve.points.count) evaluations of \(curve.runs.count) run(s), \(curve.priorTasks.count) prior tasks")
    }
}
