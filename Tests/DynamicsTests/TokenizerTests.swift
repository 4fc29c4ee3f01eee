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
}
