import Foundation

/// Outputs produced elsewhere (e.g. a real MLLM's answers): JSONL with `id` and `output` per line.
public enum OutputsFile {
    public struct Entry: Codable, Equatable, Sendable {
        public let id: String
        public let output: String
    }

    /// Reads the file; errors name the file and line.
    public static func read(_ url: URL) throws -> [Entry] {
        let data = try AtomicFile.read(url, what: "outputs file")
        let decoder = JSONDecoder()
        var out: [Entry] = []
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do { out.append(try decoder.decode(Entry.self, from: Data(line.utf8))) } catch {
                throw ExampleError.malformed(path: url.path, line: i + 1, reason: JSONErrorText.describe(error))
            }
        }
        guard !out.isEmpty else { throw ExampleError.malformed(path: url.path, line: 0, reason: "no outputs") }
        return out
    }
}
