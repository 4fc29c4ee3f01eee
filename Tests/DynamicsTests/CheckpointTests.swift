import Dynamics
import Foundation
import Testing

/// Safetensors and checkpoint directories: round trips, and corrupt inputs giving errors, never crashes.
@Suite struct CheckpointTests {
    func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-test-\(UUID().uuidString)")
    }

    func tinyCheckpoint(seed: UInt64 = 1) throws -> Checkpoint {
        let tokenizer = try Tokenizer.standard()
        let model = try Transformer(config: .preset(.tiny, vocabSize: tokenizer.count), seed: seed)
        return try Checkpoint(model: model, tokenizer: tokenizer)
    }

    @Test func safetensorsRoundTripWithMetadataAndF32() throws {
        let a = NamedTensor(name: "a", shape: [2, 3], values: [1, -2, 3.5, .pi, 1e-300, -0.0])
        let b = NamedTensor(name: "b.\"quoted\"", shape: [], values: [42])
        let data = try SafeTensors.encode([a, b], metadata: ["step": "7", "format_version": "1"])
        #expect(data.count % 8 == 0)
        let (tensors, metadata) = try SafeTensors.decode(data, source: "memory")
        #expect(tensors == [a, b])
        #expect(metadata == ["step": "7", "format_version": "1"])
        // A hand-built F32 file.
        var header = Data(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        var f32 = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { f32.append(contentsOf: $0) }
        f32.append(header)
        for v: Float in [1.5, -0.25] { withUnsafeBytes(of: v.bitPattern.littleEndian) { f32.append(contentsOf: $0) } }
        let read = try SafeTensors.decode(f32, source: "f32").tensors
        #expect(read == [NamedTensor(name: "x", shape: [2], values: [1.5, -0.25], storedDType: "F32")])
    }

    @Test func corruptSafetensorsAreErrors() throws {
        let good = try SafeTensors.encode([NamedTensor(name: "w", shape: [4], values: [1, 2, 3, 4])])
        func rejects(_ data: Data, _ what: String) {
            #expect(throws: SafeTensorsError.self, "\(what)") { try SafeTensors.decode(data, source: what) }
        }
        rejects(Data(), "empty")
        rejects(good.prefix(5), "shorter than the length field")
        rejects(good.prefix(good.count - 8), "truncated data")
        var hugeLength = good
        hugeLength.replaceSubrange(0..<8, with: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
        rejects(hugeLength, "header length past the end")
        func withHeader(_ json: String, dataBytes: Int) -> Data {
            var h = Data(json.utf8)
            h.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8))
            var d = Data()
            withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
            return d + h + Data(count: dataBytes)
        }
        rejects(withHeader("{not json", dataBytes: 8), "bad JSON")
        rejects(withHeader("[1,2]", dataBytes: 8), "header not an object")
        rejects(withHeader(#"{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, dataBytes: 8), "offsets past the end")
        rejects(withHeader(#"{"w":{"dtype":"F64","shape":[3],"data_offsets":[0,16]}}"#, dataBytes: 16), "shape disagrees with offsets")
        rejects(withHeader(#"{"w":{"dtype":"I8","shape":[16],"data_offsets":[0,16]}}"#, dataBytes: 16), "unsupported dtype")
        rejects(withHeader(#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#, dataBytes: 16), "hole in the data")
        rejects(withHeader(#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#, dataBytes: 16), "overlap")
        rejects(withHeader(#"{"w":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}}"#, dataBytes: 8), "negative dim")
    }

    @Test func checkpointRoundTripIsExactAndDeterministic() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try tinyCheckpoint()
        try ckpt.save(to: dir.appendingPathComponent("a"))
        try tinyCheckpoint().save(to: dir.appendingPathComponent("b"))
        let loaded = try Checkpoint.load(from: dir.appendingPathComponent("a"))
        #expect(loaded.model.parameters == ckpt.model.parameters)
        #expect(loaded.model.config == ckpt.model.config)
        #expect(loaded.tokenizer == ckpt.tokenizer)
        #expect(loaded.metadata["format_version"] == Checkpoint.formatVersion)
        for file in ["config.json", "tokenizer.json", "model.safetensors"] {
            let x = try Data(contentsOf: dir.appendingPathComponent("a/\(file)"))
            let y = try Data(contentsOf: dir.appendingPathComponent("b/\(file)"))
            #expect(x == y, "\(file) must be byte-identical for the same seed")
        }
        #expect(throws: FileError.self) { try ckpt.save(to: dir.appendingPathComponent("a")) }
        try tinyCheckpoint(seed: 2).save(to: dir.appendingPathComponent("a"), overwrite: true)
        #expect(try Checkpoint.load(from: dir.appendingPathComponent("a")).model.parameters != ckpt.model.parameters)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "no staging folders left behind: \(leftovers)")
    }

    @Test func freshWeightsFollowTheInitializationScales() throws {
        let config = ModelConfig.preset(.tiny, vocabSize: try Tokenizer.standard().count)
        let base = try Transformer(config: config, seed: 3)
        #expect(try Transformer(config: config, seed: 3, initialization: .gpt2).parameters == base.parameters)
        // One draw per weight whatever the scales: a power-of-two change of a scale multiplies exactly those weights.
        let attention = try Transformer(config: config, seed: 3, initialization: Initialization(attentionStd: 0.08))
        let weights = try Transformer(config: config, seed: 3, initialization: Initialization(std: 0.04))
        var qkvCount = 0
        for t in base.layout.tensors {
            let isQKV = t.name.hasSuffix("attn.qkv.weight")
            let isWeight = !t.name.hasSuffix(".bias") && !t.name.contains("ln")
            if isQKV { qkvCount += t.range.count }
            for i in t.range {
                #expect(attention.parameters[i] == (isQKV ? 4 : 1) * base.parameters[i], "\(t.name)")
                #expect(weights.parameters[i] == (isWeight && !isQKV ? 2 : 1) * base.parameters[i], "\(t.name)")
            }
        }
        #expect(qkvCount == config.nLayers * 3 * config.dModel * config.dModel)
        // The default scales: every qkv weight's spread is 0.02, the residual projections' 0.02/√(2L).
        func spread(_ model: Transformer, _ suffix: String) -> Double {
            let values = model.layout.tensors.filter { $0.name.hasSuffix(suffix) }.flatMap { model.parameters[$0.range] }
            return (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
        }
        #expect(abs(spread(base, "attn.qkv.weight") / 0.02 - 1) < 0.1)
        #expect(abs(spread(attention, "attn.qkv.weight") / 0.08 - 1) < 0.1)
        #expect(abs(spread(base, "mlp.proj.weight") / (0.02 / (2.0 * Double(config.nLayers)).squareRoot()) - 1) < 0.1)
    }

    @Test func corruptCheckpointsAreErrorsNamingTheTensor() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try tinyCheckpoint()
        try ckpt.save(to: dir)
        let weights = dir.appendingPathComponent("model.safetensors")
        func expectError(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try Checkpoint.load(from: dir)
                Issue.record("load succeeded, expected an error mentioning \(fragment)", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(fragment), "error \"\(error)\" should mention \(fragment)", sourceLocation: sourceLocation)
            }
        }
        var tensors = ckpt.namedTensors
        let original = tensors
        let version = ["format_version": Checkpoint.formatVersion]
        tensors[3] = NamedTensor(name: tensors[3].name, shape: tensors[3].shape, values: tensors[3].values.enumerated().map { $0.offset == 5 ? .nan : $0.element })
        try SafeTensors.write(tensors, metadata: version, to: weights)
        expectError("'pos_emb.weight' holds a non-finite value")
        tensors = original
        tensors[0] = NamedTensor(name: "tok_emb.weight", shape: [tensors[0].shape[0] * tensors[0].shape[1]], values: tensors[0].values)
        try SafeTensors.write(tensors, metadata: version, to: weights)
        expectError("'tok_emb.weight' has shape")
        try SafeTensors.write(Array(original.dropLast()), metadata: version, to: weights)
        expectError("'head.weight' is missing")
        try SafeTensors.write(original + [NamedTensor(name: "extra", shape: [1], values: [0])], metadata: version, to: weights)
        expectError("unexpected tensor 'extra'")
        try SafeTensors.write(original, metadata: version, to: weights)
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count / 2).write(to: weights)
        expectError("corrupt safetensors file")
        try SafeTensors.write(original, metadata: version, to: weights)
        var config = ckpt.model.config
        config.dModel = 32
        try AtomicFile.write(config.jsonData(), to: dir.appendingPathComponent("config.json"))
        expectError("implies")
        config.nHeads = 5
        try AtomicFile.write(config.jsonData(), to: dir.appendingPathComponent("config.json"))
        expectError("n_heads")
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        expectError("missing key")
        #expect(throws: CheckpointError.notFound(path: dir.appendingPathComponent("nope").path)) {
            try Checkpoint.load(from: dir.appendingPathComponent("nope"))
        }
    }
}
