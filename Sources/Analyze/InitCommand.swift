import ArgumentParser
import Dynamics
import Foundation

extension ModelConfig.Preset: ExpressibleByArgument {}

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a freshly initialised checkpoint.")

    @Option(name: .long, help: "Named configuration: \(ModelConfig.Preset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: ModelConfig.Preset = .small

    @Option(name: .long, help: "JSON file whose keys (config.json names) override the preset's.")
    var config: String?

    @Option(name: .long, help: "tokenizer.json to use instead of the standard vocabulary.")
    var vocabulary: String?

    @Option(name: .long, parsing: .unconditional, help: "Seed of the initialisation stream.")
    var seed: UInt64 = 0

    @OptionGroup var initialization: InitializationOptions
    @OptionGroup var output: OutputOption

    func run() throws {
        let tokenizer = try vocabulary.map { try Tokenizer.load(from: URL(fileURLWithPath: $0)) } ?? Tokenizer.standard()
        let modelConfig = try ConfigOverrides.fresh(preset, overrides: config.map { URL(fileURLWithPath: $0) }, tokenizer: tokenizer)
        let model = try Transformer(config: modelConfig, seed: seed, initialization: initialization.scheme)
        let record = RunRecord(command: commandLine, inputs: vocabulary.map { ["vocabulary": $0] } ?? [:],
                               outputs: [output.out], details: ["preset": preset.rawValue, "seed": String(seed), "parameters": String(model.layout.count),
                                         "attention_init_std": String(initialization.scheme.attentionStd)])
        let checkpoint = try Checkpoint(model: model, tokenizer: tokenizer, meta: try record.jsonData())
        try checkpoint.save(to: output.url, overwrite: output.force)
        print("wrote \(output.out): preset \(preset.rawValue), \(model.layout.count) parameters, vocabulary \(tokenizer.count), seed \(seed)")
    }
}
