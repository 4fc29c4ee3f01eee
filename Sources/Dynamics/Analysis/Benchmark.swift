import Foundation

/// Speed measurements of the engine on a given configuration (what `analyze bench` prints).
/// Each figure is the best of `repeats` timed runs after one warm-up, on a random image + text sequence.
public struct Benchmark: Sendable {
    /// One measured figure.
    public struct Figure: Sendable {
        public let name: String
        public let value: Double
        public let unit: String
        /// How it was measured (shape, threads).
        public let detail: String
    }

    public let model: Transformer
    public let input: ModelInput
    public let repeats: Int

    /// A benchmark on a freshly initialised model of `config` and a sequence filling `length` positions (image included).
    public init(config: ModelConfig, length: Int, repeats: Int, seed: UInt64 = 0) throws {
        model = try Transformer(config: config, seed: seed)
        let rng = RandomStream(seed: seed, name: "bench.input")
        var patches = Matrix(rows: config.patchCount, cols: config.patchDim)
        for i in patches.storage.indices { patches.storage[i] = rng.uniform() }
        let textLength = max(2, min(length, config.maxSeqLen) - config.patchCount)
        input = ModelInput(patches: patches, tokens: (0..<textLength).map { _ in rng.uniformInt(config.vocabSize) })
        try model.validate(input)
        self.repeats = max(1, repeats)
    }

    /// Best wall time of `body` over the repeats, in seconds.
    func time(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return best
    }

    /// GFLOP/s of a plain dgemm C = A·B with A m×k and B k×n (transB as in the measured product).
    func plainDGEMM(m: Int, n: Int, k: Int, transB: Bool) -> Double {
        let rng = RandomStream(seed: 1, name: "bench.dgemm")
        let a = (0..<(m * k)).map { _ in rng.uniform() }, b = (0..<(k * n)).map { _ in rng.uniform() }
        var c = [Double](repeating: 0, count: m * n)
        let seconds = time {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                BLAS.gemm(transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: transB ? k : n,
                          c: cp.baseAddress!, ldc: n)
            } } }
        }
        return 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9
    }

    /// Training and sampling at the trainer's defaults: an SFT step of 32 sequences, sampling spread over the cores,
    /// and one GRPO update with the paper's defaults (16 prompts × G = 4 samples at τ = 1) on 2×2 jigsaw prompts.
    func trainingFigures(threads: Int) throws -> [Figure] {
        var figures: [Figure] = []
        let c = model.config
        let tokenizer = try Tokenizer.standard()
        guard tokenizer.count == c.vocabSize else { return [] }
        let generator = try DatasetGenerator(DatasetSpec(tasks: [.jigsaw], split: .train, count: 16, styles: [.reasoning], seed: 0,
                                                         imageSize: c.imageSize))
        let generated = try (0..<16).map(generator.example)
        let examples = generated.map(\.example)
        let encoded = try generated.map { g -> EncodedExample in
            let patches = try Patchifier.patches(pixels: g.images[0].image.pixels, config: c)
            let prompt = try tokenizer.encode(g.example.prompt), response = try tokenizer.encode(g.example.response)
            return EncodedExample(id: g.example.id, input: ModelInput(patches: patches, tokens: [Tokenizer.bos] + prompt + response + [Tokenizer.eos]),
                                  responseStart: 1 + prompt.count)
        }
        let batch = (0..<32).map { encoded[$0 % encoded.count] }
        let positions = batch.map(\.input.length).reduce(0, +)
        let sft = try time { _ = try SFTObjective.lossAndGradient(model, batch: batch, threads: threads) }
        figures.append(Figure(name: "SFT step (batch 32)", value: 1 / sft, unit: "steps/s", detail: "\(threads) threads, 2×2 jigsaw, \(positions) positions"))
        figures.append(Figure(name: "SFT step (batch 32)", value: Double(positions) / sft, unit: "tokens/s", detail: "\(threads) threads, forward + backward"))
        let sampler = try RolloutSampler(model: model, tokenizer: tokenizer, temperature: 1, seed: 0)
        var sampled = 0
        let sampling = try time {
            let outs = try Parallel.map(16, threads: threads) { try sampler.sample(examples[$0], encoded[$0], stream: "bench.\($0)") }
            sampled = outs.map(\.tokens.count).reduce(0, +)
        }
        figures.append(Figure(name: "sampling (KV cache)", value: Double(sampled) / sampling, unit: "tokens/s", detail: "\(threads) threads, 16 prompts, τ = 1"))
        var config = GRPORunConfig(steps: 1, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-4), seed: 0, data: "bench")
        config.restartEvery = 0
        var lastLength = 0.0
        let grpo = try time {
            var trainer = try GRPOTrainer(model: model, tokenizer: tokenizer, examples: examples, prompts: encoded, config: config)
            lastLength = try trainer.trainStep(threads: threads).completionLength
        }
        figures.append(Figure(name: "GRPO update (paper defaults)", value: 1 / grpo, unit: "steps/s",
                              detail: String(format: "%d threads, 16 prompts × G=4, mean completion %.0f tokens", threads, lastLength)))
        return figures
    }

    /// All figures; `threads` is the core count used where work is spread over examples.
    public func run(threads: Int) throws -> [Figure] {
        var figures: [Figure] = []
        let c = model.config, T = input.length, V = c.vocabSize, n = input.imagePositions
        let shape = "T=\(T) (\(n) image + \(T - n) text), V=\(V), d=\(model.layout.count)"
        let blasThreads = BLAS.threads
        defer { BLAS.setThreads(blasThreads) }

        // Training pass: forward + backward of one random cotangent per sequence.
        let cot = (0..<(T * V)).map { Double($0 % 7) - 3 }
        var grad = [Double](repeating: 0, count: model.layout.count)
        BLAS.setThreads(1)
        let fb = try time {
            let acts = try model.forward(input)
            try model.backward(acts, cotangents: cot, into: &grad)
        }
        figures.append(Figure(name: "forward+backward", value: Double(T) / fb, unit: "tokens/s", detail: "1 thread, \(shape)"))
        let examples = 4 * threads
        let fbParallel = try time {
            _ = try Parallel.map(examples, threads: threads) { _ in
                var g = [Double](repeating: 0, count: model.layout.count)
                try model.backward(try model.forward(input), cotangents: cot, into: &g)
                return g[0]
            }
        }
        figures.append(Figure(name: "forward+backward", value: Double(examples * T) / fbParallel, unit: "tokens/s",
                              detail: "\(threads) threads over \(examples) sequences"))
        let fbFlops = FlopCount.forward(c, length: T, imagePositions: n) + FlopCount.backward(c, length: T, imagePositions: n, batch: 1)
        figures.append(Figure(name: "forward+backward", value: fbFlops / fb / 1e9, unit: "GFLOP/s", detail: "1 thread"))

        // Generation with the KV cache against recomputing the whole prefix for every token.
        let promptLength = c.patchCount + max(1, (T - n) / 4)
        let prompt = input.prefix(promptLength)
        let newTokens = T - promptLength
        let options = GenerationOptions(maxNewTokens: newTokens, stopToken: -1)
        let gen = try time { _ = try model.generate(prompt, options: options) }
        figures.append(Figure(name: "generation (KV cache)", value: Double(newTokens) / gen, unit: "tokens/s",
                              detail: "1 thread, prompt \(promptLength), \(newTokens) new tokens, greedy"))
        let recompute = try time {
            var seq = prompt
            for _ in 0..<newTokens {
                let lp = try model.forward(seq).logProbabilities(at: seq.length - 1)
                seq.tokens.append(lp.indices.max { lp[$0] < lp[$1] } ?? 0)
            }
        }
        figures.append(Figure(name: "generation (full recompute)", value: Double(newTokens) / recompute, unit: "tokens/s",
                              detail: "1 thread, same work without the cache"))

        // Logit Jacobian and eNTK block at the last position.
        let position = T - 1
        for t in Set([1, threads]).sorted() {
            BLAS.setThreads(t)
            let jt = try time { _ = try TokenGradients.logitJacobian(model, input: input, position: position) }
            let jFlops = FlopCount.forward(c, length: position, imagePositions: n) + FlopCount.backward(c, length: position, imagePositions: n, batch: V, activeRows: 1)
            figures.append(Figure(name: "logit Jacobian", value: jt * 1e3, unit: "ms", detail: "\(t) BLAS thread(s), V × d = \(V) × \(model.layout.count), prefix \(position)"))
            figures.append(Figure(name: "logit Jacobian", value: jFlops / jt / 1e9, unit: "GFLOP/s", detail: "\(t) BLAS thread(s), matrix products counted"))
        }
        BLAS.setThreads(threads)
        let ju = try TokenGradients.logitJacobian(model, input: input, position: position)
        let jv = try TokenGradients.logitJacobian(model, input: input.prefix(position), position: position - 1)
        let kt = try time { _ = try EmpiricalNTK.block(jv, ju) }
        let d = model.layout.count
        figures.append(Figure(name: "eNTK block J_v J_uᵀ", value: kt * 1e3, unit: "ms", detail: "\(threads) BLAS threads, [\(V), \(d)]·[\(d), \(V)]"))
        figures.append(Figure(name: "eNTK block J_v J_uᵀ", value: 2 * Double(V * V * d) / kt / 1e9, unit: "GFLOP/s", detail: "\(threads) BLAS threads"))
        figures.append(Figure(name: "plain dgemm, eNTK shape", value: plainDGEMM(m: V, n: V, k: d, transB: true), unit: "GFLOP/s",
                              detail: "\(threads) BLAS threads, m=n=\(V), k=\(d)"))
        let pair = try time {
            let a = try TokenGradients.logitJacobian(model, input: input, position: position)
            let b = try TokenGradients.logitJacobian(model, input: input.prefix(position), position: position - 1)
            _ = try EmpiricalNTK.block(b, a)
        }
        figures.append(Figure(name: "eNTK block incl. both Jacobians", value: pair * 1e3, unit: "ms", detail: "\(threads) BLAS threads, explicit strategy"))
        figures += try kernelFigures(threads: threads)

        figures += try trainingFigures(threads: threads)

        // The largest product inside the Jacobian's backward pass: (V·T × d_ff)·(d_ff × D), alone.
        BLAS.setThreads(1)
        figures.append(Figure(name: "plain dgemm, largest Jacobian product", value: plainDGEMM(m: V * position, n: c.dModel, k: c.dFF, transB: false),
                              unit: "GFLOP/s", detail: "1 thread, m=\(V * position), n=\(c.dModel), k=\(c.dFF)"))
        figures.append(Figure(name: "plain dgemm 512³", value: plainDGEMM(m: 512, n: 512, k: 512, transB: false), unit: "GFLOP/s", detail: "1 thread, the roof"))
        return figures
    }
}
