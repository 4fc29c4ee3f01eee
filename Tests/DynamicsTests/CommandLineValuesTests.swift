import Dynamics
import Foundation
import Testing

/// The command-line values the library reads for `analyze` (issue 14, a thin executable): each problem a message
/// naming the flag, without spawning the executable.
@Suite struct CommandLineValuesTests {
    @Test func numericRangesNameTheFlag() throws {
        try FlagRange.check("--steps", 5, FlagRange.steps)
        try FlagRange.check("--steps", nil as Int?, FlagRange.steps)
        #expect(throws: ArgumentProblem("--warmup must lie in 0…\(RunLimits.warmup.upperBound), got -1")) { try FlagRange.check("--warmup", -1, RunLimits.warmup) }
        #expect(throws: ArgumentProblem.self) { try FlagRange.check("--clip", 0.0, FlagRange.rate, exclusiveLower: true) }
        #expect(throws: ArgumentProblem.self) { try FlagRange.check("--lr", Double.nan, FlagRange.rate) }
    }

    @Test func learningRatesAndNamedValues() throws {
        #expect(try FlagRange.learningRates("1e-3, 2e-2", flag: "--eta") == [1e-3, 2e-2])
        #expect(throws: ArgumentProblem("--eta: '0' is not a positive finite learning rate")) { try FlagRange.learningRates("1e-3,0", flag: "--eta") }
        let named = try FlagRange.namedValue("jig=a=b.jsonl", flag: "--probe", value: "FILE")
        #expect(named.name == "jig" && named.value == "a=b.jsonl")
        #expect(throws: ArgumentProblem("--probe takes NAME=FILE, got '=x'")) { try FlagRange.namedValue("=x", flag: "--probe", value: "FILE") }
        #expect(try ForgettingTable.stepCounts(parsing: ["sft=30", "grpo=0"]) == ["sft": 30, "grpo": 0])
        #expect(throws: ArgumentProblem.self) { try ForgettingTable.stepCounts(parsing: ["sft=-1"]) }
    }

    @Test func trainingSettingsFromFlags() throws {
        let s = try TrainingRunSettings(out: "run", kind: "sft", force: true, checkpointEvery: 3, evalData: [], evalEvery: 2, evalLimit: 8,
                                        probes: ["jig=p.jsonl"], threads: 2, command: ["analyze"], resumedFrom: nil)
        #expect(s.probes.count == 1 && s.probes[0].name == "jig" && s.probes[0].path == "p.jsonl" && s.force && s.checkpointEvery == 3)
        #expect(throws: ArgumentProblem.self) {
            try TrainingRunSettings(out: "run", kind: "sft", force: false, checkpointEvery: 0, evalData: [], evalEvery: 0, evalLimit: 1,
                                    probes: ["nofile"], threads: 1, command: [], resumedFrom: nil)
        }
        let cosine = try OptimizerConfig.training(.adamw, learningRate: 1e-3, schedule: .cosine, warmup: 2, steps: 10, clipNorm: 1, weightDecay: 0)
        #expect(cosine.schedule == .warmupCosine(warmup: 2, total: 10, floor: 0.1) && cosine.clipNorm == 1)
    }

    @Test func sftStepsFromEpochs() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("epochs-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let lines = (0..<10).map { #"{"id":"e\#($0)","prompt":"p","response":"r","image":null}"# }
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(try SFTRunConfig.totalSteps(steps: nil, epochs: 1.5, data: file.path, batchSize: 4) == 5)   // 3 batches per epoch
        #expect(try SFTRunConfig.totalSteps(steps: 7, epochs: 1.5, data: file.path, batchSize: 4) == 7)
        #expect(throws: ArgumentProblem("give --steps or --epochs (≥ 1 step)")) { try SFTRunConfig.totalSteps(steps: nil, epochs: nil, data: file.path, batchSize: 4) }
    }

    @Test func symmetryValues() throws {
        #expect(try SymmetryStudy.rules(parsing: "sgd, adam") == [.sgd, .adam])
        #expect(throws: ArgumentProblem.self) { try SymmetryStudy.rules(parsing: "sgd,lion") }
        #expect(try SymmetryStudy.pair(parsing: "a:3,b:4") == ("a:3", "b:4"))
        #expect(throws: ArgumentProblem.self) { try SymmetryStudy.pair(parsing: "a:3") }
        #expect(TextColumns.lines([["a", "bb"], ["ccc", "d"]]) == ["a   | bb", "ccc | d"])
        #expect(PooledSlope.text(nil) == "—")
    }
}
