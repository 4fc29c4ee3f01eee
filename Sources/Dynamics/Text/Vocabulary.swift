/// The default vocabulary: special tokens, digits, punctuation, and exactly the words the world writes.
extension Tokenizer {
    /// Every word of the world's prompts and answers (WORLD.md); a test generates every task in both styles
    /// and checks that each one tokenizes, and that each word here is used.
    static let words: [String] = [
        // objects and attributes
        "circle", "circles", "square", "squares", "triangle", "triangles", "shapes",
        "red", "green", "blue", "yellow", "colour", "number", "bbox", "x",
        // questions and answers
        "where", "is", "the", "a", "are", "there", "how", "many", "what", "read", "order", "from", "to", "left", "right",
        "of", "in", "and", "its", "yes", "no", "i", "see", "each", "for", "give", "image",
        // jigsaw
        "pieces", "piece", "cut", "into", "shuffled", "original", "position", "slot", "put", "back",
        // reasoning style
        "think", "first", "then", "answer",
    ]

    /// The standard vocabulary: specials, then 0–9, then punctuation, then `words`.
    public static func standard() throws -> Tokenizer {
        let digits = (0...9).map(String.init)
        let punctuationTokens = punctuation.map(String.init).sorted()
        return try Tokenizer(tokens: specials + digits + punctuationTokens + words)
    }
}
