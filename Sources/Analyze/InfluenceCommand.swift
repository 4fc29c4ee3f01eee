import ArgumentParser
import Dynamics
import Foundation

struct InfluenceCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "influence",
        abstract: "Influence matrix I_ij: first-order change of log π(probe_i) per SGD step of size η on train_j (THEORY §3, §5).",
        discussion: InfluenceMatrix.outputs)

    @OptionGroup var checkpoint: CheckpointOption

    @Option(name: .long, help: "Training examples (JSONL): the updates.")
    var train: String

    @Option(name: .long, help: "Probe examples (JSONL): the observed sequences.")
    var probes: String

    @Option(name: .long, parsing: .unconditional, help: "Learning rate η of the SGD step.")
    var eta = 1e-3

    @Flag(name: .long, help: "Also apply each step and measure the probes' real changes (N_train × N_probes forward passes).")
    var measure = false

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--eta", eta, FlagRange.eta, exclusiveLower: true)
    }

    func run() throws {
        let tasksURL = output.sibling("tasks.csv"), metaURL = output.sibling("meta.json")
        let group = ProcessGroup.world
        let (model, trainFile, probeFile, trainSet, probeSet) = try group.agree {
            if group.isRoot { try output.checkWritable([output.url, tasksURL, metaURL]) }
            let ckpt = try checkpoint.load()
            let trainFile = try ExampleFile(url: URL(fileURLWithPath: train)), probeFile = try ExampleFile(url: URL(fileURLWithPath: probes))
            return (ckpt.model, trainFile, probeFile, try EncodedExample.all(trainFile, tokenizer: ckpt.tokenizer, config: ckpt.model.config),
                    try EncodedExample.all(probeFile, tokenizer: ckpt.tokenizer, config: ckpt.model.config))
        }
        guard let m = try InfluenceMatrix.distributed(model, probes: probeSet, train: trainSet, eta: eta, measure: measure, group: group, threads: threads.threads,
                                                      gradients: group.progress("influence gradients", total: probeSet.count, unit: "probes"),
                                                      steps: group.progress("influence steps", total: trainSet.count, unit: "steps")) else { return }
        let probeTasks = probeFile.examples.map(InfluenceByTask.taskName), trainTasks = trainFile.examples.map(InfluenceByTask.taskName)
        let summary = try m.summary(probes: probeSet, train: trainSet, probeTasks: probeTasks, trainTasks: trainTasks)
        try m.table(probes: probeSet, train: trainSet, probeTasks: probeTasks, trainTasks: trainTasks).write(to: output.url)
        try InfluenceByTask.table(summary).write(to: tasksURL)
        let details = m.runDetails(eta: eta, measure: measure, probes: probeSet.count, train: trainSet.count)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "train": train, "probes": probes],
                      outputs: [output.out, output.siblingPath("tasks.csv")], details: details).write(to: metaURL)
        print("wrote \(output.out): \(probeSet.count) probes × \(trainSet.count) training examples, η = \(eta)"
              + (details["relative_deviation"].map { ", measured vs first order ‖Δ − I‖/‖I‖ = \($0)" } ?? ""))
        printTable(InfluenceByTask.textRows(summary))
    }
}
