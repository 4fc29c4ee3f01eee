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
        var table = CSVTable(header: ["example", "position", "token", "logprob"])
        var total = 0.0, count = 0
        for (e, tokens) in zip(encoded, scored) {
            for t in tokens {
                guard t.logProb.isFinite else {
                    throw ValidationError("log π of example '\(e.id)' at position \(t.position) is \(t.logProb): the forward pass overflows with these weights (largest |θᵢ| \(String(format: "%.3g", model.parameters.map(abs).max() ?? 0))); nothing written")
                }
                table.append([.string(e.id), .int(t.position), .int(t.token), .double(t.logProb)])
                total += t.logProb
                count += 1
            }
        }
        try table.write(to: output.url)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out], details: ["tokens": String(count)]).write(to: output.sibling("meta.json"))
        let mean = total / Double(max(count, 1))
        print(String(format: "wrote %@: %d tokens from %d examples, mean log-prob %.6f (perplexity %.4f)",
                     output.out, count, encoded.count, mean, exp(-mean)))
    }
}
