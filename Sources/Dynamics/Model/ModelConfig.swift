import Foundation

/// The network's shape (MODEL.md "Configuration"); serialised as `config.json` with snake_case keys.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// V: number of text tokens.
    public var vocabSize: Int
    /// D: residual width.
    public var dModel: Int
    /// L: number of transformer blocks.
    public var nLayers: Int
    /// H: attention heads; D must be divisible by H.
    public var nHeads: Int
    /// MLP hidden width.
    public var dFF: Int
    /// T: positions available to image patches and text together.
    public var maxSeqLen: Int
    /// S: images are S×S pixels.
    public var imageSize: Int
    /// P: patches are P×P pixels; S must be divisible by P.
    public var patchSize: Int
    /// C: colour channels.
    public var channels: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", nLayers = "n_layers", nHeads = "n_heads", dFF = "d_ff"
        case maxSeqLen = "max_seq_len", imageSize = "image_size", patchSize = "patch_size", channels
    }

    public init(vocabSize: Int, dModel: Int, nLayers: Int, nHeads: Int, dFF: Int, maxSeqLen: Int,
                imageSize: Int, patchSize: Int, channels: Int) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.dFF = dFF
        self.maxSeqLen = maxSeqLen
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
    }

    /// Width of one attention head, D / H.
    public var headDim: Int { dModel / nHeads }
    /// N = (S / P)²: image positions in front of the text of an example with an image.
    public var patchCount: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    /// P·P·C: length of one flattened patch.
    public var patchDim: Int { patchSize * patchSize * channels }

    /// Throws a `ConfigError` naming the first field that makes the network ill-formed.
    public func validate() throws {
        let positive: [(String, Int)] = [
            ("vocab_size", vocabSize), ("d_model", dModel), ("n_layers", nLayers), ("n_heads", nHeads),
            ("d_ff", dFF), ("max_seq_len", maxSeqLen), ("image_size", imageSize), ("patch_size", patchSize),
            ("channels", channels),
        ]
        for (name, value) in positive where value <= 0 {
            throw ConfigError.invalid(field: name, reason: "must be positive, got \(value)")
        }
        guard dModel % nHeads == 0 else {
            throw ConfigError.invalid(field: "n_heads", reason: "d_model \(dModel) is not divisible by n_heads \(nHeads)")
        }
        guard imageSize % patchSize == 0 else {
            throw ConfigError.invalid(field: "patch_size", reason: "image_size \(imageSize) is not divisible by patch_size \(patchSize)")
        }
        guard maxSeqLen > patchCount else {
            throw ConfigError.invalid(field: "max_seq_len", reason: "\(maxSeqLen) leaves no room for text after \(patchCount) image patches")
        }
        let sizes = [vocabSize, dModel, nLayers, dFF, maxSeqLen, imageSize, channels]
        guard sizes.allSatisfy({ $0 <= 1 << 20 }) else {
            throw ConfigError.invalid(field: "config", reason: "a dimension exceeds 2^20")
        }
        try checkSize()
    }

    /// Named presets: only a config; `vocabSize` comes from the tokenizer.
    public enum Preset: String, CaseIterable, Sendable {
        /// For tests: every code path, seconds to train.
        case tiny
        /// The demo and the experiments (MODEL.md defaults).
        case small
    }

    /// The configuration of `preset` for a vocabulary of `vocabSize` tokens.
    public static func preset(_ preset: Preset, vocabSize: Int) -> ModelConfig {
        switch preset {
        case .tiny:
            ModelConfig(vocabSize: vocabSize, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, maxSeqLen: 96,
                        imageSize: 8, patchSize: 4, channels: 3)
        case .small:
            ModelConfig(vocabSize: vocabSize, dModel: 64, nLayers: 2, nHeads: 4, dFF: 256, maxSeqLen: 128,
                        imageSize: 24, patchSize: 4, channels: 3)
        }
    }

    /// Reads and validates `config.json` (a key given twice is an error, as in every JSON the project reads).
    public static func load(from url: URL) throws -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, source: url.path)
    }

    /// Decodes and validates the bytes of a `config.json`; `source` names them in errors.
    public static func decode(_ data: Data, source: String) throws -> ModelConfig {
        if let key = StrictJSON.duplicateKey(in: data) {
            throw ConfigError.malformed(path: source, reason: "key '\(key)' appears twice")
        }
        let config: ModelConfig
        do { config = try JSONDecoder().decode(ModelConfig.self, from: data) } catch {
            throw ConfigError.malformed(path: source, reason: JSONErrorText.describe(error))
        }
        try config.validate()
        return config
    }

    /// The JSON text of `config.json` (sorted keys, so the same config gives the same bytes).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}

/// A configuration that cannot describe a network.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case invalid(field: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read config \(path): \(reason)"
        case let .malformed(path, reason): "config \(path) is not a valid model configuration: \(reason)"
        case let .invalid(field, reason): "config field '\(field)' \(reason)"
        }
    }
}
