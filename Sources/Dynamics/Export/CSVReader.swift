import Foundation

/// Reads RFC 4180 CSV (quoted cells may hold commas, quotes and newlines) into rows keyed by the header.
public enum CSVReader {
    /// The records of `text`; the first is the header.
    public static func records(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], cell = ""
        var quoted = false, pendingQuote = false
        for c in text {
            if quoted {
                if pendingQuote {
                    pendingQuote = false
                    if c == "\"" { cell.append("\""); continue }
                    quoted = false
                } else if c == "\"" {
                    pendingQuote = true
                    continue
                } else {
                    cell.append(c)
                    continue
                }
            }
            switch c {
            case "\"": quoted = true
            case ",": record.append(cell); cell = ""
            case "\n", "\r\n": record.append(cell); records.append(record); record = []; cell = ""
            default: cell.append(c)
            }
        }
        if !cell.isEmpty || !record.isEmpty { record.append(cell); records.append(record) }
        return records
    }

    /// Rows of the file at `url` as header → cell maps; errors name the file and the row.
    public static func rows(_ url: URL) throws -> [[String: String]] { try table(url).rows }

    /// The header and the rows of the file at `url`. Columns in `required` are checked on the header first, so a
    /// file of the wrong kind is named as such rather than by its first ragged row.
    public static func table(_ url: URL, requiring required: [String] = []) throws -> (header: [String], rows: [[String: String]]) {
        let text = String(decoding: try AtomicFile.read(url, what: "CSV file"), as: UTF8.self)
        let all = records(text)
        guard let header = all.first else { throw ExampleError.malformed(path: url.path, line: 0, reason: "empty CSV file") }
        if let missing = required.first(where: { !header.contains($0) }) {
            throw ExampleError.malformed(path: url.path, line: 1, reason: "no column '\(missing)' (needs \(required.joined(separator: ", ")))")
        }
        return (header, try all.dropFirst().enumerated().map { i, r in
            guard r.count == header.count else {
                throw ExampleError.malformed(path: url.path, line: i + 2, reason: "\(r.count) cells, the header has \(header.count)")
            }
            return Dictionary(uniqueKeysWithValues: zip(header, r))
        })
    }
}
