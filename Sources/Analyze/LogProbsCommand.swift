import ArgumentParser
import Dynamics
import Foundation

struct LogProbsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logprobs",
        abstract: "Log-probability of every response token (and the closing <eos>).",
        discussion: "CSV columns: example,position,token,logprob. position is the index in the whole sequence (image positions included) of the predicted token; its logits are computed at position - 1.")

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption
    @OptionGroup var output: OutputOption
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        try output.checkWritable([output.url, output.sibling("meta.json")])
        let ckpt = try checkpoint.load()
        let file = try examples.load()
        let encoded = try EncodedExample.all(file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)
        let model = ckpt.model
        let progress = Progress("logprobs", total: encoded.count, unit: "examples")
        let scored = try Parallel.chunkedMap(encoded, threads: threads.threads, chunk: 8 * threads.threads, progress: { progress.advance(by: $0) }) {
            try TokenGradients.responseLogProbs(model, $0)
        }
        let (table, total, count): (CSVTable, Double, Int)
        do { (table, total, count) = try TokenGradients.logProbTable(encoded, scored, model: model) } catch let e as NonFiniteLogProb { throw ValidationError(e.description) }
        try table.write(to: output.url)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out], details: ["tokens": String(count)]).write(to: output.sibling("meta.json"))
        let mean = total / Double(max(count, 1))
        print(String(format: "wrote %@: %d tokens from %d examples, mean log-prob %.6f (perplexity %.4f)",
                     output.out, count, encoded.count, mean, exp(-mean)))
    }
}
