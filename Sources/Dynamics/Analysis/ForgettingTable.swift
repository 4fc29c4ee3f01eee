import Foundation

/// Accuracy per task of several checkpoints side by side, from their `eval` summaries: what fine-tuning gained on
/// the new task and lost on the prior ones.
public struct ForgettingTable: Sendable {
    /// One cell: a checkpoint's accuracy on a task and style.
    public struct Entry: Equatable, Sendable {
        public let checkpoint: String
        public let task: String
        public let style: String
        public let n: Int
        public let accuracy: Double
    }

    public let entries: [Entry]

    /// Reads `(checkpoint name, summary CSV)` pairs written by `analyze eval`; per-style rows and the "all" rows alike.
    public init(summaries: [(name: String, url: URL)]) throws {
        entries = try summaries.flatMap { name, url in
            try CSVReader.table(url, requiring: ["task", "style", "n", "accuracy"]).rows.map { row in
                guard let task = row["task"], let style = row["style"], let n = row["n"].flatMap(Int.init),
                      let accuracy = row["accuracy"].flatMap(Double.init) else {
                    throw ExampleError.malformed(path: url.path, line: 0, reason: "a row of this eval summary lacks task, style, n or accuracy")
                }
                return Entry(checkpoint: name, task: task, style: style, n: n, accuracy: accuracy)
            }
        }
    }

    /// Long format: checkpoint,task,style,n,accuracy.
    public var table: CSVTable {
        var t = CSVTable(header: ["checkpoint", "task", "style", "n", "accuracy"])
        for e in entries { t.append([.string(e.checkpoint), .string(e.task), .string(e.style), .int(e.n), .double(e.accuracy)]) }
        return t
    }

    /// A fixed-width text table: one row per checkpoint, one column per task (style "all" unless a task has only
    /// per-style rows), accuracies in percent.
    public var text: String {
        var checkpoints: [String] = [], columns: [String] = []
        for e in entries where !checkpoints.contains(e.checkpoint) { checkpoints.append(e.checkpoint) }
        for e in entries where e.style == "all" && !columns.contains(e.task) { columns.append(e.task) }
        let width = max(10, checkpoints.map(\.count).max() ?? 0)
        var lines = ["checkpoint".padding(toLength: width, withPad: " ", startingAt: 0) + columns.map { " " + $0.leftPadded(10) }.joined()]
        for c in checkpoints {
            let cells = columns.map { task -> String in
                guard let e = entries.first(where: { $0.checkpoint == c && $0.task == task && $0.style == "all" }) else { return "—".leftPadded(11) }
                return String(format: "%.1f", 100 * e.accuracy).leftPadded(11)
            }
            lines.append(c.padding(toLength: width, withPad: " ", startingAt: 0) + cells.joined())
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
