@testable import Dynamics
import Foundation
import Testing

/// The hand-written TensorBoard encoder against known bytes: CRC-32C test vectors (RFC 3720 B.4), and Event records
/// serialised by the `tensorboard` Python package (protobuf + its RecordWriter) for the same fields.
@Suite struct TensorBoardTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func crc32cTestVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func eventsAndRecordsMatchTensorBoardsBytes() {
        let scalar = TensorBoardEvent.scalarEvent(wallTime: 2, step: 3, scalars: [("a", 0.5)])
        // wall_time (1, double 2.0), step (2, varint 3), summary (5) { value (1) { tag (1) "a", simple_value (2) 0.5f } }
        #expect(hex(scalar) == "09000000000000004010032a0a0a080a0161150000003f")
        #expect(hex(TensorBoardEvent.record(scalar)) == "1700000000000000e7cef81e09000000000000004010032a0a0a080a0161150000003f959aa0ce")
        let version = TensorBoardEvent.versionEvent(wallTime: 1)
        #expect(hex(version) == "09000000000000f03f1a0d627261696e2e4576656e743a32")
        #expect(hex(TensorBoardEvent.record(version)) == "1800000000000000a37f4b2209000000000000f03f1a0d627261696e2e4576656e743a3286bf577a")
        // A negative step is a ten-byte varint; two values in one summary; floats rounded to single precision.
        #expect(hex(TensorBoardEvent.scalarEvent(wallTime: 1.5, step: -2, scalars: [("train/loss", 1e-3), ("x", -7.25)]))
                == "09000000000000f83f10feffffffffffffffff012a1d0a110a0a747261696e2f6c6f7373156f12833a0a080a0178150000e8c0")
    }

    @Test func trlNamesForTrainingRows() {
        let header = GRPOTrainer.metricsHeader
        let row: [CSVCell] = [.int(7), .double(0.5), .double(0.25), .double(1e-3), .double(2), .double(1.5), .double(0.1), .double(1), .double(0),
                              .double(0.4), .double(0.2), .double(0.1), .double(0.3), .double(0.02), .double(30), .double(0.5), .double(0), .int(1),
                              .double(1.75), .double(0.125)]
        let (step, scalars) = TrainingScalars.scalars(section: "train", header: header, row: row)
        #expect(step == 7)
        let tags = Dictionary(uniqueKeysWithValues: scalars.map { ($0.tag, $0.value) })
        #expect(tags["train/loss"] == 0.25 && tags["train/learning_rate"] == 1e-3 && tags["train/grad_norm"] == 2 && tags["train/reward"] == 1.5)
        #expect(tags["train/rewards/format/mean"] == 1 && tags["train/rewards/hit/std"] == 0.2 && tags["train/rewards/accuracy/mean"] == 0.1)
        #expect(tags["train/kl"] == 0.02 && tags["train/completion_length"] == 30 && tags["train/frac_reward_zero_std"] == 0.5)
        #expect(tags["train/clip_ratio"] == 0 && tags["train/restarted"] == 1 && tags.count == header.count - 1)
        #expect(tags["train/entropy"] == 1.75 && tags["train/completions/clipped_ratio"] == 0.125)
        let (s, probe) = TrainingScalars.scalars(section: "probes", header: ProbeSets.header,
                                                 row: [.int(3), .string("jigsaw"), .int(4), .double(-1), .double(2.7), .double(2.5)])
        #expect(s == 3 && probe.map(\.tag) == ["probes/jigsaw/n", "probes/jigsaw/mean_logprob", "probes/jigsaw/mean_ppl", "probes/jigsaw/median_ppl"])
        let (_, eval) = TrainingScalars.scalars(section: "eval", header: ["step", "task", "style", "n", "accuracy", "f1"],
                                                row: [.string("10"), .string("pope"), .string("all"), .string("8"), .string("0.5"), .string("")])
        #expect(eval.map(\.tag) == ["eval/pope/all/n", "eval/pope/all/accuracy"])
    }

    @Test func eventFileFramesCheck() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try TensorBoardEventFile(folder: dir, wallTime: Date(timeIntervalSince1970: 1000), host: "h")
        #expect(file.url.lastPathComponent == "events.out.tfevents.1000.h")
        try file.add(step: 1, scalars: [("train/loss", 2)])
        try file.add(step: 2, scalars: [])  // nothing to log: no event
        let bytes = [UInt8](try Data(contentsOf: file.url))
        var offset = 0, records = 0
        while offset < bytes.count {
            let length = Int(bytes[offset..<offset + 8].enumerated().map { UInt64($1) << (8 * UInt64($0)) }.reduce(0, |))
            let crc = { (at: Int) in bytes[at..<at + 4].enumerated().map { UInt32($1) << (8 * UInt32($0)) }.reduce(0, |) }
            #expect(crc(offset + 8) == CRC32C.masked(bytes[offset..<offset + 8]))
            #expect(crc(offset + 12 + length) == CRC32C.masked(bytes[offset + 12..<offset + 12 + length]))
            offset += 16 + length
            records += 1
        }
        #expect(records == 2 && offset == bytes.count)
    }
}
