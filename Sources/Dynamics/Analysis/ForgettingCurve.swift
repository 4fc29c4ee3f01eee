import Foundation

/// Forgetting against learning: for each fine-tuning run, every periodic evaluation (a run's `eval.csv` written with
/// the prior tasks' and the novel task's test sets as `--eval-data`) becomes one point, the novel task's accuracy
/// against each prior task's change from the run's step 0. Runs that learn at different speeds are then compared at
/// the same novel-task accuracy (`nearest`), which is the fair form of the paper's claim that RL fine-tuning forgets
/// less than SFT for what it learns: "by the time SFT on the ground truth reaches GRPO's jigsaw accuracy, it has lost …".
public struct ForgettingCurve: Sendable {
    /// One evaluation of one run.
    public struct Point: Equatable, Sendable {
        public let run: String
        public let step: Int
        /// The novel task's accuracy (style "all") at this step.
        public let novelAccuracy: Double
        /// Each prior task's accuracy (style "all") at this step, in `ForgettingCurve.priorTasks` order.
        public let accuracies: [Double]
        /// Each prior task's change from the run's step 0, in `priorTasks` order.
        public let changes: [Double]
        /// The unweighted mean of `changes`.
        public var meanChange: Double { changes.reduce(0, +) / Double(changes.count) }
        /// The largest loss (the most negative change; 0 when nothing fell).
        public var worstChange: Double { min(0, changes.min() ?? 0) }
    }

    public let novelTask: String
    /// The tasks other than the novel one that every run's step 0 was evaluated on, in the order first seen.
    public let priorTasks: [String]
    /// Every run's points in step order, runs in the order given.
    public let points: [Point]

    /// The points of `runs` (name, eval.csv rows with step, task, style, accuracy). Each run needs a step-0 evaluation
    /// (the base it changes from) and the novel task in every evaluation; prior tasks are those of the first run's
    /// step 0, and every evaluation of every run must have them all.
    public init(runs: [(name: String, rows: [[String: String]])], novelTask: String) throws {
        self.novelTask = novelTask
        var tasks: [String] = []
        var points: [Point] = []
        for (name, rows) in runs {
            var byStep: [Int: [String: Double]] = [:]
            for r in rows where r["style"] == "all" {
                guard let step = r["step"].flatMap(Int.init), let task = r["task"], let acc = r["accuracy"].flatMap(Double.init), acc.isFinite else {
                    throw ForgettingCurveError.malformed(run: name, reason: "a row lacks a whole step, a task or a finite accuracy")
                }
                byStep[step, default: [:]][task] = acc
            }
            guard let base = byStep[0] else { throw ForgettingCurveError.malformed(run: name, reason: "no evaluation at step 0 (the base it changes from)") }
            if tasks.isEmpty {
                tasks = rows.filter { $0["style"] == "all" && $0["step"] == "0" }.compactMap { $0["task"] }.filter { $0 != novelTask }.distinctInOrder()
                guard !tasks.isEmpty else { throw ForgettingCurveError.malformed(run: name, reason: "no prior task besides '\(novelTask)' at step 0") }
            }
            for step in byStep.keys.sorted() {
                let acc = byStep[step]!
                guard let novel = acc[novelTask] else {
                    throw ForgettingCurveError.malformed(run: name, reason: "step \(step) has no '\(novelTask)' evaluation: give --eval-data its test set too")
                }
                let values = try tasks.map { t -> (Double, Double) in
                    guard let a = acc[t], let a0 = base[t] else {
                        throw ForgettingCurveError.malformed(run: name, reason: "step \(step) or step 0 has no '\(t)' evaluation")
                    }
                    return (a, a - a0)
                }
                points.append(Point(run: name, step: step, novelAccuracy: novel, accuracies: values.map(\.0), changes: values.map(\.1)))
            }
        }
        (priorTasks, self.points) = (tasks, points)
    }

    /// The runs in the order given.
    public var runs: [String] { points.map(\.run).distinctInOrder() }

    /// A run's points in step order.
    public func points(of run: String) -> [Point] { points.filter { $0.run == run } }

    /// The run's last evaluation (its final checkpoint).
    public func last(of run: String) -> Point? { points(of: run).last }

    /// The point of `run` whose novel-task accuracy is nearest `novelAccuracy` (the earlier step on a tie).
    public func nearest(_ run: String, novelAccuracy: Double) -> Point? {
        points(of: run).min { abs($0.novelAccuracy - novelAccuracy) < abs($1.novelAccuracy - novelAccuracy) }
    }

    /// Each run other than `reference`, at its last evaluation, with the evaluation of `reference` nearest it in
    /// novel-task accuracy: what each had lost by the time it knew the novel task equally well.
    public func matched(to reference: String) -> [(point: Point, reference: Point)] {
        runs.filter { $0 != reference }.compactMap { run in
            guard let p = last(of: run), let q = nearest(reference, novelAccuracy: p.novelAccuracy) else { return nil }
            return (p, q)
        }
    }

    /// `matched(to:)` as a fixed-width text table in percent: run, step, the novel task's accuracy, each prior task's
    /// change and their mean; each run's row followed by the reference's.
    public func matchedText(to reference: String) -> String {
        let columns = ["run", "step", novelTask] + priorTasks + ["mean"]
        let width = max(10, columns.map(\.count).max()! + 1), first = max(14, runs.map(\.count).max()! + 12)
        func line(_ cells: [String]) -> String {
            cells[0].padding(toLength: first, withPad: " ", startingAt: 0) + cells.dropFirst().map { $0.leftPadded(width) }.joined()
        }
        typealias F = ReportFormat
        func row(_ label: String, _ p: Point) -> String {
            line([label, String(p.step), F.percent(p.novelAccuracy)] + p.changes.map(F.points) + [F.points(p.meanChange)])
        }
        var lines = [line(columns)]
        for (p, q) in matched(to: reference) { lines += [row(p.run, p), row("\(reference) nearest", q)] }
        return lines.joined(separator: "\n")
    }

    /// Long format: run,step,novel_accuracy,task,accuracy,change — one row per point and prior task, and a row with
    /// task "mean" (the mean accuracy and change over the prior tasks).
    public var table: CSVTable {
        var t = CSVTable(header: ["run", "step", "novel_accuracy", "task", "accuracy", "change"])
        for p in points {
            for (k, task) in priorTasks.enumerated() {
                t.append([.string(p.run), .int(p.step), .double(p.novelAccuracy), .string(task), .double(p.accuracies[k]), .double(p.changes[k])])
            }
            t.append([.string(p.run), .int(p.step), .double(p.novelAccuracy), .string("mean"),
                      .double(p.accuracies.reduce(0, +) / Double(p.accuracies.count)), .double(p.meanChange)])
        }
        return t
    }
}

/// Evaluations a forgetting curve cannot be built from.
public enum ForgettingCurveError: Error, CustomStringConvertible {
    case malformed(run: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(run, reason): "the evaluations of run '\(run)' cannot make a forgetting curve: \(reason)"
        }
    }
}
