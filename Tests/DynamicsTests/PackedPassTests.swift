@testable import Dynamics
import Foundation
import Testing

/// The packed batch pass (the training step's path) against finite differences, against one sequence at a time,
/// and for thread-count invariance.
@Suite struct PackedPassTests {
    /// Inputs of varied lengths, with and without an image.
    func inputs(_ model: Transformer, lengths: [Int]) -> [ModelInput] {
        lengths.enumerated().map { k, n in randomInput(model, seed: UInt64(10 + k), textLength: n, image: k % 3 != 1) }
    }

    @Test func packedGradientMatchesFiniteDifferences() throws {
        let model = try randomTinyModel(seed: 5)
        let batch = inputs(model, lengths: [6, 3, 9])
        let acts = try model.forward(batch: batch, threads: 2)
        let cot = randomVector(acts.rows * model.config.vocabSize, seed: 5)
        var grad = [Double](repeating: 0, count: model.layout.count)
        try model.backward(acts, cotangents: cot, into: &grad, threads: 2)
        for tensor in model.layout.tensors {
            let fd = try centralDifferences(model.parameters, indices: Array(tensor.range)) { theta in
                var m = model
                m.parameters = theta
                let a = try m.forward(batch: batch, threads: 1)
                return BLAS.dot(batch.indices.flatMap { a.logits(sequence: $0) }, cot)
            }
            expectClose(Array(grad[tensor.range]), fd, tolerance: 1e-7, tensor.name)
        }
    }

    /// A batch spanning several row tiles equals the per-sequence forward and backward passes summed.
    @Test func packedPassEqualsOneSequenceAtATime() throws {
        let model = try Transformer(config: .preset(.tiny, vocabSize: 23), seed: 4)
        let batch = inputs(model, lengths: [80, 12, 50, 91, 1, 64, 33, 70])
        let V = model.config.vocabSize
        let acts = try model.forward(batch: batch, threads: 3)
        #expect(acts.rows > PackedPass.rowTile, "the batch must cross row tiles")
        let cot = randomVector(acts.rows * V, seed: 9)
        var packed = [Double](repeating: 0, count: model.layout.count)
        try model.backward(acts, cotangents: cot, into: &packed, threads: 3)
        var expected = [Double](repeating: 0, count: model.layout.count)
        for (b, input) in batch.enumerated() {
            let single = try model.forward(input)
            expectClose(acts.logits(sequence: b), single.logits.storage, tolerance: 1e-13, "logits of sequence \(b)")
            let rows = acts.offsets[b]..<acts.offsets[b + 1]
            try model.backward(single, cotangents: Array(cot[(rows.lowerBound * V)..<(rows.upperBound * V)]), into: &expected)
        }
        expectClose(packed, expected, tolerance: 1e-12, "packed gradient vs per-sequence gradients")
    }

    @Test func sftGradientHasTheSameBytesForAnyThreadCount() throws {
        let model = try Transformer(config: .preset(.tiny, vocabSize: 23), seed: 6)
        let batch = inputs(model, lengths: [40, 70, 9, 88, 25, 60]).enumerated().map { k, input in
            EncodedExample(id: "e\(k)", input: input, responseStart: input.tokens.count / 2)
        }
        let one = try SFTObjective.lossAndGradient(model, batch: batch, threads: 1)
        for threads in [2, 3, 5] {
            let other = try SFTObjective.lossAndGradient(model, batch: batch, threads: threads)
            #expect(other.loss.bitPattern == one.loss.bitPattern, "loss at \(threads) threads")
            #expect(other.gradient.map(\.bitPattern) == one.gradient.map(\.bitPattern), "gradient at \(threads) threads")
        }
        // The same objective one example at a time, as the trainer computed it before packing.
        var expected = [Double](repeating: 0, count: model.layout.count)
        var loss = 0.0
        for e in batch {
            let term = try SFTObjective.exampleTerm(model, e)
            loss -= term.meanLogLikelihood / Double(batch.count)
            for i in expected.indices { expected[i] -= term.gradient[i] / Double(batch.count) }
        }
        #expect(abs(one.loss - loss) < 1e-13)
        expectClose(one.gradient, expected, tolerance: 1e-12, "packed SFT gradient vs per-example terms")
    }
}
