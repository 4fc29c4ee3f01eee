import ArgumentParser
import Dynamics
import Foundation

extension RolloutKeep: ExpressibleByArgument {}

struct RolloutsCommand: ParsableCommand, DistributedCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts", abstract: "Sample G outputs per prompt from a checkpoint, with token log-probs and rewards.",
        discussion: "Writes OUT (JSONL: id, prompt_id, sample, output, correct, tokens, logprobs, reward_fmt, reward_hit, reward_acc, reward). With --as-examples, OUT is instead an examples file (each output as the response, with the prompt's image and truth), e.g. a probe set of base-model rollouts; --keep correct keeps only the outputs the task's metric calls correct (R_acc = 1 for jigsaw): the SFT-on-GRPO-rollouts dataset. An examples file leaves out samples cut at max_seq_len before <eos>: they are not whole responses. Sample j of prompt ID draws from the stream 'rollouts.ID.j'.")

    @OptionGroup var checkpoint: CheckpointOption
    @Option(name: .long, help: "Prompts (JSONL).")
    var data: String
    @Option(name: [.customShort("G"), .long], parsing: .unconditional, help: "Samples per prompt.")
    var samples: Int = 4
    @Option(name: .long, parsing: .unconditional, help: "Sampling temperature.")
    var temperature: Double = 1
    @Option(name: .long, parsing: .unconditional, help: "Seed of the sampling streams.")
    var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "Only the first N prompts.")
    var limit: Int?
    @Option(name: .long, help: "all, or correct (the outputs the task's metric calls correct; implies --as-examples).")
    var keep: RolloutKeep = .all
    @Flag(name: .long, help: "Write an examples file (outputs as responses) instead of rollout records.")
    var asExamples = false
    @Option(name: .long, help: "Reward weights hit,acc,fmt for the total.")
    var weights: String = "1,1,1"
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--samples", samples, FlagRange.perItem)
        try NumericFlag.check("--temperature", temperature, FlagRange.temperature, exclusiveLower: true)
        try NumericFlag.check("--limit", limit, FlagRange.count)
    }

    func run() throws {
        let rewardWeights = try RewardWeights(parsing: weights)
        let group = ProcessGroup.world
        let (file, examples, sampler) = try group.agree {
            if group.isRoot { try output.checkWritable([output.url, output.sibling("meta.json")]) }
            let ckpt = try checkpoint.load()
            let file = try ExampleFile(url: URL(fileURLWithPath: data))
            return (file, Array(file.examples.prefix(limit ?? file.examples.count)),
                    try RolloutSampler(model: ckpt.model, tokenizer: ckpt.tokenizer, temperature: temperature, seed: seed))
        }
        guard let rollouts = try RolloutFile.distributed(sampler: sampler, file: file, examples: examples, samples: samples, group: group, threads: threads.threads,
                                                         progress: group.progress("rollouts", total: examples.count * samples, unit: "samples")) else { return }
        let (lines, kept, cut) = try rollouts.lines(keep: keep, asExamples: asExamples, weights: rewardWeights, source: file,
                                                    folder: output.url.deletingLastPathComponent())
        try RolloutFile.write(lines, to: output.url)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "data": data], outputs: [output.out],
                      details: sampler.runDetails(samples: samples, keep: keep, written: kept, cut: cut, accuracy: rollouts.accuracy)).write(to: output.sibling("meta.json"))
        print(String(format: "wrote %@: %d of %d samples (%.3f correct)", output.out, kept, rollouts.outputs.count, rollouts.accuracy)
              + (cut > 0 ? ", \(cut) cut at max_seq_len left out (not a whole response)" : ""))
    }
}
