import Dispatch
import Foundation

/// Work spread over the cores, with results independent of the thread count.
public enum Parallel {
    /// The number of worker threads to use by default: the machine's active cores.
    public static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `body(i)` for i in 0 ..< count on up to `threads` threads, results in index order.
    /// Each index is computed independently, so the result does not depend on `threads`. OpenBLAS is held at one
    /// thread meanwhile (the cores are already busy). The error of the lowest failing index is rethrown.
    public static func map<T: Sendable>(_ count: Int, threads: Int = defaultThreads, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let workers = max(1, min(threads, count))
        if workers == 1 { return try (0..<count).map(body) }
        let results = UnsafeMutablePointer<Result<T, Error>?>.allocate(capacity: count)
        results.initialize(repeating: nil, count: count)
        defer { results.deinitialize(count: count); results.deallocate() }
        let slots = SendablePointer(results)
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in stride(from: w, to: count, by: workers) {
                slots.pointer[i] = Result { try body(i) }
            }
        }
        return try (0..<count).map { try results[$0]!.get() }
    }
}

/// A pointer handed to workers that write disjoint slots.
private struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
