import Dynamics
import Foundation
import Testing

/// `decompose`, `symmetry` and `influence` end to end on a tiny checkpoint: columns, values against the library,
/// verdicts, and clean failures.
@Suite(.serialized) struct LearningDynamicsCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    /// Header and rows of a CSV without quoted cells.
    func read(_ name: String) throws -> (header: [String], rows: [[String: String]]) {
        try CSVReader.table(URL(fileURLWithPath: cli.path(name)))
    }

    func run(_ args: [String]) throws -> CLITests.Run {
        let r = try cli.analyze(args)
        #expect(r.status == 0 && !r.crashed, "analyze \(args.joined(separator: " ")): \(r.stderr)")
        return r
    }

    func close(_ a: String?, _ b: Double, _ what: String, tolerance: Double = 1e-9, sourceLocation: SourceLocation = #_sourceLocation) {
        let x = Double(a ?? "") ?? .nan
        #expect(abs(x - b) <= tolerance * abs(b), "\(what): \(x) vs \(b)", sourceLocation: sourceLocation)
    }

    @Test func decomposeSymmetryInfluence() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        let ckptPath = try cli.initCheckpoint()
        let ckpt = try Checkpoint.load(from: URL(fileURLWithPath: ckptPath))
        // The CLI examples with tasks: g grounding, j jigsaw, t without a task.
        let lines = try String(contentsOf: cli.examples, encoding: .utf8).split(separator: "\n").enumerated().map { k, line in
            k == 2 ? String(line) : line.replacingOccurrences(of: "{\"id\"", with: k == 0 ? "{\"task\": \"grounding\", \"id\"" : "{\"task\": \"jigsaw\", \"id\"")
        }
        let tasksFile = cli.dir.appendingPathComponent("data/tasks.jsonl")
        try AtomicFile.write(Data(lines.joined(separator: "\n").utf8), to: tasksFile)
        let file = try ExampleFile(url: tasksFile)
        let encoded = try EncodedExample.all(file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)
        let (g, j, t) = (encoded[0], encoded[1], encoded[2])
        let p = g.responsePositions.lowerBound + 1, q = t.responsePositions.lowerBound + 1, r = j.responsePositions.upperBound - 1
        let common = ["--checkpoint", ckptPath, "--examples", tasksFile.path]

        // decompose, token level: predicted and measured as the library has them; shares sum to 1.
        var out = try run(["decompose"] + common + ["--u", "g:\(p)", "--v", "t:\(q)", "--v", "j:\(r)", "--eta", "1e-5,1e-4,1e-3", "--out", cli.path("dec.csv")])
        let dec = try read("dec.csv")
        #expect(dec.header == ["u", "v", "level", "eta", "predicted", "measured", "residual", "relative_error", "used_in_fit"])
        #expect(dec.rows.count == 6)
        let lib = try OneStepDecomposition(ckpt.model, update: GradientRequest(example: g, sum: .token(p)),
                                           probe: GradientRequest(example: t, sum: .token(q)), etas: [1e-5, 1e-4, 1e-3])
        for (row, c) in zip(dec.rows, lib.changes) {
            #expect(row["u"] == "g:\(p)" && row["v"] == "t:\(q)" && row["level"] == "token")
            close(row["predicted"], c.predicted, "predicted at η = \(c.eta)")
            close(row["measured"], c.measured, "measured at η = \(c.eta)", tolerance: 1e-6)
        }
        let shares = try read("dec.shares.csv")
        #expect(shares.header == ["u", "v", "tensor", "product", "share"])
        #expect(shares.rows.count == 2 * ckpt.model.layout.tensors.count)
        let firstShares = shares.rows.filter { $0["v"] == "t:\(q)" }.map { Double($0["share"]!)! }
        #expect(abs(firstShares.reduce(0, +) - 1) < 1e-9)
        #expect(out.stdout.contains("residual slope"), "\(out.stdout)")
        #expect(FileManager.default.fileExists(atPath: cli.path("dec.meta.json")))

        // decompose, sequence level with a GRPO advantage.
        try AtomicFile.write(Data("id,advantage\ng,-0.5\n".utf8), to: cli.dir.appendingPathComponent("adv.csv"))
        _ = try run(["decompose"] + common + ["--u", "g", "--v", "t", "--level", "sequence", "--advantages", cli.path("adv.csv"), "--out", cli.path("decg.csv")])
        let grpo = try GRPOCoefficients.weighted(.meanLogLikelihood(g), of: g, model: ckpt.model, reference: nil, advantage: -0.5, beta: 0.04)
        let seq = try OneStepDecomposition(ckpt.model, update: GradientRequest(example: g, sum: grpo),
                                           probe: GradientRequest(example: t, sum: .sequence(t)), etas: [1e-6])
        close(try read("decg.csv").rows.first?["predicted"], seq.changes[0].predicted, "GRPO-weighted sequence prediction")

        // symmetry: every point, the slopes, and the verdicts.
        out = try run(["symmetry"] + common + ["--pair", "g:\(p),t:\(q)", "--pair", "j:\(r),g:\(p + 2)", "--out", cli.path("sym.csv")])
        let sym = try read("sym.csv")
        #expect(sym.header == ["optimizer", "pair", "u", "v", "eta", "delta_vu", "delta_uv", "predicted_vu", "predicted_uv", "asymmetry",
                               "relative_asymmetry", "above_floor", "first_order", "used_in_fit", "used_in_delta_fit"])
        #expect(sym.rows.count == 2 * 2 * 11)
        for row in sym.rows {
            #expect(Double(row["asymmetry"]!)! == abs(Double(row["delta_vu"]!)! - Double(row["delta_uv"]!)!), "a = |Δ_vu − Δ_uv|")
        }
        let slopes = try read("sym.slopes.csv")
        #expect(slopes.header == ["optimizer", "quantity", "scope", "pair", "u", "v", "slope", "slope_se", "n_points"])
        let pooled = slopes.rows.filter { $0["scope"] == "pooled" && $0["quantity"] == "asymmetry" }
        #expect(pooled.map { $0["optimizer"] } == ["sgd", "adam"])
        let sgdSlope = Double(pooled[0]["slope"]!)!, adamSlope = Double(pooled[1]["slope"]!)!
        #expect((1.8...2.2).contains(sgdSlope) && (0.8...1.2).contains(adamSlope), "asymmetry slopes \(sgdSlope), \(adamSlope)")
        #expect(out.stderr.contains("symmetric to first order (a ∝ η²)") && out.stderr.contains("asymmetric at first order (a ∝ η)"), "\(out.stderr)")
        #expect(out.stdout.split(separator: "\n").count == 1, "one summary line: \(out.stdout)")

        // influence: long format and task summary; I equals the library's, measured agrees to first order.
        out = try run(["influence", "--checkpoint", ckptPath, "--train", tasksFile.path, "--probes", tasksFile.path, "--eta", "1e-4", "--measure",
                       "--out", cli.path("inf.csv")])
        let inf = try read("inf.csv")
        #expect(inf.header == ["probe", "probe_task", "train", "train_task", "influence", "measured"])
        #expect(inf.rows.count == 9)
        let m = try InfluenceMatrix(ckpt.model, probes: encoded, train: encoded, eta: 1e-4, threads: 1)
        for (k, row) in inf.rows.enumerated() {
            close(row["influence"], m.influence[k / 3, k % 3], "I[\(k / 3), \(k % 3)]")
            close(row["measured"], m.influence[k / 3, k % 3], "measured ≈ I", tolerance: 0.05)
        }
        #expect(inf.rows[2]["probe_task"] == "grounding" && inf.rows[2]["train_task"] == "unknown")
        let tasks = try read("inf.tasks.csv")
        #expect(tasks.header == ["probe_task", "train_task", "n", "mean", "sd"])
        #expect(tasks.rows.count == 6 && tasks.rows.allSatisfy { $0["n"] == "1" }, "self pairs left out: \(tasks.rows)")
        #expect(out.stderr.contains("grounding") && out.stderr.contains("unknown") && out.stdout.split(separator: "\n").count == 1)
    }

    @Test func badInputsFailWithAMessage() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        let ckptPath = try cli.initCheckpoint()
        let common = ["--checkpoint", ckptPath, "--examples", cli.examples.path]
        try cli.expectFailure(["decompose"] + common + ["--u", "zz:5", "--v", "t:20", "--out", cli.path("d.csv")], mentioning: "no example with id 'zz'")
        try cli.expectFailure(["decompose"] + common + ["--u", "g:1", "--v", "t:20", "--out", cli.path("d.csv")], mentioning: "position 1 of example 'g'")
        try cli.expectFailure(["decompose"] + common + ["--u", "g:5", "--v", "t:20", "--eta", "1e-3,-1", "--out", cli.path("d.csv")], mentioning: "--eta")
        try cli.expectFailure(["symmetry"] + common + ["--pair", "g:10", "--out", cli.path("s.csv")], mentioning: "--pair takes U,V")
        try cli.expectFailure(["symmetry"] + common + ["--optimizers", "sgd,lion", "--out", cli.path("s.csv")], mentioning: "lion")
        try cli.expectFailure(["influence", "--checkpoint", ckptPath, "--train", cli.examples.path, "--probes", cli.path("none.jsonl"),
                               "--out", cli.path("i.csv")], mentioning: "none.jsonl")
        try cli.expectFailure(["influence", "--checkpoint", ckptPath, "--train", cli.examples.path, "--probes", cli.examples.path, "--eta", "nan",
                               "--out", cli.path("i.csv")], mentioning: "--eta")
        try AtomicFile.write(Data("x".utf8), to: URL(fileURLWithPath: cli.path("taken.csv")))
        try cli.expectFailure(["influence", "--checkpoint", ckptPath, "--train", cli.examples.path, "--probes", cli.examples.path,
                               "--out", cli.path("taken.csv")], mentioning: "already exists")
    }
}
