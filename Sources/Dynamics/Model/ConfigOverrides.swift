import Foundation

/// Partial configuration files: keys given override a base configuration.
public enum ConfigOverrides {
    /// `base` with the keys of the JSON object in `url` (config.json names) replaced; unknown keys and invalid values are errors.
    public static func apply(_ url: URL, to base: ModelConfig) throws -> ModelConfig {
        let data = try AtomicFile.read(url, what: "config file")
        if let key = StrictJSON.duplicateKey(in: data) { throw ConfigError.malformed(path: url.path, reason: "key '\(key)' appears twice") }
        guard let overrides = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError.malformed(path: url.path, reason: "not a JSON object")
        }
        guard var merged = try JSONSerialization.jsonObject(with: base.jsonData()) as? [String: Any] else {
            throw ConfigError.malformed(path: url.path, reason: "internal: base config did not encode")
        }
        for (key, value) in overrides {
            guard merged[key] != nil else { throw ConfigError.invalid(field: key, reason: "is not a configuration key (in \(url.path))") }
            merged[key] = value
        }
        let config: ModelConfig
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch {
            throw ConfigError.malformed(path: url.path, reason: "\(error)")
        }
        try config.validate()
        return config
    }
}

extension ConfigOverrides {
    /// The configuration of a fresh model: `preset` for `tokenizer`'s vocabulary with the keys of the JSON file at
    /// `overrides` (when given) applied; its vocabulary size must stay the tokenizer's.
    public static func fresh(_ preset: ModelConfig.Preset, overrides: URL?, tokenizer: Tokenizer) throws -> ModelConfig {
        var config = ModelConfig.preset(preset, vocabSize: tokenizer.count)
        if let overrides { config = try apply(overrides, to: config) }
        guard config.vocabSize == tokenizer.count else {
            throw ConfigError.invalid(field: "vocab_size", reason: "is \(config.vocabSize) but the vocabulary has \(tokenizer.count) tokens")
        }
        return config
    }
}
