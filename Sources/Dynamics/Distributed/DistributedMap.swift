import CMPI
import Foundation

extension ProcessGroup {
    /// Rank `rank`'s contiguous slice of 0 ..< count: ⌊r·count/size⌋ ..< ⌊(r+1)·count/size⌋ (the same rule as
    /// kernel shards), so the slices are in rank order and cover every index once.
    public func slice(of count: Int, rank: Int? = nil) -> Range<Int> {
        let r = rank ?? self.rank
        return (r * count / size)..<((r + 1) * count / size)
    }

    /// Every rank's values, in rank order, on every rank (bit for bit).
    public func allGather(_ values: [Double]) throws -> [[Double]] {
        guard size > 1, let communicator = worldCommunicator else { return [values] }
        var mine = Int32(values.count)
        var counts = [Int32](repeating: 0, count: size)
        try checked(MPI_Allgather(&mine, 1, dynamics_mpi_int(), &counts, 1, dynamics_mpi_int(), communicator), "MPI_Allgather")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<size {
            let (sum, overflow) = offsets[r - 1].addingReportingOverflow(counts[r - 1])
            guard !overflow else { throw DistributedError.unsupported("an all-gather of more than 2^31 values; use fewer examples per step") }
            offsets[r] = sum
        }
        let total = Int(offsets[size - 1]) + Int(counts[size - 1])
        var all = [Double](repeating: 0, count: total)
        try values.withUnsafeBufferPointer { send in
            try checked(MPI_Allgatherv(send.baseAddress, mine, dynamics_mpi_double(), &all, counts, offsets, dynamics_mpi_double(), communicator),
                        "MPI_Allgatherv")
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<(Int(offsets[$0]) + Int(counts[$0]))]) }
    }

    /// `body(i)` for i in 0 ..< count, each rank computing its `slice` on up to `threads` threads (`Parallel.map`),
    /// every result on every rank in index order. Results cross ranks as `encode`'s values and come back through
    /// `decode`, bit for bit, so whatever is computed from the list afterwards is the same on every rank and the
    /// same as one process computes. A failure on any rank ends every rank (`agree`).
    public func allMap<T: Sendable>(_ count: Int, threads: Int, encode: ([T]) -> [Double], decode: ([Double]) throws -> [T],
                                    _ body: @Sendable (Int) throws -> T) throws -> [T] {
        guard size > 1 else { return try Parallel.map(count, threads: threads, body) }
        let mine = slice(of: count)
        let local = try agree { try Parallel.map(mine.count, threads: threads) { try body(mine.lowerBound + $0) } }
        let parts = try allGather(encode(local))
        var all: [T] = []
        all.reserveCapacity(count)
        for (r, part) in parts.enumerated() {
            let items = r == rank ? local : try decode(part)
            guard items.count == slice(of: count, rank: r).count else {
                throw DistributedError.unsupported("rank \(r) sent \(items.count) results for \(slice(of: count, rank: r).count) indices")
            }
            all += items
        }
        return all
    }
}
