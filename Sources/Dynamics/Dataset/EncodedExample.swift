import Foundation

/// An example as the network sees it: `[patches] <bos> prompt response <eos>`.
///
/// The response's tokens and the closing `<eos>` are the scored tokens; a position always means the index in
/// the whole sequence (image positions included) of a predicted token, whose logits are computed at position − 1.
public struct EncodedExample: Sendable {
    public let id: String
    public let input: ModelInput
    /// Index into `input.tokens` of the first response token.
    public let responseStart: Int

    /// Sequence positions of the scored tokens (response and `<eos>`).
    public var responsePositions: Range<Int> { (input.imagePositions + responseStart)..<input.length }
    /// |o|: the number of scored tokens.
    public var responseLength: Int { input.tokens.count - responseStart }

    /// The token at sequence position `position` (a text position).
    public func token(at position: Int) -> Int { input.tokens[position - input.imagePositions] }

    /// Positions that can be asked for: every text position with a predecessor.
    public var predictablePositions: ClosedRange<Int> { max(1, input.imagePositions)...(input.length - 1) }

    /// Throws unless `position` is a predicted text position of this example.
    public func checkPosition(_ position: Int) throws {
        guard predictablePositions.contains(position) else {
            throw ExampleError.badPosition(id: id, position: position, valid: predictablePositions)
        }
    }

    /// An example already in the network's terms.
    public init(id: String, input: ModelInput, responseStart: Int) {
        self.id = id
        self.input = input
        self.responseStart = responseStart
    }

    /// Encodes `example` of `file` for a model with `config` and `tokenizer`: reads and patchifies its image
    /// (which must be S×S), tokenizes prompt and response. Errors name the example, the word or the file.
    public init(_ example: Example, file: ExampleFile, tokenizer: Tokenizer, config: ModelConfig) throws {
        var patches: Matrix? = nil
        if let url = file.imageURL(example) {
            let image = try PNGCodec.read(url, expectedSide: config.imageSize)
            patches = try Patchifier.patches(pixels: image.pixels, config: config)
        }
        let prompt: [Int], response: [Int]
        do {
            prompt = try tokenizer.encode(example.prompt)
            response = try tokenizer.encode(example.response)
        } catch let error as TokenizerError {
            throw EncodingError.tokenizer(id: example.id, error)
        }
        let tokens = [Tokenizer.bos] + prompt + response + [Tokenizer.eos]
        let input = ModelInput(patches: patches, tokens: tokens)
        guard input.length <= config.maxSeqLen else {
            throw ExampleError.tooLong(id: example.id, length: input.length, max: config.maxSeqLen)
        }
        self.id = example.id
        self.input = input
        self.responseStart = 1 + prompt.count
    }

    /// Every example of `file`, encoded.
    public static func all(_ file: ExampleFile, tokenizer: Tokenizer, config: ModelConfig, threads: Int = Parallel.defaultThreads) throws -> [EncodedExample] {
        // Each example's image is read and decoded on its own (128 000 PNGs for the demo's pretraining set): spread over
        // the cores, in order; a failure is the lowest failing example's, whatever the thread count.
        let examples = file.examples
        return try Parallel.map(examples.count, threads: threads) { try EncodedExample(examples[$0], file: file, tokenizer: tokenizer, config: config) }
    }
}

/// Tokenization failures with the example they belong to.
public enum EncodingError: Error, Equatable, CustomStringConvertible {
    case tokenizer(id: String, TokenizerError)

    public var description: String {
        switch self {
        case let .tokenizer(id, error): "example '\(id)': \(error)"
        }
    }
}

/// A reference `ID:POSITION` to one token example (the token at POSITION of example ID).
public struct TokenReference: Equatable, Sendable, CustomStringConvertible {
    public let id: String
    public let position: Int

    public init(id: String, position: Int) {
        self.id = id
        self.position = position
    }

    /// Parses `ID:POSITION`; the id may itself contain colons (the last one separates).
    public init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
              let p = Int(text[text.index(after: colon)...]) else { throw ExampleError.badReference(text) }
        self.init(id: String(text[..<colon]), position: p)
    }

    public var description: String { "\(id):\(position)" }
}

extension EncodedExample {
    /// `analyze tokenize`'s line for this example: id, tokens, image_positions, response_start (index into tokens)
    /// and sequence_length as one JSON object with sorted keys.
    public func tokenLine() throws -> String {
        let object: [String: Any] = [
            "id": id, "tokens": input.tokens, "image_positions": input.imagePositions,
            "response_start": responseStart, "sequence_length": input.length,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
