import Foundation

/// One array in a safetensors file, converted to Float64.
public struct NamedTensor: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    /// Row-major values.
    public let values: [Double]
    /// The dtype the file stored ("F64" or "F32").
    public let storedDType: String

    public init(name: String, shape: [Int], values: [Double], storedDType: String = "F64") {
        self.name = name
        self.shape = shape
        self.values = values
        self.storedDType = storedDType
    }
}

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
/// mapping each name to `dtype`, `shape` and `data_offsets` (relative to the data section) plus an optional
/// `__metadata__` string map, then the raw little-endian data. Written as F64; F64, F32 and BF16 read.
public enum SafeTensors {
    /// Bytes of a safetensors file holding `tensors` in the given order, contiguous, and `metadata`.
    /// Throws when a tensor's value count disagrees with its shape.
    public static func encode(_ tensors: [NamedTensor], metadata: [String: String] = [:]) throws -> Data {
        for t in tensors where t.values.count != t.shape.reduce(1, *) {
            throw ShapeError.mismatch(what: "tensor '\(t.name)'", expected: t.shape, found: [t.values.count])
        }
        var out = header(tensors.map { ($0.name, $0.shape) }, metadata: metadata)
        for t in tensors { out.append(littleEndian(t.values)) }
        return out
    }

    /// The first bytes of a file holding F64 tensors of these names and shapes, in this order, contiguous: the
    /// 8-byte header length and the JSON header (padded with spaces to a multiple of 8). The data follow it, each
    /// tensor's values as `littleEndian` writes them; `encode` is this header and those bytes, so a writer that
    /// streams the values in order writes the same file.
    public static func header(_ layout: [(name: String, shape: [Int])], metadata: [String: String] = [:]) -> Data {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, shape) in layout {
            let end = offset + 8 * shape.reduce(1, *)
            entries.append("\(jsonString(name)):{\"dtype\":\"F64\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Data("{\(entries.joined(separator: ","))}".utf8)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        return out
    }

    /// The data-section bytes of `values` (F64, little-endian).
    public static func littleEndian(_ values: [Double]) -> Data {
        values.withUnsafeBufferPointer { p in
            let le = p.map { $0.bitPattern.littleEndian }
            return le.withUnsafeBytes { Data($0) }
        }
    }

    /// One tensor's entry in a header: what it claims, before any value is read.
    public struct Entry: Equatable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range in the data section.
        public let begin: Int, end: Int
        /// Number of values (the product of `shape`).
        public var count: Int { shape.reduce(1, *) }
    }

    /// Bytes per value of each dtype this reader accepts; any other dtype is "unsupported dtype X".
    public static let dtypeWidths: [String: Int] = ["F64": 8, "F32": 4, "BF16": 2]

    /// The header of a safetensors file's bytes: tensor entries sorted by offset, the metadata, and where the data
    /// section starts. Validates the header length, the JSON (no key twice in one object: `StrictJSON`), every
    /// dtype, shape and offset, and that the data section is exactly covered without overlaps (as the reference
    /// implementation requires). Reads no tensor values, so a caller can check sizes before allocating anything.
    public static func header(_ data: Data, source: String) throws -> (entries: [Entry], metadata: [String: String], dataStart: Int) {
        func fail(_ reason: String) -> SafeTensorsError { .corrupt(path: source, reason: reason) }
        guard data.count >= 8 else { throw fail("file has \(data.count) bytes, fewer than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw fail("header length \(headerLength) exceeds the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes) } catch {
            throw fail("header is not valid JSON")
        }
        if let key = StrictJSON.duplicateKey(in: headerBytes) { throw fail("header names '\(key)' twice") }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var metadata: [String: String] = [:]
        var parsed: [Entry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in map {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("entry for tensor '\(name)' is not an object") }
            guard let dtype = entry["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            guard let shape = intArray(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)' has no valid shape")
            }
            guard let offsets = intArray(entry["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor '\(name)' has no valid data_offsets")
            }
            guard offsets[1] <= dataLength else {
                throw fail("tensor '\(name)' data_offsets [\(offsets[0]), \(offsets[1])] run past the end of the data (\(dataLength) bytes)")
            }
            guard let width = dtypeWidths[dtype] else {
                throw SafeTensorsError.unsupportedDType(path: source, tensor: name, dtype: dtype)
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, n in
                let (p, o) = acc.0.multipliedReportingOverflow(by: n)
                return (p, acc.1 || o)
            }
            let (bytes, overflow2) = count.multipliedReportingOverflow(by: width)
            guard !overflow, !overflow2, bytes == offsets[1] - offsets[0] else {
                throw fail("tensor '\(name)' shape \(shape) (\(dtype)) does not fill data_offsets [\(offsets[0]), \(offsets[1])]")
            }
            parsed.append(Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        parsed.sort { $0.begin < $1.begin || ($0.begin == $1.begin && $0.end < $1.end) }
        var covered = 0
        for p in parsed {
            guard p.begin == covered else {
                throw fail(p.begin < covered ? "tensor '\(p.name)' overlaps another tensor" : "bytes \(covered)..<\(p.begin) belong to no tensor")
            }
            covered = p.end
        }
        guard covered == dataLength else { throw fail("the data section has \(dataLength) bytes but tensors cover \(covered)") }
        return (parsed, metadata, dataStart)
    }

    /// The values of header entry `entry` of `data` (whose data section starts at `dataStart`), as Float64.
    public static func values(_ entry: Entry, in data: Data, dataStart: Int) -> [Double] {
        data.withUnsafeBytes { raw -> [Double] in
            let base = raw.baseAddress! + dataStart + entry.begin
            let n = entry.count
            return [Double](unsafeUninitializedCapacity: n) { out, initialized in
                switch entry.dtype {
                case "F64":
                    for i in 0..<n { out[i] = Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
                case "F32":
                    for i in 0..<n { out[i] = Double(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
                default: // BF16: the top half of a Float32
                    for i in 0..<n {
                        out[i] = Double(Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16))
                    }
                }
                initialized = n
            }
        }
    }

    /// The tensors and metadata of a safetensors file's bytes; `source` names the file in errors. Validates as
    /// `header` does, then converts every tensor to Float64 (F64, F32 and BF16 are read).
    public static func decode(_ data: Data, source: String) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        let data = data.startIndex == 0 ? data : Data(data)
        let (entries, metadata, dataStart) = try header(data, source: source)
        let tensors = entries.map { NamedTensor(name: $0.name, shape: $0.shape, values: values($0, in: data, dataStart: dataStart), storedDType: $0.dtype) }
        return (tensors, metadata)
    }

    /// Reads and decodes a safetensors file.
    public static func read(_ url: URL) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        try decode(AtomicFile.read(url, what: "safetensors file"), source: url.path)
    }

    /// Encodes and writes a safetensors file atomically.
    public static func write(_ tensors: [NamedTensor], metadata: [String: String] = [:], to url: URL) throws {
        try AtomicFile.write(encode(tensors, metadata: metadata), to: url)
    }

    private static func intArray(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        for v in array {
            guard let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) else { return nil }
            out.append(i)
        }
        return out
    }

    /// A JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// A safetensors file that cannot be read as one.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case corrupt(path: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)

    public var description: String {
        switch self {
        case let .corrupt(path, reason): "corrupt safetensors file \(path): \(reason)"
        case let .unsupportedDType(path, tensor, dtype):
            "safetensors file \(path): tensor '\(tensor)' has unsupported dtype \(dtype) (F64, F32 and BF16 are read)"
        }
    }
}
