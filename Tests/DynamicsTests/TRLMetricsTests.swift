@testable import Dynamics
import Foundation
import Testing

/// The TRL metrics the trainers log beside their own (token accuracy for SFT; entropy and clipped ratio for GRPO),
/// on a tiny model whose every next-token distribution is known in closed form: θ = 0 except ln_f.bias[0] = 1 and
/// head.weight[<eos>, 0] = c, so at every position the logits are c for `<eos>` and 0 for the V − 1 other tokens:
/// π(<eos>) = e^c / Z, π(other) = 1 / Z with Z = e^c + V − 1, and H = log Z − c·π(<eos>).
@Suite struct TRLMetricsTests {
    static func model(c: Double) throws -> (Transformer, Tokenizer) {
        let tokenizer = try Tokenizer.standard()
        let config = ModelConfig.preset(.tiny, vocabSize: tokenizer.count)
        let layout = ParameterLayout(config)
        var theta = [Double](repeating: 0, count: layout.count)
        theta[try #require(layout.tensor(named: "ln_f.bias")).offset] = 1
        theta[try #require(layout.tensor(named: "head.weight")).offset + Tokenizer.eos * config.dModel] = c
        return (try Transformer(config: config, parameters: theta), tokenizer)
    }

    static func entropy(c: Double, V: Int) -> Double {
        let z = exp(c) + Double(V - 1)
        return log(z) - c * exp(c) / z
    }

    static func file(tasks: [TaskKind], count: Int, styles: [PromptStyle]) throws -> (ExampleFile, URL) {
        let g = try DatasetGenerator(DatasetSpec(tasks: tasks, split: .train, count: count, styles: styles, seed: 3, imageSize: 8))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trl-\(UUID().uuidString)")
        try DatasetWriter.write(try (0..<count).map(g.example), folder: dir, fileName: "train.jsonl")
        return (try ExampleFile(url: dir.appendingPathComponent("train.jsonl")), dir)
    }

    @Test func sftTokenAccuracyIsTheShareOfArgmaxTokens() throws {
        let (file, dir) = try Self.file(tasks: [.grounding, .vqa, .pope], count: 3, styles: [.plain])
        defer { try? FileManager.default.removeItem(at: dir) }
        for (c, expectEOSOnly) in [(2.0, true), (-2.0, false)] {
            let (model, tokenizer) = try Self.model(c: c)
            let data = try EncodedExample.all(file, tokenizer: tokenizer, config: model.config)
            var t = try SFTTrainer(model: model, tokenizer: tokenizer, data: data,
                                   config: SFTRunConfig(steps: 1, batchSize: 3, optimizer: OptimizerConfig(kind: .sgd, learningRate: 0.1),
                                                        seed: 1, shuffle: false, data: "memory"))
            let r = try t.trainStep(threads: 2)
            let tokens = data.map(\.responseLength).reduce(0, +)
            #expect(r.tokens == tokens)
            // c > 0: the argmax is <eos> everywhere, right once per example (its closing <eos>) — 3 of the tokens.
            // c < 0: the argmax is id 0 (<pad>, the first of the V − 1 tied maxima), never a target.
            #expect(r.correctTokens == (expectEOSOnly ? 3 : 0))
            #expect(r.tokenAccuracy == (expectEOSOnly ? 3.0 / Double(tokens) : 0))
            let row = SFTTrainer.metricsRow(r)
            #expect(SFTTrainer.metricsHeader.last == "token_accuracy" && row.last?.text == CSVCell.double(r.tokenAccuracy).text)
            // The loss is the closed form too: every scored token has log π = c·[<eos>] − log Z.
            let z = exp(c) + Double(tokenizer.count - 1)
            let expectedLoss = data.map { e in -((Double(e.responseLength - 1) * -log(z)) + (c - log(z))) / Double(e.responseLength) }.reduce(0, +) / 3
            #expect(abs(r.loss - expectedLoss) < 1e-12)
        }
    }

    @Test func grpoEntropyAndClippedRatioOnClosedFormPolicies() throws {
        let (file, dir) = try Self.file(tasks: [.jigsaw], count: 2, styles: [.reasoning])
        defer { try? FileManager.default.removeItem(at: dir) }
        // c = 50: <eos> has probability 1 − 2·10⁻²⁰: every completion is [<eos>], none cut. c = 0: uniform,
        // H = log V. c = −50: <eos> is never drawn, every completion runs to max_seq_len: all cut.
        for (c, clipped) in [(50.0, 0.0), (0.0, nil), (-50.0, 1.0)] as [(Double, Double?)] {
            let (model, tokenizer) = try Self.model(c: c)
            var config = GRPORunConfig(steps: 1, optimizer: OptimizerConfig(kind: .sgd, learningRate: 0.01), seed: 5, data: "memory")
            config.batchSize = 2
            config.accumulation = 1
            config.groupSize = 3
            var t = try GRPOTrainer(model: model, tokenizer: tokenizer, examples: file.examples,
                                    prompts: try EncodedExample.all(file, tokenizer: tokenizer, config: model.config), config: config)
            let groups = try t.sampleGroups(threads: 2)
            let r = try t.trainStep(threads: 2)
            let H = Self.entropy(c: c, V: tokenizer.count)
            #expect(abs(r.entropy - H) <= 1e-12 * max(1, H), "c = \(c): entropy \(r.entropy) vs \(H)")
            if c == 0 { #expect(abs(r.entropy - log(Double(tokenizer.count))) < 1e-12) }
            let cut = Double(groups.joined().filter { $0.tokens.last != Tokenizer.eos }.count) / 6
            #expect(r.clippedRatio == cut)
            if let clipped { #expect(r.clippedRatio == clipped) }
            #expect(c != 50 || r.completionLength == 1)
            let row = GRPOTrainer.metricsRow(r)
            #expect(Array(GRPOTrainer.metricsHeader.suffix(2)) == ["entropy", "clipped_ratio"])
            #expect(row.suffix(2).map(\.text) == [CSVCell.double(r.entropy).text, CSVCell.double(r.clippedRatio).text])
            let tags = TrainingScalars.scalars(section: "train", header: GRPOTrainer.metricsHeader, row: row).scalars.map(\.tag)
            #expect(tags.contains("train/entropy") && tags.contains("train/completions/clipped_ratio"))
        }
        #expect(TrainingScalars.trlNames["token_accuracy"] == "mean_token_accuracy")
    }

    @Test func aRunLogOfAnEarlierBuildContinuesWithTheNewColumnsEmpty() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csvlog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.csv")
        try AtomicFile.write(Data("step,epoch,loss,lr,grad_norm,clipped,tokens\n1,0.5,2,0.1,1,0,9\n2,1,1.5,0.1,1,0,9\n".utf8), to: url)
        let log = try CSVLog(url: url, header: SFTTrainer.metricsHeader, continuingAfter: 1)
        try log.append([.int(2), .double(1), .double(1.25), .double(0.1), .double(1), .int(0), .int(9), .double(0.5)])
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        #expect(text.hasPrefix("step,epoch,loss,lr,grad_norm,clipped,tokens,token_accuracy\n1,0.5,2,0.1,1,0,9,\n2,"))
        #expect(text.split(separator: "\n").count == 3)
    }
}
