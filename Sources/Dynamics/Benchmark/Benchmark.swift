import Foundation

/// Speed measurements of the engine on a given configuration (what `analyze bench` prints).
/// Each figure is the best of `repeats` timed runs after one warm-up, on a random image + text sequence.
public struct Benchmark: Sendable {
    /// One measured figure.
    public struct Figure: Sendable {
        public let name: String
        public let value: Double
        public let unit: String
        /// How it was measured (shape).
        public let detail: String
        /// Threads the figure ran on (BLAS threads or workers); its roof is the dgemm at this many threads.
        public let threads: Int
        /// Floating-point operations of one timed run (matrix products, as `FlopCount` counts them), when counted.
        public let flops: Double?
        /// Seconds of the best timed run, when `flops` is given.
        public let seconds: Double?

        public init(name: String, value: Double, unit: String, detail: String, threads: Int, flops: Double? = nil, seconds: Double? = nil) {
            self.name = name
            self.value = value
            self.unit = unit
            self.detail = detail
            self.threads = threads
            self.flops = flops
            self.seconds = seconds
        }

        /// GFLOP/s reached, when the FLOPs are counted.
        public var gflops: Double? {
            guard let flops, let seconds, seconds > 0 else { return nil }
            return flops / seconds / 1e9
        }
    }

    /// The figures and the roofs they are compared with.
    public struct Report: Sendable {
        public let figures: [Figure]
        /// GFLOP/s of a 512³ dgemm by thread count: the roof of every figure run on that many threads.
        public let roofs: [Int: Double]

        /// A figure's GFLOP/s as a share of the dgemm roof at its own thread count (nanoGPT's MFU), when counted.
        public func share(_ f: Figure) -> Double? {
            guard let g = f.gflops, let roof = roofs[f.threads], roof > 0 else { return nil }
            return g / roof
        }
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
            let start = Self.now()
            try body()
            best = min(best, Self.now() - start)
        }
        return best
    }

    /// Seconds on the wall clock, or of the process's CPU time when DYNAMICS_BENCH_CPU_TIME=1 (steadier for one-thread
    /// figures on a shared machine; a multi-threaded figure then reports the sum over its threads).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(cpuTime ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static let cpuTime = ProcessInfo.processInfo.environment["DYNAMICS_BENCH_CPU_TIME"] == "1"

    /// Seconds of a plain dgemm C = A·B with A m×k and B k×n (transB as in the measured product), at the current
    /// BLAS thread count.
    func plainDGEMM(m: Int, n: Int, k: Int, transB: Bool) -> Double {
        let rng = RandomStream(seed: 1, name: "bench.dgemm")
        let a = (0..<(m * k)).map { _ in rng.uniform() }, b = (0..<(k * n)).map { _ in rng.uniform() }
        var c = [Double](repeating: 0, count: m * n)
        return time {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                BLAS.gemm(transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: transB ? k : n,
                          c: cp.baseAddress!, ldc: n)
            } } }
        }
    }

    /// A dgemm figure at `threads` BLAS threads.
    func dgemmFigure(_ name: String, m: Int, n: Int, k: Int, transB: Bool = false, threads: Int) -> Figure {
        BLAS.setThreads(threads)
        let s = plainDGEMM(m: m, n: n, k: k, transB: transB)
        let flops = 2 * Double(m) * Double(n) * Double(k)
        return Figure(name: name, value: flops / s / 1e9, unit: "GFLOP/s", detail: "m=\(m), n=\(n), k=\(k)", threads: threads,
                      flops: flops, seconds: s)
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
        let encode = { (g: GeneratedExample) throws -> EncodedExample in
            let patches = try Patchifier.patches(pixels: g.images[0].image.pixels, config: c)
            let prompt = try tokenizer.encode(g.example.prompt), response = try tokenizer.encode(g.example.response)
            return EncodedExample(id: g.example.id, input: ModelInput(patches: patches, tokens: [Tokenizer.bos] + prompt + response + [Tokenizer.eos]),
                                  responseStart: 1 + prompt.count)
        }
        let encoded = try generated.map(encode)
        let batch = (0..<32).map { encoded[$0 % encoded.count] }
        let positions = batch.map(\.input.length).reduce(0, +)
        let stepFlops = FlopCount.trainingStep(c, inputs: batch.map(\.input))
        for t in Set([1, threads]).sorted() {
            let sft = try time { _ = try SFTObjective.lossAndGradient(model, batch: batch, threads: t) }
            figures.append(Figure(name: "SFT step (batch 32)", value: 1 / sft, unit: "steps/s",
                                  detail: "2×2 jigsaw, \(positions) positions, \(String(format: "%.0f", Double(positions) / sft)) tokens/s",
                                  threads: t, flops: stepFlops, seconds: sft))
        }
        // The demo's pretraining step: 8 prior-task sequences, the whole step (the gradient, then AdamW with weight
        // decay and clipping), timed over 50 steps per repeat.
        let prior = try DatasetGenerator(DatasetSpec(tasks: [.grounding, .ordering, .pope, .vqa, .ocr, .jigsawStrip], split: .train, count: 8,
                                                     styles: [.plain, .reasoning], seed: 0, imageSize: c.imageSize))
        let priorBatch = try (0..<8).map { try encode(try prior.example($0)) }
        let pretrainFlops = FlopCount.trainingStep(c, inputs: priorBatch.map(\.input))
        let pretrainSteps = 50
        for t in Set([1, threads]).sorted() {
            let optimizer = try OptimizerConfig.training(.adamw, learningRate: 1e-6, schedule: .constant, warmup: 0, steps: 1_000_000, clipNorm: 1, weightDecay: 0.1)
            var trainer = try SFTTrainer(model: model, tokenizer: tokenizer, data: priorBatch,
                                         config: SFTRunConfig(steps: 1_000_000, batchSize: 8, optimizer: optimizer, seed: 0, shuffle: true, data: "bench"))
            let step = try time { for _ in 0..<pretrainSteps { _ = try trainer.trainStep(threads: t) } } / Double(pretrainSteps)
            figures.append(Figure(name: "pretraining step (batch 8)", value: 1 / step, unit: "steps/s",
                                  detail: "prior tasks, \(priorBatch.map(\.input.length).reduce(0, +)) positions, gradient and AdamW",
                                  threads: t, flops: pretrainFlops, seconds: step))
        }
        let sampler = try RolloutSampler(model: model, tokenizer: tokenizer, temperature: 1, seed: 0)
        for t in Set([1, threads]).sorted() {
            var sampled = 0, flops = 0.0
            let sampling = try time {
                let outs = try Parallel.map(16, threads: t) { try sampler.sample(examples[$0], encoded[$0], stream: "bench.\($0)") }
                sampled = outs.map(\.tokens.count).reduce(0, +)
                flops = zip(outs, encoded).reduce(0.0) { sum, pair in
                    let prompt = AnswerGenerator.promptInput(pair.1)
                    return sum + FlopCount.generation(c, promptLength: prompt.length, imagePositions: prompt.imagePositions, newTokens: pair.0.tokens.count)
                }
            }
            figures.append(Figure(name: "sampling (KV cache)", value: Double(sampled) / sampling / Double(t), unit: "tokens/s/core",
                                  detail: String(format: "16 prompts, τ = 1, %d tokens, %.0f tokens/s in all", sampled, Double(sampled) / sampling),
                                  threads: t, flops: flops, seconds: sampling))
        }
        var config = GRPORunConfig(steps: 1, optimizer: OptimizerConfig(kind: .adamw, learningRate: 1e-4), seed: 0, data: "bench")
        config.restartEvery = 0
        var lastLength = 0.0
        let grpo = try time {
            var trainer = try GRPOTrainer(model: model, tokenizer: tokenizer, examples: examples, prompts: encoded, config: config)
            lastLength = try trainer.trainStep(threads: threads).completionLength
        }
        figures.append(Figure(name: "GRPO update (paper defaults)", value: 1 / grpo, unit: "steps/s",
                              detail: String(format: "16 prompts × G=4, mean completion %.0f tokens (sampling included)", lastLength), threads: threads))
        return figures
    }

    /// Groups of figures that can be run alone (the roofs always run).
    public enum Section: String, CaseIterable, Sendable {
        case pass, generation, jacobian, kernel, training, dgemm
    }

    /// The figures of `sections`, each with its FLOP count and its thread count; `threads` is the core count of the
    /// all-core figures.
    public func run(threads: Int, sections: Set<Section> = Set(Section.allCases), probes: Int = 16) throws -> Report {
        var figures: [Figure] = []
        let c = model.config, T = input.length, V = c.vocabSize, n = input.imagePositions
        let shape = "T=\(T) (\(n) image + \(T - n) text), V=\(V), d=\(model.layout.count)"
        let blasThreads = BLAS.threads
        defer { BLAS.setThreads(blasThreads) }
        let counts = Set([1, threads]).sorted()

        // The roofs: a 512³ dgemm at each thread count measured.
        var roofs: [Int: Double] = [:]
        for t in counts {
            let f = dgemmFigure("plain dgemm 512³ (the roof)", m: 512, n: 512, k: 512, threads: t)
            roofs[t] = f.value
            figures.append(f)
        }

        // Training pass: forward + backward of one random cotangent per sequence.
        if sections.contains(.pass) {
            let cot = (0..<(T * V)).map { Double($0 % 7) - 3 }
            var grad = [Double](repeating: 0, count: model.layout.count)
            let fbFlops = FlopCount.forward(c, length: T, imagePositions: n) + FlopCount.backward(c, length: T, imagePositions: n, batch: 1)
            BLAS.setThreads(1)
            let fb = try time {
                let acts = try model.forward(input)
                try model.backward(acts, cotangents: cot, into: &grad)
            }
            figures.append(Figure(name: "forward+backward, one sequence", value: Double(T) / fb, unit: "tokens/s", detail: shape,
                                  threads: 1, flops: fbFlops, seconds: fb))
            let examples = 4 * threads
            let fbParallel = try time {
                _ = try Parallel.map(examples, threads: threads) { _ in
                    var g = [Double](repeating: 0, count: model.layout.count)
                    try model.backward(try model.forward(input), cotangents: cot, into: &g)
                    return g[0]
                }
            }
            figures.append(Figure(name: "forward+backward, sequence per thread", value: Double(examples * T) / fbParallel, unit: "tokens/s",
                                  detail: "\(examples) sequences", threads: threads, flops: Double(examples) * fbFlops, seconds: fbParallel))
        }

        // Generation with the KV cache against recomputing the whole prefix for every token.
        if sections.contains(.generation) {
            BLAS.setThreads(1)
            let promptLength = c.patchCount + max(1, (T - n) / 4)
            let prompt = input.prefix(promptLength)
            let newTokens = T - promptLength
            let options = GenerationOptions(maxNewTokens: newTokens, stopToken: -1)
            let gen = try time { _ = try model.generate(prompt, options: options) }
            figures.append(Figure(name: "generation (KV cache)", value: Double(newTokens) / gen, unit: "tokens/s",
                                  detail: "prompt \(promptLength), \(newTokens) new tokens, greedy", threads: 1,
                                  flops: FlopCount.generation(c, promptLength: promptLength, imagePositions: n, newTokens: newTokens), seconds: gen))
            let recompute = try time {
                var seq = prompt
                for _ in 0..<newTokens {
                    let lp = try model.forward(seq).logProbabilities(at: seq.length - 1)
                    seq.tokens.append(lp.indices.max { lp[$0] < lp[$1] } ?? 0)
                }
            }
            let recomputeFlops = (0..<newTokens).reduce(0.0) { $0 + FlopCount.forward(c, length: promptLength + $1, imagePositions: n) }
            figures.append(Figure(name: "generation (full recompute)", value: Double(newTokens) / recompute, unit: "tokens/s",
                                  detail: "same tokens without the cache", threads: 1, flops: recomputeFlops, seconds: recompute))
        }

        // Logit Jacobian and eNTK block at the last position.
        let position = T - 1, d = model.layout.count
        if sections.contains(.jacobian) {
            let jFlops = FlopCount.forward(c, length: position, imagePositions: n)
                + FlopCount.backward(c, length: position, imagePositions: n, batch: V, activeRows: 1)
            for t in counts {
                BLAS.setThreads(t)
                let jt = try time { _ = try TokenGradients.logitJacobian(model, input: input, position: position) }
                figures.append(Figure(name: "logit Jacobian", value: jt * 1e3, unit: "ms", detail: "V × d = \(V) × \(d), prefix \(position)",
                                      threads: t, flops: jFlops, seconds: jt))
            }
            BLAS.setThreads(threads)
            let ju = try TokenGradients.logitJacobian(model, input: input, position: position)
            let jv = try TokenGradients.logitJacobian(model, input: input.prefix(position), position: position - 1)
            let kt = try time { _ = try EmpiricalNTK.block(jv, ju) }
            figures.append(Figure(name: "eNTK block J_v J_uᵀ", value: kt * 1e3, unit: "ms", detail: "[\(V), \(d)]·[\(d), \(V)]",
                                  threads: threads, flops: 2 * Double(V * V * d), seconds: kt))
            figures.append(dgemmFigure("plain dgemm, eNTK shape", m: V, n: V, k: d, transB: true, threads: threads))
            BLAS.setThreads(threads)
            let pair = try time {
                let a = try TokenGradients.logitJacobian(model, input: input, position: position)
                let b = try TokenGradients.logitJacobian(model, input: input.prefix(position), position: position - 1)
                _ = try EmpiricalNTK.block(b, a)
            }
            let pairFlops = jFlops + FlopCount.forward(c, length: position - 1, imagePositions: n)
                + FlopCount.backward(c, length: position - 1, imagePositions: n, batch: V, activeRows: 1) + 2 * Double(V * V * d)
            figures.append(Figure(name: "eNTK block incl. both Jacobians", value: pair * 1e3, unit: "ms", detail: "explicit strategy",
                                  threads: threads, flops: pairFlops, seconds: pair))
        }
        if sections.contains(.kernel) { figures += try kernelFigures(threads: threads, probes: probes) }
        if sections.contains(.training) { figures += try trainingFigures(threads: threads) }

        // The largest product inside the Jacobian's backward pass: (V·T × d_ff)·(d_ff × D), alone.
        if sections.contains(.dgemm) { figures.append(dgemmFigure("plain dgemm, largest Jacobian product", m: V * position, n: c.dModel, k: c.dFF, threads: 1)) }
        return Report(figures: figures, roofs: roofs)
    }
}

extension Benchmark.Report {
    public static let header = ["name", "value", "unit", "threads", "flop", "gflops", "roof_share", "detail"]

    /// The figures as CSV (`bench --out`).
    public var table: CSVTable {
        var table = CSVTable(header: Self.header)
        for f in figures {
            table.append([.string(f.name), .double(f.value), .string(f.unit), .int(f.threads), f.flops.map { .double($0) } ?? .string(""),
                          f.gflops.map { .double($0) } ?? .string(""), share(f).map { .double($0) } ?? .string(""), .string(f.detail)])
        }
        return table
    }

    /// The dgemm roofs by thread count, as `analyze bench` notes them.
    public var roofLine: String {
        let roofs = roofs.keys.sorted().map { String(format: "%.1f GFLOP/s at %d thread%@", self.roofs[$0]!, $0, $0 == 1 ? "" : "s") }
        return "roofs (512³ dgemm, OpenBLAS kernel \(BLASKernel.current)): \(roofs.joined(separator: ", ")); each figure's share is against the roof at its own thread count"
    }

    /// The figures as a text table (a header line, then one line per figure), as `analyze bench` prints them.
    public var textLines: [String] {
        let width = figures.map(\.name.count).max() ?? 0
        let header = "\("figure".padding(toLength: width, withPad: " ", startingAt: 0))  \("value".leftPad(12)) \("unit".padding(toLength: 13, withPad: " ", startingAt: 0)) thr  \("FLOP".leftPad(9))  \("GFLOP/s".leftPad(8))  \("roof".leftPad(5))  detail"
        return [header] + figures.map { f in
            let flop = f.flops.map { String(format: "%.3g", $0) } ?? "—"
            let gflops = f.gflops.map { String(format: "%.2f", $0) } ?? "—"
            let share = share(f).map { String(format: "%.0f%%", 100 * $0) } ?? "—"
            return "\(f.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(String(format: "%12.2f", f.value)) \(f.unit.padding(toLength: 13, withPad: " ", startingAt: 0)) \(String(f.threads).leftPad(3))  \(flop.leftPad(9))  \(gflops.leftPad(8))  \(share.leftPad(5))  \(f.detail)"
        }
    }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
