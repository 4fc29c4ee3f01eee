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
        let figures = try bench.run(threads: threads.threads)
        var table = CSVTable(header: ["name", "value", "unit", "detail"])
        let width = figures.map(\.name.count).max() ?? 0
        for f in figures {
            print("\(f.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(String(format: "%12.2f", f.value)) \(f.unit.padding(toLength: 9, withPad: " ", startingAt: 0))  \(f.detail)")
            table.append([.string(f.name), .double(f.value), .string(f.unit), .string(f.detail)])
        }
        if let out {
            try table.write(to: URL(fileURLWithPath: out))
            note("wrote \(out)")
        }
    }
}
