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
        var lines: [String] = []
        for example in file.examples {
            let e = try EncodedExample(example, file: file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)
            let object: [String: Any] = [
                "id": e.id, "tokens": e.input.tokens, "image_positions": e.input.imagePositions,
                "response_start": e.responseStart, "sequence_length": e.input.length,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: output.url)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out]).write(to: output.sibling("meta.json"))
        print("wrote \(output.out): \(lines.count) examples")
    }
}
