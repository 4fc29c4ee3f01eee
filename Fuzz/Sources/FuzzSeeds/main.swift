import Dynamics
import Foundation

// Writes the committed seed corpus of each fuzz target into the folder given as the only argument (default
// "corpus"): small valid inputs of every reader, plus a few near-misses, made with the library's own writers.

let root = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "corpus")
func put(_ target: String, _ name: String, _ data: Data) throws {
    let dir = root.appendingPathComponent(target)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try data.write(to: dir.appendingPathComponent(name))
}
func text(_ s: String) -> Data { Data(s.utf8) }

// safetensors: F64 with metadata, F32, BF16 by hand, and a duplicate key.
let tensors = [NamedTensor(name: "a", shape: [2, 2], values: [1, -2, 0.5, 3]), NamedTensor(name: "b", shape: [3], values: [0, 1e-300, -0.0])]
try put("safetensors", "f64.safetensors", try SafeTensors.encode(tensors, metadata: ["format_version": "1", "step": "3"]))
func handMade(_ header: String, _ payload: [UInt8]) -> Data {
    var h = Data(header.utf8)
    h.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8))
    var d = Data()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
    return d + h + Data(payload)
}
try put("safetensors", "f32.safetensors", handMade(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [0, 0, 0xC0, 0x3F, 0, 0, 0x80, 0xBE]))
try put("safetensors", "bf16.safetensors", handMade(#"{"__metadata__":{"format_version":"1"},"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, [0xC0, 0x3F, 0x80, 0xBE]))
try put("safetensors", "dup.safetensors", handMade(#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8)))

// config.json: both presets, and an override-style partial one.
let tokenizer = try Tokenizer.standard()
try put("config", "tiny.json", try ModelConfig.preset(.tiny, vocabSize: tokenizer.count).jsonData())
try put("config", "small.json", try ModelConfig.preset(.small, vocabSize: tokenizer.count).jsonData())
try put("config", "partial.json", text(#"{"d_model": 128, "n_layers": 4}"#))

// tokenizer.json: the Hugging Face format this build writes, the earlier schema, and a WordLevel file whose
// pre-tokenizer is not ours (refused).
try put("tokenizer", "hf.json", try tokenizer.jsonData())
try put("tokenizer", "legacy.json", text(#"{"format": "dynamics-word-tokenizer", "version": 1, "tokens": ["<pad>", "<bos>", "<eos>", "<think>", "</think>", "<answer>", "</answer>", "0", "1", "a", "[", "]"]}"#))
try put("tokenizer", "other.json", text(#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "model": {"type": "WordLevel", "vocab": {"<pad>": 0, "a": 1}, "unk_token": "[UNK]"}}"#))

// trainer.safetensors for the micro model the harness checks against: SFT (AdamW, cosine) and GRPO (SGD).
let micro = ModelConfig(vocabSize: 3, dModel: 2, nLayers: 1, nHeads: 1, dFF: 2, maxSeqLen: 5, imageSize: 2, patchSize: 2, channels: 1)
let layout = ParameterLayout(micro)
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys]
let moments = (0..<layout.count).map { Double($0) * 1e-3 }
let sft = SFTRunConfig(steps: 10, batchSize: 2, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-3, schedule: .warmupCosine(warmup: 2, total: 10, floor: 0.1)),
                       seed: 1, shuffle: true, data: "train.jsonl")
try put("trainer", "sft.safetensors", try TrainerState(step: 4, optimizerStep: 4, firstMoment: moments, secondMoment: moments)
    .encode(run: encoder.encode(sft)))
var grpo = GRPORunConfig(steps: 6, optimizer: OptimizerConfig(kind: .sgd, learningRate: 1e-2), seed: 2, data: "jigsaw.jsonl")
grpo.updatesPerBatch = 2
try put("trainer", "grpo.safetensors", try TrainerState(step: 3, optimizerStep: 5, firstMoment: [], secondMoment: [])
    .encode(run: encoder.encode(grpo), extra: [NamedTensor(name: GRPOTrainer.referenceTensor, shape: [layout.count], values: moments)]))

// JSON Lines: generated examples of every task (LF and CRLF), hand-written ones, an outputs file.
let generator = try DatasetGenerator(DatasetSpec(tasks: TaskKind.allCases, split: .test, count: TaskKind.allCases.count, styles: [.plain, .reasoning], seed: 0, imageSize: 8))
let lines = try (0..<TaskKind.allCases.count).map { try DatasetWriter.line(generator.example($0).example) }
try put("jsonl", "generated.jsonl", text(lines.joined(separator: "\n") + "\n"))
try put("jsonl", "crlf.jsonl", text(lines.prefix(2).joined(separator: "\r\n") + "\r\n"))
try put("jsonl", "hand.jsonl", text(#"{"id":"t","prompt":"how many circles are there ?","response":"<answer> 2 </answer>","image":null}"# + "\n"))
try put("jsonl", "outputs.jsonl", text(#"{"id":"a","output":"<answer> [ 1 , 0 ] </answer>"}"# + "\n" + #"{"id":"a","output":"x"}"# + "\n"))

// Images: PNG and JPEG of a small scene, a grey-ish one, and a JPEG at low quality (4:2:0 chroma).
let (_, scene) = try SceneGenerator(size: 8).generate(RandomStream(seed: 0, name: "fuzz.seed"))
let png = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-seed-\(getpid()).png")
try PNGCodec.write(scene, to: png)
try put("png", "scene.png", try Data(contentsOf: png))
try PNGCodec.write(RGBImage(width: 3, height: 2), to: png)
try put("png", "black.png", try Data(contentsOf: png))
try FileManager.default.removeItem(at: png)
let jpg = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-seed-\(getpid()).jpg")
try JPEGCodec.write(scene, to: jpg, quality: 95)
try put("jpeg", "scene-q95.jpg", try Data(contentsOf: jpg))
try JPEGCodec.write(scene, to: jpg, quality: 40)
try put("jpeg", "scene-q40.jpg", try Data(contentsOf: jpg))
try FileManager.default.removeItem(at: jpg)
print("wrote the seed corpus under \(root.path)")
