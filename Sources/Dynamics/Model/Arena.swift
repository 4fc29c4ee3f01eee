/// One zero-initialised Float64 allocation carved into named buffers; freed when the arena goes.
/// Holds a forward pass's activations or a backward pass's scratch, so each pass allocates once.
final class Arena {
    private let base: UnsafeMutablePointer<Double>
    private let capacity: Int
    private var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: max(capacity, 1))
        base.initialize(repeating: 0, count: max(capacity, 1))
    }

    deinit { base.deallocate() }

    /// The next `count` values (internal invariant: callers size the arena exactly).
    func take(_ count: Int) -> UnsafeMutablePointer<Double> {
        precondition(used + count <= capacity, "arena overflow: internal sizing error")
        defer { used += count }
        return base + used
    }
}
