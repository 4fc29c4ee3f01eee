import Dynamics
import Foundation
import Testing

/// `analyze` under Open MPI's `mpirun` (installed by scripts/setup.sh): the same bytes as one process for any
/// number of ranks, and a job that fails (bad input, a killed rank) ends with an error and no complete-looking output.
extension CLITests {
    /// `mpirun --oversubscribe -np ranks analyze arguments…` (as root where CI runs as root).
    func mpirun(_ ranks: Int, _ arguments: [String], whileRunning: ((Process) throws -> Void)? = nil) throws -> Run {
        try Self.launch(arguments, ranks: ranks, whileRunning: whileRunning)  // the kernel of `analyze(_:)`'s processes
    }

    func expectSameFiles(_ a: String, _ b: String, suffixes: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for suffix in suffixes {
            let x = try Data(contentsOf: URL(fileURLWithPath: "\(a).\(suffix)"))
            let y = try Data(contentsOf: URL(fileURLWithPath: "\(b).\(suffix)"))
            #expect(x == y, "\(b).\(suffix) differs from \(a).\(suffix)", sourceLocation: sourceLocation)
        }
    }

    @Test func kernelUnderMPIEqualsOneProcess() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let suffixes = ["safetensors", "csv", "tensors.csv"]
        for blocks in [false, true] {
            let common = ["kernel", "--checkpoint", ckpt, "--examples", examples.path, "--select", "all", "--threads", "1"] + (blocks ? ["--blocks"] : [])
            let tag = blocks ? "blocks" : "traces"
            let one = try analyze(common + ["--out", path("one-\(tag).safetensors")])
            #expect(one.status == 0, "kernel: \(one.stderr)")
            for ranks in [2, 3] {
                let run = try mpirun(ranks, common + ["--out", path("np\(ranks)-\(tag).safetensors")])
                #expect(run.status == 0, "mpirun -np \(ranks) kernel: \(run.stderr)")
                #expect(run.stdout.split(separator: "\n").count == 1, "one summary line from rank 0: \(run.stdout)")
                try expectSameFiles(path("one-\(tag)"), path("np\(ranks)-\(tag)"), suffixes: suffixes)
            }
        }
        // A shard of the pairs, split again over the ranks, is the one-process shard.
        let shard = ["kernel", "--checkpoint", ckpt, "--examples", examples.path, "--select", "all", "--shard", "2/3"]
        #expect(try analyze(shard + ["--out", path("shard.safetensors")]).status == 0)
        #expect(try mpirun(3, shard + ["--out", path("shard-np3.safetensors")]).status == 0)
        try expectSameFiles(path("shard"), path("shard-np3"), suffixes: suffixes)
    }

    @Test func dataParallelTrainingEqualsOneProcessAndResumesOnOtherRankCounts() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let prior = path("prior"), puzzles = path("puzzles")
        for (tasks, out, style) in [("prior", prior, "both"), ("jigsaw", puzzles, "reasoning")] {
            let run = try analyze(["data", "generate", "--tasks", tasks, "--split", "train", "--count", "24", "--style", style, "--image-size", "8", "--out", out])
            #expect(run.status == 0, "data generate: \(run.stderr)")
        }
        let sft = ["train", "sft", "--checkpoint", ckpt, "--data", prior + "/train.jsonl", "--steps", "4", "--batch-size", "6", "--lr", "1e-3",
                   "--checkpoint-every", "2", "--eval-data", prior + "/train.jsonl", "--eval-limit", "4", "--eval-every", "2", "--threads", "1"]
        let grpo = ["train", "grpo", "--checkpoint", ckpt, "--data", puzzles + "/train.jsonl", "--steps", "2", "-G", "3", "--batch-size", "2",
                    "--threads", "1"]
        let files = ["final/model.safetensors", "final/trainer.safetensors", "metrics.csv", "eval.csv", "checkpoints/step-000002/model.safetensors"]
        #expect(try analyze(sft + ["--out", path("sft-1")]).status == 0)
        #expect(try analyze(grpo + ["--out", path("grpo-1")]).status == 0)
        for ranks in [2, 3] {
            let s = try mpirun(ranks, sft + ["--out", path("sft-\(ranks)")])
            #expect(s.status == 0, "mpirun -np \(ranks) train sft: \(s.stderr)")
            #expect(s.stdout.split(separator: "\n").count == 1, "one summary line: \(s.stdout)")
            for f in files { #expect(try Data(contentsOf: URL(fileURLWithPath: path("sft-1/\(f)"))) == Data(contentsOf: URL(fileURLWithPath: path("sft-\(ranks)/\(f)"))), "sft \(f) on \(ranks) ranks") }
            let g = try mpirun(ranks, grpo + ["--out", path("grpo-\(ranks)")])
            #expect(g.status == 0, "mpirun -np \(ranks) train grpo: \(g.stderr)")
            for f in ["final/model.safetensors", "final/trainer.safetensors", "metrics.csv"] {
                #expect(try Data(contentsOf: URL(fileURLWithPath: path("grpo-1/\(f)"))) == Data(contentsOf: URL(fileURLWithPath: path("grpo-\(ranks)/\(f)"))), "grpo \(f) on \(ranks) ranks")
            }
        }
        // A run checkpointed on 2 ranks resumes on 3 (and on 1) and ends where the one-process run ends, bit for bit.
        for (ranks, name) in [(3, "resumed-3"), (1, "resumed-1")] {
            try? FileManager.default.removeItem(atPath: path(name))
            try FileManager.default.copyItem(atPath: path("sft-2"), toPath: path(name))
            let resume = ["train", "sft", "--resume", path("\(name)/checkpoints/step-000002"), "--threads", "1", "--out", path(name), "--force"]
            let r = ranks == 1 ? try analyze(resume) : try mpirun(ranks, resume)
            #expect(r.status == 0, "resume on \(ranks): \(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path("sft-1/final/model.safetensors"))) == Data(contentsOf: URL(fileURLWithPath: path("\(name)/final/model.safetensors"))))
        }
    }


    /// `analyze arguments… --out TAG-1.EXT` as one process, then under `-np 2` and `-np 3` (`--out TAG-npN.EXT`): the
    /// same stdout (rank 0's one line) and the same bytes in every file `suffixes` names.
    func expectSameUnderMPI(_ tag: String, _ ext: String, _ arguments: [String], suffixes: [String],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let one = try analyze(arguments + ["--out", path("\(tag)-1.\(ext)")])
        #expect(one.status == 0, "\(arguments[0]): \(one.stderr)", sourceLocation: sourceLocation)
        for ranks in [2, 3] {
            let run = try mpirun(ranks, arguments + ["--out", path("\(tag)-np\(ranks).\(ext)")])
            #expect(run.status == 0, "mpirun -np \(ranks) \(arguments[0]): \(run.stderr)", sourceLocation: sourceLocation)
            #expect(run.stdout == one.stdout.replacingOccurrences(of: "\(tag)-1.", with: "\(tag)-np\(ranks)."), "rank 0's summary: \(run.stdout)",
                    sourceLocation: sourceLocation)
            try expectSameFiles(path("\(tag)-1"), path("\(tag)-np\(ranks)"), suffixes: suffixes, sourceLocation: sourceLocation)
        }
    }

    /// `analyze data generate` of `count` small examples of `tasks` into `name`/train.jsonl.
    func generate(_ name: String, tasks: String, count: Int, extra: [String] = []) throws -> String {
        let run = try analyze(["data", "generate", "--tasks", tasks, "--split", "train", "--count", String(count), "--image-size", "8", "--out", path(name)] + extra)
        #expect(run.status == 0, "data generate: \(run.stderr)")
        return path("\(name)/train.jsonl")
    }

    @Test func evalUnderMPIEqualsOneProcess() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let data = try generate("prior", tasks: "prior", count: 7)
        let common = ["eval", "--checkpoint", ckpt, "--data", data, "--threads", "1"]
        try expectSameUnderMPI("greedy", "csv", common, suffixes: ["csv", "summary.csv"])
        // Sampled: output j of example ID draws from the stream "eval.ID.j" on whichever rank holds ID.
        try expectSameUnderMPI("sampled", "csv", common + ["--sample", "3", "--temperature", "1.5", "--seed", "7"], suffixes: ["csv", "summary.csv"])
    }

    @Test func rolloutsUnderMPIEqualsOneProcess() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let data = try generate("jig", tasks: "jigsaw", count: 5, extra: ["--grid", "2x2", "--style", "reasoning"])
        let common = ["rollouts", "--checkpoint", ckpt, "--data", data, "-G", "3", "--seed", "4", "--threads", "1"]
        try expectSameUnderMPI("records", "jsonl", common, suffixes: ["jsonl"])
        try expectSameUnderMPI("examples", "jsonl", common + ["--as-examples"], suffixes: ["jsonl"])
    }

    @Test func sweepsUnderMPIEqualOneProcess() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let data = try generate("prior", tasks: "prior", count: 5)
        try expectSameUnderMPI("symmetry", "csv", ["symmetry", "--checkpoint", ckpt, "--examples", data, "--pairs", "5", "--eta-points", "4", "--threads", "1"],
                               suffixes: ["csv", "slopes.csv"])
        let ids = (0..<5).map { "train-00000\($0)" }
        try expectSameUnderMPI("decompose", "csv", ["decompose", "--checkpoint", ckpt, "--examples", data, "--level", "sequence", "--u", ids[0]]
                               + ids.dropFirst().flatMap { ["--v", $0] } + ["--eta", "1e-4,1e-3"], suffixes: ["csv", "shares.csv"])
        let policy = try initCheckpoint("policy")
        try expectSameUnderMPI("perplexity", "csv", ["perplexity", "--base", ckpt, "--policy", policy, "--data", data, "--questions", "4", "-K", "3",
                                                     "--resamples", "50"], suffixes: ["csv", "gaps.csv", "summary.csv", "histogram.csv", "test.csv"])
        // Influence: the probes in the chunks of 64 one process uses (70 probes: two chunks), then the measured steps (train
        // examples) over the ranks.
        let probes = try generate("probes", tasks: "prior", count: 70)
        try expectSameUnderMPI("influence", "csv", ["influence", "--checkpoint", ckpt, "--train", data, "--probes", probes, "--measure", "--threads", "1"],
                               suffixes: ["csv", "tasks.csv"])
    }

    @Test func mpiJobsFailCleanly() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        // Bad input: every rank agrees on the failure and rank 0 names it once.
        let bad = try mpirun(2, ["kernel", "--checkpoint", ckpt, "--examples", path("missing.jsonl"), "--out", path("bad.safetensors")])
        #expect(bad.status != 0 && !bad.crashed)
        #expect(bad.stderr.contains("rank 0 of 2 failed") && bad.stderr.contains("missing.jsonl"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path("bad.safetensors")))
        // A command without MPI support refuses several ranks instead of running twice.
        let refused = try mpirun(2, ["init", "--preset", "tiny", "--out", path("twice")])
        #expect(refused.status != 0 && refused.stderr.contains("does not run under MPI"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path("twice")))
    }

    @Test func killedRankEndsTheJobWithoutOutput() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        // A probe set large enough to take seconds: the examples repeated, every token of each, with blocks.
        let lines = try String(contentsOf: examples, encoding: .utf8).split(separator: "\n").prefix(2)
        let many = (0..<40).flatMap { k in lines.map { $0.replacingOccurrences(of: #""id": ""#, with: #""id": "\#(k)-"#) } }
        try AtomicFile.write(Data(many.joined(separator: "\n").utf8), to: dir.appendingPathComponent("data/many.jsonl"))
        let out = path("killed.safetensors")
        let run = try mpirun(2, ["kernel", "--checkpoint", ckpt, "--examples", path("data/many.jsonl"), "--select", "all", "--blocks",
                                 "--threads", "1", "--out", out]) { _ in Self.killRankOne(runningWith: out) }
        #expect(run.status != 0, "the job should fail when a rank is killed")
        for suffix in ["safetensors", "csv", "tensors.csv", "meta.json"] {
            #expect(!FileManager.default.fileExists(atPath: "\(path("killed")).\(suffix)"), "killed.\(suffix) should not exist")
        }
    }

    @Test func killedRankEndsRolloutsWithoutOutput() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let data = try generate("jig", tasks: "jigsaw", count: 40, extra: ["--grid", "2x2", "--style", "reasoning"])
        let out = path("killed.jsonl")
        let run = try mpirun(2, ["rollouts", "--checkpoint", ckpt, "--data", data, "-G", "48", "--threads", "1", "--out", out]) { _ in
            Self.killRankOne(runningWith: out)
        }
        #expect(run.status != 0, "the job should fail when a rank is killed")
        for file in [out, path("killed.meta.json")] { #expect(!FileManager.default.fileExists(atPath: file), "\(file) should not exist") }
    }

    /// Finds rank 1 of the job writing `out` by its environment and kills it once it is working.
    static func killRankOne(runningWith out: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var killed = false
        for _ in 0..<200 where !killed {
            Thread.sleep(forTimeInterval: 0.05)
            for pid in processes(withArgument: out, environment: "OMPI_COMM_WORLD_RANK=1") {
                Thread.sleep(forTimeInterval: 0.3)
                kill(pid, SIGKILL)
                killed = true
            }
        }
        #expect(killed, "rank 1 was never seen running", sourceLocation: sourceLocation)
    }

    /// Processes whose command line holds `argument` and whose environment holds `environment` (from /proc).
    static func processes(withArgument argument: String, environment: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let env = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return args.contains(argument) && args.first?.hasSuffix("analyze") == true && env.contains(environment)
        }
    }
}
