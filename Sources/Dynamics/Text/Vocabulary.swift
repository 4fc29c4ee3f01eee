/// The default vocabulary: special tokens, digits, punctuation, and the words of the world's prompts and answers.
extension Tokenizer {
    /// Words the world's tasks use (WORLD.md): shapes, colours, positions, task phrasing, the reasoning traces.
    static let words: [String] = [
        // objects and attributes
        "circle", "circles", "square", "squares", "triangle", "triangles", "shape", "shapes",
        "red", "green", "blue", "yellow", "colour", "number", "digits", "bbox", "x",
        // question words and connectives
        "where", "is", "the", "a", "an", "are", "there", "how", "many", "what", "which", "read", "order", "from",
        "to", "left", "right", "top", "bottom", "of", "in", "at", "and", "with", "it", "its", "this", "that",
        "yes", "no", "i", "see", "none", "one", "each", "for", "by", "row", "give", "image", "picture",
        // jigsaw
        "jigsaw", "puzzle", "pieces", "piece", "cut", "into", "grid", "shuffled", "shown", "original", "position",
        "positions", "numbered", "slot", "put", "back",
        // reasoning style
        "think", "answer", "first", "then", "so", "count", "looks", "like",
    ]

    /// The standard vocabulary: specials, then 0–9, then punctuation, then `words` (duplicates dropped).
    public static func standard() throws -> Tokenizer {
        var seen = Set<String>()
        let digits = (0...9).map(String.init)
        let punctuationTokens = punctuation.map(String.init).sorted()
        let all = (specials + digits + punctuationTokens + words).filter { seen.insert($0).inserted }
        return try Tokenizer(tokens: all)
    }
}
