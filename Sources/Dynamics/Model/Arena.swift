import Foundation

/// One zero-initialised Float64 allocation carved into named buffers; returned to a small pool when the arena goes.
/// Holds a forward pass's activations or a backward pass's scratch, so each pass allocates once.
final class Arena {
    private let base: UnsafeMutablePointer<Double>
    private let capacity: Int
    private var used = 0

    /// `zeroed: false` skips the memset for callers that write every value before reading it (a forward pass's activations).
    init(capacity: Int, zeroed: Bool = true) {
        let size = max(capacity, 1)
        let (pointer, allocated) = ArenaPool.shared.take(size)
        base = pointer
        self.capacity = allocated
        if zeroed { base.update(repeating: 0, count: size) }
    }

    deinit { ArenaPool.shared.give(base, capacity: capacity) }

    /// The next `count` values (internal invariant: callers size the arena exactly).
    func take(_ count: Int) -> UnsafeMutablePointer<Double> {
        precondition(used + count <= capacity, "arena overflow: internal sizing error")
        defer { used += count }
        return base + used
    }
}

/// Freed arena buffers kept for the next pass. A backward pass carrying V cotangents needs tens of megabytes of
/// scratch; allocated afresh each time, its pages come from the kernel zeroed on first touch, which measured
/// here took close to half of a probe-set kernel's time. Reusing a buffer costs one memset instead.
final class ArenaPool: @unchecked Sendable {
    static let shared = ArenaPool()

    /// Buffers kept at most, and their total size at most (Float64 values: 512 MB).
    private let maxBuffers = 8
    private let maxValues = 64 << 20
    private var free: [(pointer: UnsafeMutablePointer<Double>, capacity: Int)] = []
    private let lock = NSLock()

    /// The smallest free buffer holding `count` values, or a new one; with its capacity.
    func take(_ count: Int) -> (UnsafeMutablePointer<Double>, Int) {
        lock.lock()
        let fit = free.indices.filter { free[$0].capacity >= count }.min { free[$0].capacity < free[$1].capacity }
        if let fit {
            let buffer = free.remove(at: fit)
            lock.unlock()
            return (buffer.pointer, buffer.capacity)
        }
        lock.unlock()
        let pointer = UnsafeMutablePointer<Double>.allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
        return (pointer, count)
    }

    /// Keeps `pointer` for reuse, dropping the smallest kept buffers when over the limits.
    func give(_ pointer: UnsafeMutablePointer<Double>, capacity: Int) {
        lock.lock()
        free.append((pointer, capacity))
        free.sort { $0.capacity > $1.capacity }
        var dropped: [UnsafeMutablePointer<Double>] = []
        while free.count > maxBuffers || (free.count > 1 && free.reduce(0) { $0 + $1.capacity } > maxValues) {
            dropped.append(free.removeLast().pointer)
        }
        lock.unlock()
        for p in dropped { p.deallocate() }
    }
}
