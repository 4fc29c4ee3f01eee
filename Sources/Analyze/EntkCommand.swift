import ArgumentParser
import Dynamics
import Foundation

struct EntkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entk",
        abstract: "The eNTK block K = J(x_v) J(x_u)ᵀ [V, V] of two token examples.",
        discussion: "Writes tensor 'K', OUT.contributions.csv (tensor,trace,frobenius: each parameter tensor's share J_g(x_v) J_g(x_u)ᵀ, which add up to K) and OUT.meta.json. Explicit strategy: both Jacobians are materialised.")

    @OptionGroup var checkpoint: CheckpointOption
    @OptionGroup var examples: ExamplesOption

    @Option(name: .long, help: "The updated token example x_u as ID:POSITION.")
    var u: String

    @Option(name: .long, help: "The observed token example x_v as ID:POSITION.")
    var v: String

    @OptionGroup var output: OutputOption

    func run() throws {
        let contributionsURL = output.sibling("contributions.csv"), metaURL = output.sibling("meta.json")
        try output.checkWritable([output.url, contributionsURL, metaURL])
        let ckpt = try checkpoint.load()
        let file = try examples.load()
        let refs = try [TokenReference(parsing: u), TokenReference(parsing: v)]
        var factors: [(j: Matrix, a: [Double])] = []
        for ref in refs {
            let e = try EncodedExample(try file.example(id: ref.id), file: file, tokenizer: ckpt.tokenizer, config: ckpt.model.config)
            try e.checkPosition(ref.position)
            let j = try TokenGradients.logitJacobian(ckpt.model, input: e.input, position: ref.position)
            let a = try TokenGradients.logProbGradientOnLogits(ckpt.model, input: e.input, position: ref.position)
            factors.append((j, a))
        }
        let (ju, gu) = factors[0], (jv, av) = factors[1]
        let k = try EmpiricalNTK.block(jv, ju)
        try SafeTensors.write([NamedTensor(name: "K", shape: [k.rows, k.cols], values: k.storage)],
                              metadata: ["u": u, "v": v], to: output.url)
        var table = CSVTable(header: ["tensor", "trace", "frobenius"])
        for c in try EmpiricalNTK.contributionSummary(jv, ju, layout: ckpt.model.layout) {
            table.append([.string(c.tensor), .double(c.trace), .double(c.frobenius)])
        }
        try table.write(to: contributionsURL)
        // A(x_v) K G(x_u): the first-order change of log π(x_v) per unit learning rate of an SGD step on x_u.
        let kg = try BLAS.matmul(k, try Matrix(rows: gu.count, cols: 1, storage: gu)).storage
        let akg = BLAS.dot(av, kg)
        try RunRecord(command: commandLine, inputs: ["checkpoint": checkpoint.checkpoint, "examples": examples.examples],
                      outputs: [output.out, output.siblingPath("contributions.csv")],
                      details: ["u": u, "v": v, "strategy": "explicit", "trace": "\(k.trace)", "AKG": "\(akg)"]).write(to: metaURL)
        print(String(format: "wrote %@: K [%d, %d] for v=%@, u=%@; tr K = %.6e, ‖K‖_F = %.6e, A·K·G = %.6e",
                     output.out, k.rows, k.cols, v, u, k.trace, k.frobeniusNorm, akg))
    }
}
