@testable import Dynamics
import Foundation
import Testing
import TestSupport

/// Issue 13: every bad input is a clear error (never a trap, never a silent wrong result), and `--force` never
/// replaces what a command did not write. Each test fails on the code before the issue.
@Suite struct HardeningTests {
    func scratch() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("harden-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func expectError(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("succeeded, expected an error mentioning '\(fragment)'", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(fragment), "error \"\(error)\" should mention '\(fragment)'", sourceLocation: sourceLocation)
        }
    }

    func tinyCheckpoint() throws -> Checkpoint {
        let tokenizer = try Tokenizer.standard()
        return try Checkpoint(model: try Transformer(config: .preset(.tiny, vocabSize: tokenizer.count), seed: 1), tokenizer: tokenizer)
    }

    /// A safetensors file with a hand-written header and `dataBytes` zero bytes of data.
    func safetensors(header json: String, dataBytes: Int) -> Data {
        var h = Data(json.utf8)
        h.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8))
        var d = Data()
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
        return d + h + Data(count: dataBytes)
    }

    // MARK: 9. Strict parsing

    /// A file written without its own fsync (many images, then one sync of the file system) has the same bytes and
    /// replaces the old one whole; the sync names a path it cannot open.
    @Test func nonDurableWritesAndOneFileSystemSync() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("images/a.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: url, durable: false)
        try AtomicFile.write(Data([4, 5]), to: url, durable: false)
        try AtomicFile.syncFileSystem(containing: dir)
        #expect(try Data(contentsOf: url) == Data([4, 5]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("images").path) == ["a.bin"], "no temporary file left")
        expectError("missing-folder") { try AtomicFile.syncFileSystem(containing: dir.appendingPathComponent("missing-folder")) }
    }

    @Test func duplicateKeysAreFoundAtAnyDepthAndThroughEscapes() {
        #expect(StrictJSON.duplicateKey(in: Data(#"{"a":1,"b":{"c":2,"c":3}}"#.utf8)) == "b.c")
        #expect(StrictJSON.duplicateKey(in: Data(#"{"a":1,"\u0061":2}"#.utf8)) == "a")
        #expect(StrictJSON.duplicateKey(in: Data(#"{"a":"a","b":["a","a"],"c":{"a":1}}"#.utf8)) == nil)
        #expect(StrictJSON.duplicateKey(in: Data(#"{"a":"x\",\"a\":"}"#.utf8)) == nil, "quotes inside a string are not keys")
        for junk in ["{", "\"", "{\"a", "}}}]]", "{\"a\":\"\\", "[[[[{\"\\u12"] { _ = StrictJSON.duplicateKey(in: Data(junk.utf8)) }
    }

    @Test func duplicateKeysAreErrorsInSafetensorsConfigAndExamples() throws {
        let dup = safetensors(header: #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8)
        expectError("'w' twice") { _ = try SafeTensors.decode(dup, source: "dup") }
        let meta = safetensors(header: #"{"__metadata__":{"step":"1","step":"2"},"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8)
        expectError("'__metadata__.step' twice") { _ = try SafeTensors.decode(meta, source: "meta") }
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        var text = String(decoding: try ModelConfig.preset(.tiny, vocabSize: 92).jsonData(), as: UTF8.self)
        text = text.replacingOccurrences(of: "{", with: "{\"d_model\": 999999,")
        try Data(text.utf8).write(to: config)
        expectError("'d_model' appears twice") { _ = try ModelConfig.load(from: config) }
        let examples = dir.appendingPathComponent("e.jsonl")
        try Data(#"{"id":"a","id":"b","prompt":"x","response":"y","image":null}"#.utf8).write(to: examples)
        expectError("line 1: key 'id' appears twice") { _ = try ExampleFile(url: examples) }
    }

    @Test func formatVersionIsCheckedInBothWeightFiles() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try tinyCheckpoint()
        let path = dir.appendingPathComponent("c")
        try ckpt.save(to: path)
        let weights = path.appendingPathComponent("model.safetensors")
        try SafeTensors.write(ckpt.namedTensors, metadata: ["format_version": "2"], to: weights)
        expectError("format_version '2' is not supported") { _ = try Checkpoint.load(from: path) }
        try SafeTensors.write(ckpt.namedTensors, to: weights)
        expectError("has no format_version") { _ = try Checkpoint.load(from: path) }
    }

    // MARK: 6. Valid input refused

    @Test func crlfJSONLinesAndBF16AreRead() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("crlf.jsonl")
        let lines = [#"{"id":"a","prompt":"where","response":"no","image":null}"#, #"{"id":"b","prompt":"where","response":"yes","image":null}"#]
        try Data(("\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n\r\n").utf8).write(to: url)
        let file = try ExampleFile(url: url)
        #expect(file.examples.map(\.id) == ["a", "b"])
        #expect(file.examples.map(\.response) == ["no", "yes"])
        let outputs = dir.appendingPathComponent("out.jsonl")
        try Data(#"{"id":"a","output":"no"}\#r\#n{"id":"b","output":"x"}\#r\#n"#.utf8).write(to: outputs)
        #expect(try OutputsFile.read(outputs).map(\.output) == ["no", "x"])

        var bf16 = safetensors(header: #"{"x":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}"#, dataBytes: 0)
        for v: Float in [1.5, -0.25, 3] { withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { bf16.append(contentsOf: $0) } }
        #expect(try SafeTensors.decode(bf16, source: "bf16").tensors == [NamedTensor(name: "x", shape: [3], values: [1.5, -0.25, 3], storedDType: "BF16")])
        let i8 = safetensors(header: #"{"x":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}"#, dataBytes: 8)
        expectError("unsupported dtype I8") { _ = try SafeTensors.decode(i8, source: "i8") }
    }

    // MARK: 4. Corrupt config.json

    @Test func configSizesAreCheckedBeforeAnythingIsAllocated() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c")
        try tinyCheckpoint().save(to: path)
        let configURL = path.appendingPathComponent("config.json")
        var config = ModelConfig.preset(.tiny, vocabSize: 92)
        // Within today's per-dimension limit (2^20), terabytes in all: refused from the config alone.
        config.nLayers = 1 << 20
        config.dFF = 1 << 20
        try AtomicFile.write(config.jsonData(), to: configURL)
        expectError("parameters; at most") { _ = try Checkpoint.load(from: path) }
        config = ModelConfig.preset(.tiny, vocabSize: 92)
        config.maxSeqLen = 1 << 20
        try AtomicFile.write(config.jsonData(), to: configURL)
        expectError("more than this machine's") { _ = try Checkpoint.load(from: path) }
        // A plausible config that disagrees with the weights file: refused from the header, before θ is made.
        config = ModelConfig.preset(.tiny, vocabSize: 92)
        config.nLayers = 3000
        try AtomicFile.write(config.jsonData(), to: configURL)
        expectError("tensor 'blocks.2.ln1.weight' is missing") { _ = try Checkpoint.load(from: path) }
    }

    // MARK: 5. Image sizes from the header

    @Test func imageSizesAreCheckedFromTheHeaderBeforeDecoding() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let huge = dir.appendingPathComponent("huge.png")
        try TestPNG.header(width: 16384, height: 16384).write(to: huge)
        expectError("unsupported size 16384×16384") { _ = try ImageFile.read(huge) }
        let small = dir.appendingPathComponent("small.png")
        try PNGCodec.write(RGBImage(width: 5, height: 8), to: small)
        expectError("is 5×8, the model needs 8×8") { _ = try PNGCodec.read(small, expectedSide: 8) }
        // A JPEG whose frame header claims 16384×16384: refused before a scanline is decoded.
        let jpeg = dir.appendingPathComponent("huge.jpg")
        try JPEGCodec.write(RGBImage(width: 16, height: 16), to: jpeg)
        var bytes = [UInt8](try Data(contentsOf: jpeg))
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes.replaceSubrange((sof + 5)..<(sof + 9), with: [0x40, 0x00, 0x40, 0x00])
        try Data(bytes).write(to: jpeg)
        expectError("unsupported size 16384×16384") { _ = try ImageFile.read(jpeg) }
    }

    // MARK: 8. Malformed ground truth

    @Test func malformedTruthIsRejectedWhenTheFileIsRead() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String)] = [
            (#""truth":{"permutation":[0,0,0,0]},"grid":[2,2]"#, "not a permutation"),
            (#""truth":{"permutation":[-1,5,2,3]},"grid":[2,2]"#, "not a permutation"),
            (#""truth":{"permutation":[\#((0..<17).map(String.init).joined(separator: ","))]},"grid":[2,2]"#, "has 17 entries"),
            (#""truth":{"permutation":[1,0,3,2]},"grid":[0,0]"#, "grid [0, 0]"),
            (#""task":"grounding","truth":{"box":[5,5,1,1]}"#, "is not a box"),
            (#""task":"jigsaw","truth":{"answer":"x"}"#, "needs truth.permutation"),
        ]
        // A box answer too large to measure is no box (its area would overflow: a trap now that release builds check).
        let grounding = Example(id: "g", task: "grounding", prompt: "p", response: "r", truth: Truth(box: [1, 1, 3, 3]))
        let huge = try TaskScorer.score(grounding, output: "<answer> { bbox : [ 0 , 0 , 99999999999999999999 , 9223372036854775807 ] } </answer>")
        #expect(!huge.correct && huge.score == 0)
        for (k, (fields, fragment)) in cases.enumerated() {
            let url = dir.appendingPathComponent("t\(k).jsonl")
            try Data(#"{"id":"x","prompt":"p","response":"r","image":null,\#(fields)}"#.utf8).write(to: url)
            expectError(fragment) { _ = try ExampleFile(url: url) }
        }
    }

    /// A file of more lines than one decoding chunk (4 096): the error is the first bad line's, as a serial read's
    /// would be (a repeated id before an unreadable line included), and an id repeated across chunks is a duplicate.
    @Test func largeExampleFilesNameTheirFirstBadLineWhateverTheChunk() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ line: (Int) -> String) throws -> URL {
            let url = dir.appendingPathComponent(name)
            try Data((1...9000).map(line).joined(separator: "\n").utf8).write(to: url)
            return url
        }
        let good: (Int) -> String = { #"{"id":"e\#($0)","prompt":"p","response":"r"}"# }
        let file = try ExampleFile(url: try write("good.jsonl", good))
        #expect(file.examples.count == 9000 && file.examples.first?.id == "e1" && file.examples[4096].id == "e4097" && file.examples.last?.id == "e9000")
        let bad = try write("bad.jsonl") { $0 == 6000 || $0 == 8500 ? "{" : ($0 == 100 ? #"{"id":"e\#($0)","prompt":"p"}"# : good($0)) }
        expectError("bad.jsonl line 100:") { _ = try ExampleFile(url: bad) }
        let twice = try write("twice.jsonl") { $0 == 7000 ? #"{"id":"e3","prompt":"p","response":"r"}"# : ($0 == 8000 ? "{" : good($0)) }
        expectError("twice.jsonl line 7000: duplicate id 'e3'") { _ = try ExampleFile(url: twice) }
    }

    // MARK: 2. Resumed state

    /// An SFT checkpoint after 2 of 4 steps, with its trainer.safetensors' tensors and metadata.
    func trainedCheckpoint(_ dir: URL, schedule: LearningRateSchedule = .constant) throws -> (URL, [NamedTensor], [String: String]) {
        let tokenizer = try Tokenizer.standard()
        let model = try Transformer(config: .preset(.tiny, vocabSize: tokenizer.count), seed: 2)
        let g = try DatasetGenerator(DatasetSpec(tasks: [.vqa], split: .train, count: 2, styles: [.plain], seed: 1, imageSize: 8))
        try DatasetWriter.write(try (0..<2).map(g.example), folder: dir, fileName: "train.jsonl")
        let data = try EncodedExample.all(try ExampleFile(url: dir.appendingPathComponent("train.jsonl")), tokenizer: tokenizer, config: model.config)
        let config = SFTRunConfig(steps: 4, batchSize: 1, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-3, schedule: schedule),
                                  seed: 1, shuffle: true, data: dir.appendingPathComponent("train.jsonl").path)
        var trainer = try SFTTrainer(model: model, tokenizer: tokenizer, data: data, config: config)
        for _ in 0..<2 { _ = try trainer.trainStep(threads: 1) }
        let ckpt = dir.appendingPathComponent("step-2")
        try trainer.save(to: ckpt, record: RunRecord(command: ["test"]))
        let (tensors, metadata) = try SafeTensors.read(ckpt.appendingPathComponent("trainer.safetensors"))
        return (ckpt, tensors, metadata)
    }

    @Test func resumedStateIsCheckedAgainstTheModelAndTheRun() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (ckpt, tensors, metadata) = try trainedCheckpoint(dir)
        let trainerURL = ckpt.appendingPathComponent("trainer.safetensors")
        let resume = ResumeValidation(directory: ckpt)
        _ = try resume.loadSFT(steps: nil)
        func tampered(_ edit: (inout [NamedTensor], inout [String: String]) -> Void, _ fragment: String, steps: Int? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
            var t = tensors, m = metadata
            edit(&t, &m)
            try SafeTensors.write(t, metadata: m, to: trainerURL)
            expectError(fragment, sourceLocation: sourceLocation) { _ = try resume.loadSFT(steps: steps) }
        }
        try tampered({ _, m in m["step"] = "-1" }, "__metadata__.step is '-1'")
        try tampered({ _, m in m["step"] = String(Int.min) }, "not a whole number")
        try tampered({ _, m in m["step"] = "99" }, "step is 99, outside the run's 0…4")
        try tampered({ _, m in m["step"] = "0"; m["optimizer_step"] = "0" }, "step is 0 but model.safetensors was saved at step 2")
        try tampered({ _, m in m["optimizer_step"] = "7" }, "optimizer_step is 7")
        try tampered({ t, _ in t[1] = NamedTensor(name: t[1].name, shape: t[1].shape, values: [.infinity] + t[1].values.dropFirst()) },
                     "'optimizer.second_moment' holds a non-finite value")
        try tampered({ t, _ in t[0] = NamedTensor(name: t[0].name, shape: [3], values: [0, 0, 0]) }, "has 3 values")
        try tampered({ _, m in m["run"] = m["run"]!.replacingOccurrences(of: "\"batchSize\":1", with: "\"batchSize\":4611686018427387904") },
                     "batch size must lie in 1…65536")
        try tampered({ _, m in m["run"] = "{\"steps\":9," + m["run"]!.dropFirst() }, "names 'steps' twice")
        try tampered({ _, m in m["format_version"] = nil }, "has no format_version")
        // A checkpoint at the run's total has nothing left to do.
        try SafeTensors.write(tensors, metadata: metadata, to: trainerURL)
        expectError("nothing to train") { _ = try resume.loadSFT(steps: 2) }
        #expect(try resume.loadSFT(steps: 6).config.steps == 6, "a constant schedule may be extended")
    }

    @Test func resumingACosineRunWithAnotherTotalIsAnError() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (ckpt, _, _) = try trainedCheckpoint(dir, schedule: .warmupCosine(warmup: 1, total: 4, floor: 0.1))
        let resume = ResumeValidation(directory: ckpt)
        #expect(try resume.loadSFT(steps: nil).config.steps == 4)
        #expect(try resume.loadSFT(steps: 4).config.steps == 4)
        expectError("cosine schedule decays to the floor at step 4") { _ = try resume.loadSFT(steps: 8) }
    }

    // MARK: 1 and 10. The --force policy, leftovers, logs

    @Test func outputPathsAndForcedReplacementFollowOnePolicy() throws {
        expectError("--out is empty") { try SafeOutput.checkPath("") }
        expectError("the file-system root") { try SafeOutput.checkPath("/") }
        expectError("the current folder") { try SafeOutput.checkPath(".") }
        expectError("an ancestor of the current folder") { try SafeOutput.checkPath("..") }
        try SafeOutput.checkPath("some/new/folder")
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try tinyCheckpoint()
        let target = dir.appendingPathComponent("ckpt")
        try ckpt.save(to: target)
        try ckpt.save(to: target, overwrite: true)
        try Data("mine".utf8).write(to: target.appendingPathComponent("notes.txt"))
        expectError("it holds 'notes.txt', which this command does not write") { try ckpt.save(to: target, overwrite: true) }
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("notes.txt").path))
        expectError("is a folder") { try SafeOutput.checkWritable([target], force: true) }
    }

    @Test func stagingLeftoversOfDeadWritersAreRemoved() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        // A pid that is not running: the largest pid_max allows, plus one.
        let dead: Int32 = 4_194_304
        let mine = getpid()
        for name in [".step-000003.new-\(dead)-12", ".final.new-\(dead)-7", ".step-000004.new-\(mine)-1"] {
            try fm.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try fm.createDirectory(at: dir.appendingPathComponent(".step-000002.old-\(dead)-5"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent(".metrics.csv.tmp-\(dead)-9"))
        SafeOutput.removeLeftovers(in: dir)
        let left = Set(try fm.contentsOfDirectory(atPath: dir.path))
        #expect(left == [".step-000004.new-\(mine)-1", "step-000002"], "dead writers' staging removed, a lost rename put back, live ones kept: \(left)")
    }

    @Test func aResumedRunContinuesItsLogs() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.csv")
        try Data("step,loss\n1,4\n2,3\n3,2\n4,1\n".utf8).write(to: url)
        let log = try CSVLog(url: url, header: ["step", "loss"], continuingAfter: 2)
        try log.append([.int(3), .double(2.5)])
        #expect(try String(contentsOf: url, encoding: .utf8) == "step,loss\n1,4\n2,3\n3,2.5\n")
        expectError("other columns") { _ = try CSVLog(url: url, header: ["step", "reward"], continuingAfter: 2) }
    }
}
