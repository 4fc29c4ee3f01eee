@testable import Dynamics
import Foundation
import Testing

/// `TrainingRun` driven in-process: a run stopped between steps leaves a checkpoint that a resumed run continues
/// to the same final θ and the same metrics as an uninterrupted run.
@Suite struct TrainingRunTests {
    /// A tiny pretraining run on `count` generated examples (8×8 images), written to `folder/train.jsonl`.
    func trainer(folder: URL, steps: Int) throws -> SFTTrainer {
        let tokenizer = try Tokenizer.standard()
        let g = try DatasetGenerator(DatasetSpec(tasks: [.grounding, .vqa, .pope], split: .train, count: 6, styles: [.plain], seed: 1, imageSize: 8))
        try DatasetWriter.write(try (0..<6).map(g.example), folder: folder, fileName: "train.jsonl")
        let model = try Transformer(config: .preset(.tiny, vocabSize: tokenizer.count), seed: 3)
        let config = SFTRunConfig(steps: steps, batchSize: 2, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-3), seed: 7, shuffle: true,
                                  data: folder.appendingPathComponent("train.jsonl").path)
        return try SFTTrainer(checkpoint: Checkpoint(model: model, tokenizer: tokenizer), config: config)
    }

    @Test func anInterruptedRunResumesToTheSameResultAsAnUninterruptedOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("training-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        var whole = try trainer(folder: dir, steps: 4)
        var steps: [Int] = []
        var hooks = TrainingRunHooks<SFTStepRecord>()
        hooks.stepped = { steps.append($0.step) }
        let outcome = try TrainingRun(TrainingRunSettings(out: dir.appendingPathComponent("whole").path, kind: "pretrain")).run(&whole, hooks: hooks)
        #expect(outcome == .finished(final: dir.appendingPathComponent("whole/final")))
        #expect(steps == [1, 2, 3, 4])

        // The same run, asked to stop before its third step: a checkpoint at step 2, then a resume from it.
        var cut = try trainer(folder: dir, steps: 4)
        var stop = TrainingRunHooks<SFTStepRecord>()
        var asked = 0
        stop.shouldStop = { asked += 1; return asked > 2 }
        let runFolder = dir.appendingPathComponent("cut").path
        let stopped = try TrainingRun(TrainingRunSettings(out: runFolder, kind: "pretrain")).run(&cut, hooks: stop)
        let checkpoint = dir.appendingPathComponent("cut/checkpoints/step-000002")
        guard case let .interrupted(saved) = stopped else { Issue.record("the run was not interrupted"); return }
        #expect(saved.standardizedFileURL.path == checkpoint.standardizedFileURL.path)
        #expect(cut.step == 2)

        var resumed = try TrainingRun.trainer(resume: checkpoint.path, steps: nil) { () throws -> SFTTrainer in
            Issue.record("a resume must not build a fresh trainer")
            return cut
        }
        #expect(resumed.step == 2)
        var settings = TrainingRunSettings(out: runFolder, kind: "pretrain")
        (settings.force, settings.resumedFrom) = (true, checkpoint.path)
        #expect(try TrainingRun(settings).run(&resumed) == .finished(final: dir.appendingPathComponent("cut/final")))
        #expect(resumed.model.parameters == whole.model.parameters, "bit-exact resume")
        let metrics = { (run: String) in try String(contentsOf: dir.appendingPathComponent("\(run)/metrics.csv"), encoding: .utf8) }
        #expect(try metrics("cut") == metrics("whole"), "the resumed run continues the interrupted run's log")
    }
}
