import Foundation

/// Outputs produced elsewhere (e.g. a real MLLM's answers): JSONL with `id` and `output` per line.
public enum OutputsFile {
    public struct Entry: Codable, Equatable, Sendable {
        public let id: String
        public let output: String
    }

    /// Reads the file (JSON Lines, LF or CRLF); errors name the file and line.
    public static func read(_ url: URL) throws -> [Entry] {
        try decode(AtomicFile.read(url, what: "outputs file"), url: url)
    }

    /// The same from the file's bytes; `url` names it in errors.
    public static func decode(_ data: Data, url: URL) throws -> [Entry] {
        let decoder = JSONDecoder()
        var out: [Entry] = []
        for (number, line) in JSONLines.lines(data) {
            do {
                try StrictJSON.checkNoDuplicateKeys(line)
                out.append(try decoder.decode(Entry.self, from: line))
            } catch let error as StrictJSONError {
                throw ExampleError.malformed(path: url.path, line: number, reason: "\(error)")
            } catch {
                throw ExampleError.malformed(path: url.path, line: number, reason: JSONErrorText.describe(error))
            }
        }
        guard !out.isEmpty else { throw ExampleError.malformed(path: url.path, line: 0, reason: "no outputs") }
        return out
    }
}
