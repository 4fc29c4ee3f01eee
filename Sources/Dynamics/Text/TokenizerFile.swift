import Foundation

// tokenizer.json in the Hugging Face `tokenizers` format.
//
// The file is a `WordLevel` model (vocab token → id, ids 0…V−1 in our order) behind one `Split` pre-tokenizer whose
// regular expression (Oniguruma syntax, which `tokenizers` uses) reproduces `Tokenizer.pieces(of:)`:
//
//   a tag `<…>` (no whitespace inside, up to the first `>`)  |  one ASCII digit  |  one punctuation character  |
//   a maximal run of other non-whitespace characters, where a `<` counts as a word character only when no tag starts there
//
// with `invert: true, behavior: Removed`: the matches are the pieces and everything between them (whitespace) is
// dropped. Whitespace is Unicode's White_Space set, which is what Swift's `Character.isWhitespace` tests. The
// special tokens are also listed as `added_tokens` (special, not normalized), which split the same way.
// The unknown token is `[UNK]` and is deliberately *not* in the vocabulary: `tokenizers` then fails on an unknown
// word ("Missing [UNK] token from the vocabulary") exactly where `Tokenizer.encode` throws — no silent unknown id.
// The decoder joins tokens with single spaces except between digits: Replace(end → " "), Fuse,
// Replace("digit space digit" → no space), Strip one trailing space — `Tokenizer.decode`'s rule.
//
// The files of earlier builds (`{"format": "dynamics-word-tokenizer", "version": 1, "tokens": […]}`) are still read.

extension Tokenizer {
    /// Unicode White_Space, as an Oniguruma character-class body.
    static let whitespaceClass = #"\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"#
    /// `Tokenizer.punctuation`, escaped for a character class.
    static let punctuationClass = #"\[\]\{\}\(\),:;\?\.!=\+\-/\*'""#

    /// The pre-tokenizer's regular expression: its matches, left to right, are `pieces(of:)`.
    public static let splitPattern: String = {
        let ws = whitespaceClass, p = punctuationClass
        let tag = "<[^\(ws)>]*>"
        return tag + "|[0-9]|[\(p)]|(?:[^\(ws)0-9\(p)<]|<(?!\(tag.dropFirst())))+"
    }()

    /// The unknown token named by the file's model; never in the vocabulary (see above).
    public static let huggingFaceUnknownToken = "[UNK]"

    struct HFPattern: Codable, Equatable { var Regex: String }
    struct HFPreTokenizer: Codable, Equatable {
        var type: String
        var pattern: HFPattern
        var behavior: String
        var invert: Bool
    }
    struct HFAddedToken: Codable, Equatable {
        var id: Int
        var content: String
        var single_word = false, lstrip = false, rstrip = false, normalized = false, special = true
    }
    struct HFDecoder: Codable, Equatable {
        var type: String
        var pattern: HFPattern?
        var content: String?
        var start: Int?
        var stop: Int?
        var decoders: [HFDecoder]?
    }
    struct HFModel: Codable, Equatable {
        var type: String
        var vocab: [String: Int]
        var unk_token: String?
    }
    /// The subset of the `tokenizers` JSON schema this file uses (`null` members are written as `null`).
    struct HFFile: Codable {
        var version: String
        var truncation: String?
        var padding: String?
        var added_tokens: [HFAddedToken]
        var normalizer: String?
        var pre_tokenizer: HFPreTokenizer?
        var post_processor: String?
        var decoder: HFDecoder?
        var model: HFModel

        enum CodingKeys: String, CodingKey {
            case version, truncation, padding, added_tokens, normalizer, pre_tokenizer, post_processor, decoder, model
        }

        init(version: String, added_tokens: [HFAddedToken], pre_tokenizer: HFPreTokenizer, decoder: HFDecoder, model: HFModel) {
            self.version = version
            self.added_tokens = added_tokens
            self.pre_tokenizer = pre_tokenizer
            self.decoder = decoder
            self.model = model
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
            added_tokens = try c.decodeIfPresent([HFAddedToken].self, forKey: .added_tokens) ?? []
            // Members this reader does not interpret must be absent or null.
            for key in [CodingKeys.truncation, .padding, .normalizer, .post_processor] where c.contains(key) {
                guard try c.decodeNil(forKey: key) else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "'\(key.rawValue)' must be null (this tokenizer has none)")
                }
            }
            pre_tokenizer = try c.decodeIfPresent(HFPreTokenizer.self, forKey: .pre_tokenizer)
            self.decoder = try c.decodeIfPresent(HFDecoder.self, forKey: .decoder)
            model = try c.decode(HFModel.self, forKey: .model)
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(version, forKey: .version)
            try c.encodeNil(forKey: .truncation)
            try c.encodeNil(forKey: .padding)
            try c.encode(added_tokens, forKey: .added_tokens)
            try c.encodeNil(forKey: .normalizer)
            try c.encode(pre_tokenizer, forKey: .pre_tokenizer)
            try c.encodeNil(forKey: .post_processor)
            try c.encode(decoder, forKey: .decoder)
            try c.encode(model, forKey: .model)
        }
    }

    static let hfPreTokenizer = HFPreTokenizer(type: "Split", pattern: HFPattern(Regex: splitPattern), behavior: "Removed", invert: true)
    static let hfDecoder = HFDecoder(type: "Sequence", decoders: [
        HFDecoder(type: "Replace", pattern: HFPattern(Regex: #"\z"#), content: " "),
        HFDecoder(type: "Fuse"),
        HFDecoder(type: "Replace", pattern: HFPattern(Regex: "(?<=[0-9]) (?=[0-9])"), content: ""),
        HFDecoder(type: "Strip", content: " ", start: 0, stop: 1),
    ])

    /// The bytes of `tokenizer.json` in the Hugging Face `tokenizers` format.
    public func jsonData() throws -> Data {
        let file = HFFile(
            version: "1.0",
            added_tokens: Tokenizer.specials.enumerated().map { HFAddedToken(id: $0.offset, content: $0.element) },
            pre_tokenizer: Tokenizer.hfPreTokenizer, decoder: Tokenizer.hfDecoder,
            model: HFModel(type: "WordLevel", vocab: Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($0.element, $0.offset) }),
                           unk_token: Tokenizer.huggingFaceUnknownToken))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(file) + Data("\n".utf8)
    }

    /// The earlier builds' schema.
    struct LegacyFile: Codable {
        var format: String
        var version: Int
        var tokens: [String]
    }

    static let legacyFormatName = "dynamics-word-tokenizer"

    /// Reads and validates `tokenizer.json`: the Hugging Face format this build writes (a WordLevel model with
    /// this tokenizer's pre-tokenizer), or the earlier `dynamics-word-tokenizer` schema.
    public static func load(from url: URL) throws -> Tokenizer {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, url: url)
    }

    /// The same from the file's bytes; `url` names it in errors.
    public static func decode(_ data: Data, url: URL) throws -> Tokenizer {
        if let key = StrictJSON.duplicateKey(in: data) {
            throw TokenizerError.malformed(path: url.path, reason: "key '\(key)' appears twice")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError.malformed(path: url.path, reason: JSONErrorText.describe(error))
        }
        guard let members = object as? [String: Any] else {
            throw TokenizerError.malformed(path: url.path, reason: "the file is not a JSON object")
        }
        if members["model"] != nil { return try loadHuggingFace(data, path: url.path) }
        let file: LegacyFile
        do { file = try JSONDecoder().decode(LegacyFile.self, from: data) } catch {
            throw TokenizerError.malformed(path: url.path, reason: "neither a Hugging Face tokenizer (no 'model') nor a \(legacyFormatName) file: \(JSONErrorText.describe(error))")
        }
        guard file.format == legacyFormatName, file.version == 1 else {
            throw TokenizerError.malformed(path: url.path, reason: "format '\(file.format)' version \(file.version) is not \(legacyFormatName) version 1")
        }
        return try Tokenizer(tokens: file.tokens)
    }

    static func loadHuggingFace(_ data: Data, path: String) throws -> Tokenizer {
        let file: HFFile
        do { file = try JSONDecoder().decode(HFFile.self, from: data) } catch {
            throw TokenizerError.malformed(path: path, reason: JSONErrorText.describe(error))
        }
        guard file.model.type == "WordLevel" else {
            throw TokenizerError.malformed(path: path, reason: "model type '\(file.model.type)' is not WordLevel")
        }
        guard file.pre_tokenizer == hfPreTokenizer else {
            throw TokenizerError.malformed(path: path, reason: "the pre_tokenizer is not this workbench's word splitting (a Split on Tokenizer.splitPattern, invert, Removed), so its ids would differ")
        }
        if let unk = file.model.unk_token, file.model.vocab[unk] != nil {
            throw TokenizerError.malformed(path: path, reason: "the unknown token '\(unk)' is in the vocabulary; unknown words must be errors")
        }
        let byID = file.model.vocab.sorted { $0.value < $1.value }
        for (i, entry) in byID.enumerated() where entry.value != i {
            throw TokenizerError.malformed(path: path, reason: "vocab ids must be 0…\(byID.count - 1), each once; id \(i) is missing or repeated")
        }
        for added in file.added_tokens where file.model.vocab[added.content] != added.id {
            throw TokenizerError.malformed(path: path, reason: "added token '\(added.content)' has id \(added.id), not its vocab id")
        }
        return try Tokenizer(tokens: byID.map(\.key))
    }
}
