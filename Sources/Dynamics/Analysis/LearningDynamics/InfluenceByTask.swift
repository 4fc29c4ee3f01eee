/// The influence matrix summarised by (probe task, train task): how much a step on one task moves another
/// task's sequence log-probabilities on average (nats per step).
public struct InfluenceByTask: Equatable, Sendable {
    public let probeTask: String
    public let trainTask: String
    /// Entries averaged.
    public let n: Int
    public let mean: Double
    /// Sample standard deviation (0 for one entry).
    public let sd: Double

    /// The task of an example as the summary names it: its `task` field, or "unknown".
    public static func taskName(_ example: Example) -> String { example.task ?? "unknown" }

    /// One row per (probe task, train task) pair that has entries, tasks in order of first appearance.
    /// Entries where `isSelf(i, j)` (the probe is the training example itself, whose self-influence is
    /// η‖∇‖²/|o| > 0 and not an interaction) are left out.
    public static func summarize(_ matrix: Matrix, probeTasks: [String], trainTasks: [String],
                                 isSelf: (Int, Int) -> Bool = { _, _ in false }) throws -> [InfluenceByTask] {
        guard matrix.rows == probeTasks.count, matrix.cols == trainTasks.count else {
            throw ShapeError.mismatch(what: "influence matrix", expected: [probeTasks.count, trainTasks.count], found: [matrix.rows, matrix.cols])
        }
        func ordered(_ names: [String]) -> [String] {
            var seen = Set<String>()
            return names.filter { seen.insert($0).inserted }
        }
        var rows: [InfluenceByTask] = []
        for pt in ordered(probeTasks) {
            for tt in ordered(trainTasks) {
                var values: [Double] = []
                for i in probeTasks.indices where probeTasks[i] == pt {
                    for j in trainTasks.indices where trainTasks[j] == tt && !isSelf(i, j) { values.append(matrix[i, j]) }
                }
                guard !values.isEmpty else { continue }
                rows.append(InfluenceByTask(probeTask: pt, trainTask: tt, n: values.count,
                                            mean: try Statistics.mean(values), sd: try Statistics.standardDeviation(values)))
            }
        }
        return rows
    }
}
