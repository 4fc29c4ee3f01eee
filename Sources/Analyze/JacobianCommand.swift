import ArgumentParser
import Dynamics
import Foundation

struct JacobianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jacobian",
        abstract: "The logit Jacobian J = dz/dθ [V, d] of one token example.",
        discussion: "Writes tensor 'jacobian' (columns in MODEL.md's flat parameter order), OUT.norms.csv (tensor,frobenius) and OUT.meta.json. --position is the index of the predicted token, as in logprobs: the logits are those computed at position - 1.")

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption

    @Option(name: .long, help: "Example id.")
    var example: String

    @Option(name: .long, parsing: .unconditional, help: "Sequence position of the predicted token.")
    var position: Int

    @OptionGroup var output: OutputOption

    func validate() throws {
        try NumericFlag.check("--position", position, FlagRange.position)
    }

    func run() throws {
        let normsURL = output.sibling("norms.csv"), metaURL = output.sibling("meta.json")
        try output.checkWritable([output.url, normsURL, metaURL])
        let ckpt = try checkpoint.load()
        let file = try examples.load()
        let e = try EncodedExample(try file.example(id: example), file: file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)
        try e.checkPosition(position)
        let start = Date()
        let j = try TokenGradients.logitJacobian(ckpt.model, input: e.input, position: position)
        let seconds = Date().timeIntervalSince(start)
        let token = e.token(at: position)
        try SafeTensors.write([NamedTensor(name: "jacobian", shape: [j.rows, j.cols], values: j.storage)],
                              metadata: ["example": example, "position": String(position), "token": String(token)], to: output.url)
        try EmpiricalNTK.tensorNormsTable(j, layout: ckpt.model.layout).write(to: normsURL)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out, output.siblingPath("norms.csv")], details: ["example": example, "position": String(position), "token": String(token)])
            .write(to: metaURL)
        print(String(format: "wrote %@: J [%d, %d] for %@:%d (token %@), ‖J‖_F = %.6e, %.3f s",
                     output.out, j.rows, j.cols, example, position, ckpt.tokenizer.tokens[token], j.frobeniusNorm, seconds))
    }
}
