@testable import Dynamics
import Foundation
import Testing

/// THEORY §2: the identities linking logit Jacobians, the eNTK and per-example gradients.
@Suite struct IdentityTests {
    let model: Transformer
    let u: ModelInput
    let v: ModelInput

    init() throws {
        model = try randomTinyModel(seed: 11)
        u = randomInput(model, seed: 12, textLength: 6)
        v = randomInput(model, seed: 13, textLength: 5, image: false)
    }

    @Test func jacobianRowsMatchFiniteDifferencesOfLogits() throws {
        let p = u.length - 2
        let j = try TokenGradients.logitJacobian(model, input: u, position: p)
        #expect(j.rows == model.config.vocabSize && j.cols == model.layout.count)
        let sample = stride(from: 0, to: model.layout.count, by: 97).map { $0 }
        for o in [0, 5, model.config.vocabSize - 1] {
            let fd = try centralDifferences(model.parameters, indices: sample) { theta in
                var m = model
                m.parameters = theta
                return try m.forward(u).logits(at: p - 1)[o]
            }
            expectClose(sample.map { j[o, $0] }, fd, tolerance: 1e-7, "J row \(o)")
        }
    }

    @Test func kernelIsSymmetricUnderSwapAndPSDOnTheDiagonal() throws {
        let ju = try TokenGradients.logitJacobian(model, input: u, position: u.length - 1)
        let jv = try TokenGradients.logitJacobian(model, input: v, position: v.length - 1)
        let kvu = try EmpiricalNTK.block(jv, ju)
        let kuv = try EmpiricalNTK.block(ju, jv)
        expectClose(kuv.storage, kvu.transposed.storage, tolerance: 1e-14, "K(u,v) = K(v,u)ᵀ")
        let kuu = try EmpiricalNTK.block(ju, ju)
        expectClose(kuu.storage, kuu.transposed.storage, tolerance: 1e-14, "K(u,u) symmetric")
        let eig = try SymmetricEigen(kuu)
        #expect(eig.values.first! > -1e-10 * eig.values.last!, "K(u,u) must be PSD, smallest eigenvalue \(eig.values.first!)")
    }

    @Test func perTensorContributionsSumToTheKernel() throws {
        let ju = try TokenGradients.logitJacobian(model, input: u, position: 4)
        let jv = try TokenGradients.logitJacobian(model, input: v, position: 3)
        let k = try EmpiricalNTK.block(jv, ju)
        var sum = Matrix(rows: k.rows, cols: k.cols)
        for (_, block) in try EmpiricalNTK.contributions(jv, ju, layout: model.layout) {
            for i in sum.storage.indices { sum.storage[i] += block.storage[i] }
        }
        expectClose(sum.storage, k.storage, tolerance: 1e-12, "Σ_g K_g = K")
        let summary = try EmpiricalNTK.contributionSummary(jv, ju, layout: model.layout)
        #expect(abs(summary.map(\.trace).reduce(0, +) - k.trace) <= 1e-12 * abs(k.trace))
    }

    @Test func aTimesJacobianIsTheLogProbGradient() throws {
        let p = u.length - 1
        let j = try TokenGradients.logitJacobian(model, input: u, position: p)
        let a = try TokenGradients.logProbGradientOnLogits(model, input: u, position: p)
        #expect(abs(a.reduce(0, +)) < 1e-14, "A's entries sum to 0")
        let aj = try BLAS.matmul(try Matrix(rows: 1, cols: a.count, storage: a), j).storage
        let g = try TokenGradients.logProbGradient(model, input: u, position: p)
        expectClose(aj, g, tolerance: 1e-12, "A·J = ∇θ log π")
        // And ∇θ log π itself against finite differences of log π.
        let sample = stride(from: 3, to: model.layout.count, by: 131).map { $0 }
        let target = u.tokens[p - u.imagePositions]
        let fd = try centralDifferences(model.parameters, indices: sample) { theta in
            var m = model
            m.parameters = theta
            return try m.forward(u).logProbabilities(at: p - 1)[target]
        }
        expectClose(sample.map { g[$0] }, fd, tolerance: 1e-7, "∇θ log π")
    }

    @Test func positionsOutsideTheSequenceAreErrors() throws {
        #expect(throws: ModelError.self) { try TokenGradients.logitJacobian(model, input: u, position: 0) }
        #expect(throws: ModelError.self) { try TokenGradients.logitJacobian(model, input: u, position: u.length) }
        #expect(throws: ModelError.self) { try TokenGradients.logProbGradient(model, input: u, position: 2) }
    }
}
