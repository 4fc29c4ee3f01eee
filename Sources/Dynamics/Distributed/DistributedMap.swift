import Foundation

extension ProcessGroup {
    /// Rank `rank`'s part of the indices 0 ..< count: ⌊rank·count/size⌋ ..< ⌊(rank+1)·count/size⌋. The parts are
    /// contiguous, in rank order, together exactly 0 ..< count, and differ in length by at most one (a rank may
    /// get none when there are more ranks than items).
    public func part(of count: Int, rank: Int? = nil) -> Range<Int> {
        let r = rank ?? self.rank
        return (r * count / size)..<((r + 1) * count / size)
    }

    /// The results for the items 0 ..< count, each rank computing `work` on its own contiguous part (`part(of:)`)
    /// and rank 0 gathering them in index order: the one place where the sweep commands split their examples,
    /// prompts, questions or pairs over the ranks. `work(range)` returns one result per index of `range`; a result
    /// must depend only on its index (per-item random streams, no state shared between items), so that the list
    /// equals a one-process run's whatever the number of ranks. The results travel as binary property lists, which
    /// keep every Double bit for bit. With `progress`, the work runs under `progress.run` (one display on rank 0).
    ///
    /// Returns every result on rank 0 and nil on the other ranks (rank 0 holds the whole list, as one process
    /// would). A failure on any rank ends every rank with `DistributedError.rankFailed`.
    public func map<T: Codable>(count: Int, progress: DistributedProgress? = nil, _ work: (Range<Int>) throws -> [T]) throws -> [T]? {
        let range = part(of: count)
        let (own, bytes) = try agree { () -> ([T], [UInt8]) in
            let results = try progress.map { p in try p.run { try work(range) } } ?? work(range)
            guard results.count == range.count else {
                throw DistributedError.unsupported("rank \(rank) computed \(results.count) results for \(range.count) items")
            }
            return (results, size > 1 && !isRoot ? try Self.encode(results) : [])
        }
        guard size > 1 else { return own }
        let parts = try gather(bytes)
        guard isRoot else { return nil }
        let decoder = PropertyListDecoder()
        return try own + parts.dropFirst().flatMap { try decoder.decode([T].self, from: Data($0)) }
    }

    private static func encode<T: Encodable>(_ values: [T]) throws -> [UInt8] {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        return Array(try encoder.encode(values))
    }
}

extension DistributedProgress {
    /// A progress callback taking the running count of `work` (as `Parallel` and the studies report it) and adding
    /// the increments to this rank's count.
    public func counting() -> (Int) -> Void {
        let last = LockedCounter()
        return { [self] done in advance(by: last.exchange(done)) }
    }
}

/// The last running count seen, swapped under a lock (progress callbacks may come from worker threads).
private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// Stores `new` and returns the increase over the previous value.
    func exchange(_ new: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let delta = new - value
        value = new
        return delta
    }
}
