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

    @Test func aCheckpointWithTheOldTokenizerFileStillLoads() throws {
        let t = try Tokenizer.standard()
        let model = try Transformer(config: .preset(.tiny, vocabSize: t.count), seed: 1)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("old-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Checkpoint(model: model, tokenizer: t).save(to: dir)
        // What builds before the Hugging Face format wrote (JSONEncoder, sorted keys).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        struct Legacy: Encodable { let format = "dynamics-word-tokenizer", version = 1; let tokens: [String] }
        try AtomicFile.write(encoder.encode(Legacy(tokens: t.tokens)) + Data("\n".utf8), to: dir.appendingPathComponent("tokenizer.json"))
        #expect(String(decoding: try Data(contentsOf: dir.appendingPathComponent("tokenizer.json")), as: UTF8.self).contains("dynamics-word-tokenizer"))
        let loaded = try Checkpoint.load(from: dir)
        #expect(loaded.tokenizer == t && loaded.model.parameters == model.parameters)
        #expect(try loaded.tokenizer.encode("is there a red circle ?") == t.encode("is there a red circle ?"))
    }

    @Test func splitPatternMatchesArePieces() throws {
        let regex = try NSRegularExpression(pattern: Tokenizer.splitPattern)
        let texts = ["<answer> [2,10, 1] </answer>", "{ bbox : [3,4] }", "  where is the\tred circle?\n", "a<b c>", "a<b>c", "<>x<y",
                     "x<<bos>y", "<think> i see 3 squares . </think>\u{00A0}yes!", "it's \"a\" (b)/c*d+e-f=g;h", "ab<c d>e"]
        // And 2000 random strings over the characters that matter (tags, digits, punctuation, whitespace kinds).
        let alphabet = Array("ab<>< >0912[],.?'\"\t\n\u{00A0}\u{2003}xyz")
        let rng = RandomStream(seed: 11, name: "test.pieces")
        let random = (0..<2000).map { _ in String((0..<(1 + rng.uniformInt(16))).map { _ in alphabet[rng.uniformInt(alphabet.count)] }) }
        for text in texts + random {
            let ns = text as NSString
            let matches = regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range) }
            #expect(matches == Tokenizer.pieces(of: text), "\(text)")
        }
    }
}

@Suite struct RunRecordTests {
    @Test func sha256MatchesFIPSVectors() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var h = SHA256()
        for _ in 0..<1000 { h.update(Array(repeating: UInt8(ascii: "a"), count: 1000)) }
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func metaJSONIsTypedHashedAndTimedAndOldFilesStillRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meta-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.txt"), folder = dir.appendingPathComponent("ck")
        try AtomicFile.write(Data("abc".utf8), to: input)
        try AtomicFile.write(Data("abc".utf8), to: folder.appendingPathComponent("a.txt"))
        try AtomicFile.write(Data().self, to: folder.appendingPathComponent("sub/b.txt"))
        let record = RunRecord(command: ["analyze", "x"], inputs: ["data": input.path, "checkpoint": folder.path, "parent": "(sft start)"],
                               outputs: ["o.csv"], details: ["steps": "12", "lr": "0.001", "grid": "3x3", "shuffle": "true", "seed": "007", "slope": "nan"],
                               time: Date(timeIntervalSince1970: 1_800_000_000))
        let url = dir.appendingPathComponent("o.meta.json")
        try record.write(to: url)
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        #expect(text.contains("\"steps\" : 12") && text.contains("\"lr\" : 0.001") && text.contains("\"shuffle\" : true")
                && text.contains("\"grid\" : \"3x3\"") && text.contains("\"seed\" : \"007\"") && text.contains("\"time\" : \"2027-01-15T08:00:00Z\""))
        let read = try RunRecord.read(from: url)
        #expect(read.metaVersion == 2 && read.time == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(read.details["steps"] == .int(12) && read.details["lr"] == .double(0.001) && read.details["shuffle"] == .bool(true)
                && read.details["grid"] == .string("3x3") && read.details["slope"] == .string("nan"))
        // sha256 of "abc"; the folder's digest is that of its sha256sum manifest (paths in byte order).
        #expect(read.inputSHA256["data"] == ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"])
        let manifest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.txt\n"
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  sub/b.txt\n"
        #expect(read.inputSHA256["checkpoint"] == [SHA256.hex(Array(manifest.utf8))] && read.inputSHA256["parent"] == nil)
        // An earlier build's all-string file reads to the same typed values.
        let old = #"{"command": ["analyze", "x"], "details": {"steps": "12", "lr": "0.001", "shuffle": "true", "grid": "3x3"}, "inputs": {}, "outputs": [], "tool": "analyze", "version": "0.1.0"}"#
        try AtomicFile.write(Data(old.utf8), to: url)
        let legacy = try RunRecord.read(from: url)
        #expect(legacy.metaVersion == 1 && legacy.time == nil && legacy.inputSHA256.isEmpty)
        #expect(legacy.details["steps"] == .int(12) && legacy.details["lr"] == .double(0.001) && legacy.details["shuffle"] == .bool(true))
        // The repository's own data/sample/train.meta.json, written by an earlier build.
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data/sample/train.meta.json")
        let shipped = try RunRecord.read(from: sample)
        #expect(shipped.command.prefix(3) == ["analyze", "data", "generate"] && shipped.details["count"] == .int(12)
                && shipped.details["grid"] == .string("3x3") && shipped.details["image_size"] == .int(24))
    }
}
