import Foundation

/// The word-level tokenizer of WORLD.md "Text and tokens": a fixed vocabulary, id = index.
///
/// Text is split left to right, skipping whitespace: a tag `<…>` is one token, every digit is one token, every
/// punctuation character of `Tokenizer.punctuation` is one token, and a maximal run of other characters is a
/// word. A piece outside the vocabulary is an error naming it — never a silent unknown token.
/// Decoding joins tokens with single spaces, except that consecutive digits join into one number ("1 2" → "12"),
/// so `encode(decode(ids)) == ids` and numbers read as written.
public struct Tokenizer: Equatable, Sendable {
    /// Tokens by id.
    public let tokens: [String]
    private let ids: [String: Int]

    /// Special tokens, always the first ids in this order.
    public static let specials = ["<pad>", "<bos>", "<eos>", "<think>", "</think>", "<answer>", "</answer>"]
    /// Characters that are always tokens of their own.
    public static let punctuation: Set<Character> = ["[", "]", "{", "}", "(", ")", ",", ":", ";", "?", ".", "!", "=", "+", "-", "/", "*", "'", "\""]

    public static let pad = 0, bos = 1, eos = 2, thinkOpen = 3, thinkClose = 4, answerOpen = 5, answerClose = 6

    /// A tokenizer over `tokens`; throws when a special token is missing or misplaced, a token is empty,
    /// repeated, or would not survive pre-tokenization as one piece.
    public init(tokens: [String]) throws {
        guard tokens.count >= Tokenizer.specials.count, Array(tokens.prefix(Tokenizer.specials.count)) == Tokenizer.specials else {
            throw TokenizerError.invalidVocabulary("the first tokens must be the special tokens \(Tokenizer.specials.joined(separator: " "))")
        }
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() {
            guard Tokenizer.pieces(of: t) == [t] else {
                throw TokenizerError.invalidVocabulary("token \(i) '\(t)' is not a single piece of text")
            }
            guard ids[t] == nil else { throw TokenizerError.invalidVocabulary("token '\(t)' appears twice") }
            ids[t] = i
        }
        self.tokens = tokens
        self.ids = ids
    }

    /// V: the vocabulary size.
    public var count: Int { tokens.count }

    /// The id of `token`, if it is in the vocabulary.
    public func id(of token: String) -> Int? { ids[token] }

    /// Token ids of `text`; throws `TokenizerError.unknownWord` naming the first piece outside the vocabulary.
    public func encode(_ text: String) throws -> [Int] {
        try Tokenizer.pieces(of: text).map { piece in
            guard let id = ids[piece] else { throw TokenizerError.unknownWord(piece, text: text) }
            return id
        }
    }

    /// Text of `ids`: single spaces between tokens, none between consecutive digits; throws on an id outside
    /// the vocabulary.
    public func decode(_ ids: [Int]) throws -> String {
        var text = ""
        var previousIsDigit = false
        for id in ids {
            guard id >= 0 && id < tokens.count else { throw TokenizerError.idOutOfRange(id, vocabSize: tokens.count) }
            let token = tokens[id]
            let isDigit = token.count == 1 && token.allSatisfy { $0.isASCII && $0.isNumber }
            if !text.isEmpty && !(isDigit && previousIsDigit) { text += " " }
            text += token
            previousIsDigit = isDigit
        }
        return text
    }

    /// The pre-tokenization of `text` into pieces (see the type's documentation).
    public static func pieces(of text: String) -> [String] {
        var out: [String] = []
        var word = ""
        func flush() { if !word.isEmpty { out.append(word); word = "" } }
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let ch = chars[i]
            if ch.isWhitespace {
                flush()
            } else if ch == "<", let close = chars[i...].firstIndex(of: ">"),
                      !chars[i...close].contains(where: \.isWhitespace) {
                flush()
                out.append(String(chars[i...close]))
                i = close
            } else if ch.isASCII && ch.isNumber || punctuation.contains(ch) {
                flush()
                out.append(String(ch))
            } else {
                word.append(ch)
            }
            i += 1
        }
        flush()
        return out
    }

    // tokenizer.json: TokenizerFile.swift.
}

/// Failures of tokenization and of vocabulary files.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unknownWord(String, text: String)
    case idOutOfRange(Int, vocabSize: Int)
    case invalidVocabulary(String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownWord(word, text): "unknown word '\(word)' (not in the vocabulary) in text \"\(text)\""
        case let .idOutOfRange(id, v): "token id \(id) is outside the vocabulary (size \(v))"
        case let .invalidVocabulary(reason): "invalid vocabulary: \(reason)"
        case let .unreadable(path, reason): "cannot read tokenizer \(path): \(reason)"
        case let .malformed(path, reason): "tokenizer \(path) is malformed: \(reason)"
        }
    }
}
