/// One named parameter tensor inside the flat vector θ.
public struct ParameterTensor: Equatable, Sendable {
    /// Checkpoint name, e.g. `blocks.0.attn.qkv.weight`.
    public let name: String
    /// Row-major shape, PyTorch convention ([out, in] for Linear weights).
    public let shape: [Int]
    /// Index of the first element in θ.
    public let offset: Int
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// θ indices of this tensor.
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Offsets of one block's tensors in θ.
public struct BlockOffsets: Sendable {
    public let ln1Weight, ln1Bias, qkvWeight, qkvBias, projWeight, projBias: Int
    public let ln2Weight, ln2Bias, fcWeight, fcBias, mlpProjWeight, mlpProjBias: Int
}

/// The flat parameter order of MODEL.md: the tensor table's order, blocks l = 0 … L−1, each tensor row-major.
/// θ, gradients, Jacobian columns and optimizer moments all use this one layout.
public struct ParameterLayout: Sendable {
    /// Every tensor, in θ order.
    public let tensors: [ParameterTensor]
    /// d: the total number of parameters.
    public let count: Int
    public let tokEmb, patchWeight, patchBias, posEmb, lnFWeight, lnFBias, head: Int
    public let blocks: [BlockOffsets]

    /// θ offsets of the linear layers' weights (every block's four and the head): the backward pass forms each one's
    /// gradient in one product per pass.
    public var linearWeights: Set<Int> {
        Set(blocks.flatMap { [$0.qkvWeight, $0.projWeight, $0.fcWeight, $0.mlpProjWeight] } + [head])
    }

    /// Every tensor of `c` (backward passes that skip some weights' gradients write into a `GradientLayout`).
    public init(_ c: ModelConfig) {
        var list: [ParameterTensor] = []
        var next = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let t = ParameterTensor(name: name, shape: shape, offset: next)
            list.append(t)
            next += t.count
            return t.offset
        }
        let D = c.dModel
        tokEmb = add("tok_emb.weight", [c.vocabSize, D])
        patchWeight = add("patch_emb.weight", [D, c.patchDim])
        patchBias = add("patch_emb.bias", [D])
        posEmb = add("pos_emb.weight", [c.maxSeqLen, D])
        blocks = (0..<c.nLayers).map { l in
            let p = "blocks.\(l)."
            return BlockOffsets(
                ln1Weight: add(p + "ln1.weight", [D]), ln1Bias: add(p + "ln1.bias", [D]),
                qkvWeight: add(p + "attn.qkv.weight", [3 * D, D]), qkvBias: add(p + "attn.qkv.bias", [3 * D]),
                projWeight: add(p + "attn.proj.weight", [D, D]), projBias: add(p + "attn.proj.bias", [D]),
                ln2Weight: add(p + "ln2.weight", [D]), ln2Bias: add(p + "ln2.bias", [D]),
                fcWeight: add(p + "mlp.fc.weight", [c.dFF, D]), fcBias: add(p + "mlp.fc.bias", [c.dFF]),
                mlpProjWeight: add(p + "mlp.proj.weight", [D, c.dFF]), mlpProjBias: add(p + "mlp.proj.bias", [D]))
        }
        lnFWeight = add("ln_f.weight", [D])
        lnFBias = add("ln_f.bias", [D])
        head = add("head.weight", [c.vocabSize, D])
        tensors = list
        count = next
    }

    /// The tensor called `name`, if any.
    public func tensor(named name: String) -> ParameterTensor? { tensors.first { $0.name == name } }

    /// One value per element of θ: `value(t)` at every element of tensor `t` (per-tensor optimizer settings).
    public func perElement(_ value: (ParameterTensor) -> Double) -> [Double] {
        var values = [Double](repeating: 0, count: count)
        for t in tensors {
            let v = value(t)
            for i in t.range { values[i] = v }
        }
        return values
    }
}
