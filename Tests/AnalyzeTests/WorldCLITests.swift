import Dynamics
import Foundation
import Testing

/// `analyze data`, `eval` and `score` end to end on the tiny preset (8×8 images).
@Suite(.serialized) struct WorldCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    func csvRows(_ path: String) throws -> [[String: String]] { try CSVReader.rows(URL(fileURLWithPath: path)) }

    @Test func generateEvaluateAndScore() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        let data = cli.path("world")
        var run = try cli.analyze(["data", "generate", "--tasks", "all", "--split", "test", "--count", "24", "--style", "both",
                                   "--image-size", "8", "--seed", "3", "--out", data])
        #expect(run.status == 0, "\(run.stderr)")
        try cli.expectFailure(["data", "generate", "--tasks", "all", "--split", "test", "--count", "4", "--image-size", "8", "--out", data],
                              mentioning: "already exists")
        try cli.expectFailure(["data", "generate", "--tasks", "grounding,chess", "--out", cli.path("x")], mentioning: "unknown task 'chess'")
        try cli.expectFailure(["data", "generate", "--tasks", "jigsaw", "--grid", "1x1", "--out", cli.path("x")], mentioning: "grid '1x1'")
        let file = "\(data)/test.jsonl"

        // Oracle: the ground-truth responses score 100% on every task.
        run = try cli.analyze(["eval", "--oracle", "--data", file, "--out", cli.path("oracle.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        let oracle = try csvRows(cli.path("oracle.summary.csv")).filter { $0["style"] == "all" }
        #expect(Set(oracle.map { $0["task"]! }) == Set(TaskKind.world.map(\.rawValue)))
        #expect(oracle.allSatisfy { $0["accuracy"] == "1.0" }, "\(oracle)")

        // A fresh model: runs on every task, near-zero accuracy.
        let ckpt = try cli.initCheckpoint()
        run = try cli.analyze(["eval", "--checkpoint", ckpt, "--data", file, "--out", cli.path("fresh.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        let fresh = try csvRows(cli.path("fresh.csv"))
        #expect(fresh.count == 24)
        let correct = fresh.filter { $0["correct"] == "1" }.count
        #expect(correct <= 2, "an untrained model answers almost nothing right (\(correct)/24)")
        let jigsawRow = try #require(fresh.first { $0["task"] == "jigsaw" })
        #expect(jigsawRow["reward_fmt"] != "" && jigsawRow["reward_hit"] != "")

        // Sampling: N outputs per example, reproducible with the seed.
        run = try cli.analyze(["eval", "--checkpoint", ckpt, "--data", file, "--sample", "2", "--temperature", "1", "--limit", "3",
                               "--out", cli.path("s1.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        _ = try cli.analyze(["eval", "--checkpoint", ckpt, "--data", file, "--sample", "2", "--temperature", "1", "--limit", "3",
                             "--out", cli.path("s2.csv")])
        let sampled = try csvRows(cli.path("s1.csv"))
        #expect(sampled.count == 6)
        // The sample column numbers each example's draws; greedy evaluation has only sample 0.
        #expect(sampled.map { $0["sample"] } == ["0", "1", "0", "1", "0", "1"] && sampled[0]["id"] == sampled[1]["id"])
        #expect(fresh.allSatisfy { $0["sample"] == "0" })
        // stdout is one summary line; the per-task figures are on stderr.
        #expect(run.stdout.split(separator: "\n").count == 1 && run.stdout.contains("6 outputs") && run.stderr.contains("accuracy"), "\(run.stdout)")
        #expect(try String(contentsOfFile: cli.path("s1.csv"), encoding: .utf8) == String(contentsOfFile: cli.path("s2.csv"), encoding: .utf8))
        try cli.expectFailure(["eval", "--data", file, "--out", cli.path("e.csv")], mentioning: "--checkpoint is required")

        // score: outputs produced elsewhere, same metrics.
        let examples = try ExampleFile(url: URL(fileURLWithPath: file)).examples
        let lines = try examples.map { e in
            let output = String(decoding: try JSONEncoder().encode(e.id.hasSuffix("1") ? "nonsense" : e.response), as: UTF8.self)
            return #"{"id": "\#(e.id)", "output": \#(output)}"#
        }
        try AtomicFile.write(Data(lines.joined(separator: "\n").utf8), to: URL(fileURLWithPath: cli.path("outputs.jsonl")))
        run = try cli.analyze(["score", "--data", file, "--outputs", cli.path("outputs.jsonl"), "--out", cli.path("scored.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        let scored = try csvRows(cli.path("scored.csv"))
        for row in scored { #expect((row["correct"] == "1") == !row["id"]!.hasSuffix("1"), "\(row)") }
        try AtomicFile.write(Data(#"{"id": "nope", "output": "x"}"#.utf8), to: URL(fileURLWithPath: cli.path("bad.jsonl")))
        try cli.expectFailure(["score", "--data", file, "--outputs", cli.path("bad.jsonl"), "--out", cli.path("b.csv")], mentioning: "no example with id 'nope'")

        // The forgetting table over two evaluations.
        run = try cli.analyze(["table", "--eval", "oracle=\(cli.path("oracle.summary.csv"))", "--eval", "fresh=\(cli.path("fresh.summary.csv"))",
                               "--steps", "fresh=7", "--out", cli.path("table.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("oracle") && run.stderr.contains("100.0") && run.stderr.contains("jigsaw"))
        #expect(run.stdout.split(separator: "\n").count == 1 && run.stdout.contains("2 evaluation(s)"), "\(run.stdout)")
        let table = try csvRows(cli.path("table.csv"))
        #expect(table.filter { $0["checkpoint"] == "oracle" && $0["style"] == "all" }.count == TaskKind.world.count)
        // Each accuracy with its Wilson interval and its change from the first checkpoint (the oracle's 100 %).
        for row in table where row["style"] == "all" {
            let accuracy = Double(row["accuracy"]!)!, n = Int(row["n"]!)!
            let ci = Statistics.wilsonInterval(successes: Int(row["correct"]!)!, n: n)
            #expect(Double(row["ci_low"]!)! == ci.low && Double(row["ci_high"]!)! == ci.high && ci.low <= accuracy && accuracy <= ci.high, "\(row)")
            let base = table.first { $0["checkpoint"] == "oracle" && $0["task"] == row["task"] && $0["style"] == "all" }!
            #expect(abs(Double(row["change"]!)! - (accuracy - Double(base["accuracy"]!)!)) < 1e-12, "\(row)")
            #expect(row["steps"] == (row["checkpoint"] == "fresh" ? "7" : ""), "\(row)")
        }
        #expect(run.stderr.contains("steps") && run.stderr.contains("(−"), "\(run.stderr)")
        try cli.expectFailure(["table", "--eval", "oracle=\(cli.path("oracle.summary.csv"))", "--steps", "x=-3", "--out", cli.path("t3.csv")],
                              mentioning: "--steps x=")
        try cli.expectFailure(["table", "--eval", "x=\(file)", "--out", cli.path("t2.csv")], mentioning: "no column 'task'")

        // preview
        run = try cli.analyze(["data", "preview", "--data", file, "--count", "6", "--out", cli.path("sheet.png")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try PNGCodec.read(URL(fileURLWithPath: cli.path("sheet.png"))).width > 200)
    }

    @Test func puzzlesFromAFolderOfImages() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        let folder = cli.dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let rng = RandomStream(seed: 5, name: "test.photos")
        for i in 0..<12 {
            let (w, h) = (20 + 7 * i, 30 + 3 * i)
            let image = try RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in rng.uniform() })
            if i % 2 == 0 {
                try PNGCodec.write(image, to: folder.appendingPathComponent("photo-\(i).png"))
            } else {
                try JPEGCodec.write(image, to: folder.appendingPathComponent("photo-\(i).JPG"))
            }
        }
        try Data("ignore me".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        let out = cli.path("puzzles")
        for split in ["train", "test"] {
            let run = try cli.analyze(["data", "jigsaw", "--images", folder.path, "--split", split, "--test-percent", "30", "--grid", "3x3",
                                       "--image-size", "24", "--out", out])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let train = try ExampleFile(url: URL(fileURLWithPath: "\(out)/train.jsonl")), test = try ExampleFile(url: URL(fileURLWithPath: "\(out)/test.jsonl"))
        #expect(train.examples.count + test.examples.count == 12 && !test.examples.isEmpty && !train.examples.isEmpty)
        for file in [train, test] {
            for e in file.examples {
                let shuffled = try PNGCodec.read(try #require(file.imageURL(e)))
                #expect(shuffled.width == 24 && shuffled.height == 24)
                let puzzle = try Jigsaw(rows: 3, columns: 3, permutation: try #require(e.truth?.permutation))
                let source = try PNGCodec.read(URL(fileURLWithPath: "\(out)/\(try #require(e.truth?.source))"))
                #expect(try puzzle.reassemble(shuffled, answer: puzzle.permutation) == source)
            }
        }
        // A corrupt image is an error naming it.
        try (Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(count: 64)).write(to: folder.appendingPathComponent("broken.jpg"))
        try Data("not a png".utf8).write(to: folder.appendingPathComponent("zzz.png"))
        try cli.expectFailure(["data", "jigsaw", "--images", folder.path, "--split", "train", "--test-percent", "0", "--out", out, "--force"],
                              mentioning: "broken.jpg")
        try cli.expectFailure(["data", "jigsaw", "--images", cli.path("nowhere"), "--out", out], mentioning: "nowhere")
    }
}
