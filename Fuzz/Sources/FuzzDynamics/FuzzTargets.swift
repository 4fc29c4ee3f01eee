import CFuzzer
import Dynamics
import Foundation

/// SwiftPM links this module's entry point as `main`; it runs libFuzzer's driver with `fuzzOneInput`.
@main
enum FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = argv.withMemoryRebound(to: UnsafeMutablePointer<CChar>?.self, capacity: Int(argc) + 1) { pointer -> Int32 in
            var p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = pointer
            return LLVMFuzzerRunDriver(&argc, &p) { data, size in
                fuzzOneInput(data ?? UnsafePointer(bitPattern: 1)!, size)
            }
        }
        _ = argv
        exit(status)
    }
}

/// libFuzzer entry point: the bytes go to the reader named by the environment variable FUZZ_TARGET. Every reader
/// must either return a value or throw; a trap, a sanitizer report, a leak or a hang is a finding.
///
/// - `safetensors`: `SafeTensors.decode`, then `Checkpoint.checkFormatVersion` on its metadata.
/// - `config`: `ModelConfig.decode` (strict JSON, field checks, size limits), then the parameter layout of a
///   config that passed (when it is small enough to build here).
/// - `trainer`: `TrainerState.decode` of a `trainer.safetensors`, then `ResumeValidation` of its run settings and
///   state against a micro model (`FuzzTarget.micro`), then the optimizer's `restore`, as `train --resume` does.
/// - `jsonl`: `ExampleFile(data:url:)` (JSON Lines, strict JSON, ground-truth checks), every example scored
///   against its own response as `eval --oracle` does, and `OutputsFile.decode`.
/// - `tokenizer`: `Tokenizer.decode` of a `tokenizer.json` (the Hugging Face WordLevel format or the earlier
///   schema); a tokenizer that loads must write a file that loads back to itself.
/// - `png`, `jpeg`: `PNGCodec.decode`, `JPEGCodec.decode` (size from the header, at most 2^20 pixels here so that
///   each input stays fast under AddressSanitizer; the readers' own limit is `ImageFile.maxPixels`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let data = Data(bytes: bytes, count: size)
    switch FuzzTarget.current {
    case .safetensors: FuzzTarget.safetensors(data)
    case .config: FuzzTarget.config(data)
    case .trainer: FuzzTarget.trainer(data)
    case .jsonl: FuzzTarget.jsonl(data)
    case .tokenizer: FuzzTarget.tokenizer(data)
    case .png: _ = try? PNGCodec.decode(data, source: "fuzz.png", maxPixels: 1 << 20)
    case .jpeg: _ = try? JPEGCodec.decode(data, source: "fuzz.jpg", maxPixels: 1 << 20)
    }
    return 0
}

enum FuzzTarget: String, CaseIterable {
    case safetensors, config, trainer, jsonl, tokenizer, png, jpeg

    nonisolated(unsafe) static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("FUZZ_TARGET must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'\n".utf8))
            exit(2)
        }
        return target
    }()

    /// The model `trainer` inputs are checked against: small enough that a whole trainer.safetensors fits in a
    /// fuzz input (FuzzSeeds writes the seeds for the same configuration).
    static let micro = ModelConfig(vocabSize: 3, dModel: 2, nLayers: 1, nHeads: 1, dFF: 2, maxSeqLen: 5, imageSize: 2, patchSize: 2, channels: 1)

    static func safetensors(_ data: Data) {
        guard let (_, metadata) = try? SafeTensors.decode(data, source: "fuzz.safetensors") else { return }
        _ = try? Checkpoint.checkFormatVersion(metadata, file: URL(fileURLWithPath: "fuzz.safetensors"))
    }

    static func config(_ data: Data) {
        guard let config = try? ModelConfig.decode(data, source: "fuzz/config.json") else { return }
        if let n = config.parameterCountIfRepresentable, n <= 1 << 22 {
            let layout = ParameterLayout(config)
            precondition(layout.count == n, "the size check and the layout disagree: \(n) vs \(layout.count)")
        }
    }

    static func trainer(_ data: Data) {
        let dir = URL(fileURLWithPath: "/fuzz/checkpoint")
        guard let (state, run, extra) = try? TrainerState.decode(data, file: dir.appendingPathComponent("trainer.safetensors")) else { return }
        let resume = ResumeValidation(directory: dir)
        let layout = ParameterLayout(micro)
        let metadata = ["step": String(state.step), "format_version": Checkpoint.formatVersion]
        if let config = try? resume.runConfig(SFTRunConfig.self, from: run), (try? config.validate()) != nil,
           let total = try? resume.totalSteps(saved: config.steps, requested: nil, schedule: config.optimizer.schedule, step: state.step),
           (try? resume.check(state, modelMetadata: metadata, parameterCount: layout.count, optimizer: config.optimizer,
                              totalSteps: total, optimizerStepsPerStep: 1)) != nil,
           var optimizer = try? Optimizer(config: config.optimizer, layout: layout) {
            try! optimizer.restore(step: state.optimizerStep, firstMoment: state.firstMoment, secondMoment: state.secondMoment)
        }
        if let config = try? resume.runConfig(GRPORunConfig.self, from: run), (try? config.validate()) != nil,
           let total = try? resume.totalSteps(saved: config.steps, requested: nil, schedule: config.optimizer.schedule, step: state.step),
           (try? resume.check(state, modelMetadata: metadata, parameterCount: layout.count, optimizer: config.optimizer, totalSteps: total,
                              optimizerStepsPerStep: config.updatesPerBatch, reference: extra[GRPOTrainer.referenceTensor])) != nil,
           var optimizer = try? Optimizer(config: config.optimizer, layout: layout) {
            try! optimizer.restore(step: state.optimizerStep, firstMoment: state.firstMoment, secondMoment: state.secondMoment)
        }
    }

    static func tokenizer(_ data: Data) {
        let url = URL(fileURLWithPath: "/fuzz/tokenizer.json")
        guard let t = try? Tokenizer.decode(data, url: url) else { return }
        precondition((try? Tokenizer.decode(try t.jsonData(), url: url)) == t, "a tokenizer that loads does not round-trip")
    }

    static func jsonl(_ data: Data) {
        let url = URL(fileURLWithPath: "/fuzz/examples.jsonl")
        if let file = try? ExampleFile(data: data, url: url) {
            for e in file.examples where e.task != nil && e.truth != nil {
                _ = try? TaskScorer.score(e, output: e.response)
            }
        }
        _ = try? OutputsFile.decode(data, url: url)
    }
}
