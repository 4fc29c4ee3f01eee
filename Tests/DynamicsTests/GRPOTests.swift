@testable import Dynamics
import Foundation
import Testing

@Suite struct GRPOTests {
    @Test func advantagesAndK3OnHandComputedCases() {
        let a = GRPOObjective.advantages([1, 0, 0, 1])
        let std = (1.0 / 3.0).squareRoot()  // sample std of {1, 0, 0, 1}
        #expect(a.map { abs($0) == 0.5 / (std + 1e-4) } == [true, true, true, true] && a[0] > 0 && a[1] < 0)
        #expect(GRPOObjective.advantages([0.3, 0.3, 0.3]) == [0, 0, 0])
        #expect(GRPOObjective.advantages([2, 0]) == [1 / (2.0.squareRoot() + 1e-4), -1 / (2.0.squareRoot() + 1e-4)])
        #expect(abs(GRPOObjective.k3(logProb: log(0.5), referenceLogProb: log(0.25)) - (0.5 - log(0.5) - 1)) < 1e-15)
        #expect(GRPOObjective.k3(logProb: -1.3, referenceLogProb: -1.3) == 0)
    }

    @Test func tokenWeightsFollowTheClippedSurrogate() {
        // ρ = 1: the weight is −(1/(G|o|))·(Â + β(π_ref/π_θ − 1)), THEORY §3's c_{i,t}.
        let t = GRPOObjective.tokenTerms(logProb: log(0.4), oldLogProb: log(0.4), referenceLogProb: log(0.5), advantage: 2, beta: 0.04,
                                         clipEpsilon: 0.2, groupSize: 4, length: 5)
        #expect(abs(t.weight - (-(2 + 0.04 * (0.5 / 0.4 - 1)) / 20)) < 1e-15)
        #expect(abs(t.loss - (-(2 - 0.04 * (0.5 / 0.4 - log(0.5 / 0.4) - 1)) / 20)) < 1e-15)
        #expect(!t.clipped)
        // ρ = 1.5 > 1 + ε with Â > 0: clipped, only the KL term pulls.
        let c = GRPOObjective.tokenTerms(logProb: log(0.6), oldLogProb: log(0.4), referenceLogProb: log(0.6), advantage: 1, beta: 0.04,
                                         clipEpsilon: 0.2, groupSize: 2, length: 1)
        #expect(c.clipped && c.weight == 0 && abs(c.loss - (-1.2 / 2)) < 1e-15)
        // ρ = 0.5 < 1 − ε with Â < 0: clipped as well (min picks the clipped value).
        let n = GRPOObjective.tokenTerms(logProb: log(0.2), oldLogProb: log(0.4), referenceLogProb: log(0.2), advantage: -1, beta: 0,
                                         clipEpsilon: 0.2, groupSize: 1, length: 1)
        #expect(n.clipped && n.weight == 0 && abs(n.loss - 0.8) < 1e-15)
    }

    /// Sampled rollouts of a random tiny model with made-up advantages, old and reference log-probs.
    func rollouts(_ model: Transformer, seed: UInt64) throws -> [[(rollout: Rollout, advantage: Double)]] {
        let rng = RandomStream(seed: seed, name: "test.grpo")
        return try (0..<2).map { g in
            try (0..<3).map { j in
                let prompt = randomInput(model, seed: seed + UInt64(10 * g + j), textLength: 3)
                let out = try model.generate(prompt, options: GenerationOptions(maxNewTokens: 4, temperature: 1, stopToken: -1), rng: rng)
                let old = out.logProbs.map { $0 + 0.1 * rng.gaussian() }
                let ref = out.logProbs.map { $0 + 0.3 * rng.gaussian() }
                let r = Rollout(prompt: prompt, tokens: out.tokens, oldLogProbs: old, referenceLogProbs: ref, reward: 0,
                                rewards: JigsawRewards(format: 0, hit: 0, accuracy: 0))
                return (r, rng.gaussian())
            }
        }
    }

    @Test func grpoGradientMatchesFiniteDifferencesOfTheLoss() throws {
        let model = try randomTinyModel(seed: 21, vocab: 23)
        let groups = try rollouts(model, seed: 21)
        let r = try GRPOObjective.lossAndGradient(model, groups: groups, beta: 0.04, clipEpsilon: 0.2, threads: 2)
        let sample = stride(from: 5, to: model.layout.count, by: 89).map { $0 }
        let fd = try centralDifferences(model.parameters, indices: sample) { theta in
            var m = model
            m.parameters = theta
            return try GRPOObjective.lossAndGradient(m, groups: groups, beta: 0.04, clipEpsilon: 0.2, threads: 1).loss
        }
        expectClose(sample.map { r.gradient[$0] }, fd, tolerance: 1e-6, "∇θ L_GRPO")
        #expect(r.kl > 0)
        // Six rollouts make units of 4 and 2: the same bytes on one thread as on two.
        let one = try GRPOObjective.lossAndGradient(model, groups: groups, beta: 0.04, clipEpsilon: 0.2, threads: 1)
        #expect(one.gradient == r.gradient && one.loss == r.loss && one.kl == r.kl)
    }

    /// A tiny model briefly fine-tuned on the puzzles' ground truth, so that its samples are well-formed guesses
    /// with varied rewards (a fresh model's rewards are all 0: no advantage, no learning signal).
    static let warmed: (Transformer, Tokenizer, ExampleFile, URL) = {
        do {
            let tokenizer = try Tokenizer.standard()
            let model = try Transformer(config: .preset(.tiny, vocabSize: tokenizer.count), seed: 2)
            let g = try DatasetGenerator(DatasetSpec(tasks: [.jigsaw], split: .train, count: 4, styles: [.reasoning], seed: 3, imageSize: 8))
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grpo-\(UUID().uuidString)")
            try DatasetWriter.write(try (0..<4).map(g.example), folder: dir, fileName: "train.jsonl")
            let file = try ExampleFile(url: dir.appendingPathComponent("train.jsonl"))
            var sft = try SFTTrainer(model: model, tokenizer: tokenizer, data: try EncodedExample.all(file, tokenizer: tokenizer, config: model.config),
                                     config: SFTRunConfig(steps: 40, batchSize: 4, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-2),
                                                          seed: 1, shuffle: false, data: "memory"))
            for _ in 0..<40 { _ = try sft.trainStep(threads: 2) }
            return (sft.model, tokenizer, file, dir)
        } catch {
            preconditionFailure("test set-up failed: \(error)")
        }
    }()

    func trainer(restartEvery: Int, steps: Int = 4, scope: RestartScope? = nil) throws -> GRPOTrainer {
        let (model, tokenizer, file, _) = Self.warmed
        var config = GRPORunConfig(steps: steps, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-2), seed: 5, data: "memory")
        config.batchSize = 2
        config.accumulation = 1
        config.groupSize = 3
        config.restartEvery = restartEvery
        config.restartScope = scope
        config.weights = RewardWeights(hit: 1, accuracy: 1, format: 1)
        return try GRPOTrainer(model: model, tokenizer: tokenizer, examples: file.examples,
                               prompts: try EncodedExample.all(file, tokenizer: tokenizer, config: model.config), config: config)
    }

    @Test func periodicRestartResetsTheOptimizerAndMovesTheReference() throws {
        var t = try trainer(restartEvery: 1)  // 2 prompts per update, 4 prompts: an epoch every 2 updates
        let first = try t.trainStep(threads: 2)
        let second = try t.trainStep(threads: 2)
        #expect(!first.restarted && !second.restarted)
        let beforeThird = t.model.parameters
        let third = try t.trainStep(threads: 2)
        #expect(third.restarted)
        #expect(t.reference.parameters == beforeThird, "π_ref ← π_θ at the restart")
        #expect(t.optimizer.step == 1, "the optimizer restarted with this update")
        #expect(first.completionLength > 0)

        // --restart-resets reference: the same reference move, and AdamW keeps counting.
        var r = try trainer(restartEvery: 1, scope: .reference)
        for _ in 0..<2 { _ = try r.trainStep(threads: 2) }
        let before = r.model.parameters
        #expect(try r.trainStep(threads: 2).restarted)
        #expect(r.reference.parameters == before && r.optimizer.step == 3, "reference moved, optimizer at step \(r.optimizer.step)")
    }

    @Test func resumingGRPOIsBitExact() throws {
        var straight = try trainer(restartEvery: 1)
        var rewardStd = 0.0
        for _ in 0..<4 { rewardStd += try straight.trainStep(threads: 2).reward.std }
        #expect(rewardStd > 0, "the warmed model's samples differ in reward")
        #expect(straight.model.parameters != Self.warmed.0.parameters, "GRPO moved θ")
        var half = try trainer(restartEvery: 1)
        for _ in 0..<2 { _ = try half.trainStep(threads: 1) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grpo-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try half.save(to: dir, record: RunRecord(command: ["test"]))
        let (state, runJSON, extra) = try TrainerState.load(from: dir)
        let config = try JSONDecoder().decode(GRPORunConfig.self, from: runJSON)
        #expect(config == half.config)
        let reference = try #require(extra[GRPOTrainer.referenceTensor])
        var resumed = try GRPOTrainer(model: try Checkpoint.load(from: dir).model, tokenizer: half.tokenizer, examples: half.examples,
                                      prompts: half.prompts, config: config, state: state, referenceParameters: reference)
        for _ in 0..<2 { _ = try resumed.trainStep(threads: 2) }
        #expect(resumed.model.parameters == straight.model.parameters)
        #expect(resumed.reference.parameters == straight.reference.parameters)
    }
}
