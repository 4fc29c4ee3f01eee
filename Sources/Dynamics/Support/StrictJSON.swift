import Foundation

/// The project's one rule for JSON it reads (config.json, tokenizer.json, safetensors headers, the run settings in
/// `trainer.safetensors`, examples and outputs lines): an object that names a key twice is an error. Foundation's
/// parsers would silently keep one of the two values (`JSONSerialization` the last, `JSONDecoder` the first), so the
/// same file would mean different things to different readers.
public enum StrictJSON {
    /// The first key that appears twice in one object of `data` (as "path.key"), or nil. Only meaningful for
    /// well-formed JSON; on malformed input it returns something or nil but never traps, and the real parser
    /// rejects the text afterwards.
    public static func duplicateKey(in data: Data) -> String? {
        data.withUnsafeBytes { raw -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            // One frame per open container: for objects the keys seen so far and whether the next string is a key.
            struct Frame { var isObject: Bool; var keys: Set<String>; var expectingKey: Bool; var name: String }
            var stack: [Frame] = []
            var lastKey = ""
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                switch b {
                case UInt8(ascii: "{"):
                    stack.append(Frame(isObject: true, keys: [], expectingKey: true, name: lastKey))
                    lastKey = ""
                    i += 1
                case UInt8(ascii: "["):
                    stack.append(Frame(isObject: false, keys: [], expectingKey: false, name: lastKey))
                    lastKey = ""
                    i += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if !stack.isEmpty { stack.removeLast() }
                    i += 1
                case UInt8(ascii: ","):
                    if !stack.isEmpty, stack[stack.count - 1].isObject { stack[stack.count - 1].expectingKey = true }
                    i += 1
                case UInt8(ascii: "\""):
                    let (text, next) = string(bytes, from: i + 1)
                    i = next
                    if !stack.isEmpty, stack[stack.count - 1].isObject, stack[stack.count - 1].expectingKey {
                        stack[stack.count - 1].expectingKey = false
                        guard stack[stack.count - 1].keys.insert(text).inserted else {
                            return (stack.map(\.name).filter { !$0.isEmpty } + [text]).joined(separator: ".")
                        }
                        lastKey = text
                    }
                default:
                    i += 1
                }
            }
            return nil
        }
    }

    /// Throws `StrictJSONError.duplicateKey` when `data` names a key twice in one object.
    public static func checkNoDuplicateKeys(_ data: Data) throws {
        if let key = duplicateKey(in: data) { throw StrictJSONError.duplicateKey(key) }
    }

    /// The decoded text of the JSON string whose body starts at `start` (after the opening quote), and the index
    /// after its closing quote (or the end of the input).
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (String, Int) {
        var out: [UInt8] = []
        var units: [UInt16] = []
        func flushUnits() {
            if !units.isEmpty { out.append(contentsOf: Array(String(decoding: units, as: UTF16.self).utf8)); units.removeAll() }
        }
        var i = start
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { flushUnits(); return (String(decoding: out, as: UTF8.self), i + 1) }
            if b == UInt8(ascii: "\\"), i + 1 < n {
                let e = bytes[i + 1]
                if e == UInt8(ascii: "u"), i + 5 < n, let v = UInt16(String(decoding: UnsafeBufferPointer(rebasing: bytes[(i + 2)..<(i + 6)]), as: UTF8.self), radix: 16) {
                    units.append(v)
                    i += 6
                    continue
                }
                flushUnits()
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                default: out.append(e)
                }
                i += 2
                continue
            }
            flushUnits()
            out.append(b)
            i += 1
        }
        flushUnits()
        return (String(decoding: out, as: UTF8.self), n)
    }
}

/// JSON that breaks the strict rules.
public enum StrictJSONError: Error, Equatable, CustomStringConvertible {
    case duplicateKey(String)

    public var description: String {
        switch self {
        case let .duplicateKey(key): "key '\(key)' appears twice in one object"
        }
    }
}

/// JSON Lines as the project reads them: lines end in LF or CRLF (a trailing CR is dropped), a UTF-8 byte-order
/// mark at the start of the file is skipped, blank lines are skipped, line numbers are 1-based.
public enum JSONLines {
    /// The non-blank lines of `data` with their 1-based numbers.
    public static func lines(_ data: Data) -> [(number: Int, bytes: Data)] {
        var out: [(Int, Data)] = []
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            var number = 1
            var i = start
            func emit(_ end: Int) {
                var e = end
                if e > start, bytes[e - 1] == 0x0D { e -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<e])
                if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { out.append((number, Data(line))) }
            }
            while i < bytes.count {
                if bytes[i] == 0x0A {
                    emit(i)
                    number += 1
                    start = i + 1
                }
                i += 1
            }
            if start < bytes.count { emit(bytes.count) }
        }
        return out
    }
}
