import Dynamics
import Foundation
import Testing

@Suite struct TokenizerTests {
    @Test func piecesSplitTagsDigitsAndPunctuation() {
        #expect(Tokenizer.pieces(of: "<answer> [2,10, 1] </answer>") == ["<answer>", "[", "2", ",", "1", "0", ",", "1", "]", "</answer>"])
        #expect(Tokenizer.pieces(of: "{ bbox : [3,4] }") == ["{", "bbox", ":", "[", "3", ",", "4", "]", "}"])
        #expect(Tokenizer.pieces(of: "  where is the\tred circle?\n") == ["where", "is", "the", "red", "circle", "?"])
        #expect(Tokenizer.pieces(of: "a<b c>") == ["a<b", "c>"])
    }

    @Test func encodeDecodeRoundTripAndSpecialIds() throws {
        let t = try Tokenizer.standard()
        #expect(t.id(of: "<bos>") == Tokenizer.bos && t.id(of: "<eos>") == Tokenizer.eos)
        #expect(t.id(of: "<answer>") == Tokenizer.answerOpen && t.id(of: "</think>") == Tokenizer.thinkClose)
        let ids = try t.encode("<think> i see a red circle </think> <answer> { bbox : [ 1 2 , 3 ] } </answer>")
        #expect(try t.encode(try t.decode(ids)) == ids)
        #expect(try t.decode(try t.encode("[2,0,1]")) == "[ 2 , 0 , 1 ]")
        #expect(try t.decode(try t.encode("{ bbox : [ 3 , 12 , 9,18 ] } 407")) == "{ bbox : [ 3 , 12 , 9 , 18 ] } 407")
    }

    @Test func unknownWordIsAnErrorNamingIt() throws {
        let t = try Tokenizer.standard()
        #expect(throws: TokenizerError.unknownWord("purple", text: "is there a purple circle")) {
            try t.encode("is there a purple circle")
        }
        #expect(throws: TokenizerError.self) { try t.decode([t.count]) }
    }

    @Test func invalidVocabulariesAreRejected() {
        #expect(throws: TokenizerError.self) { try Tokenizer(tokens: ["a", "b"]) }
        #expect(throws: TokenizerError.self) { try Tokenizer(tokens: Tokenizer.specials + ["x", "x"]) }
        #expect(throws: TokenizerError.self) { try Tokenizer(tokens: Tokenizer.specials + ["two words"]) }
        #expect(throws: TokenizerError.self) { try Tokenizer(tokens: Tokenizer.specials + ["12"]) }
    }

    @Test func jsonRoundTrip() throws {
        let t = try Tokenizer.standard()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        let url = dir.appendingPathComponent("tokenizer.json")
        try AtomicFile.write(t.jsonData(), to: url)
        #expect(try Tokenizer.load(from: url) == t)
        try AtomicFile.write(Data("{\"format\": 3}".utf8), to: url)
        #expect(throws: TokenizerError.self) { try Tokenizer.load(from: url) }
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func fileIsHuggingFaceWordLevelAndOldSchemaStillLoads() throws {
        let t = try Tokenizer.standard()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tokenizer.json")
        try AtomicFile.write(t.jsonData(), to: url)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let model = try #require(object["model"] as? [String: Any])
        #expect(model["type"] as? String == "WordLevel" && model["unk_token"] as? String == "[UNK]")
        let vocab = try #require(model["vocab"] as? [String: Int])
        #expect(vocab.count == t.count && vocab["<bos>"] == 1 && vocab["circle"] == t.id(of: "circle"))
        let pre = try #require(object["pre_tokenizer"] as? [String: Any])
        #expect(pre["type"] as? String == "Split" && pre["invert"] as? Bool == true && pre["behavior"] as? String == "Removed")
        #expect((object["added_tokens"] as? [[String: Any]])?.count == Tokenizer.specials.count)
        // The old schema (checkpoints written before the Hugging Face format) still loads to the same tokenizer.
        let legacy = "{\"format\": \"dynamics-word-tokenizer\", \"version\": 1, \"tokens\": [" + t.tokens.map { "\"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"" }.joined(separator: ", ") + "]}"
        try AtomicFile.write(Data(legacy.utf8), to: url)
        #expect(try Tokenizer.load(from: url) == t)
        // A Hugging Face file whose splitting differs from ours is refused, not silently misread.
        let changed = String(decoding: try t.jsonData(), as: UTF8.self).replacingOccurrences(of: "\"Removed\"", with: "\"Isolated\"")
        try AtomicFile.write(Data(changed.utf8), to: url)
        #expect(throws: TokenizerError.self) { try Tokenizer.load(from: url) }
    }

    @Test func splitPatternMatchesArePieces() throws {
        let regex = try NSRegularExpression(pattern: Tokenizer.splitPattern)
        let texts = ["<answer> [2,10, 1] </answer>", "{ bbox : [3,4] }", "  where is the\tred circle?\n", "a<b c>", "a<b>c", "<>x<y",
                     "x<<bos>y", "<think> i see 3 squares . </think>\u{00A0}yes!", "it's \"a\" (b)/c*d+e-f=g;h", "ab<c d>e"]
        for text in texts {
            let ns = text as NSString
            let matches = regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range) }
            #expect(matches == Tokenizer.pieces(of: text), "\(text)")
        }
    }
}
