import Foundation

// TensorBoard event files, encoded by hand.
//
// Why not apple/swift-protobuf: the file needs three tiny messages (Event, Summary, Summary.Value) and five scalar
// fields; swift-protobuf's code-generator plugin costs about 9.5 minutes of build on this project's two cores, on
// every clean build and in CI, for what is ~60 lines of varints below. The encoding is checked against known bytes
// (CRC-32C test vectors, a record worked out by hand) and, in scripts/crosscheck/tensorboard_events.py, against the
// `tensorboard` Python package's own reader.

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames use it.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// The checksum of `bytes` (CRC-32C of "123456789" is 0xE3069283).
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8, modulo 2³².
    public static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let c = checksum(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}

/// Protocol-buffer encoding of the few `tensorflow.Event` fields TensorBoard's scalars need:
/// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
/// Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
public enum TensorBoardEvent {
    /// The version string of the first event of every file.
    public static let fileVersion = "brain.Event:2"

    /// An event holding the file version.
    public static func versionEvent(wallTime: Double) -> [UInt8] {
        var out: [UInt8] = []
        appendDouble(&out, field: 1, wallTime)
        appendBytes(&out, field: 3, Array(fileVersion.utf8))
        return out
    }

    /// An event holding one summary with a simple (float) value per scalar, in the given order.
    public static func scalarEvent(wallTime: Double, step: Int, scalars: [(tag: String, value: Double)]) -> [UInt8] {
        var summary: [UInt8] = []
        for (tag, value) in scalars {
            var v: [UInt8] = []
            appendBytes(&v, field: 1, Array(tag.utf8))
            appendKey(&v, field: 2, wire: 5)
            withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { v += $0 }
            appendBytes(&summary, field: 1, v)
        }
        var out: [UInt8] = []
        appendDouble(&out, field: 1, wallTime)
        if step != 0 {  // proto3: a zero is the default and is not written
            appendKey(&out, field: 2, wire: 0)
            appendVarint(&out, UInt64(bitPattern: Int64(step)))
        }
        appendBytes(&out, field: 5, summary)
        return out
    }

    /// A TFRecord frame: uint64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data
    /// (all little-endian).
    public static func record(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { out += $0 }
        let lengthCRC = CRC32C.masked(out)
        withUnsafeBytes(of: lengthCRC.littleEndian) { out += $0 }
        out += data
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { out += $0 }
        return out
    }

    static func appendVarint(_ out: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendKey(_ out: inout [UInt8], field: Int, wire: Int) { appendVarint(&out, UInt64(field << 3 | wire)) }

    static func appendDouble(_ out: inout [UInt8], field: Int, _ value: Double) {
        appendKey(&out, field: field, wire: 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 }
    }

    static func appendBytes(_ out: inout [UInt8], field: Int, _ bytes: [UInt8]) {
        appendKey(&out, field: field, wire: 2)
        appendVarint(&out, UInt64(bytes.count))
        out += bytes
    }
}

/// An event file `events.out.tfevents.<seconds>.<host>` in a folder, written event by event (each written through
/// at once, so `tensorboard --logdir` sees a running job). Wall times are the clock's: the file is a log for
/// viewing, never an input, so it does not enter any result's bytes.
public final class TensorBoardEventFile {
    public let url: URL
    private let handle: FileHandle

    public init(folder: URL, wallTime: Date = Date(), host: String = TensorBoardEventFile.hostName) throws {
        let safeHost = host.isEmpty ? "localhost" : host.replacingOccurrences(of: "/", with: "_")
        url = folder.appendingPathComponent("events.out.tfevents.\(Int(wallTime.timeIntervalSince1970)).\(safeHost)")
        guard FileManager.default.createFile(atPath: url.path, contents: Data()), let h = FileHandle(forWritingAtPath: url.path) else {
            throw FileError.cannotWrite(path: url.path, reason: "cannot create the event file")
        }
        handle = h
        try write(TensorBoardEvent.versionEvent(wallTime: wallTime.timeIntervalSince1970))
    }

    deinit { try? handle.close() }

    /// The machine's name from gethostname(2) (no DNS lookup, unlike `ProcessInfo.hostName`).
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// One event with `scalars` at `step`.
    public func add(step: Int, scalars: [(tag: String, value: Double)], wallTime: Date = Date()) throws {
        guard !scalars.isEmpty else { return }
        try write(TensorBoardEvent.scalarEvent(wallTime: wallTime.timeIntervalSince1970, step: step, scalars: scalars))
    }

    /// A `CSVLog.mirror` that adds each row's scalars under `section` (see `TrainingScalars`).
    public func mirror(section: String) -> ([String], [CSVCell]) throws -> Void {
        { [self] header, row in
            let (step, scalars) = TrainingScalars.scalars(section: section, header: header, row: row)
            try add(step: step, scalars: scalars)
        }
    }

    private func write(_ event: [UInt8]) throws {
        do { try handle.write(contentsOf: Data(TensorBoardEvent.record(event))) } catch {
            throw FileError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
    }
}

/// The scalars of a training run's CSV rows under the names TRL's trainers log, so a TensorBoard view of a TRL run
/// and of a workbench run read alike: metrics.csv → `train/loss`, `train/learning_rate`, `train/grad_norm`,
/// `train/reward`, `train/reward_std`, `train/rewards/<format|hit|accuracy>/<mean|std>`, `train/kl`,
/// `train/completion_length`, `train/frac_reward_zero_std`, `train/clip_ratio`, `train/entropy`,
/// `train/completions/clipped_ratio`, `train/mean_token_accuracy`, `train/epoch` (other columns as
/// `train/<column>`); probes.csv → `probes/<probe>/<column>`; eval.csv → `eval/<task>/<style>/<column>`. A row's
/// text cells make the tag's path, its numbers the values; the `step` column is the step; empty cells are skipped.
public enum TrainingScalars {
    /// metrics.csv column → TRL name.
    public static let trlNames: [String: String] = [
        "loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm", "epoch": "epoch",
        "reward_mean": "reward", "reward_std": "reward_std",
        "fmt_mean": "rewards/format/mean", "fmt_std": "rewards/format/std", "hit_mean": "rewards/hit/mean", "hit_std": "rewards/hit/std",
        "acc_mean": "rewards/accuracy/mean", "acc_std": "rewards/accuracy/std",
        "kl": "kl", "completion_length": "completion_length", "zero_std_fraction": "frac_reward_zero_std", "clip_fraction": "clip_ratio",
        "entropy": "entropy", "clipped_ratio": "completions/clipped_ratio", "token_accuracy": "mean_token_accuracy",
    ]

    /// The step and the tagged values of one row of a CSV with `header`, under `section` (`train`, `probes`, `eval`).
    public static func scalars(section: String, header: [String], row: [CSVCell]) -> (step: Int, scalars: [(tag: String, value: Double)]) {
        var step = 0, path: [String] = [], values: [(String, Double)] = []
        for (name, cell) in zip(header, row) {
            switch cell {
            case let .int(i): if name == "step" { step = i } else { values.append((name, Double(i))) }
            case let .double(d): values.append((name, d))
            case let .string(s):
                if let d = Double(s) { if name == "step" { step = Int(d) } else { values.append((name, d)) } } else if !s.isEmpty { path.append(s) }
            }
        }
        let prefix = ([section] + path).joined(separator: "/")
        return (step, values.map { name, v in (prefix + "/" + (section == "train" ? trlNames[name] ?? name : name), v) })
    }
}
