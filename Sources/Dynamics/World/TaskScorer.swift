import Foundation

/// One output scored against its example with the task's metric (WORLD.md) and, for permutation answers, the
/// jigsaw rewards (THEORY §8).
public struct ScoredOutput: Equatable, Sendable {
    public let id: String
    public let task: String
    public let style: String
    public let output: String
    /// The task's own criterion: IoU ≥ 0.5 for grounding, exact match otherwise.
    public let correct: Bool
    /// IoU for grounding, R_hit for puzzles (jigsaw, jigsaw-format), 1/0 otherwise.
    public let score: Double
    /// Jigsaw rewards (for jigsaw and ordering, whose answers are permutations); nil for other tasks.
    public let rewards: JigsawRewards?
    /// Permutation tasks: the answer block parses to a permutation of 0 … k−1, in either style; nil for other tasks.
    public let answersWithPermutation: Bool?
    /// The output has exactly one `<answer> … </answer>` block.
    public let hasAnswerBlock: Bool
    /// POPE: the expected and given yes/no, for F1.
    public let expectedYes: Bool?
    public let saidYes: Bool?
}

/// Task metrics on output text. Outputs are compared after collapsing whitespace, so `[2,0,1]` and
/// `[ 2 , 0 , 1 ]` are the same answer.
public enum TaskScorer {
    /// Scores `output` for `example`; throws when the example lacks the truth its task needs.
    public static func score(_ example: Example, output: String) throws -> ScoredOutput {
        guard let taskName = example.task, let task = TaskKind(rawValue: taskName) else {
            throw WorldError.invalid("example '\(example.id)' has no known task (got \(example.task ?? "none")); it cannot be scored")
        }
        guard let truth = example.truth else { throw WorldError.invalid("example '\(example.id)' has no truth; it cannot be scored") }
        func missing(_ field: String) -> WorldError { .invalid("example '\(example.id)' (\(taskName)) has no truth.\(field)") }
        let block = JigsawReward.answerBlock(output)
        let answer = block.map(normalise)
        var correct = false, score = 0.0
        var rewards: JigsawRewards? = nil
        var permutation: Bool? = nil
        var expectedYes: Bool? = nil, saidYes: Bool? = nil
        switch task {
        case .grounding, .groundingAdversarial:
            guard let b = truth.box, b.count == 4 else { throw missing("box") }
            if let answer, let box = parseBox(answer) {
                score = box.iou(PixelBox(x1: b[0], y1: b[1], x2: b[2], y2: b[3]))
                correct = score >= 0.5
            }
        case .ocr, .vqa, .pope, .popeAdversarial:
            guard let expected = truth.answer else { throw missing("answer") }
            correct = answer.map { $0.replacingOccurrences(of: " ", with: "") == normalise(expected).replacingOccurrences(of: " ", with: "") } ?? false
            score = correct ? 1 : 0
            if task.isPOPE {
                expectedYes = expected == "yes"
                saidYes = answer == "yes"
            }
        case .ordering, .orderingAdversarial, .jigsaw, .jigsawFormat, .jigsawStrip:
            guard let perm = truth.permutation else { throw missing("permutation") }
            let r = JigsawReward.score(output: output, truth: perm)
            rewards = r
            permutation = JigsawReward.answersWithPermutation(output, pieces: perm.count)
            correct = r.accuracy == 1
            score = task.isPuzzle ? r.hit : (correct ? 1 : 0)
        }
        return ScoredOutput(id: example.id, task: taskName, style: example.style ?? "", output: output, correct: correct, score: score,
                            rewards: rewards, answersWithPermutation: permutation, hasAnswerBlock: block != nil, expectedYes: expectedYes, saidYes: saidYes)
    }

    /// Whitespace collapsed to single spaces, trimmed.
    static func normalise(_ s: String) -> String {
        s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Largest box coordinate an answer or a truth may give (2^20 pixels).
    public static let maxBoxCoordinate = 1 << 20

    /// `{ bbox : [ x1 , y1 , x2 , y2 ] }` → the box, or nil.
    public static func parseBox(_ answer: String) -> PixelBox? {
        let compact = answer.filter { !$0.isWhitespace }
        guard compact.hasPrefix("{bbox:"), compact.hasSuffix("}") else { return nil }
        let list = String(compact.dropFirst("{bbox:".count).dropLast())
        // Coordinates beyond maxBoxCoordinate are no box (their areas would overflow an Int).
        guard let v = JigsawReward.parseList(list), v.count == 4, v.allSatisfy({ $0 <= maxBoxCoordinate }) else { return nil }
        return PixelBox(x1: v[0], y1: v[1], x2: v[2], y2: v[3])
    }
}

/// Per-task (and per-style) summary of scored outputs: the rows of the summary CSV.
public struct TaskSummary: Equatable, Sendable {
    public let task: String
    /// A style, or "all".
    public let style: String
    public let n: Int
    /// Fraction correct.
    public let accuracy: Double
    public let meanScore: Double
    /// Fraction of outputs with exactly one answer block.
    public let answerBlockRate: Double
    /// POPE only: F1 with "yes" as the positive class.
    public let f1: Double?
    /// Permutation tasks only: mean R_fmt, R_hit, R_acc.
    public let meanRewards: JigsawRewards?
    /// Permutation tasks only: fraction of answers that are a permutation of 0 … k−1 (well-formed in either style).
    public let permutationRate: Double?

    /// Rows per task and style, then per task over all styles, in task order of first appearance.
    public static func summarise(_ outputs: [ScoredOutput]) -> [TaskSummary] {
        var order: [String] = []
        for o in outputs where !order.contains(o.task) { order.append(o.task) }
        var rows: [TaskSummary] = []
        for task in order {
            let group = outputs.filter { $0.task == task }
            var styles: [String] = []
            for o in group where !styles.contains(o.style) { styles.append(o.style) }
            if styles.count > 1 { for s in styles { rows.append(summary(task: task, style: s, group.filter { $0.style == s })) } }
            rows.append(summary(task: task, style: "all", group))
        }
        return rows
    }

    static func summary(task: String, style: String, _ g: [ScoredOutput]) -> TaskSummary {
        let n = Double(g.count)
        let mean = { (f: (ScoredOutput) -> Double) in g.map(f).reduce(0, +) / n }
        var f1: Double? = nil
        if g.contains(where: { $0.expectedYes != nil }) {
            let tp = Double(g.filter { $0.expectedYes == true && $0.saidYes == true }.count)
            let fp = Double(g.filter { $0.expectedYes == false && $0.saidYes == true }.count)
            let fn = Double(g.filter { $0.expectedYes == true && $0.saidYes != true }.count)
            f1 = tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)
        }
        let rewarded = g.compactMap(\.rewards)
        let meanRewards = rewarded.count == g.count && !g.isEmpty
            ? JigsawRewards(format: rewarded.map(\.format).reduce(0, +) / n, hit: rewarded.map(\.hit).reduce(0, +) / n,
                            accuracy: rewarded.map(\.accuracy).reduce(0, +) / n)
            : nil
        let permutationRate = g.allSatisfy { $0.answersWithPermutation != nil } && !g.isEmpty
            ? mean { $0.answersWithPermutation == true ? 1 : 0 } : nil
        return TaskSummary(task: task, style: style, n: g.count, accuracy: mean { $0.correct ? 1 : 0 }, meanScore: mean(\.score),
                           answerBlockRate: mean { $0.hasAnswerBlock ? 1 : 0 }, f1: f1, meanRewards: meanRewards, permutationRate: permutationRate)
    }
}

/// The evaluation CSVs: per output and per task.
public enum EvaluationReport {
    /// One row per output; `sample` (last, so readers by position keep working) numbers the outputs of one id
    /// 0, 1, … in order: `eval --sample N`'s draws, or the k-th line of an id in a `score` outputs file (0 for greedy).
    public static func outputsTable(_ outputs: [ScoredOutput]) -> CSVTable {
        var t = CSVTable(header: ["id", "task", "style", "output", "correct", "score", "reward_fmt", "reward_hit", "reward_acc", "sample"])
        var seen: [String: Int] = [:]
        for o in outputs {
            let r: [CSVCell] = o.rewards.map { [.double($0.format), .double($0.hit), .double($0.accuracy)] } ?? ["", "", ""]
            let sample = seen[o.id, default: 0]
            seen[o.id] = sample + 1
            t.append([.string(o.id), .string(o.task), .string(o.style), .string(o.output), .int(o.correct ? 1 : 0), .double(o.score)] + r + [.int(sample)])
        }
        return t
    }

    public static func summaryTable(_ rows: [TaskSummary]) -> CSVTable {
        var t = CSVTable(header: ["task", "style", "n", "accuracy", "mean_score", "answer_block_rate", "f1", "reward_fmt", "reward_hit", "reward_acc",
                                  "permutation_rate"])
        for s in rows {
            let r: [CSVCell] = s.meanRewards.map { [.double($0.format), .double($0.hit), .double($0.accuracy)] } ?? ["", "", ""]
            t.append([.string(s.task), .string(s.style), .int(s.n), .double(s.accuracy), .double(s.meanScore), .double(s.answerBlockRate),
                      s.f1.map { .double($0) } ?? ""] + r + [s.permutationRate.map { .double($0) } ?? ""])
        }
        return t
    }
}

extension EvaluationReport {
    /// One line per task over both styles, as `analyze eval` and `score` print them: n, accuracy, answer-block rate,
    /// and POPE's F1, the jigsaw rewards and the permutation rate where they apply.
    public static func summaryLines(_ summary: [TaskSummary]) -> [String] {
        // Names padded to one width (at least 10), never cut: `jigsaw-format` and `jigsaw-strip` are longer.
        let width = summary.map(\.task.count).reduce(10, max)
        return summary.filter { $0.style == "all" }.map { s in
            var line = s.task.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: " n=%-5d accuracy %.3f  answer-block %.3f", s.n, s.accuracy, s.answerBlockRate)
            if let f1 = s.f1 { line += String(format: "  F1 %.3f", f1) }
            if let r = s.meanRewards { line += String(format: "  rewards fmt %.3f hit %.3f acc %.3f", r.format, r.hit, r.accuracy) }
            if let p = s.permutationRate { line += String(format: "  permutation %.3f", p) }
            return line
        }
    }
}

extension EvaluationReport {
    /// Writes an evaluation's files: `out` (one row per output), its sibling .summary.csv and .meta.json (`record`
    /// with the two tables as its outputs, paths as given). Returns the per-task summary lines and a one-line result.
    public static func write(_ scored: [ScoredOutput], out: String, record: RunRecord) throws -> (summary: [String], result: String) {
        let base = (out as NSString).deletingPathExtension, summary = TaskSummary.summarise(scored)
        try outputsTable(scored).write(to: URL(fileURLWithPath: out))
        try summaryTable(summary).write(to: URL(fileURLWithPath: base + ".summary.csv"))
        var r = record
        r.outputs = [out, base + ".summary.csv"]
        try r.write(to: URL(fileURLWithPath: base + ".meta.json"))
        let all = summary.filter { $0.style == "all" }
        return (summaryLines(summary), "wrote \(out) and \(base).summary.csv: \(scored.count) outputs, \(all.count) task(s), "
                + String(format: "mean accuracy over tasks %.3f", all.map(\.accuracy).reduce(0, +) / Double(max(all.count, 1))))
    }
}
