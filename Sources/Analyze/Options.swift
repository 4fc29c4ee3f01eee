import ArgumentParser
import Dynamics
import Foundation

/// `--checkpoint DIR`.
struct CheckpointOption: ParsableArguments {
    @Option(name: .long, help: "Checkpoint directory (config.json, tokenizer.json, model.safetensors).")
    var checkpoint: String

    var url: URL { URL(fileURLWithPath: checkpoint) }
    func load() throws -> Checkpoint { try Checkpoint.load(from: url) }
}

/// `--examples FILE.jsonl`.
struct ExamplesOption: ParsableArguments {
    @Option(name: .long, help: "Examples file: JSONL with id, prompt, response, image (PNG path relative to the file, or null).")
    var examples: String

    func load() throws -> ExampleFile { try ExampleFile(url: URL(fileURLWithPath: examples)) }
}

/// `--out PATH` and `--force`, with the files an output implies (siblings such as `X.meta.json`).
struct OutputOption: ParsableArguments {
    @Option(name: .long, help: "Output path.")
    var out: String

    @Flag(name: .long, help: "Replace existing output files.")
    var force = false

    var url: URL { URL(fileURLWithPath: out) }

    /// `out` with its extension replaced by `suffix` (e.g. "meta.json"): J.safetensors → J.meta.json.
    func sibling(_ suffix: String) -> URL { URL(fileURLWithPath: siblingPath(suffix)) }

    /// The same as a path written the way `--out` was given (relative stays relative), for run records.
    func siblingPath(_ suffix: String) -> String { (out as NSString).deletingPathExtension + "." + suffix }

    /// An empty or root-like `--out` is refused before anything runs (`SafeOutput`).
    func validate() throws {
        try SafeOutput.checkPath(out)
    }

    /// Throws before any work when one of `urls` exists and `--force` was not given: nothing is overwritten by
    /// accident (`SafeOutput.checkWritable`; with `--force` only these files are replaced).
    func checkWritable(_ urls: [URL]) throws {
        try SafeOutput.checkWritable(urls, force: force)
    }
}

/// `--threads N`.
struct ThreadsOption: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Worker threads (default: all cores).")
    var threads: Int = Parallel.defaultThreads

    func validate() throws {
        try NumericFlag.check("--threads", threads, FlagRange.threads)
    }
}

/// The command line as typed, for run records.
var commandLine: [String] { CommandLine.arguments.enumerated().map { $0.offset == 0 ? "analyze" : $0.element } }

/// Writes one line to standard error.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// `--attention-init-std`: the scales of a fresh model (`Initialization`).
struct InitializationOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional,
            help: "Standard deviation of a fresh model's attention query/key/value weights (default: GPT-2's 0.02; notebook 03 §2za measures 0.08).")
    var attentionInitStd: Double?

    var isSet: Bool { attentionInitStd != nil }
    var scheme: Initialization { Initialization(attentionStd: attentionInitStd ?? Initialization.gpt2.attentionStd) }

    func validate() throws {
        try NumericFlag.check("--attention-init-std", attentionInitStd, FlagRange.initStd, exclusiveLower: true)
    }
}
