import ArgumentParser
import Dynamics
import Foundation

extension Benchmark.Section: ExpressibleByArgument {}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine: training pass, generation, logit Jacobian, eNTK block, GFLOP/s against dgemm.")

    @Option(name: .long, help: "Configuration to measure.")
    var preset: ModelConfig.Preset = .small

    @Option(name: .long, parsing: .unconditional, help: "Positions in the benchmark sequence (image + text; capped at max_seq_len).")
    var length: Int = 100

    @Option(name: .long, parsing: .unconditional, help: "Timed repetitions per figure (the best is reported).")
    var repeats: Int = 5

    @OptionGroup var threads: ThreadsOption

    @Option(name: .long, help: "Probe examples N of the N × N kernel figures.")
    var probes: Int = 16

    @Option(name: .long, parsing: .upToNextOption,
            help: "Only these groups of figures (\(Benchmark.Section.allCases.map(\.rawValue).joined(separator: ", "))); the roofs always run.")
    var only: [Benchmark.Section] = []

    @Option(name: .long, help: "Also write the figures as CSV (name,value,unit,detail).")
    var out: String?

    @Flag(name: .long, help: "Replace an existing --out file.")
    var force = false

    func validate() throws {
        try NumericFlag.check("--length", length, FlagRange.benchLength)
        try NumericFlag.check("--repeats", repeats, FlagRange.benchRepeats)
        if let out { try SafeOutput.checkPath(out) }
    }

    func run() throws {
        if let out { try SafeOutput.checkWritable([URL(fileURLWithPath: out)], force: force) }
        let config = ModelConfig.preset(preset, vocabSize: try Tokenizer.standard().count)
        let bench = try Benchmark(config: config, length: length, repeats: repeats)
        note("bench: preset \(preset.rawValue), \(bench.model.layout.count) parameters, sequence of \(bench.input.length) positions, best of \(repeats)")
        let report = try bench.run(threads: threads.threads, sections: only.isEmpty ? Set(Benchmark.Section.allCases) : Set(only), probes: probes)
        note(report.roofLine)
        report.textLines.forEach { note($0) }
        if let out {
            try report.table.write(to: URL(fileURLWithPath: out))
            print("bench: \(report.figures.count) figures (preset \(preset.rawValue)); wrote \(out)")
        } else {
            print("bench: \(report.figures.count) figures (preset \(preset.rawValue)); the table is on stderr")
        }
    }
}
