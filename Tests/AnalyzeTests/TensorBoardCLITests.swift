import Dynamics
import Foundation
import Testing

/// Every training run writes a TensorBoard event file: one record for the file version, one per row of
/// metrics.csv, eval.csv and probes.csv, each frame's CRCs intact.
@Suite(.serialized) struct TensorBoardCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    /// The Event payloads of an event file, frames checked.
    func records(_ url: URL) throws -> [[UInt8]] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var offset = 0, out: [[UInt8]] = []
        func le(_ at: Int, _ n: Int) -> UInt64 { (0..<n).map { UInt64(bytes[at + $0]) << (8 * UInt64($0)) }.reduce(0, |) }
        while offset + 16 <= bytes.count {
            let length = Int(le(offset, 8))
            #expect(UInt32(le(offset + 8, 4)) == CRC32C.masked(bytes[offset..<offset + 8]))
            #expect(UInt32(le(offset + 12 + length, 4)) == CRC32C.masked(bytes[offset + 12..<offset + 12 + length]))
            out.append(Array(bytes[offset + 12..<offset + 12 + length]))
            offset += 16 + length
        }
        #expect(offset == bytes.count, "no trailing bytes")
        return out
    }

    func eventFile(_ run: String) throws -> URL {
        let names = try FileManager.default.contentsOfDirectory(atPath: cli.path(run)).filter { $0.hasPrefix("events.out.tfevents.") }
        #expect(names.count == 1, "\(run): \(names)")
        return URL(fileURLWithPath: cli.path("\(run)/\(try #require(names.first))"))
    }

    func rowCount(_ path: String) throws -> Int { try CSVReader.rows(URL(fileURLWithPath: path)).count }

    @Test func trainingRunsWriteEventFiles() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        var r = try cli.analyze(["data", "generate", "--tasks", "jigsaw", "--grid", "2x2", "--split", "train", "--count", "4", "--style", "reasoning",
                                 "--image-size", "8", "--out", cli.path("jig")])
        #expect(r.status == 0, "\(r.stderr)")
        let ckpt = try cli.initCheckpoint(), jig = cli.path("jig/train.jsonl")
        r = try cli.analyze(["train", "sft", "--checkpoint", ckpt, "--data", jig, "--steps", "4", "--batch-size", "2", "--eval-data", jig,
                             "--eval-every", "2", "--probe", "jig=\(jig)", "--out", cli.path("sft")])
        #expect(r.status == 0, "\(r.stderr)")
        let sft = try records(try eventFile("sft"))
        #expect(sft.count == 1 + (try rowCount(cli.path("sft/metrics.csv"))) + (try rowCount(cli.path("sft/eval.csv")))
                + (try rowCount(cli.path("sft/probes.csv"))))
        #expect(String(decoding: sft[0], as: UTF8.self).hasSuffix("brain.Event:2"))
        #expect(sft.dropFirst().contains { String(decoding: $0, as: UTF8.self).contains("train/learning_rate") })
        #expect(sft.contains { String(decoding: $0, as: UTF8.self).contains("probes/jig/mean_ppl") })
        r = try cli.analyze(["train", "grpo", "--checkpoint", cli.path("sft/final"), "--data", jig, "--steps", "2", "-G", "2", "--batch-size", "2",
                             "--accumulation", "1", "--out", cli.path("grpo")])
        #expect(r.status == 0, "\(r.stderr)")
        let grpo = try records(try eventFile("grpo"))
        #expect(grpo.count == 3)
        for tag in ["train/reward", "train/rewards/accuracy/mean", "train/kl", "train/frac_reward_zero_std", "train/clip_ratio", "train/completion_length"] {
            #expect(String(decoding: grpo[1], as: UTF8.self).contains(tag), "\(tag)")
        }
    }
}
