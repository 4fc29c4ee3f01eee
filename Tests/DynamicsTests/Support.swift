@testable import Dynamics
import Foundation
import Testing

/// A tiny network with every parameter (LayerNorm gains and biases included) drawn at random, so that no
/// gradient path hides behind a zero or a one.
func randomTinyModel(seed: UInt64, vocab: Int = 23, layers: Int = 2) throws -> Transformer {
    var config = ModelConfig.preset(.tiny, vocabSize: vocab)
    config.nLayers = layers
    config.maxSeqLen = 24
    var model = try Transformer(config: config, seed: seed)
    let rng = RandomStream(seed: seed, name: "test.perturb")
    for i in model.parameters.indices { model.parameters[i] += rng.gaussian(sigma: 0.3) }
    return model
}

/// An input with an image (4 patches on `tiny`) and `textLength` random tokens.
func randomInput(_ model: Transformer, seed: UInt64, textLength: Int, image: Bool = true) -> ModelInput {
    let rng = RandomStream(seed: seed, name: "test.input")
    let c = model.config
    var patches: Matrix? = nil
    if image {
        var m = Matrix(rows: c.patchCount, cols: c.patchDim)
        for i in m.storage.indices { m.storage[i] = rng.uniform() }
        patches = m
    }
    return ModelInput(patches: patches, tokens: (0..<textLength).map { _ in rng.uniformInt(c.vocabSize) })
}

/// Random values in [-1, 1).
func randomVector(_ n: Int, seed: UInt64, name: String = "test.vector") -> [Double] {
    let rng = RandomStream(seed: seed, name: name)
    return (0..<n).map { _ in 2 * rng.uniform() - 1 }
}

/// ‖a − b‖ / max(‖b‖, tiny): the relative error every numeric test reports.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0, norm = 0.0
    for i in a.indices { diff += (a[i] - b[i]) * (a[i] - b[i]); norm += b[i] * b[i] }
    return (diff / max(norm, 1e-300)).squareRoot()
}

/// Expects `relativeError(observed, expected) ≤ tolerance`, printing the numbers when it is not.
func expectClose(_ observed: [Double], _ expected: [Double], tolerance: Double, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard observed.count == expected.count else {
        Issue.record("\(what): \(observed.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let err = relativeError(observed, expected)
    #expect(err <= tolerance, "\(what): relative error \(err) > \(tolerance) (‖expected‖ = \(BLAS.norm2(expected)))",
            sourceLocation: sourceLocation)
}

/// Central finite difference of f at x along each coordinate in `indices`, step h.
func centralDifferences(_ x: [Double], indices: [Int], h: Double = 1e-5, _ f: ([Double]) throws -> Double) rethrows -> [Double] {
    var xs = x
    return try indices.map { i in
        let saved = xs[i]
        xs[i] = saved + h
        let up = try f(xs)
        xs[i] = saved - h
        let down = try f(xs)
        xs[i] = saved
        return (up - down) / (2 * h)
    }
}
