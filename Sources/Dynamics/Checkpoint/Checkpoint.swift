import Foundation

/// A checkpoint directory (MODEL.md "Checkpoint directory"): `config.json`, `tokenizer.json`,
/// `model.safetensors`, optionally `meta.json`. Self-contained: everything to run the model and read its text.
public struct Checkpoint: Sendable {
    public var model: Transformer
    public var tokenizer: Tokenizer
    /// The weights file's `__metadata__` (format version; step for training checkpoints).
    public var metadata: [String: String]
    /// `meta.json`: what produced the checkpoint (command, seed, parent, data), as JSON text; nil when absent.
    public var meta: Data?

    /// Every file a checkpoint directory may hold: what `save` writes (training checkpoints add `trainer.safetensors`).
    public static let fileNames: Set<String> = ["config.json", "tokenizer.json", "model.safetensors", "meta.json", "trainer.safetensors"]

    /// The checkpoint format version written into `__metadata__`.
    public static let formatVersion = "1"

    public init(model: Transformer, tokenizer: Tokenizer, metadata: [String: String] = [:], meta: Data? = nil) throws {
        guard model.config.vocabSize == tokenizer.count else {
            throw CheckpointError.invalid(path: "config.json", reason: "vocab_size \(model.config.vocabSize) differs from the tokenizer's \(tokenizer.count) tokens")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.metadata = metadata
        self.meta = meta
    }

    /// Loads and validates a checkpoint directory. `config.json` is checked first (its sizes and a memory
    /// estimate: `ModelConfig.checkSize`), then the weights file's header against it — every tensor's presence,
    /// dtype and shape, and the `__metadata__.format_version` — before any array is allocated; then every value's
    /// finiteness. The error names the file and the tensor or field at fault.
    public static func load(from dir: URL) throws -> Checkpoint {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError.notFound(path: dir.path)
        }
        let config = try ModelConfig.load(from: dir.appendingPathComponent("config.json"))
        let tokenizer = try Tokenizer.load(from: dir.appendingPathComponent("tokenizer.json"))
        let weightsURL = dir.appendingPathComponent("model.safetensors")
        let data = try AtomicFile.read(weightsURL, what: "safetensors file")
        let (entries, metadata, dataStart) = try SafeTensors.header(data, source: weightsURL.path)
        try checkFormatVersion(metadata, file: weightsURL)
        // Shapes first, from the header alone (config.json has passed checkSize, so its layout is small): θ is
        // made only once every tensor the config implies is present with its shape.
        let layout = ParameterLayout(config)
        var byName: [String: SafeTensors.Entry] = [:]
        for e in entries { byName[e.name] = e }
        for spec in layout.tensors {
            guard let e = byName[spec.name] else {
                throw CheckpointError.invalid(path: weightsURL.path, reason: "tensor '\(spec.name)' is missing")
            }
            guard e.shape == spec.shape else {
                throw CheckpointError.invalid(path: weightsURL.path, reason: "tensor '\(spec.name)' has shape \(e.shape), config.json implies \(spec.shape)")
            }
        }
        if let extra = Set(byName.keys).subtracting(layout.tensors.map(\.name)).sorted().first {
            throw CheckpointError.invalid(path: weightsURL.path, reason: "unexpected tensor '\(extra)' (not in MODEL.md's table for this config)")
        }
        var theta = [Double](repeating: 0, count: layout.count)
        for spec in layout.tensors {
            let values = SafeTensors.values(byName[spec.name]!, in: data, dataStart: dataStart)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError.invalid(path: weightsURL.path, reason: "tensor '\(spec.name)' holds a non-finite value (\(values[bad])) at flat index \(bad)")
            }
            theta.replaceSubrange(spec.range, with: values)
        }
        let model = try Transformer(config: config, parameters: theta)
        let metaURL = dir.appendingPathComponent("meta.json")
        let meta = FileManager.default.fileExists(atPath: metaURL.path) ? try AtomicFile.read(metaURL, what: "meta.json") : nil
        do {
            return try Checkpoint(model: model, tokenizer: tokenizer, metadata: metadata, meta: meta)
        } catch CheckpointError.invalid(_, let reason) {
            throw CheckpointError.invalid(path: dir.appendingPathComponent("config.json").path, reason: reason)
        }
    }

    /// Throws unless a weights file's `__metadata__.format_version` is this build's `formatVersion` ("1").
    /// Every file the workbench writes carries it; a missing or other version is refused rather than guessed at.
    public static func checkFormatVersion(_ metadata: [String: String], file: URL) throws {
        guard let v = metadata["format_version"] else {
            throw CheckpointError.invalid(path: file.path, reason: "__metadata__ has no format_version (this build reads version \(formatVersion))")
        }
        guard v == formatVersion else {
            throw CheckpointError.invalid(path: file.path, reason: "format_version '\(v)' is not supported (this build reads version \(formatVersion))")
        }
    }

    /// The weights as named tensors in θ order.
    public var namedTensors: [NamedTensor] {
        model.layout.tensors.map { NamedTensor(name: $0.name, shape: $0.shape, values: Array(model.parameters[$0.range])) }
    }

    /// Writes the checkpoint to `dir` atomically: every file goes into a fresh sibling folder first, then one
    /// rename puts it in place. An existing `dir` is replaced only when `overwrite` is true (and then only
    /// after the new one is complete); `extraFiles` (name → bytes) are written alongside.
    ///
    /// `SafeOutput`'s policy applies: an existing `dir` is replaced only when it holds nothing but the files a
    /// checkpoint consists of (`fileNames`); leftovers of a killed earlier save beside it are cleaned up first.
    public func save(to dir: URL, overwrite: Bool = false, extraFiles: [String: Data] = [:]) throws {
        let fm = FileManager.default
        let exists = fm.fileExists(atPath: dir.path)
        if exists && !overwrite { throw FileError.exists(path: dir.path) }
        if exists { try SafeOutput.checkReplaceableFolder(dir, holding: Checkpoint.fileNames.union(extraFiles.keys)) }
        let parent = dir.deletingLastPathComponent()
        SafeOutput.removeLeftovers(in: parent)
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let staging = parent.appendingPathComponent(".\(dir.lastPathComponent).new-\(tag)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw FileError.cannotWrite(path: dir.path, reason: error.localizedDescription)
        }
        do {
            try AtomicFile.write(model.config.jsonData(), to: staging.appendingPathComponent("config.json"))
            try AtomicFile.write(tokenizer.jsonData(), to: staging.appendingPathComponent("tokenizer.json"))
            var md = metadata
            md["format_version"] = Checkpoint.formatVersion
            try SafeTensors.write(namedTensors, metadata: md, to: staging.appendingPathComponent("model.safetensors"))
            if let meta { try AtomicFile.write(meta, to: staging.appendingPathComponent("meta.json")) }
            for (name, data) in extraFiles.sorted(by: { $0.key < $1.key }) {
                try AtomicFile.write(data, to: staging.appendingPathComponent(name))
            }
            if exists {
                let old = parent.appendingPathComponent(".\(dir.lastPathComponent).old-\(tag)")
                try fm.moveItem(at: dir, to: old)
                try fm.moveItem(at: staging, to: dir)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: dir)
            }
            AtomicFile.syncDirectory(parent)
        } catch {
            try? fm.removeItem(at: staging)
            if let e = error as? FileError { throw e }
            throw FileError.cannotWrite(path: dir.path, reason: "\(error)")
        }
    }
}

/// A checkpoint directory that cannot be used.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notFound(path): "checkpoint \(path) does not exist or is not a directory"
        case let .invalid(path, reason): "invalid checkpoint file \(path): \(reason)"
        }
    }
}

extension Checkpoint {
    /// A freshly initialised model of `preset` with the standard vocabulary (the start of pretraining).
    public static func fresh(_ preset: ModelConfig.Preset, seed: UInt64, initialization: Initialization = .gpt2) throws -> Checkpoint {
        let tokenizer = try Tokenizer.standard()
        return try Checkpoint(model: Transformer(config: .preset(preset, vocabSize: tokenizer.count), seed: seed, initialization: initialization),
                              tokenizer: tokenizer)
    }
}
