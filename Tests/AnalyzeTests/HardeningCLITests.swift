import Dynamics
import Foundation
import Testing
import TestSupport

/// Issue 13 through the `analyze` program: each reproducer of the issue ends in a clear error naming what is
/// wrong (or, for valid input, the right result), never a crash, a lost file or a silent wrong result.
@Suite(.serialized) struct HardeningCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    func run(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try cli.analyze(args)
        #expect(r.status == 0, "analyze \(args.joined(separator: " ")): \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// Runs `analyze` in the folder `cwd`.
    func analyze(in cwd: URL, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let run = try CLITests.launch(arguments, directory: cwd)
        return (run.status, run.stderr)
    }

    func makeData() throws {
        try run(["data", "generate", "--tasks", "prior", "--split", "train", "--count", "10", "--image-size", "8", "--out", cli.path("prior")])
        try run(["data", "generate", "--tasks", "jigsaw", "--grid", "2x2", "--split", "train", "--count", "4", "--style", "reasoning",
                 "--image-size", "8", "--out", cli.path("jig")])
    }

    // 1. --force never deletes what the command did not write.
    @Test func forceReplacesOnlyWhatACommandWrites() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        let home = cli.dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: home.appendingPathComponent("precious.txt"))
        for out in ["", ".", ".."] {
            let r = try analyze(in: home, ["init", "--preset", "tiny", "--out", out, "--force"])
            #expect(r.status != 0 && (r.stderr.contains("--out is empty") || r.stderr.contains("refusing to write there")), "--out '\(out)': \(r.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("precious.txt").path))
        try cli.expectFailure(["init", "--preset", "tiny", "--out", home.path, "--force"], mentioning: "it holds 'precious.txt', which this command does not write")
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("precious.txt").path))
        let ckpt = try cli.initCheckpoint()
        try run(["init", "--preset", "tiny", "--seed", "9", "--out", ckpt, "--force"])
    }

    // 3. Numeric flags: a range, a message naming the flag, negatives reported as such, 0 never read as 1.
    @Test func numericFlagsHaveRangesAndNameTheFlag() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let ckpt = try cli.initCheckpoint()
        let prior = cli.path("prior/train.jsonl"), jig = cli.path("jig/train.jsonl")
        let pretrain = ["train", "pretrain", "--preset", "tiny", "--data", prior, "--out", cli.path("r")]
        let grpo = ["train", "grpo", "--checkpoint", ckpt, "--data", jig, "--steps", "1", "--out", cli.path("g")]
        let cases: [([String], String)] = [
            (pretrain + ["--steps", "2", "--batch-size", "0"], "--batch-size must lie in 1…65536, got 0"),
            (pretrain + ["--epochs", "nan"], "--epochs must be a finite number"),
            (pretrain + ["--epochs", "inf"], "--epochs must be a finite number"),
            (pretrain + ["--epochs", "1e30"], "--epochs must be a finite number"),
            (pretrain + ["--steps", "2", "--threads", String(1 << 61)], "--threads must lie in 1…1024"),
            (pretrain + ["--steps", "-3"], "--steps must lie in 1…"),
            (pretrain + ["--steps", "2", "--checkpoint-every", "-1"], "--checkpoint-every must lie in 0…"),
            (pretrain + ["--steps", "2", "--checkpoint-every=-1"], "--checkpoint-every must lie in 0…"),
            (pretrain + ["--steps", "2", "--warmup=-1"], "--warmup must lie in 0…"),
            (pretrain + ["--steps", "2", "--eval-every=-1"], "--eval-every must lie in 0…"),
            (pretrain + ["--steps", "2", "--eval-limit=-1"], "--eval-limit must lie in 1…"),
            (pretrain + ["--steps", "2", "--eval-limit", "0"], "--eval-limit must lie in 1…"),
            (pretrain + ["--steps", "2", "--lr", "1e308"], "--lr must be a finite number"),
            (pretrain + ["--steps", "2", "--attention-init-std", "nan"], "--attention-init-std must be a finite number above 0.0"),
            (pretrain + ["--steps", "2", "--attention-init-std", "0"], "--attention-init-std must be a finite number above 0.0"),
            (pretrain + ["--steps", "2", "--attention-init-std", "0.08", "--init", ckpt], "--attention-init-std sets up a fresh model"),
            (["init", "--preset", "tiny", "--attention-init-std", "-1", "--out", cli.path("i")], "--attention-init-std must be a finite number"),
            (grpo + ["-G", "100000000"], "--group-size (-G) must lie in 2…1024"),
            (grpo + ["-G", "-2"], "--group-size (-G) must lie in 2…1024, got -2"),
            (grpo + ["--mu", String(Int.max)], "--mu must lie in 1…1024"),
            (grpo + ["--batch-size", "65536", "--accumulation", "65536"], "--batch-size × --accumulation must lie in"),
            (["symmetry", "--checkpoint", ckpt, "--examples", prior, "--eta-points", "100000000000", "--out", cli.path("s.csv")], "--eta-points must lie in 3…1000"),
            (["data", "jigsaw", "--images", cli.path("prior/images"), "--image-size", "100000", "--out", cli.path("j")], "--image-size must lie in 2…1024"),
            (["data", "generate", "--count", "0", "--out", cli.path("d")], "--count must lie in 1…"),
            (["data", "preview", "--data", prior, "--count", "0", "--out", cli.path("p.png")], "--count must lie in 1…"),
            (["eval", "--oracle", "--data", prior, "--limit", "0", "--out", cli.path("e.csv")], "--limit must lie in 1…"),
            (["rollouts", "--checkpoint", ckpt, "--data", jig, "--limit", "0", "--out", cli.path("r.jsonl")], "--limit must lie in 1…"),
            (["eval", "--checkpoint", ckpt, "--data", prior, "--sample", "2", "--temperature", "-1", "--out", cli.path("e.csv")], "--temperature must be a finite number above"),
            (["init", "--preset", "tiny", "--seed", "-1", "--out", cli.path("c")], "--seed"),
            (["data", "preview", "--data", prior, "--scale", "100", "--out", cli.path("p.png")], "--scale must lie in 1…16"),
            // Values whose products overflowed an Int (a trap now that release builds keep their checks).
            (["data", "generate", "--tasks", "jigsaw", "--grid", "9999999999x9999999999", "--out", cli.path("d")], "is not ROWSxCOLUMNS"),
            (["kernel", "--checkpoint", ckpt, "--examples", prior, "--shard", "1/\(Int.max)", "--out", cli.path("k.safetensors")], "shard"),
            (["score", "--data", prior, "--outputs", cli.path("huge-box.jsonl"), "--out", cli.path("sc.csv")], "no outputs"),
        ]
        try Data().write(to: URL(fileURLWithPath: cli.path("huge-box.jsonl")))
        for (args, fragment) in cases {
            try cli.expectFailure(args, mentioning: fragment)
            #expect(!(try cli.analyze(args)).stderr.contains("Missing value"), "\(args): a negative value is a value")
        }
        // A grounding answer with a box too large to measure scores 0 instead of trapping.
        let id = try ExampleFile(url: URL(fileURLWithPath: prior)).examples.first { $0.task == "grounding" }!.id
        try Data(#"{"id":"\#(id)","output":"<answer> { bbox : [ 0 , 0 , 99999999999999999999 , 9223372036854775807 ] } </answer>"}"#.utf8)
            .write(to: URL(fileURLWithPath: cli.path("huge-box.jsonl")))
        try run(["score", "--data", prior, "--outputs", cli.path("huge-box.jsonl"), "--out", cli.path("sc.csv")])
    }

    // 2, 8 and 10: resume checks its state; a longer cosine run is refused; a resume into its own folder keeps the logs.
    @Test func resumeChecksItsStateAndKeepsTheHistory() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let prior = cli.path("prior/train.jsonl")
        try run(["train", "pretrain", "--preset", "tiny", "--data", prior, "--steps", "4", "--batch-size", "2", "--checkpoint-every", "2",
                 "--schedule", "cosine", "--warmup", "1", "--out", cli.path("run")])
        let step2 = cli.path("run/checkpoints/step-000002")
        try cli.expectFailure(["train", "pretrain", "--resume", step2, "--steps", "8", "--out", cli.path("longer")],
                              mentioning: "cosine schedule decays to the floor at step 4")
        try cli.expectFailure(["train", "pretrain", "--resume", cli.path("run/final"), "--out", cli.path("done")], mentioning: "nothing to train")
        // A kill during a checkpoint write leaves hidden staging folders; the next run in the folder removes them.
        let leftover = cli.dir.appendingPathComponent("run/checkpoints/.step-000003.new-4194304-1")
        try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
        let before = try String(contentsOfFile: cli.path("run/metrics.csv"), encoding: .utf8)
        try run(["train", "pretrain", "--resume", step2, "--out", cli.path("run"), "--force"])
        let after = try String(contentsOfFile: cli.path("run/metrics.csv"), encoding: .utf8)
        #expect(after == before, "resuming at step 2 into the same folder keeps rows 1–2 and rewrites 3–4 identically")
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        // Tampered state: errors name the file and the field.
        var (tensors, metadata) = try SafeTensors.read(URL(fileURLWithPath: step2 + "/trainer.safetensors"))
        metadata["step"] = "-5"
        try SafeTensors.write(tensors, metadata: metadata, to: URL(fileURLWithPath: step2 + "/trainer.safetensors"))
        try cli.expectFailure(["train", "pretrain", "--resume", step2, "--out", cli.path("bad")], mentioning: "trainer.safetensors: __metadata__.step is '-5'")
        metadata["step"] = "2"
        tensors[1] = NamedTensor(name: tensors[1].name, shape: tensors[1].shape, values: [.infinity] + tensors[1].values.dropFirst())
        try SafeTensors.write(tensors, metadata: metadata, to: URL(fileURLWithPath: step2 + "/trainer.safetensors"))
        try cli.expectFailure(["train", "pretrain", "--resume", step2, "--out", cli.path("bad")], mentioning: "'optimizer.second_moment' holds a non-finite value")
    }

    // 7. Outputs are never replaced without --force; every output has its meta.json.
    @Test func outputsAreNeverReplacedWithoutForce() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        let existing = cli.path("bench.csv")
        try Data("mine".utf8).write(to: URL(fileURLWithPath: existing))
        try cli.expectFailure(["bench", "--preset", "tiny", "--out", existing], mentioning: "already exists")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "mine")
        // <split>.meta.json or images left without <split>.jsonl still belong to someone.
        try FileManager.default.removeItem(atPath: cli.path("prior/train.jsonl"))
        try cli.expectFailure(["data", "generate", "--count", "2", "--image-size", "8", "--out", cli.path("prior")], mentioning: "train.meta.json already exists")
        try FileManager.default.removeItem(atPath: cli.path("prior/train.meta.json"))
        try cli.expectFailure(["data", "generate", "--count", "2", "--image-size", "8", "--out", cli.path("prior")], mentioning: "train-000000.png already exists")
        try run(["data", "generate", "--count", "2", "--image-size", "8", "--out", cli.path("prior"), "--force"])
        try run(["data", "preview", "--data", cli.path("jig/train.jsonl"), "--count", "2", "--out", cli.path("sheet.png")])
        #expect(FileManager.default.fileExists(atPath: cli.path("sheet.meta.json")))
        try run(["eval", "--oracle", "--data", cli.path("jig/train.jsonl"), "--out", cli.path("o.csv")])
        try run(["table", "--eval", "oracle=\(cli.path("o.summary.csv"))", "--out", cli.path("t.csv")])
        #expect(FileManager.default.fileExists(atPath: cli.path("t.meta.json")))
        try cli.expectFailure(["table", "--eval", "oracle=\(cli.path("o.summary.csv"))", "--out", cli.path("t.csv")], mentioning: "already exists")
    }

    // 5, 6 and 8: images checked from their header, CRLF accepted, malformed truth refused, NaN log-probs refused.
    @Test func inputsAreCheckedBeforeTheyMislead() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try makeData()
        // A PNG declaring 16384×16384 in a photo folder: refused from its header at once.
        let photos = cli.dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try TestPNG.header(width: 16384, height: 16384).write(to: photos.appendingPathComponent("huge.png"))
        try cli.expectFailure(["data", "jigsaw", "--images", photos.path, "--test-percent", "0", "--out", cli.path("j")], mentioning: "unsupported size 16384×16384")
        // CRLF line ends: the same examples as LF.
        let lf = try String(contentsOfFile: cli.path("jig/train.jsonl"), encoding: .utf8)
        try Data(lf.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: URL(fileURLWithPath: cli.path("jig/crlf.jsonl")))
        try run(["eval", "--oracle", "--data", cli.path("jig/crlf.jsonl"), "--out", cli.path("crlf.csv")])
        let summary = try String(contentsOfFile: cli.path("crlf.summary.csv"), encoding: .utf8)
        #expect(summary.contains("jigsaw,all,4,1"), "the oracle is 100%: \(summary)")
        // Malformed ground truth: refused by eval --oracle, score, rollouts and training alike.
        let bad = lf.replacingOccurrences(of: #""permutation":\[[0-9,]*\]"#, with: #""permutation":[0,0,0,0]"#, options: .regularExpression)
        try Data(bad.utf8).write(to: URL(fileURLWithPath: cli.path("jig/bad.jsonl")))
        let ckpt = try cli.initCheckpoint()
        for args in [["eval", "--oracle", "--data", cli.path("jig/bad.jsonl"), "--out", cli.path("b.csv")],
                     ["rollouts", "--checkpoint", ckpt, "--data", cli.path("jig/bad.jsonl"), "--out", cli.path("b.jsonl")],
                     ["train", "grpo", "--checkpoint", ckpt, "--data", cli.path("jig/bad.jsonl"), "--steps", "1", "--out", cli.path("bg")],
                     ["train", "sft", "--checkpoint", ckpt, "--data", cli.path("jig/bad.jsonl"), "--steps", "1", "--out", cli.path("bs")]] {
            try cli.expectFailure(args, mentioning: "truth.permutation [0, 0, 0, 0] is not a permutation")
        }
        // Huge finite weights whose forward pass overflows: logprobs refuses instead of writing nan rows.
        let weights = URL(fileURLWithPath: ckpt + "/model.safetensors")
        let (tensors, metadata) = try SafeTensors.read(weights)
        try SafeTensors.write(tensors.map { NamedTensor(name: $0.name, shape: $0.shape, values: $0.values.map { _ in 1e200 }) }, metadata: metadata, to: weights)
        try cli.expectFailure(["logprobs", "--checkpoint", ckpt, "--examples", cli.path("jig/train.jsonl"), "--out", cli.path("lp.csv")], mentioning: "log π of example")
        #expect(!FileManager.default.fileExists(atPath: cli.path("lp.csv")))
    }
}
