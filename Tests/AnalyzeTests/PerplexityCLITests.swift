import Dynamics
import Foundation
import Testing

/// `analyze perplexity` on `tiny`: every row's mean log-prob is what `analyze logprobs` gives for the same prompt and
/// output under the base model, the gaps follow from the rows, and the bytes do not depend on the thread count.
@Suite(.serialized) struct PerplexityCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    func run(_ args: [String]) throws -> CLITests.Run {
        let r = try cli.analyze(args)
        #expect(r.status == 0, "analyze \(args.joined(separator: " ")): \(r.stderr)")
        return r
    }

    @Test func rowsAgreeWithLogprobsAndGapsWithRows() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        _ = try run(["data", "generate", "--tasks", "jigsaw,vqa", "--grid", "2x2", "--split", "train", "--count", "4", "--style", "both",
                     "--image-size", "8", "--out", cli.path("data")])
        let base = try cli.initCheckpoint()
        let data = cli.path("data/train.jsonl")
        _ = try run(["train", "sft", "--checkpoint", base, "--data", data, "--steps", "5", "--batch-size", "4", "--lr", "1e-2", "--out", cli.path("sft")])
        let args = ["perplexity", "--base", base, "--policy", cli.path("sft/final"), "--data", data, "--questions", "3", "--samples", "3",
                    "--seed", "4", "--resamples", "200"]
        let r = try run(args + ["--threads", "2", "--out", cli.path("ppl.csv")])
        #expect(r.stderr.contains("Wilcoxon signed-rank") && r.stderr.contains("perplexity 30/30 responses"))
        #expect(r.stdout.split(separator: "\n").count == 1 && r.stdout.contains("g_R < g_GT: p = "), "\(r.stdout)")
        _ = try run(args + ["--threads", "1", "--out", cli.path("one/ppl.csv")])
        for f in ["ppl.csv", "ppl.gaps.csv", "ppl.summary.csv", "ppl.histogram.csv", "ppl.test.csv"] {
            #expect(FileManager.default.contentsEqual(atPath: cli.path(f), andPath: cli.path("one/\(f)")), "\(f) is the same with 1 and 2 threads")
        }
        let rows = try CSVReader.rows(URL(fileURLWithPath: cli.path("ppl.csv")))
        #expect(rows.count == 3 * (3 * 3 + 1))
        #expect(Set(rows.map { $0["source"]! }) == ["base_reasoning", "policy_reasoning", "base_plain", "ground_truth"])

        // The same responses as an examples file beside the data (image paths stay valid), scored by `logprobs`.
        let tokenizer = try Checkpoint.load(from: URL(fileURLWithPath: base)).tokenizer
        var lines: [String] = [], expected: [String: (Double, Int)] = [:]
        for (i, row) in rows.enumerated() {
            let tokens = Int(row["tokens"]!)!
            guard try tokenizer.encode(row["output"]!).count + 1 == tokens else { continue }  // cut at max_seq_len: no <eos>
            let e = Example(id: "r\(i)", prompt: row["prompt"]!, response: row["output"]!, image: row["image"]!.isEmpty ? nil : row["image"]!)
            lines.append(try DatasetWriter.line(e))
            expected[e.id] = (Double(row["mean_logprob"]!)!, tokens)
        }
        #expect(expected.count >= 10, "most responses end with <eos>")
        try AtomicFile.write(Data(lines.joined(separator: "\n").utf8), to: cli.dir.appendingPathComponent("data/responses.jsonl"))
        _ = try run(["logprobs", "--checkpoint", base, "--examples", cli.path("data/responses.jsonl"), "--out", cli.path("lp.csv")])
        var sums: [String: (Double, Int)] = [:]
        for t in try CSVReader.rows(URL(fileURLWithPath: cli.path("lp.csv"))) {
            let s = sums[t["example"]!] ?? (0, 0)
            sums[t["example"]!] = (s.0 + Double(t["logprob"]!)!, s.1 + 1)
        }
        for (id, (mean, count)) in expected {
            let s = try #require(sums[id])
            #expect(s.1 == count, "\(id): token count")
            #expect(abs(s.0 / Double(s.1) - mean) <= 1e-12 * abs(mean), "\(id): \(s.0 / Double(s.1)) vs \(mean)")
        }

        // g_R and g_GT from the rows, with type-7 quantiles.
        let gaps = try CSVReader.rows(URL(fileURLWithPath: cli.path("ppl.gaps.csv")))
        #expect(gaps.count == 3)
        for g in gaps {
            let mine = rows.filter { $0["question"] == g["question"] }
            func ppl(_ s: String) -> [Double] { mine.filter { $0["source"] == s }.map { Double($0["ppl"]!)! } }
            let gR = try Statistics.median(ppl("policy_reasoning")) - Statistics.quantile(ppl("base_reasoning"), 0.25)
            let gGT = try ppl("ground_truth")[0] - Statistics.quantile(ppl("base_plain"), 0.25)
            #expect(abs(Double(g["g_R"]!)! - gR) <= 1e-12 * max(1, abs(gR)) && abs(Double(g["g_GT"]!)! - gGT) <= 1e-12 * max(1, abs(gGT)))
        }
        let test = Dictionary(uniqueKeysWithValues: try CSVReader.rows(URL(fileURLWithPath: cli.path("ppl.test.csv"))).map { ($0["quantity"]!, $0["value"]!) })
        #expect(test["questions"] == "3" && test["wilcoxon_p_one_sided"] != nil && test["bootstrap_resamples"] == "200")
        try cli.expectFailure(args + ["--out", cli.path("ppl.csv")], mentioning: "exists")
        try cli.expectFailure(["perplexity", "--base", base, "--policy", base, "--data", data, "--samples", "0", "--out", cli.path("x.csv")],
                              mentioning: "--samples must be at least 1")
    }
}
