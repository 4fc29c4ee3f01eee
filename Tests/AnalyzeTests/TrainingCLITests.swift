import Dynamics
import Foundation
import Testing

/// The training pipeline end to end on `tiny`: pretrain → SFT → GRPO (restarts inside) → rollouts → SFT on rollouts,
/// resume, guards and Ctrl-C, through the `analyze` program.
@Suite(.serialized) struct TrainingCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    /// Column `name` of a metrics.csv (no quoted cells there).
    func column(_ path: String, _ name: String) throws -> [Double] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let i = try #require(header.firstIndex(of: name))
        return lines.dropFirst().map { Double($0.split(separator: ",", omittingEmptySubsequences: false)[i]) ?? .nan }
    }

    func mean(_ xs: ArraySlice<Double>) -> Double { xs.reduce(0, +) / Double(xs.count) }

    func run(_ args: [String]) throws {
        let r = try cli.analyze(args)
        #expect(r.status == 0, "analyze \(args.joined(separator: " ")): \(r.stderr)")
    }

    /// Sixteen prior examples and four 2×2 puzzles with the fixed think sentence, so that tiny GRPO's reward rises
    /// within 80 updates (with the scene trace, whose sampled think blocks vary, this run's reward fell: 2.08 → 1.56).
    func makeData() throws {
        try run(["data", "generate", "--tasks", "prior", "--split", "train", "--count", "16", "--image-size", "8", "--out", cli.path("prior")])
        try run(["data", "generate", "--tasks", "jigsaw", "--grid", "2x2", "--split", "train", "--count", "4", "--style", "reasoning",
                 "--image-size", "8", "--jigsaw-trace", "fixed", "--out", cli.path("jig")])
    }

    @Test func theWSDScheduleRunsFromTheCommandLineAndItsDecayStepsAreChecked() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let data = cli.path("prior/train.jsonl")
        // 2 warm-up steps, the peak to step 6, cosine to 10 % over steps 6…8.
        try run(["train", "pretrain", "--preset", "tiny", "--data", data, "--steps", "8", "--batch-size", "4", "--lr", "1e-2",
                 "--schedule", "wsd", "--warmup", "2", "--decay-steps", "2", "--out", cli.path("wsd")])
        let lr = try column(cli.path("wsd/metrics.csv"), "lr")
        #expect(lr.count == 8)
        #expect(abs(lr[0] - 5e-3) < 1e-15 && lr[1...5].allSatisfy { abs($0 - 1e-2) < 1e-15 })
        #expect(abs(lr[6] - 5.5e-3) < 1e-12 && abs(lr[7] - 1e-3) < 1e-12)
        try cli.expectFailure(["train", "pretrain", "--preset", "tiny", "--data", data, "--steps", "8", "--decay-steps", "2", "--out", cli.path("x")],
                              mentioning: "--schedule wsd")
        try cli.expectFailure(["train", "pretrain", "--preset", "tiny", "--data", data, "--steps", "8", "--schedule", "wsd", "--warmup", "4",
                               "--decay-steps", "5", "--out", cli.path("y")], mentioning: "decay must last 1…4 steps")
    }

    @Test func pretrainSFTGRPORolloutsAndSFTOnRollouts() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let jig = cli.path("jig/train.jsonl")
        try run(["train", "pretrain", "--preset", "tiny", "--data", cli.path("prior/train.jsonl"), "--steps", "40", "--batch-size", "8",
                 "--lr", "1e-2", "--out", cli.path("pre")])
        let pre = try column(cli.path("pre/metrics.csv"), "loss")
        #expect(mean(pre.suffix(5)) < 0.8 * mean(pre.prefix(5)), "pretraining lowers the loss: \(pre.prefix(3)) … \(pre.suffix(3))")
        try run(["train", "sft", "--checkpoint", cli.path("pre/final"), "--data", jig, "--steps", "100", "--batch-size", "4", "--lr", "1e-2",
                 "--probe", "jigsaw=\(jig)", "--probe", "prior=\(cli.path("prior/train.jsonl"))", "--eval-every", "50", "--out", cli.path("sft")])
        let sft = try column(cli.path("sft/metrics.csv"), "loss")
        #expect(sft.last! < 0.3 * sft.first!, "SFT on four puzzles: \(sft.first!) → \(sft.last!)")
        let probeSteps = try column(cli.path("sft/probes.csv"), "step"), ppl = try column(cli.path("sft/probes.csv"), "mean_ppl")
        #expect(probeSteps == [0, 0, 50, 50, 100, 100])
        #expect(ppl[4] < 0.5 * ppl[0], "the jigsaw answers' perplexity falls under SFT on them: \(ppl[0]) → \(ppl[4])")
        try run(["train", "grpo", "--checkpoint", cli.path("sft/final"), "--data", jig, "--steps", "80", "-G", "8", "--batch-size", "2",
                 "--accumulation", "1", "--restart-every", "4", "--lr", "3e-3", "--out", cli.path("grpo")])
        let reward = try column(cli.path("grpo/metrics.csv"), "reward_mean")
        #expect(mean(reward.suffix(10)) > mean(reward.prefix(10)) + 0.15, "GRPO raises the mean reward: \(mean(reward.prefix(10))) → \(mean(reward.suffix(10)))")
        let restarts = try column(cli.path("grpo/metrics.csv"), "restarted")
        #expect(restarts.filter { $0 == 1 }.count == 9, "a restart every 4 epochs of 2 updates")
        let kl = try column(cli.path("grpo/metrics.csv"), "kl")
        for (k, r) in restarts.enumerated() where r == 1 { #expect(kl[k] == 0, "π_ref = π_θ right after a restart") }
        try run(["rollouts", "--checkpoint", cli.path("grpo/final"), "--data", jig, "--samples", "32", "--keep", "correct",
                 "--out", cli.path("roll/correct.jsonl")])
        let kept = try ExampleFile(url: URL(fileURLWithPath: cli.path("roll/correct.jsonl")))
        for e in kept.examples { #expect(JigsawReward.score(output: e.response, truth: e.truth!.permutation!).accuracy == 1) }
        try run(["train", "sft", "--checkpoint", cli.path("pre/final"), "--data", cli.path("roll/correct.jsonl"), "--steps", "10",
                 "--batch-size", "4", "--lr", "1e-2", "--out", cli.path("sft-roll")])
        let rollLoss = try column(cli.path("sft-roll/metrics.csv"), "loss")
        #expect(rollLoss.last! < 0.5 * rollLoss.first!)
        try run(["rollouts", "--checkpoint", cli.path("grpo/final"), "--data", jig, "--samples", "2", "--out", cli.path("roll/all.jsonl")])
        let records = try String(contentsOfFile: cli.path("roll/all.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(records.count == 8)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(records[0].utf8)) as? [String: Any])
        #expect((first["tokens"] as? [Int])?.count == (first["logprobs"] as? [Double])?.count)
    }

    @Test func rolloutsAsExamplesLeaveOutSamplesCutAtMaxSeqLen() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let ckpt = try cli.initCheckpoint()
        let out = cli.path("roll/fresh.jsonl")
        let r = try cli.analyze(["rollouts", "--checkpoint", ckpt, "--data", cli.path("prior/train.jsonl"), "--samples", "4", "--as-examples", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let details = try RunRecord.read(from: URL(fileURLWithPath: cli.path("roll/fresh.meta.json"))).details
        guard case let .int(written)? = details["written"], case let .int(cut)? = details["cut"] else {
            Issue.record("written and cut are not numbers in \(details)"); return
        }
        #expect(cut > 0 && written > 0 && written + cut == 64, "a fresh model runs some samples to max_seq_len: \(written) written, \(cut) cut")
        #expect(r.stdout.contains("\(cut) cut at max_seq_len left out"))
        // Every written sample is a whole response that fits the model again.
        try run(["logprobs", "--checkpoint", ckpt, "--examples", out, "--out", cli.path("roll/lp.csv")])
    }

    @Test func resumeIsBitExactThroughTheCLI() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let ckpt = try cli.initCheckpoint()
        let jig = cli.path("jig/train.jsonl")
        let sft = ["train", "sft", "--checkpoint", ckpt, "--data", jig, "--batch-size", "3", "--lr", "3e-3", "--schedule", "cosine", "--warmup", "2",
                   "--clip", "1", "--weight-decay", "0.1", "--lr-scale", "patch_emb=3", "--lr-scale", "head.weight=0.5"]
        try run(sft + ["--steps", "6", "--out", cli.path("straight")])
        try run(sft + ["--steps", "6", "--checkpoint-every", "3", "--out", cli.path("half")])
        try run(["train", "sft", "--resume", cli.path("half/checkpoints/step-000003"), "--out", cli.path("resumed")])
        for f in ["model.safetensors", "trainer.safetensors"] {
            #expect(FileManager.default.contentsEqual(atPath: cli.path("straight/final/\(f)"), andPath: cli.path("resumed/final/\(f)")), "SFT \(f)")
        }
        // The learning-rate scales are the run's settings: kept by --resume (the bytes above), not given to it.
        try cli.expectFailure(["train", "sft", "--resume", cli.path("half/checkpoints/step-000003"), "--lr-scale", "head=2", "--out", cli.path("other")],
                              mentioning: "--lr-scale cannot be given with --resume")
        try cli.expectFailure(sft + ["--steps", "1", "--lr-scale", "patch=2", "--out", cli.path("other")], mentioning: "'patch' names no tensor")
        try run(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "20", "--batch-size", "4", "--lr", "1e-2", "--out", cli.path("warm")])
        let grpo = ["train", "grpo", "--checkpoint", cli.path("warm/final"), "--data", jig, "-G", "4", "--batch-size", "2", "--accumulation", "1",
                    "--restart-every", "1", "--lr", "3e-3"]
        try run(grpo + ["--steps", "4", "--out", cli.path("g-straight")])
        try run(grpo + ["--steps", "4", "--checkpoint-every", "2", "--out", cli.path("g-half")])
        try run(["train", "grpo", "--resume", cli.path("g-half/checkpoints/step-000002"), "--out", cli.path("g-resumed")])
        for f in ["model.safetensors", "trainer.safetensors"] {
            #expect(FileManager.default.contentsEqual(atPath: cli.path("g-straight/final/\(f)"), andPath: cli.path("g-resumed/final/\(f)")), "GRPO \(f)")
        }
    }

    @Test func guardsAndInterrupt() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let ckpt = try cli.initCheckpoint()
        let jig = cli.path("jig/train.jsonl")
        try run(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "1", "--out", cli.path("run")])
        try cli.expectFailure(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "1", "--out", cli.path("run")], mentioning: "already exists")
        // AdamW at a huge rate moves every weight by about the rate per step: the run stops once a weight would pass
        // RunLimits.maxParameterMagnitude (1e5), before θ changes; the checkpoints before stay and still give finite log-probs.
        try cli.expectFailure(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "20", "--lr", "2e4", "--batch-size", "4",
                               "--checkpoint-every", "1", "--out", cli.path("blowup")], mentioning: "diverged at step")
        #expect(try Checkpoint.load(from: URL(fileURLWithPath: cli.path("blowup/checkpoints/step-000001"))).metadata["step"] == "1")
        let kept = try FileManager.default.contentsOfDirectory(atPath: cli.path("blowup/checkpoints")).sorted().last!
        try run(["logprobs", "--checkpoint", cli.path("blowup/checkpoints/\(kept)"), "--examples", jig, "--out", cli.path("blowup-lp.csv")])
        try cli.expectFailure(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "5", "--lr", "1e6", "--out", cli.path("blowup2")],
                              mentioning: "diverged at step 1")
        #expect(!FileManager.default.fileExists(atPath: cli.path("blowup/final")))
        try cli.expectFailure(["train", "grpo", "--checkpoint", ckpt, "--data", cli.path("prior/train.jsonl"), "--steps", "1", "--out", cli.path("g")],
                              mentioning: "no truth.permutation")

        // Ctrl-C: a checkpoint is saved at the step boundary, the exit status is 130, and the run resumes from it.
        let interrupted = try CLITests.launch(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "1000000", "--batch-size", "2",
                                               "--out", cli.path("long")]) { process in
            Thread.sleep(forTimeInterval: 1.5)
            process.interrupt()
        }
        #expect(interrupted.status == 130)
        let saved = try FileManager.default.contentsOfDirectory(atPath: cli.path("long/checkpoints"))
        #expect(saved.count == 1)
        let dir = cli.path("long/checkpoints/\(saved[0])")
        #expect(try Checkpoint.load(from: URL(fileURLWithPath: dir)).model.parameters.allSatisfy(\.isFinite))
        let step = Int(saved[0].dropFirst("step-".count)) ?? -1
        try run(["train", "sft", "--resume", dir, "--steps", String(step + 2), "--out", cli.path("continued")])
        #expect(try column(cli.path("continued/metrics.csv"), "step") == [Double(step + 1), Double(step + 2)])
    }
}
