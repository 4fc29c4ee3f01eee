import ArgumentParser
import Dynamics
import Foundation

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Write each example's full input tokens (text token ids in sequence order).",
        discussion: "One JSON line per example: id, tokens, image_positions, response_start (index into tokens), sequence_length.")

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption
    @OptionGroup var output: OutputOption

    func run() throws {
        try output.checkWritable([output.url, output.sibling("meta.json")])
        let ckpt = try checkpoint.load()
        let file = try examples.load()
        let lines = try file.examples.map { try EncodedExample($0, file: file, tokenizer: ckpt.tokenizer, config: ckpt.model.config).tokenLine() }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: output.url)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out]).write(to: output.sibling("meta.json"))
        print("wrote \(output.out): \(lines.count) examples")
    }
}
