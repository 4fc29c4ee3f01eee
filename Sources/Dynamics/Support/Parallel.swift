import Dispatch
import Foundation

/// Work spread over the cores, with results independent of the thread count.
public enum Parallel {
    /// The number of worker threads to use by default: the machine's active cores.
    public static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `body(i)` for i in 0 ..< count on up to `threads` threads, results in index order.
    /// Each index is computed independently and always with single-threaded OpenBLAS (whatever `threads` is: a
    /// multi-threaded dgemm may sum in another order), so the result does not depend on `threads`. A free thread
    /// claims the next index, so items of uneven cost (sequences of different lengths) keep every thread busy; which
    /// thread computes an index changes no byte of its result.
    public static func map<T: Sendable>(_ count: Int, threads: Int = defaultThreads, _ body: @Sendable (Int) -> T) -> [T] {
        let workers = max(1, min(threads, count))
        SingleThreadedBLAS.enter()
        defer { SingleThreadedBLAS.leave() }
        if workers == 1 { return (0..<count).map(body) }
        let results = UnsafeMutablePointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil, count: count)
        defer { results.deinitialize(count: count); results.deallocate() }
        let slots = SendablePointer(results)
        let next = IndexCounter(count)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = next.claim() { slots.pointer[i] = body(i) }
        }
        return (0..<count).map { results[$0]! }
    }

    /// The same for a body that can fail: every index runs, and the error of the lowest failing index is rethrown.
    public static func map<T: Sendable>(_ count: Int, threads: Int = defaultThreads, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        try map(count, threads: threads) { i in Result { try body(i) } }.map { try $0.get() }
    }
}

extension Parallel {
    /// `body()` on the calling thread with OpenBLAS single-threaded: one product whose bytes must not depend on the
    /// thread count (a multi-threaded dgemm may sum in another order).
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        SingleThreadedBLAS.enter()
        defer { SingleThreadedBLAS.leave() }
        return try body()
    }

    /// `body(i)` for i in 0 ..< count on up to `threads` threads, each index claimed by the next free thread, with
    /// OpenBLAS single-threaded. For fixed work tiles that write disjoint memory: each tile's result is the same
    /// whichever thread runs it, so a split into tiles that does not depend on `threads` gives the same bytes for
    /// any thread count.
    public static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(threads, count))
        SingleThreadedBLAS.enter()
        defer { SingleThreadedBLAS.leave() }
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = TileQueue(body: body, count: count)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let i = shared.next() { shared.body(i) }
            }
        }
    }
}

/// The tiles not yet claimed, and the work to run on each (workers only touch disjoint memory).
private final class TileQueue: @unchecked Sendable {
    let body: (Int) -> Void
    private let counter: IndexCounter

    init(body: @escaping (Int) -> Void, count: Int) {
        self.body = body
        counter = IndexCounter(count)
    }

    func next() -> Int? { counter.claim() }
}

/// The indices 0 ..< count handed out one at a time to whichever worker asks first.
private final class IndexCounter: @unchecked Sendable {
    private let count: Int
    private var claimed = 0
    private let lock = NSLock()

    init(_ count: Int) { self.count = count }

    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard claimed < count else { return nil }
        claimed += 1
        return claimed - 1
    }
}

/// A pointer handed to workers that write disjoint slots.
private struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Holds OpenBLAS at one thread while any parallel region runs (regions may overlap, e.g. in concurrent tests),
/// restoring the previous count when the last one ends.
private enum SingleThreadedBLAS {
    nonisolated(unsafe) private static var depth = 0
    nonisolated(unsafe) private static var saved = 1
    private static let lock = NSLock()

    static func enter() {
        lock.lock()
        defer { lock.unlock() }
        if depth == 0 {
            saved = BLAS.threads
            BLAS.setThreads(1)
        }
        depth += 1
    }

    static func leave() {
        lock.lock()
        defer { lock.unlock() }
        depth -= 1
        if depth == 0 { BLAS.setThreads(saved) }
    }
}
