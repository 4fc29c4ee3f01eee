import Dynamics
import Foundation
import Testing

/// The `analyze` program end to end on the tiny preset: outputs agree with the library, failures are
/// messages and non-zero exits (never a crash), nothing is overwritten without --force.
@Suite(.serialized) struct CLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        let crashed: Bool
    }

    let dir: URL
    let examples: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-test-\(UUID().uuidString)")
        examples = dir.appendingPathComponent("data/examples.jsonl")
        let rng = RandomStream(seed: 3, name: "test.images")
        for name in ["a", "b"] {
            let image = try RGBImage(width: 8, height: 8, pixels: (0..<192).map { _ in rng.uniform() })
            try PNGCodec.write(image, to: dir.appendingPathComponent("data/images/\(name).png"))
        }
        try PNGCodec.write(RGBImage(width: 5, height: 8), to: dir.appendingPathComponent("data/images/wrong-size.png"))
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("data/images/corrupt.png"))
        let lines = [
            #"{"id": "g", "prompt": "where is the red circle ?", "response": "<answer> { bbox : [ 1 , 2 , 5 , 6 ] } </answer>", "image": "images/a.png"}"#,
            #"{"id": "j", "prompt": "the image is cut into 2 x 2 pieces .", "response": "<answer> [ 2 , 0 , 3 , 1 ] </answer>", "image": "images/b.png"}"#,
            #"{"id": "t", "prompt": "how many circles are there ?", "response": "<answer> 2 </answer>", "image": null}"#,
        ]
        try AtomicFile.write(Data(lines.joined(separator: "\n").utf8), to: examples)
    }

    /// Runs the built `analyze` with `arguments`.
    /// The built `analyze` beside the test bundle.
    static func executable() throws -> URL {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("analyze")
        let candidates = [binary, Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("analyze")]
        guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: binary.path])
        }
        return exe
    }

    /// The environment of the `analyze` processes: this process's, with OpenBLAS's kernel set to the one this
    /// process runs, so that their numbers can be compared with the library's here byte for byte (the program would
    /// otherwise pin its own kernel, `BLASKernel`, which differs from this process's on some processors).
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[BLASKernel.variable] = BLASKernel.current
        environment[BLASKernel.threadTimeoutVariable] = BLASKernel.threadTimeout
        return environment
    }

    func analyze(_ arguments: [String]) throws -> Run { try Self.launch(arguments) }

    /// Runs the built `analyze ARGS` (under `mpirun -np RANKS` when `ranks` is given, allowed to run as root) with
    /// `environment`, in `directory` when given, calling `whileRunning` once it has started; returns its exit, stdout
    /// and stderr.
    static func launch(_ arguments: [String], ranks: Int? = nil, environment: [String: String] = environment, directory: URL? = nil,
                       whileRunning: ((Process) throws -> Void)? = nil) throws -> Run {
        let process = Process()
        if let directory { process.currentDirectoryURL = directory }
        var environment = environment
        if let ranks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["mpirun", "--oversubscribe", "-np", String(ranks), try executable().path] + arguments
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        } else {
            process.executableURL = try executable()
            process.arguments = arguments
        }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        try whileRunning?(process)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self), crashed: process.terminationReason == .uncaughtSignal)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// ‖a − b‖ ≤ 1e-12 ‖b‖.
    func expectNear(_ a: [Double], _ b: [Double], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): sizes differ", sourceLocation: sourceLocation)
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        #expect(diff <= 1e-12 * BLAS.norm2(b), "\(what): ‖diff‖ = \(diff)", sourceLocation: sourceLocation)
    }

    func initCheckpoint(_ name: String = "ckpt") throws -> String {
        let run = try analyze(["init", "--preset", "tiny", "--seed", "5", "--out", path(name)])
        #expect(run.status == 0, "init failed: \(run.stderr)")
        return path(name)
    }

    /// Expects a clean failure whose stderr mentions `fragment`.
    func expectFailure(_ arguments: [String], mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let run = try analyze(arguments)
        #expect(!run.crashed, "analyze \(arguments.joined(separator: " ")) crashed: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.status != 0, "analyze \(arguments.joined(separator: " ")) should fail", sourceLocation: sourceLocation)
        #expect(run.stderr.contains(fragment), "stderr should mention '\(fragment)': \(run.stderr)", sourceLocation: sourceLocation)
    }

    @Test func outputsAgreeWithTheLibrary() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckptPath = try initCheckpoint()
        let ckpt = try Checkpoint.load(from: URL(fileURLWithPath: ckptPath))
        let file = try ExampleFile(url: examples)
        let encoded = try EncodedExample.all(file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)

        // init with the attention's scale: the library's fresh model, bit for bit, and its scale in the run record
        let scaled = try analyze(["init", "--preset", "tiny", "--seed", "5", "--attention-init-std", "0.08", "--out", path("ckpt-qkv")])
        #expect(scaled.status == 0, "\(scaled.stderr)")
        let scaledModel = try Transformer(config: ckpt.model.config, seed: 5, initialization: Initialization(attentionStd: 0.08))
        let written = try Checkpoint.load(from: URL(fileURLWithPath: path("ckpt-qkv")))
        #expect(written.model.parameters == scaledModel.parameters)
        #expect(written.model.parameters != ckpt.model.parameters)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("ckpt-qkv/meta.json")))) as? [String: Any]
        #expect((record?["details"] as? [String: Any])?["attention_init_std"] as? Double == 0.08)

        // tokenize
        var run = try analyze(["tokenize", "--checkpoint", ckptPath, "--examples", examples.path, "--out", path("tok.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOfFile: path("tok.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["tokens"] as? [Int] == encoded[0].input.tokens)
        #expect(first?["image_positions"] as? Int == 4)
        #expect(first?["response_start"] as? Int == encoded[0].responseStart)

        // logprobs: one row per scored token, values as the library computes them
        run = try analyze(["logprobs", "--checkpoint", ckptPath, "--examples", examples.path, "--out", path("lp.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try String(contentsOfFile: path("lp.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows[0] == ["example", "position", "token", "logprob"])
        let expected = try encoded.flatMap { e in try TokenGradients.responseLogProbs(ckpt.model, e).map { (e.id, $0) } }
        #expect(rows.count - 1 == expected.count)
        for (row, (id, t)) in zip(rows.dropFirst(), expected) {
            #expect(row == [id, String(t.position), String(t.token), "\(t.logProb)"])
        }
        #expect(FileManager.default.fileExists(atPath: path("lp.meta.json")))

        // jacobian
        let p = encoded[0].responsePositions.lowerBound + 3
        run = try analyze(["jacobian", "--checkpoint", ckptPath, "--examples", examples.path, "--example", "g",
                           "--position", String(p), "--out", path("J.safetensors")])
        #expect(run.status == 0, "\(run.stderr)")
        let jFile = try SafeTensors.read(URL(fileURLWithPath: path("J.safetensors"))).tensors
        let jLib = try TokenGradients.logitJacobian(ckpt.model, input: encoded[0].input, position: p)
        #expect(jFile.first?.name == "jacobian" && jFile.first?.shape == [jLib.rows, jLib.cols])
        // Within round-off: the library's products here may run with another OpenBLAS thread count than the CLI's.
        expectNear(jFile.first?.values ?? [], jLib.storage, "jacobian")
        let norms = try String(contentsOfFile: path("J.norms.csv"), encoding: .utf8).split(separator: "\n")
        #expect(norms.count == 1 + ckpt.model.layout.tensors.count)

        // entk: K equals J_v J_uᵀ from two jacobian runs, contributions add up to the trace
        let q = encoded[2].responsePositions.lowerBound + 1
        run = try analyze(["entk", "--checkpoint", ckptPath, "--examples", examples.path, "--u", "g:\(p)", "--v", "t:\(q)",
                           "--out", path("K.safetensors")])
        #expect(run.status == 0, "\(run.stderr)")
        let k = try SafeTensors.read(URL(fileURLWithPath: path("K.safetensors"))).tensors[0]
        let jv = try TokenGradients.logitJacobian(ckpt.model, input: encoded[2].input, position: q)
        let kLib = try EmpiricalNTK.block(jv, jLib)
        #expect(k.name == "K")
        expectNear(k.values, kLib.storage, "K")
        let traces = try String(contentsOfFile: path("K.contributions.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { Double($0.split(separator: ",")[1])! }
        #expect(abs(traces.reduce(0, +) - kLib.trace) <= 1e-12 * abs(kLib.trace))
    }

    /// `bench` states each figure's FLOPs and its share of the roof at the figure's own thread count; the training
    /// group times the demo's pretraining step (the whole step) at one thread and at all of them.
    @Test func benchStatesEachFigureAsAShareOfItsOwnRoof() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try analyze(["bench", "--preset", "tiny", "--only", "training", "--repeats", "1", "--threads", "2", "--out", path("bench.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try String(contentsOfFile: path("bench.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        func roof(_ threads: String) -> Double? { rows.first { $0[0] == "plain dgemm 512³ (the roof)" && $0[3] == threads }.flatMap { Double($0[1]) } }
        let pretraining = rows.filter { $0[0] == "pretraining step (batch 8)" }
        #expect(pretraining.map { $0[3] } == ["1", "2"])
        for row in pretraining {
            guard let value = Double(row[1]), let flop = Double(row[4]), let gflops = Double(row[5]), let share = Double(row[6]), let r = roof(row[3]) else {
                Issue.record("unreadable row \(row)"); continue
            }
            #expect(row[2] == "steps/s" && value > 0 && flop > 1e6)
            #expect(abs(gflops - value * flop / 1e9) <= 1e-9 * gflops, "GFLOP/s = steps/s × FLOP")
            #expect(abs(share - gflops / r) <= 1e-9 * share, "share of the roof at \(row[3]) threads")
        }
    }

    @Test func sameSeedGivesSameBytes() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try initCheckpoint("a"), b = try initCheckpoint("b")
        for f in ["config.json", "tokenizer.json", "model.safetensors"] {
            #expect(FileManager.default.contentsEqual(atPath: "\(a)/\(f)", andPath: "\(b)/\(f)"), "\(f)")
        }
    }

    @Test func badInputsAreMessagesAndNonZeroExits() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try initCheckpoint()
        let common = ["--checkpoint", ckpt, "--examples", examples.path]
        // Nothing is overwritten without --force.
        try expectFailure(["init", "--preset", "tiny", "--out", ckpt], mentioning: "already exists")
        #expect(try analyze(["init", "--preset", "tiny", "--seed", "6", "--out", ckpt, "--force"]).status == 0)
        try expectFailure(["init", "--preset", "huge", "--out", path("x")], mentioning: "'huge' is invalid for '--preset")
        try AtomicFile.write(Data(#"{"d_model": 30, "n_heads": 4}"#.utf8), to: dir.appendingPathComponent("cfg.json"))
        try expectFailure(["init", "--preset", "tiny", "--config", path("cfg.json"), "--out", path("x")], mentioning: "n_heads")
        try AtomicFile.write(Data(#"{"depth": 3}"#.utf8), to: dir.appendingPathComponent("cfg.json"))
        try expectFailure(["init", "--preset", "tiny", "--config", path("cfg.json"), "--out", path("x")], mentioning: "'depth'")
        try expectFailure(["logprobs", "--checkpoint", path("nope"), "--examples", examples.path, "--out", path("o.csv")],
                          mentioning: "does not exist")
        try expectFailure(["logprobs", "--checkpoint", ckpt, "--examples", path("nope.jsonl"), "--out", path("o.csv")],
                          mentioning: "nope.jsonl")
        try expectFailure(["logprobs"] + common, mentioning: "--out")
        try expectFailure(["jacobian"] + common + ["--example", "zz", "--position", "5", "--out", path("J.safetensors")],
                          mentioning: "no example with id 'zz'")
        try expectFailure(["jacobian"] + common + ["--example", "g", "--position", "999", "--out", path("J.safetensors")],
                          mentioning: "position 999")
        try expectFailure(["jacobian"] + common + ["--example", "g", "--position", "2", "--out", path("J.safetensors")],
                          mentioning: "position 2")
        try expectFailure(["entk"] + common + ["--u", "g", "--v", "t:3", "--out", path("K.safetensors")], mentioning: "'g' is not an ID:POSITION")
        try expectFailure(["jacobian"] + common + ["--example", "g", "--position", "x", "--out", path("J.safetensors")],
                          mentioning: "position")
        // Existing outputs are kept.
        try Data("keep".utf8).write(to: dir.appendingPathComponent("kept.csv"))
        try expectFailure(["logprobs"] + common + ["--out", path("kept.csv")], mentioning: "already exists")
        #expect(try String(contentsOfFile: path("kept.csv"), encoding: .utf8) == "keep")

        // Bad example files.
        func examplesFile(_ line: String) throws -> String {
            let url = dir.appendingPathComponent("data/bad.jsonl")
            try AtomicFile.write(Data(line.utf8), to: url)
            return url.path
        }
        let badCases: [(String, String)] = [
            (#"{"id": "u", "prompt": "is there a purple circle ?", "response": "no", "image": null}"#, "unknown word 'purple'"),
            (#"{"id": "m", "prompt": "where", "image": null}"#, "missing key 'response'"),
            (#"{"id": "c", "prompt": "where", "response": "#, "line 1"),
            (#"{"id": "w", "prompt": "where", "response": "no", "image": "images/wrong-size.png"}"#, "is 5×8"),
            (#"{"id": "k", "prompt": "where", "response": "no", "image": "images/corrupt.png"}"#, "corrupt.png"),
            (#"{"id": "n", "prompt": "where", "response": "no", "image": "images/none.png"}"#, "none.png"),
            ("", "no examples"),
        ]
        for (line, fragment) in badCases {
            try expectFailure(["logprobs", "--checkpoint", ckpt, "--examples", try examplesFile(line), "--out", path("o.csv")],
                              mentioning: fragment)
        }
        let dup = #"{"id": "d", "prompt": "where", "response": "no", "image": null}"#
        try expectFailure(["tokenize", "--checkpoint", ckpt, "--examples", try examplesFile(dup + "\n" + dup), "--out", path("o.jsonl")],
                          mentioning: "duplicate id 'd'")
        let long = #"{"id": "l", "prompt": "\#(String(repeating: "the ", count: 100))", "response": "no", "image": null}"#
        try expectFailure(["logprobs", "--checkpoint", ckpt, "--examples", try examplesFile(long), "--out", path("o.csv")],
                          mentioning: "more than max_seq_len")

        // NaN weights in a checkpoint.
        var tensors = try SafeTensors.read(URL(fileURLWithPath: "\(ckpt)/model.safetensors")).tensors
        let i = tensors.firstIndex { $0.name == "blocks.1.mlp.fc.weight" }!
        tensors[i] = NamedTensor(name: tensors[i].name, shape: tensors[i].shape, values: [.nan] + tensors[i].values.dropFirst())
        try SafeTensors.write(tensors, metadata: ["format_version": "1"], to: URL(fileURLWithPath: "\(ckpt)/model.safetensors"))
        try expectFailure(["logprobs"] + common + ["--out", path("o.csv")], mentioning: "'blocks.1.mlp.fc.weight' holds a non-finite value")
        #expect(!FileManager.default.fileExists(atPath: path("o.csv")), "a failed run leaves no output")
    }
}
