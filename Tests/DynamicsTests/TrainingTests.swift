@testable import Dynamics
import Foundation
import Testing

@Suite struct TrainingTests {
    /// A few tiny examples with 8×8 images, encoded for `model`.
    func examples(_ model: Transformer, count: Int, seed: UInt64 = 1) throws -> [EncodedExample] {
        let tokenizer = try Tokenizer.standard()
        let g = try DatasetGenerator(DatasetSpec(tasks: [.grounding, .vqa, .pope, .jigsaw], split: .train, count: count, styles: [.plain],
                                                 seed: seed, imageSize: 8))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try DatasetWriter.write(try (0..<count).map(g.example), folder: dir, fileName: "train.jsonl")
        let file = try ExampleFile(url: dir.appendingPathComponent("train.jsonl"))
        return try EncodedExample.all(file, tokenizer: tokenizer, config: model.config)
    }

    func tinyModel(seed: UInt64 = 3) throws -> Transformer {
        try Transformer(config: .preset(.tiny, vocabSize: try Tokenizer.standard().count), seed: seed)
    }

    func config(_ optimizer: OptimizerConfig, steps: Int, batch: Int, shuffle: Bool = true) -> SFTRunConfig {
        SFTRunConfig(steps: steps, batchSize: batch, optimizer: optimizer, seed: 7, shuffle: shuffle, data: "memory")
    }

    @Test func oneSGDStepIsExactlyEtaTimesTheSFTGradient() throws {
        let model = try tinyModel()
        let data = try examples(model, count: 5)
        let eta = 0.05
        var trainer = try SFTTrainer(model: model, tokenizer: try Tokenizer.standard(), data: data, config: config(OptimizerConfig(kind: .sgd, learningRate: eta), steps: 1, batch: 5))
        #expect(trainer.batchIndices(0) == [0, 1, 2, 3, 4], "a batch of the whole file is the whole file, in order")
        _ = try trainer.trainStep(threads: 2)
        // ∇θ J_SFT by another path: one prefix pass and one backward per response token.
        var expected = model.parameters
        for e in data {
            for p in e.responsePositions {
                let g = try TokenGradients.logProbGradient(model, input: e.input, position: p)
                for i in expected.indices { expected[i] += eta * g[i] / Double(e.responseLength) / Double(data.count) }
            }
        }
        let delta = zip(trainer.model.parameters, model.parameters).map { $0 - $1 }
        let expectedDelta = zip(expected, model.parameters).map { $0 - $1 }
        expectClose(delta, expectedDelta, tolerance: 1e-12, "SGD step")
    }

    /// Batches walk one permutation per epoch, across epoch boundaries, and the steps a trainer takes (which draw
    /// each epoch's permutation once) give the bytes of a trainer resumed at every step (which draws it afresh).
    @Test func batchesWalkOnePermutationPerEpochAndSteppingEqualsResuming() throws {
        let model = try tinyModel()
        let data = try examples(model, count: 5)
        let run = config(OptimizerConfig(kind: .adamw, learningRate: 1e-3), steps: 4, batch: 3)
        var trainer = try SFTTrainer(model: model, tokenizer: try Tokenizer.standard(), data: data, config: run)
        let stream = (0..<3).flatMap(trainer.epochOrder)
        #expect(Set(trainer.epochOrder(0)) == Set(0..<5) && trainer.epochOrder(0) != trainer.epochOrder(1))
        for k in 0..<4 { #expect(trainer.batchIndices(k) == stream[(3 * k)..<(3 * k + 3)].sorted(), "batch \(k)") }
        var stepwise = trainer
        for _ in 0..<4 {
            _ = try trainer.trainStep(threads: 1)
            stepwise = try SFTTrainer(model: stepwise.model, tokenizer: stepwise.tokenizer, data: data, config: run, state: stepwise.state)
            _ = try stepwise.trainStep(threads: 1)
            #expect(stepwise.model.parameters == trainer.model.parameters, "step \(trainer.step)")
        }
    }

    @Test func lossIsTheMeanOfPerResponseMeanNegativeLogLikelihoods() throws {
        let model = try tinyModel()
        let data = try examples(model, count: 3)
        let (loss, _, tokens, _) = try SFTObjective.lossAndGradient(model, batch: data, threads: 1)
        let expected = try data.map { e in try TokenGradients.responseLogProbs(model, e).map(\.logProb).reduce(0, +) / Double(e.responseLength) }
            .reduce(0, +) / -3
        #expect(abs(loss - expected) < 1e-13)
        #expect(tokens == data.map(\.responseLength).reduce(0, +))
    }

    @Test func batchGradientIsTheMeanOfExampleGradientsWhateverTheThreadCount() throws {
        let model = try tinyModel()
        let data = try examples(model, count: 9)   // units of 4, 4 and 1
        #expect(SFTObjective.examplesPerUnit == 4)
        let one = try SFTObjective.lossAndGradient(model, batch: data, threads: 1)
        let two = try SFTObjective.lossAndGradient(model, batch: data, threads: 2)
        #expect(one.gradient == two.gradient && one.loss == two.loss, "the same bytes on 1 and 2 threads")
        var mean = [Double](repeating: 0, count: model.layout.count)
        for e in data {
            let g = try SFTObjective.exampleTerm(model, e).gradient
            for i in mean.indices { mean[i] -= g[i] / 9 }
        }
        expectClose(one.gradient, mean, tolerance: 1e-12, "∇L = −mean of the examples' ∇ℓ̄")
    }

    @Test func adamFirstStepIsLearningRateTimesSignAndSchedulesHaveTheirShape() throws {
        let layout = ParameterLayout(.preset(.tiny, vocabSize: 10))
        var adam = try Optimizer(config: OptimizerConfig(kind: .adamw, learningRate: 0.01), layout: layout)
        var theta = [Double](repeating: 1, count: layout.count)
        let g = (0..<layout.count).map { Double($0 % 5) - 2 }
        let report = adam.apply(g, to: &theta)
        for i in [0, 1, 3, 4] { #expect(abs((1 - theta[i]) - 0.01 * (g[i] > 0 ? 1 : -1) * abs(g[i]) / (abs(g[i]) + 1e-8)) < 1e-15) }
        #expect(theta[2] == 1, "zero gradient, no move")
        #expect(report.learningRate == 0.01 && !report.clipped)
        var clipped = try Optimizer(config: OptimizerConfig(kind: .sgd, learningRate: 1, clipNorm: 1), layout: layout)
        var t2 = [Double](repeating: 0, count: layout.count)
        #expect(clipped.apply(g, to: &t2).clipped)
        #expect(abs(BLAS.norm2(t2) - 1) < 1e-12, "a clipped SGD step has length lr·clip")
        let cosine = LearningRateSchedule.warmupCosine(warmup: 10, total: 110, floor: 0.1)
        #expect(cosine.rate(1, step: 5) == 0.5 && cosine.rate(1, step: 10) == 1)
        #expect(abs(cosine.rate(1, step: 60) - 0.55) < 1e-12 && abs(cosine.rate(1, step: 110) - 0.1) < 1e-12)
    }

    /// The update runs in fixed tiles on any number of threads: the same θ and moments, byte for byte.
    @Test(arguments: [OptimizerConfig.Kind.sgd, .adamw])
    func theUpdateHasTheSameBytesForAnyThreadCount(kind: OptimizerConfig.Kind) throws {
        let layout = ParameterLayout(.preset(.tiny, vocabSize: 10))
        let config = OptimizerConfig(kind: kind, learningRate: 0.01, schedule: .warmupCosine(warmup: 1, total: 4, floor: 0.1), clipNorm: 0.5,
                                     weightDecay: kind == .adamw ? 0.1 : 0)
        var states: [(theta: [Double], optimizer: Optimizer)] = []
        for threads in [1, 2, 3] {
            var optimizer = try Optimizer(config: config, layout: layout)
            var theta = (0..<layout.count).map { sin(Double($0)) }
            for step in 0..<4 { _ = optimizer.apply((0..<layout.count).map { cos(Double($0 * (step + 2))) }, to: &theta, threads: threads) }
            states.append((theta, optimizer))
        }
        #expect(Optimizer.updateTiles > 1 && layout.count >= 4 * Optimizer.updateTiles, "the tiled path runs")
        for s in states.dropFirst() {
            #expect(s.theta == states[0].theta)
            #expect(s.optimizer.firstMoment == states[0].optimizer.firstMoment && s.optimizer.secondMoment == states[0].optimizer.secondMoment)
        }
        #expect(states[0].theta != (0..<layout.count).map { sin(Double($0)) }, "the steps moved θ")
    }


    /// `--lr-scale`: a scaled tensor's step is the factor times the unscaled one (the optimizer's state aside, and
    /// with AdamW the decay scaled with it, as in a PyTorch parameter group); every other tensor's step is the same
    /// bytes; the longest name that matches wins; a name that matches nothing, or a bad factor, is an error.
    @Test(arguments: [OptimizerConfig.Kind.sgd, .adamw])
    func aLearningRateScaleMultipliesItsTensorsStepsOnly(kind: OptimizerConfig.Kind) throws {
        let layout = ParameterLayout(.preset(.tiny, vocabSize: 10))
        func run(_ scales: [LearningRateScale]?) throws -> [Double] {
            var optimizer = try Optimizer(config: OptimizerConfig(kind: kind, learningRate: 0.01, weightDecay: kind == .adamw ? 0.1 : 0,
                                                                  learningRateScales: scales), layout: layout)
            var theta = (0..<layout.count).map { sin(Double($0)) }
            _ = optimizer.apply((0..<layout.count).map { cos(Double($0 * 3)) }, to: &theta, threads: 2)
            return theta
        }
        let start = (0..<layout.count).map { sin(Double($0)) }
        let plain = try run(nil)
        #expect(try run([]) == plain, "an empty list is no scale")
        let scaled = try run([LearningRateScale(tensors: "patch_emb", factor: 4), LearningRateScale(tensors: "patch_emb.bias", factor: 0),
                              LearningRateScale(tensors: "blocks.0.attn.qkv.weight", factor: 0.5)])
        let patchWeight = layout.tensor(named: "patch_emb.weight")!.range, patchBias = layout.tensor(named: "patch_emb.bias")!.range
        let qkv = layout.tensor(named: "blocks.0.attn.qkv.weight")!.range
        for i in patchWeight { #expect(abs((scaled[i] - start[i]) - 4 * (plain[i] - start[i])) < 1e-15) }
        for i in qkv { #expect(abs((scaled[i] - start[i]) - 0.5 * (plain[i] - start[i])) < 1e-15) }
        for i in patchBias { #expect(scaled[i] == start[i], "factor 0 freezes the tensor") }
        #expect(!patchWeight.contains(where: { plain[$0] == start[$0] }), "the unscaled step moved the patch weights")
        let untouched = Set(0..<layout.count).subtracting(patchWeight).subtracting(patchBias).subtracting(qkv)
        #expect(untouched.allSatisfy { scaled[$0] == plain[$0] }, "every other tensor takes the same bytes")
        #expect(!LearningRateScale(tensors: "blocks.1", factor: 2).names("blocks.10.ln1.weight"), "a prefix ends at a dot")
        #expect(throws: TrainingError.self) { try run([LearningRateScale(tensors: "patch", factor: 2)]) }
        #expect(throws: TrainingError.self) { try run([LearningRateScale(tensors: "head", factor: -1)]) }
        #expect(throws: TrainingError.self) { try run([LearningRateScale(tensors: "head", factor: 2), LearningRateScale(tensors: "head", factor: 3)]) }
        #expect(throws: TrainingError.self) { try LearningRateScale(parsing: "head") }
        #expect(try LearningRateScale(parsing: "head.weight=0.25") == LearningRateScale(tensors: "head.weight", factor: 0.25))
    }
    @Test func warmupStableDecayHoldsThePeakThenDecaysOverItsLastSteps() throws {
        // 10 warm-up steps, the peak to step 90, cosine to 10 % over steps 90…110.
        let wsd = LearningRateSchedule.warmupStableDecay(warmup: 10, total: 110, decay: 20, floor: 0.1)
        #expect(wsd.rate(2, step: 5) == 1 && wsd.rate(2, step: 10) == 2)
        #expect(wsd.rate(2, step: 11) == 2 && wsd.rate(2, step: 60) == 2 && wsd.rate(2, step: 90) == 2)
        #expect(abs(wsd.rate(2, step: 100) - 2 * 0.55) < 1e-12 && abs(wsd.rate(2, step: 110) - 0.2) < 1e-12)
        #expect(abs(wsd.rate(2, step: 95) - 2 * (0.1 + 0.9 * 0.5 * (1 + cos(Double.pi / 4)))) < 1e-12)
        #expect(wsd.decayEnd == 110 && LearningRateSchedule.constant.decayEnd == nil)
        // A decay as long as the run after its warm-up is the cosine schedule, step for step.
        let whole = LearningRateSchedule.warmupStableDecay(warmup: 10, total: 110, decay: 100, floor: 0.1)
        let cosine = LearningRateSchedule.warmupCosine(warmup: 10, total: 110, floor: 0.1)
        #expect((1...110).allSatisfy { whole.rate(1e-3, step: $0) == cosine.rate(1e-3, step: $0) })
        // Validation: the decay must fit after the warm-up, and the shape's default is a fifth of the run.
        try wsd.validate()
        #expect(throws: TrainingError.self) { try LearningRateSchedule.warmupStableDecay(warmup: 10, total: 110, decay: 101, floor: 0.1).validate() }
        #expect(throws: TrainingError.self) { try LearningRateSchedule.warmupStableDecay(warmup: 10, total: 110, decay: 0, floor: 0.1).validate() }
        let config = try OptimizerConfig.training(.adamw, learningRate: 1e-3, schedule: .wsd, warmup: 10, steps: 110, clipNorm: nil, weightDecay: 0)
        #expect(config.schedule == .warmupStableDecay(warmup: 10, total: 110, decay: 22, floor: 0.1))
    }

    @Test func sftDrivesTheLossOfASmallFixedSetNearZero() throws {
        let model = try tinyModel()
        let data = try examples(model, count: 4)
        var trainer = try SFTTrainer(model: model, tokenizer: try Tokenizer.standard(), data: data, config: config(OptimizerConfig(kind: .adamw, learningRate: 1e-2), steps: 200, batch: 4))
        var first = 0.0, last = 0.0
        for k in 0..<200 {
            let r = try trainer.trainStep(threads: 2)
            if k == 0 { first = r.loss }
            last = r.loss
        }
        #expect(first > 3 && last < 0.05, "loss \(first) → \(last)")
    }

    @Test(arguments: [OptimizerConfig.Kind.sgd, .adamw])
    func resumingIsBitExact(kind: OptimizerConfig.Kind) throws {
        let model = try tinyModel()
        let data = try examples(model, count: 10)
        let run = config(OptimizerConfig(kind: kind, learningRate: 3e-3, schedule: .warmupCosine(warmup: 2, total: 6, floor: 0.1), clipNorm: 1,
                                         weightDecay: kind == .adamw ? 0.1 : 0), steps: 6, batch: 4)
        var straight = try SFTTrainer(model: model, tokenizer: try Tokenizer.standard(), data: data, config: run)
        for _ in 0..<6 { _ = try straight.trainStep(threads: 2) }
        var half = try SFTTrainer(model: model, tokenizer: try Tokenizer.standard(), data: data, config: run)
        for _ in 0..<3 { _ = try half.trainStep(threads: 1) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try half.save(to: dir, record: RunRecord(command: ["test"]))
        let (state, runJSON, _) = try TrainerState.load(from: dir)
        let restoredRun = try JSONDecoder().decode(SFTRunConfig.self, from: runJSON)
        #expect(restoredRun == run)
        var resumed = try SFTTrainer(model: try Checkpoint.load(from: dir).model, tokenizer: try Tokenizer.standard(), data: data, config: restoredRun, state: state)
        for _ in 0..<3 { _ = try resumed.trainStep(threads: 2) }
        #expect(resumed.model.parameters == straight.model.parameters, "bitwise equal after resume")
        #expect(resumed.state == straight.state)
    }

    @Test func aNonFiniteStepStopsBeforeTheParametersChange() throws {
        let model = try tinyModel()
        let data = try examples(model, count: 2)
        var trainer = try SFTTrainer(model: model, tokenizer: try Tokenizer.standard(), data: data, config: config(OptimizerConfig(kind: .sgd, learningRate: 1e308), steps: 5, batch: 2))
        let before = trainer.model.parameters
        // θ would reach ~1e307: finite, but far past RunLimits.maxParameterMagnitude, so the run has diverged.
        #expect(throws: TrainingError.self) { try trainer.trainStep(threads: 1) }
        do { _ = try trainer.trainStep(threads: 1) } catch let TrainingError.diverged(step, magnitude) { #expect(step == 1 && magnitude > 1e300) }
        #expect(trainer.model.parameters == before && trainer.step == 0, "a failed step leaves θ and the step count alone")
    }
}
