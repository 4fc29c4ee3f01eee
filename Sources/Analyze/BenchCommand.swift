import ArgumentParser
import Dynamics
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine: training pass, generation, logit Jacobian, eNTK block, GFLOP/s against dgemm.")

    @Option(name: .long, help: "Configuration to measure.")
    var preset: String = "small"

    @Option(name: .long, parsing: .unconditional, help: "Positions in the benchmark sequence (image + text; capped at max_seq_len).")
    var length: Int = 100

    @Option(name: .long, parsing: .unconditional, help: "Timed repetitions per figure (the best is reported).")
    var repeats: Int = 5

    @OptionGroup var threads: ThreadsOption

    @Option(name: .long, help: "Probe examples N of the N × N kernel figures.")
    var probes: Int = 16

    @Option(name: .long, parsing: .upToNextOption,
            help: "Only these groups of figures (\(Benchmark.Section.allCases.map(\.rawValue).joined(separator: ", "))); the roofs always run.")
    var only: [String] = []

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
        guard let p = ModelConfig.Preset(rawValue: preset) else { throw ValidationError("unknown preset '\(preset)'") }
        if let out { try SafeOutput.checkWritable([URL(fileURLWithPath: out)], force: force) }
        let config = ModelConfig.preset(p, vocabSize: try Tokenizer.standard().count)
        let bench = try Benchmark(config: config, length: length, repeats: repeats)
        note("bench: preset \(preset), \(bench.model.layout.count) parameters, sequence of \(bench.input.length) positions, best of \(repeats)")
        let sections = try only.map { name in
            guard let s = Benchmark.Section(rawValue: name) else { throw ValidationError("unknown --only group '\(name)'") }
            return s
        }
        let report = try bench.run(threads: threads.threads, sections: sections.isEmpty ? Set(Benchmark.Section.allCases) : Set(sections), probes: probes)
        note(report.roofLine)
        report.textLines.forEach { print($0) }
        if let out {
            try report.table.write(to: URL(fileURLWithPath: out))
            note("wrote \(out)")
        }
    }
}
