import Foundation

/// Accuracy per task of several checkpoints side by side, from their `eval` summaries: what fine-tuning gained on
/// the new task and lost on the prior ones (the paper's Tables 1 and 2). Every accuracy carries its Wilson 95 %
/// interval, so a reader can tell a change from noise, and its change from the first checkpoint (the base).
public struct ForgettingTable: Sendable {
    /// One cell: a checkpoint's accuracy on a task and style.
    public struct Entry: Equatable, Sendable {
        public let checkpoint: String
        public let task: String
        public let style: String
        public let n: Int
        public let accuracy: Double

        /// Correct answers: n · accuracy, rounded (the eval summary stores the fraction).
        public var correct: Int { Int((accuracy * Double(n)).rounded()) }
        /// The Wilson 95 % interval of the accuracy.
        public var interval: (low: Double, high: Double) { Statistics.wilsonInterval(successes: correct, n: n) }
    }

    public let entries: [Entry]
    /// Training steps of each checkpoint's run, where known (the paper's table names them: "GRPO-8epochs").
    public let steps: [String: Int]

    /// Reads `(checkpoint name, summary CSV)` pairs written by `analyze eval`; per-style rows and the "all" rows alike.
    /// The first checkpoint named is the base that changes are measured from.
    public init(summaries: [(name: String, url: URL)], steps: [String: Int] = [:]) throws {
        entries = try summaries.flatMap { name, url in
            try CSVReader.table(url, requiring: ["task", "style", "n", "accuracy"]).rows.map { row in
                guard let task = row["task"], let style = row["style"], let n = row["n"].flatMap(Int.init),
                      let accuracy = row["accuracy"].flatMap(Double.init) else {
                    throw ExampleError.malformed(path: url.path, line: 0, reason: "a row of this eval summary lacks task, style, n or accuracy")
                }
                return Entry(checkpoint: name, task: task, style: style, n: n, accuracy: accuracy)
            }
        }
        self.steps = steps
    }

    /// Checkpoint names in the order first given.
    public var checkpoints: [String] { entries.map(\.checkpoint).distinctInOrder() }

    /// Tasks with an "all" row, in the order first given.
    public var tasks: [String] { entries.filter { $0.style == "all" }.map(\.task).distinctInOrder() }

    public func entry(_ checkpoint: String, _ task: String, style: String = "all") -> Entry? {
        entries.first { $0.checkpoint == checkpoint && $0.task == task && $0.style == style }
    }

    /// Accuracy minus the base's (the first checkpoint's) on the same task and style, or nil without a base row.
    public func change(_ e: Entry) -> Double? {
        guard let base = checkpoints.first, let b = entry(base, e.task, style: e.style) else { return nil }
        return e.accuracy - b.accuracy
    }

    /// Long format: checkpoint,task,style,n,accuracy,correct,ci_low,ci_high,change,steps (change from the first
    /// checkpoint; steps empty where not given).
    public var table: CSVTable {
        var t = CSVTable(header: ["checkpoint", "task", "style", "n", "accuracy", "correct", "ci_low", "ci_high", "change", "steps"])
        for e in entries {
            let ci = e.interval
            t.append([.string(e.checkpoint), .string(e.task), .string(e.style), .int(e.n), .double(e.accuracy), .int(e.correct),
                      .double(ci.low), .double(ci.high), change(e).map(CSVCell.double) ?? .string(""),
                      steps[e.checkpoint].map(CSVCell.int) ?? .string("")])
        }
        return t
    }

    /// A fixed-width text table laid out as the paper's Table 1: one row per task (style "all"), one column per
    /// checkpoint; each cell the accuracy in percent, its change from the base, and below it the Wilson 95 %
    /// interval; a last row gives each run's training steps.
    public var text: String {
        let columns = checkpoints, rows = tasks
        let width = 21, label = max(10, rows.map(\.count).max() ?? 0)
        func pad(_ s: String) -> String { s.leftPadded(width) }
        var lines = ["task".padding(toLength: label, withPad: " ", startingAt: 0) + columns.map { " " + pad($0) }.joined()]
        for task in rows {
            var top = task.padding(toLength: label, withPad: " ", startingAt: 0)
            var bottom = String(repeating: " ", count: label)
            for c in columns {
                guard let e = entry(c, task) else {
                    top += " " + pad("—")
                    bottom += " " + pad("")
                    continue
                }
                var cell = String(format: "%.1f", 100 * e.accuracy)
                if c != columns.first, let d = change(e) { cell += String(format: " (%@%.1f)", d >= 0 ? "+" : "−", abs(100 * d)) }
                let ci = e.interval
                top += " " + pad(cell)
                bottom += " " + pad(String(format: "[%.1f, %.1f] n=%d", 100 * ci.low, 100 * ci.high, e.n))
            }
            lines += [top, bottom]
        }
        if !steps.isEmpty {
            lines.append("steps".padding(toLength: label, withPad: " ", startingAt: 0)
                + columns.map { " " + pad(steps[$0].map(String.init) ?? "—") }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

extension ForgettingTable {
    /// The steps each checkpoint trained for, from `--steps NAME=N` values (N a whole number ≥ 0).
    public static func stepCounts(parsing specs: [String]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for spec in specs {
            let (name, value) = try FlagRange.namedValue(spec, flag: "--steps")
            guard let n = Int(value), n >= 0 else { throw ArgumentProblem("--steps \(name)= takes a whole number ≥ 0, got '\(value)'") }
            counts[name] = n
        }
        return counts
    }
}
