@testable import Dynamics
import Foundation
import Testing

/// Every backward rule against central finite differences, one rule at a time and through the whole model.
@Suite struct GradientTests {
    /// Σ cot·z over all positions and vocabulary entries, the scalar whose gradient backward computes.
    private func projectedLogits(_ model: Transformer, _ input: ModelInput, _ cot: [Double]) throws -> Double {
        BLAS.dot(try model.forward(input).logits.storage, cot)
    }

    @Test(arguments: [(UInt64(1), true), (UInt64(2), false)])
    func wholeModelGradientMatchesFiniteDifferences(seed: UInt64, image: Bool) throws {
        let model = try randomTinyModel(seed: seed)
        let input = randomInput(model, seed: seed, textLength: 7, image: image)
        let cot = randomVector(input.length * model.config.vocabSize, seed: seed)
        var grad = [Double](repeating: 0, count: model.layout.count)
        try model.backward(try model.forward(input), cotangents: cot, into: &grad)
        for tensor in model.layout.tensors {
            if !image && tensor.name.hasPrefix("patch_emb") {
                #expect(grad[tensor.range].allSatisfy { $0 == 0 }, "\(tensor.name) must get no gradient without an image")
                continue
            }
            let fd = try centralDifferences(model.parameters, indices: Array(tensor.range)) { theta in
                var m = model
                m.parameters = theta
                return try projectedLogits(m, input, cot)
            }
            expectClose(Array(grad[tensor.range]), fd, tolerance: 1e-7, tensor.name)
        }
    }

    @Test func batchedCotangentsEqualOneAtATime() throws {
        let model = try randomTinyModel(seed: 3)
        let input = randomInput(model, seed: 3, textLength: 5)
        let acts = try model.forward(input)
        let n = input.length * model.config.vocabSize, d = model.layout.count
        let cots = randomVector(3 * n, seed: 3)
        var batched = [Double](repeating: 0, count: 3 * d)
        try model.backward(acts, cotangents: cots, into: &batched)
        for b in 0..<3 {
            var single = [Double](repeating: 0, count: d)
            try model.backward(acts, cotangents: Array(cots[(b * n)..<((b + 1) * n)]), into: &single)
            expectClose(Array(batched[(b * d)..<((b + 1) * d)]), single, tolerance: 1e-13, "cotangent \(b)")
        }
    }

    /// Cotangents that vanish on leading rows take the active-rows path above the top attention layer.
    @Test(arguments: [3, 6, 8])
    func cotangentsOnTrailingRowsOnly(firstRow: Int) throws {
        let model = try randomTinyModel(seed: 9)
        let input = randomInput(model, seed: 9, textLength: 7)
        let V = model.config.vocabSize, T = input.length, d = model.layout.count
        var cots = randomVector(2 * T * V, seed: 9)
        for b in 0..<2 { for i in 0..<((firstRow + 2 * b) * V) { cots[b * T * V + i] = 0 } }
        let acts = try model.forward(input)
        var batched = [Double](repeating: 0, count: 2 * d)
        try model.backward(acts, cotangents: cots, into: &batched)
        for b in 0..<2 {
            let cot = Array(cots[(b * T * V)..<((b + 1) * T * V)])
            var single = [Double](repeating: 0, count: d)
            try model.backward(acts, cotangents: cot, into: &single)
            expectClose(Array(batched[(b * d)..<((b + 1) * d)]), single, tolerance: 1e-13, "cotangent \(b)")
            let sample = stride(from: b, to: d, by: 41).map { $0 }
            let fd = try centralDifferences(model.parameters, indices: sample) { theta in
                var m = model
                m.parameters = theta
                return try projectedLogits(m, input, cot)
            }
            expectClose(sample.map { single[$0] }, fd, tolerance: 1e-7, "first row \(firstRow + 2 * b)")
        }
    }

    @Test func backwardRejectsWrongShapes() throws {
        let model = try randomTinyModel(seed: 4)
        let acts = try model.forward(randomInput(model, seed: 4, textLength: 3))
        var grad = [Double](repeating: 0, count: model.layout.count)
        #expect(throws: ModelError.self) { try model.backward(acts, cotangents: [1, 2, 3], into: &grad) }
        var short = [Double](repeating: 0, count: 5)
        let cot = [Double](repeating: 0, count: acts.length * model.config.vocabSize)
        #expect(throws: ShapeError.self) { try model.backward(acts, cotangents: cot, into: &short) }
    }

    // MARK: - Single rules: input gradients (parameter gradients are covered through the whole model above)

    @Test func layerNormInputGradient() {
        let rows = 3, dim = 5
        let x = randomVector(rows * dim, seed: 10), w = randomVector(dim, seed: 11), b = randomVector(dim, seed: 12)
        let dy = randomVector(rows * dim, seed: 13)
        func f(_ x: [Double]) -> Double {
            var out = [Double](repeating: 0, count: rows * dim), m = [Double](repeating: 0, count: rows), s = m
            layerNormForward(&out, &m, &s, x, w, b, rows: rows, dim: dim)
            return BLAS.dot(out, dy)
        }
        var out = [Double](repeating: 0, count: rows * dim), m = [Double](repeating: 0, count: rows), s = m
        layerNormForward(&out, &m, &s, x, w, b, rows: rows, dim: dim)
        var dx = [Double](repeating: 0, count: rows * dim), grad = [Double](repeating: 0, count: 2 * dim)
        layerNormBackward(&dx, &grad, w: GradientSlot(offset: 0, stride: 2 * dim), b: GradientSlot(offset: dim, stride: 2 * dim), dy, x, m, s, w, batch: 1, rows: rows, dim: dim)
        expectClose(dx, centralDifferences(x, indices: Array(x.indices), f), tolerance: 1e-8, "LayerNorm dx")
    }

    @Test func geluDerivative() {
        let u = randomVector(9, seed: 20).map { 3 * $0 }
        var out = [Double](repeating: 0, count: 9)
        let dy = [Double](repeating: 1, count: 9)
        var du = [Double](repeating: 0, count: 9), slope = du
        geluForward(&out, slope: &slope, u, count: 9)
        for i in 0..<9 {
            let tanhForm = 0.5 * u[i] * (1 + tanh((2 / Double.pi).squareRoot() * (u[i] + 0.044715 * u[i] * u[i] * u[i])))
            #expect(abs(out[i] - tanhForm) < 1e-14, "gelu(\(u[i])) = \(out[i]), tanh form \(tanhForm)")
        }
        geluBackward(&du, dy, slope: slope, batch: 1, count: 9)
        for i in 0..<9 {
            let fd = centralDifferences(u, indices: [i]) { v in geluForward(&out, slope: &slope, v, count: 9); return out[i] }
            #expect(abs(du[i] - fd[0]) < 1e-9, "gelu′(\(u[i])) = \(du[i]), finite difference \(fd[0])")
        }
        geluForward(&out, slope: &slope, [0, 1, -1], count: 3)
        #expect(out[0] == 0)
        #expect(abs(out[1] - 0.8411919906082768) < 1e-15)
    }

    @Test func causalAttentionInputGradient() {
        let rows = 4, dim = 6, heads = 2
        let qkv = randomVector(rows * 3 * dim, seed: 30)
        let dy = randomVector(rows * dim, seed: 31)
        func f(_ qkv: [Double]) -> Double {
            var out = [Double](repeating: 0, count: rows * dim), p = [Double](repeating: 0, count: heads * rows * rows)
            attentionForward(&out, &p, qkv, rows: rows, dim: dim, heads: heads)
            return BLAS.dot(out, dy)
        }
        var out = [Double](repeating: 0, count: rows * dim), p = [Double](repeating: 0, count: heads * rows * rows)
        attentionForward(&out, &p, qkv, rows: rows, dim: dim, heads: heads)
        var dqkv = [Double](repeating: 0, count: rows * 3 * dim), scratch = [Double](repeating: 0, count: rows * rows)
        attentionBackward(&dqkv, dy, qkv, p, scratch: &scratch, batch: 1, rows: rows, dim: dim, heads: heads)
        expectClose(dqkv, centralDifferences(qkv, indices: Array(qkv.indices), f), tolerance: 1e-8, "attention dqkv")
        // Causality: the first position's output depends on nothing after it.
        #expect((0..<dim).allSatisfy { out[$0] == qkv[2 * dim + $0] }, "position 0 attends only to itself")
    }

    /// Query rows before r0 with zero cotangent: the backward over the R active rows only (packed) equals the
    /// backward over every row with zeros before r0, for R = 1 (a logit Jacobian's top layer) and R > 1 (an SFT
    /// response), several cotangents stacked.
    @Test(arguments: [3, 4]) func attentionBackwardOnActiveRowsEqualsTheFullPass(r0: Int) {
        let rows = 5, dim = 6, heads = 2, batch = 3, R = rows - r0
        let qkv = randomVector(rows * 3 * dim, seed: 32)
        var out = [Double](repeating: 0, count: rows * dim), p = [Double](repeating: 0, count: heads * rows * rows)
        attentionForward(&out, &p, qkv, rows: rows, dim: dim, heads: heads)
        let packed = randomVector(batch * R * dim, seed: 33)
        var full = [Double](repeating: 0, count: batch * rows * dim)
        for b in 0..<batch {
            for i in 0..<(R * dim) { full[(b * rows + r0) * dim + i] = packed[b * R * dim + i] }
        }
        var whole = [Double](repeating: .nan, count: batch * rows * 3 * dim), active = whole
        var scratch = [Double](repeating: 0, count: batch * rows * rows)
        attentionBackward(&whole, full, qkv, p, scratch: &scratch, batch: batch, rows: rows, dim: dim, heads: heads)
        attentionBackward(&active, packed, qkv, p, scratch: &scratch, batch: batch, rows: rows, dim: dim, heads: heads, from: r0)
        expectClose(active, whole, tolerance: 1e-14, "attention backward from row \(r0)")
        #expect(whole.contains { $0 != 0 }, "the cotangents reach qkv")
    }

    /// The cotangents' split into chunks: at most 32 each, an even count above one chunk, sizes within one of
    /// each other, covering every cotangent once.
    @Test func cotangentChunksAreBalanced() {
        #expect(Transformer.cotangentChunks(1) == 1)
        #expect(Transformer.cotangentChunks(32) == 1)
        #expect(Transformer.cotangentChunks(33) == 2)
        #expect(Transformer.cotangentChunks(92) == 4)
        #expect(Transformer.cotangentChunks(128) == 4)
        #expect(Transformer.cotangentChunks(129) == 6)
        for batch in [33, 69, 92, 200] {
            let chunks = (0..<Transformer.cotangentChunks(batch)).map { Transformer.cotangentChunk($0, of: batch) }
            let sizes = chunks.map(\.count)
            #expect(chunks.flatMap { Array($0) } == Array(0..<batch), "\(batch): \(chunks) cover every cotangent once, in order")
            #expect(sizes.max()! <= 32 && sizes.max()! - sizes.min()! <= 1, "\(batch): \(sizes)")
        }
    }

    /// More cotangents than one chunk: the chunks run on the BLAS threads, the bytes do not depend on their count,
    /// and each row equals its cotangent's backward pass alone.
    @Test func chunkedCotangentsHaveTheSameBytesForAnyThreadCount() throws {
        let model = try randomTinyModel(seed: 8, vocab: 2 * Transformer.cotangentChunk + 5)
        let input = randomInput(model, seed: 8, textLength: 6)
        let T = input.length - 1, V = model.config.vocabSize, d = model.layout.count
        let acts = try model.forward(input.prefix(T))
        var cot = [Double](repeating: 0, count: V * T * V)
        for o in 0..<V { cot[(o * T + T - 1) * V + o] = 1 }
        var one = Matrix(rows: V, cols: d), three = Matrix(rows: V, cols: d)
        try model.backward(acts, cotangents: cot, into: &one.storage, threads: 1)
        try model.backward(acts, cotangents: cot, into: &three.storage, threads: 3)
        #expect(one.storage.map(\.bitPattern) == three.storage.map(\.bitPattern))
        for o in [0, Transformer.cotangentChunk, V - 1] {
            var cot = [Double](repeating: 0, count: T * V)
            cot[(T - 1) * V + o] = 1
            var g = [Double](repeating: 0, count: d)
            try model.backward(acts, cotangents: cot, into: &g)
            expectClose(Array(one.storage[(o * d)..<((o + 1) * d)]), g, tolerance: 1e-13, "Jacobian row \(o)")
        }
    }
}
