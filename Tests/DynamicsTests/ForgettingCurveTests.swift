import Dynamics
import Foundation
import Testing

/// `ForgettingCurve` on hand-made evaluations: changes from each run's step 0, their mean and worst, the evaluation
/// nearest a given novel-task accuracy, the long table, and the errors for evaluations it cannot use.
struct ForgettingCurveTests {
    static func rows(_ values: [(step: Int, task: String, accuracy: Double)]) -> [[String: String]] {
        values.flatMap { v in
            [["step": String(v.step), "task": v.task, "style": "all", "accuracy": String(v.accuracy)],
             // Per-style rows are ignored: only "all" counts.
             ["step": String(v.step), "task": v.task, "style": "plain", "accuracy": "0.123"]]
        }
    }

    static let sft = rows([(0, "grounding", 0.8), (0, "pope", 0.9), (0, "jigsaw", 0.05),
                           (8, "grounding", 0.5), (8, "pope", 0.85), (8, "jigsaw", 0.2),
                           (16, "grounding", 0.1), (16, "pope", 0.6), (16, "jigsaw", 0.5)])
    static let grpo = rows([(0, "grounding", 0.8), (0, "pope", 0.9), (0, "jigsaw", 0.05),
                            (50, "grounding", 0.78), (50, "pope", 0.92), (50, "jigsaw", 0.25)])

    @Test func changesNearestAndTable() throws {
        let curve = try ForgettingCurve(runs: [("sft-gt", Self.sft), ("grpo", Self.grpo)], novelTask: "jigsaw")
        #expect(curve.priorTasks == ["grounding", "pope"])
        #expect(curve.runs == ["sft-gt", "grpo"])
        #expect(curve.points(of: "sft-gt").map(\.step) == [0, 8, 16])
        let p = try #require(curve.last(of: "grpo"))
        #expect(p.step == 50 && p.novelAccuracy == 0.25)
        #expect(abs(p.changes[0] - (-0.02)) < 1e-15 && abs(p.changes[1] - 0.02) < 1e-15)
        #expect(abs(p.meanChange) < 1e-15)
        #expect(abs(p.worstChange - (-0.02)) < 1e-15)
        // GRPO's 25 %: SFT-GT's step 8 (20 %) is nearer than step 16 (50 %); it had lost 30 and 5 points.
        let q = try #require(curve.nearest("sft-gt", novelAccuracy: p.novelAccuracy))
        #expect(q.step == 8)
        #expect(abs(q.changes[0] - (-0.3)) < 1e-15 && abs(q.changes[1] - (-0.05)) < 1e-15)
        #expect(abs(q.meanChange - (-0.175)) < 1e-15 && abs(q.worstChange - (-0.3)) < 1e-15)
        // A tie goes to the earlier step.
        #expect(curve.nearest("sft-gt", novelAccuracy: 0.35)?.step == 8)
        // Nothing fell: worst change 0.
        #expect(curve.points(of: "grpo")[0].worstChange == 0)

        let table = curve.table
        #expect(table.header == ["run", "step", "novel_accuracy", "task", "accuracy", "change"])
        #expect(table.rows.count == 5 * 3)
        let mean = try #require(table.rows.first { $0[0] == "sft-gt" && $0[1] == "16" && $0[3] == "mean" })
        #expect(abs(Double(mean[4])! - 0.35) < 1e-15 && abs(Double(mean[5])! - (-0.5)) < 1e-15 && Double(mean[2]) == 0.5)
    }

    @Test func evaluationsItCannotUseAreErrorsNamingTheRun() throws {
        func message(_ runs: [(name: String, rows: [[String: String]])]) -> String {
            do { _ = try ForgettingCurve(runs: runs, novelTask: "jigsaw"); return "" } catch { return "\(error)" }
        }
        #expect(message([("late", Self.sft.filter { $0["step"] != "0" })]).contains("run 'late'") )
        #expect(message([("late", Self.sft.filter { $0["step"] != "0" })]).contains("no evaluation at step 0"))
        #expect(message([("prior-only", Self.sft.filter { $0["task"] != "jigsaw" })]).contains("has no 'jigsaw' evaluation: give --eval-data its test set too"))
        #expect(message([("sft-gt", Self.sft), ("short", Self.grpo.filter { !($0["step"] == "50" && $0["task"] == "pope") })])
                .contains("step 50 or step 0 has no 'pope' evaluation"))
        #expect(message([("x", Self.rows([(0, "jigsaw", 0.1)]))]).contains("no prior task besides 'jigsaw'"))
        var bad = Self.grpo
        bad[0]["accuracy"] = "nan"
        #expect(message([("nan", bad)]).contains("finite accuracy"))
    }
}
