import Foundation

extension RunRecord {
    /// A typed `details` value of meta.json.
    public enum Value: Equatable, Sendable, CustomStringConvertible {
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)

        /// The type a detail's text is written as: `true`/`false` → bool; a JSON integer that fits Int → int; any
        /// other JSON number (fraction or exponent) with a finite value → double; anything else (`3x3`, `nan`,
        /// `007`, `2/4`) → string. Old all-string files read back through the same rule, so they type alike.
        public static func inferred(_ text: String) -> Value {
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
            let integer = #/-?(0|[1-9][0-9]*)/#, number = #/-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/#
            if text.wholeMatch(of: integer) != nil { return Int(text).map(Value.int) ?? .string(text) }
            if text.wholeMatch(of: number) != nil, let d = Double(text), d.isFinite { return .double(d) }
            return .string(text)
        }

        /// The value for JSONSerialization.
        var jsonObject: Any {
            switch self {
            case let .string(s): s
            case let .int(i): i
            case let .double(d): d
            case let .bool(b): b
            }
        }

        /// The value as meta.json's earlier builds wrote it (and as `inferred` reads it).
        public var description: String {
            switch self {
            case let .string(s): s
            case let .int(i): String(i)
            case let .double(d): "\(d)"
            case let .bool(b): b ? "true" : "false"
            }
        }
    }

    /// A meta.json as read back: either schema.
    public struct File: Sendable {
        /// 1 for the earlier all-string files, 2 for typed ones.
        public var metaVersion: Int
        public var version: String
        /// nil in files of earlier builds.
        public var time: Date?
        public var command: [String]
        public var inputs: [String: String]
        /// Role → SHA-256 hex digests (one per path the role names); empty in files of earlier builds.
        public var inputSHA256: [String: [String]]
        public var outputs: [String]
        public var details: [String: Value]
    }

    /// Reads a meta.json of this build or of earlier ones.
    public static func read(from url: URL) throws -> File {
        let data = try AtomicFile.read(url, what: "meta.json")
        func bad(_ reason: String) -> FileError { .cannotRead(path: url.path, what: "meta.json", reason: reason) }
        if let key = StrictJSON.duplicateKey(in: data) { throw bad("key '\(key)' appears twice") }
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch { throw bad(JSONErrorText.describe(error)) }
        guard let o = any as? [String: Any] else { throw bad("not a JSON object") }
        guard let command = o["command"] as? [String] else { throw bad("'command' is not a list of strings") }
        let metaVersion = (o["meta_version"] as? NSNumber)?.intValue ?? 1
        var details: [String: Value] = [:]
        for (key, value) in (o["details"] as? [String: Any]) ?? [:] {
            switch value {
            case let s as String: details[key] = Value.inferred(s)
            case let n as NSNumber:
                // JSONSerialization gives NSNumber for numbers and booleans alike; the text tells them apart.
                if CFGetTypeIDIfBool(n) { details[key] = .bool(n.boolValue) } else { details[key] = Value.inferred("\(n)") }
            default: throw bad("details.\(key) is neither a string, a number nor a boolean")
            }
        }
        var hashes: [String: [String]] = [:]
        for (key, value) in (o["input_sha256"] as? [String: Any]) ?? [:] {
            if let s = value as? String { hashes[key] = [s] } else if let list = value as? [String] { hashes[key] = list } else { throw bad("input_sha256.\(key) is not a digest or a list of digests") }
        }
        let time = (o["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
        if o["time"] != nil && time == nil { throw bad("'time' is not an ISO 8601 time") }
        return File(metaVersion: metaVersion, version: o["version"] as? String ?? "", time: time, command: command,
                    inputs: (o["inputs"] as? [String: String]) ?? [:], inputSHA256: hashes, outputs: (o["outputs"] as? [String]) ?? [],
                    details: details)
    }

    /// `2026-12-02T14:05:09Z`.
    public static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}

/// Whether JSONSerialization produced this NSNumber from `true`/`false` (booleans have Objective-C type "c";
/// JSON numbers never do).
private func CFGetTypeIDIfBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

/// The SHA-256 of the inputs a run record names.
enum InputHashes {
    /// Role → digest for each input whose value names existing files or folders: the value itself, or the part
    /// after `NAME=`, or each item of a comma-separated list (then a list of digests). Roles naming no file
    /// (`(sft start)`) are left out.
    static func hashes(of inputs: [String: String]) throws -> [String: Any] {
        var out: [String: Any] = [:]
        for (role, value) in inputs {
            guard !value.isEmpty else { continue }
            let items = FileManager.default.fileExists(atPath: value) ? [value] : value.split(separator: ",").map(String.init)
            var digests: [String] = []
            for item in items {
                var path = item
                if !FileManager.default.fileExists(atPath: path), let eq = item.firstIndex(of: "=") { path = String(item[item.index(after: eq)...]) }
                guard let d = try digest(path) else { digests = []; break }
                digests.append(d)
            }
            if digests.count == 1 { out[role] = digests[0] } else if digests.count > 1 { out[role] = digests }
        }
        return out
    }

    /// A file's SHA-256; for a folder, the SHA-256 of the `sha256sum` lines ("<digest>  <relative path>\n") of
    /// its regular files in byte order of their paths, i.e.
    /// `cd DIR && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum`; nil when
    /// nothing is there.
    static func digest(_ path: String) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        let url = URL(fileURLWithPath: path)
        guard isDirectory.boolValue else { return try SHA256.hex(fileAt: url) }
        guard let walker = FileManager.default.enumerator(atPath: path) else { return nil }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            var sub: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(relative).path, isDirectory: &sub), !sub.boolValue { files.append(relative) }
        }
        var manifest = ""
        for f in files.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            manifest += try SHA256.hex(fileAt: url.appendingPathComponent(f)) + "  " + f + "\n"
        }
        return SHA256.hex(Array(manifest.utf8))
    }
}
