/// Where a backward pass writes parameter gradients. Cotangent b's gradient of a kept tensor starts at
/// `offset + b·stride` in the gradient buffer (`GradientSlot`). Two arrangements:
/// - row-major (`init(_:omitting:)`): one row of `count` values per cotangent, the kept tensors packed in θ order
///   (θ's own layout when nothing is omitted) — stride `count` for every tensor;
/// - tensor-major (`tensorMajor`): each tensor's gradients of every cotangent (and of every probe of a stack) lie
///   together, so a tensor's slice of many Jacobians is one contiguous matrix (the eNTK engine's stacked features);
///   the pass *assigns* the linear weights' gradients there (`GradientSlot.assigned`): the caller need not clear
///   those slots.
/// A left-out tensor (a dense weight a `FactorTap` keeps as factors) has no slot at all, so no gradient can be
/// written to a place that belongs to another tensor.
struct GradientLayout: Sendable {
    /// The kept tensors in θ order, each with its offset (for cotangent 0) in the gradient buffer.
    let tensors: [ParameterTensor]
    /// Values of the gradient buffer per cotangent (row-major), or the whole stack's size (tensor-major).
    let count: Int
    /// θ offset → slot, for the kept tensors.
    private let slots: [Int: GradientSlot]

    /// Row-major: `layout` without the tensors at θ offsets `omitted`.
    init(_ layout: ParameterLayout, omitting omitted: Set<Int> = []) {
        let kept = layout.tensors.filter { !omitted.contains($0.offset) }
        let count = kept.reduce(0) { $0 + $1.count }
        var packed: [ParameterTensor] = [], slots: [Int: GradientSlot] = [:], next = 0
        for t in kept {
            packed.append(ParameterTensor(name: t.name, shape: t.shape, offset: next))
            slots[t.offset] = GradientSlot(offset: next, stride: count)
            next += t.count
        }
        (tensors, self.count, self.slots) = (packed, count, slots)
    }

    /// Tensor-major, for `probes` probes of `batch` cotangents each: tensor g (of width w_g, the kept tensors in θ
    /// order) owns a region of probes·batch·w_g values, probe p's batch × w_g gradients at row p of it; this layout
    /// addresses probe `probe`. So each tensor's region is a probes × (batch·w_g) row-major matrix.
    static func tensorMajor(_ layout: ParameterLayout, omitting omitted: Set<Int>, batch: Int, probes: Int, probe: Int) -> GradientLayout {
        GradientLayout(tensorMajor: layout, omitting: omitted, batch: batch, probes: probes, probe: probe)
    }

    private init(tensorMajor layout: ParameterLayout, omitting omitted: Set<Int>, batch: Int, probes: Int, probe: Int) {
        var packed: [ParameterTensor] = [], slots: [Int: GradientSlot] = [:], next = 0
        let linear = layout.linearWeights
        for t in layout.tensors where !omitted.contains(t.offset) {
            packed.append(ParameterTensor(name: t.name, shape: t.shape, offset: next))
            slots[t.offset] = GradientSlot(offset: next + probe * batch * t.count, stride: t.count, assigned: linear.contains(t.offset))
            next += probes * batch * t.count
        }
        (tensors, count, self.slots) = (packed, next, slots)
    }


    /// The slot of the tensor at θ offset `theta`; nil when this layout leaves it out.
    func slot(of theta: Int) -> GradientSlot? { slots[theta] }

    /// The same for a tensor no layout leaves out (LayerNorms, biases, position and token embeddings).
    subscript(theta: Int) -> GradientSlot {
        guard let s = slots[theta] else { preconditionFailure("tensor at θ offset \(theta) has no gradient slot (internal error)") }
        return s
    }
}

/// Where one tensor's gradients go: cotangent b's at `offset + b·stride` of the gradient buffer. An `assigned` slot
/// (a linear weight's, in a tensor-major layout) is written, not added to.
struct GradientSlot: Sendable {
    let offset: Int
    let stride: Int
    var assigned = false

    /// Cotangent b's gradient of this tensor in `grad`.
    func at(_ b: Int, in grad: UnsafeMutablePointer<Double>) -> UnsafeMutablePointer<Double> { grad + offset + b * stride }
}
