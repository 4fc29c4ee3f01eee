import CMPI
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

    /// Every rank's values, in rank order, on every rank (bit for bit).
    public func allGather(_ values: [Double]) throws -> [[Double]] {
        guard size > 1, let communicator = worldCommunicator else { return [values] }
        var mine = Int32(values.count)
        var counts = [Int32](repeating: 0, count: size)
        try check(MPI_Allgather(&mine, 1, dynamics_mpi_int(), &counts, 1, dynamics_mpi_int(), communicator), "MPI_Allgather")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<size {
            let (sum, overflow) = offsets[r - 1].addingReportingOverflow(counts[r - 1])
            guard !overflow else { throw DistributedError.unsupported("an all-gather of more than 2^31 values; use fewer examples per step") }
            offsets[r] = sum
        }
        let total = Int(offsets[size - 1]) + Int(counts[size - 1])
        var all = [Double](repeating: 0, count: total)
        try values.withUnsafeBufferPointer { send in
            try check(MPI_Allgatherv(send.baseAddress, mine, dynamics_mpi_double(), &all, counts, offsets, dynamics_mpi_double(), communicator),
                        "MPI_Allgatherv")
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<(Int(offsets[$0]) + Int(counts[$0]))]) }
    }

    /// `body(i)` for i in 0 ..< count, each rank computing its `part(of:)` on up to `threads` threads (`Parallel.map`),
    /// every result on every rank in index order. Results cross ranks as `encode`'s values and come back through
    /// `decode`, bit for bit, so whatever is computed from the list afterwards is the same on every rank and the
    /// same as one process computes. A failure on any rank ends every rank (`agree`).
    public func allMap<T: Sendable>(_ count: Int, threads: Int, encode: ([T]) -> [Double], decode: ([Double]) throws -> [T],
                                    _ body: @Sendable (Int) throws -> T) throws -> [T] {
        guard size > 1 else { return try Parallel.map(count, threads: threads, body) }
        let mine = part(of: count)
        let local = try agree { try Parallel.map(mine.count, threads: threads) { try body(mine.lowerBound + $0) } }
        let parts = try allGather(encode(local))
        var all: [T] = []
        all.reserveCapacity(count)
        for (r, values) in parts.enumerated() {
            let items = r == rank ? local : try decode(values)
            guard items.count == part(of: count, rank: r).count else {
                throw DistributedError.unsupported("rank \(r) sent \(items.count) results for \(part(of: count, rank: r).count) indices")
            }
            all += items
        }
        return all
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
