extension Parallel {
    /// `body(i)` for i in 0 ..< count, `chunk` indices at a time, each chunk spread over `threads` threads
    /// (`map`); `progress` gets the number of indices each finished chunk held. Results in index order and, as
    /// with `map`, independent of the thread count. The one chunked map behind every long loop that shows progress.
    public static func chunkedMap<T: Sendable>(_ count: Int, threads: Int, chunk: Int, progress: (Int) -> Void = { _ in },
                                               _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let step = max(1, chunk)
        var results: [T] = []
        results.reserveCapacity(count)
        for start in stride(from: 0, to: count, by: step) {
            let n = min(step, count - start)
            results += try map(n, threads: threads) { try body(start + $0) }
            progress(n)
        }
        return results
    }

    /// The same over `items`.
    public static func chunkedMap<E: Sendable, T: Sendable>(_ items: [E], threads: Int, chunk: Int, progress: (Int) -> Void = { _ in },
                                                            _ body: @Sendable (E) throws -> T) throws -> [T] {
        try chunkedMap(items.count, threads: threads, chunk: chunk, progress: progress) { try body(items[$0]) }
    }
}
