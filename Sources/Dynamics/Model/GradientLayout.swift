/// Where a backward pass writes parameter gradients: θ's own layout, or a compact one that leaves out the dense
/// weights a `FactorTap` keeps as factors (their gradient products are skipped). A left-out tensor has no offset
/// at all (`offset(of:)` is nil), so no gradient can be written to a place that belongs to another tensor.
struct GradientLayout: Sendable {
    /// The kept tensors, packed in θ order, each with its offset in the gradient buffer.
    let tensors: [ParameterTensor]
    /// Values per gradient row.
    let count: Int
    /// θ offset → offset in the gradient buffer, for the kept tensors.
    private let offsets: [Int: Int]

    /// `layout` without the tensors at θ offsets `omitted`.
    init(_ layout: ParameterLayout, omitting omitted: Set<Int> = []) {
        var kept: [ParameterTensor] = [], offsets: [Int: Int] = [:], next = 0
        for t in layout.tensors where !omitted.contains(t.offset) {
            kept.append(ParameterTensor(name: t.name, shape: t.shape, offset: next))
            offsets[t.offset] = next
            next += t.count
        }
        (tensors, count, self.offsets) = (kept, next, offsets)
    }

    /// The gradient offset of the tensor at θ offset `theta`; nil when this layout leaves it out.
    func offset(of theta: Int) -> Int? { offsets[theta] }

    /// The same for a tensor no layout leaves out (LayerNorms, biases, position and token embeddings).
    subscript(theta: Int) -> Int {
        guard let o = offsets[theta] else { preconditionFailure("tensor at θ offset \(theta) has no gradient slot (internal error)") }
        return o
    }
}
