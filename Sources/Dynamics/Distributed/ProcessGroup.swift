import CMPI
import Foundation

/// The processes of one job. Under `mpirun` or `srun` (Open MPI's launchers set `OMPI_COMM_WORLD_SIZE` or
/// `PMIX_RANK`) they are the ranks of MPI_COMM_WORLD; otherwise the job is this one process and MPI is never
/// initialised, so a command run without a launcher behaves exactly as one built without MPI.
///
/// Every collective here is called by all ranks in the same order (the MPI rule). Failures travel through
/// `agree(_:)`: a rank whose work threw reports it there, and every rank then throws the same
/// `DistributedError.rankFailed`, which rank 0 prints — so a bad input on one rank ends the job with one clear
/// message and no hang. A rank that dies outright (a signal) is caught by the launcher, which ends the job.
public final class ProcessGroup: @unchecked Sendable {
    /// The job this process belongs to (initialises MPI on first use when launched by an MPI launcher).
    public static let world = ProcessGroup()

    /// This process's rank, 0 ..< size.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int
    /// True on rank 0, the rank that reads shared inputs' results, writes outputs and shows progress.
    public var isRoot: Bool { rank == 0 }
    /// True when MPI was initialised (even with one rank).
    public let usesMPI: Bool

    private let communicator: MPI_Comm?
    /// A second communicator for progress messages, so they never match the work's own messages.
    private let progressCommunicator: MPI_Comm?
    private var finalized = false

    /// True when this process was started by an MPI launcher.
    public static func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// One process on its own, whatever the launcher: what library calls use unless given a group.
    public static let single = ProcessGroup(alone: ())

    private init(alone: Void) {
        rank = 0
        size = 1
        usesMPI = false
        communicator = nil
        progressCommunicator = nil
    }

    private init() {
        guard Self.launchedByMPI() else {
            rank = 0
            size = 1
            usesMPI = false
            communicator = nil
            progressCommunicator = nil
            return
        }
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, dynamics_mpi_thread_serialized(), &provided)
        let world = dynamics_mpi_comm_world()
        // Errors return codes instead of aborting, so that they can be reported (see `check`).
        MPI_Comm_set_errhandler(world, dynamics_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        var progress: MPI_Comm?
        MPI_Comm_dup(world, &progress)
        rank = Int(r)
        size = Int(s)
        usesMPI = true
        communicator = world
        progressCommunicator = progress
    }

    /// Ends MPI (all ranks, once, before the process exits).
    public func finalize() {
        guard usesMPI, !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    /// Ends every rank of the job at once with `code` (for failures that cannot reach a collective).
    public func abort(code: Int32) -> Never {
        if usesMPI, let communicator { MPI_Abort(communicator, code) }
        exit(code)
    }

    func check(_ code: Int32, _ what: String) throws {
        guard code == 0 else { throw DistributedError.mpi(call: what, code: Int(code)) }
    }

    /// MPI_COMM_WORLD when MPI is in use (for the collectives written in other files).
    var worldCommunicator: MPI_Comm? { communicator }

    /// Sends `raw` to `destination` in messages of at most `chunk` bytes (one message when empty); `receive(into:…)`
    /// takes them with the same tag.
    private func send(_ raw: UnsafeRawBufferPointer, to destination: Int, tag: Int32, _ communicator: MPI_Comm) throws {
        var offset = 0
        repeat {
            let n = min(Self.chunk, raw.count - offset)
            try check(MPI_Send(raw.baseAddress.map { $0 + offset }, Int32(n), dynamics_mpi_byte(), Int32(destination), tag, communicator), "MPI_Send")
            offset += n
        } while offset < raw.count
    }

    /// Fills `raw` with what `source` sent with `send(_:to:tag:_:)`.
    private func receive(into raw: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32, _ communicator: MPI_Comm) throws {
        var offset = 0
        repeat {
            let n = min(Self.chunk, raw.count - offset)
            try check(MPI_Recv(raw.baseAddress.map { $0 + offset }, Int32(n), dynamics_mpi_byte(), Int32(source), tag, communicator,
                               dynamics_mpi_status_ignore()), "MPI_Recv")
            offset += n
        } while offset < raw.count
    }

    // MARK: Collectives

    /// Waits until every rank has arrived.
    public func barrier() throws {
        guard size > 1, let communicator else { return }
        try check(MPI_Barrier(communicator), "MPI_Barrier")
    }

    /// Rank 0's bytes on every rank.
    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] {
        guard size > 1, let communicator else { return bytes }
        var count = Int64(bytes.count)
        try check(MPI_Bcast(&count, 1, dynamics_mpi_int64(), 0, communicator), "MPI_Bcast")
        var buffer = isRoot ? bytes : [UInt8](repeating: 0, count: Int(count))
        try buffer.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = min(Self.chunk, raw.count - offset)
                try check(MPI_Bcast(raw.baseAddress! + offset, Int32(n), dynamics_mpi_byte(), 0, communicator), "MPI_Bcast")
                offset += n
            }
        }
        return buffer
    }

    /// Rank 0's values on every rank (bit for bit).
    public func broadcast(_ values: [Double]) throws -> [Double] {
        guard size > 1 else { return values }
        let bytes = try broadcast(values.withUnsafeBytes { Array($0) })
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// Every rank's bytes, in rank order, on rank 0; an empty list on the other ranks.
    public func gather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard size > 1, let communicator else { return [bytes] }
        if !isRoot {
            var count = Int64(bytes.count)
            try check(MPI_Send(&count, 1, dynamics_mpi_int64(), 0, Self.gatherTag, communicator), "MPI_Send")
            try bytes.withUnsafeBytes { try send($0, to: 0, tag: Self.gatherTag, communicator) }
            return []
        }
        var all = [bytes]
        for source in 1..<size {
            var count: Int64 = 0
            try check(MPI_Recv(&count, 1, dynamics_mpi_int64(), Int32(source), Self.gatherTag, communicator, dynamics_mpi_status_ignore()), "MPI_Recv")
            var buffer = [UInt8](repeating: 0, count: Int(count))
            try buffer.withUnsafeMutableBytes { try receive(into: $0, from: source, tag: Self.gatherTag, communicator) }
            all.append(buffer)
        }
        return all
    }

    /// Sends `values` to rank 0, which takes them with `receive(from:count:)` (a rank's part of a stream).
    public func sendToRoot(_ values: [Double]) throws {
        guard size > 1, !isRoot, let communicator else { return }
        try values.withUnsafeBytes { try send($0, to: 0, tag: Self.streamTag, communicator) }
    }

    /// On rank 0: the `count` values `source` sent with `sendToRoot`.
    public func receive(from source: Int, count: Int) throws -> [Double] {
        guard size > 1, isRoot, let communicator else { return [] }
        var values = [Double](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try receive(into: $0, from: source, tag: Self.streamTag, communicator) }
        return values
    }

    /// Every rank's values, in rank order, on rank 0 (empty elsewhere).
    public func gather(_ values: [Double]) throws -> [[Double]] {
        try gather(values.withUnsafeBytes { Array($0) }).map { bytes in bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
    }

    /// The sum over ranks of one count, on every rank (integers: exact whatever the order).
    public func sum(_ value: Int) throws -> Int {
        guard size > 1, let communicator else { return value }
        var mine = Int64(value), total: Int64 = 0
        try check(MPI_Allreduce(&mine, &total, 1, dynamics_mpi_int64(), dynamics_mpi_sum(), communicator), "MPI_Allreduce")
        return Int(total)
    }

    /// Runs `work` on this rank and agrees on the outcome: if any rank's work threw, every rank throws
    /// `DistributedError.rankFailed` naming the lowest failing rank and its message; otherwise returns this rank's
    /// result. With one process, `work`'s own error is rethrown unchanged.
    public func agree<T>(_ work: () throws -> T) throws -> T {
        let outcome = Result { try work() }
        guard size > 1 else { return try outcome.get() }
        var failure: [UInt8] = []
        if case let .failure(error) = outcome { failure = Array("\(error)".utf8) }
        // One flag byte, then the message.
        let reports = try gather([failure.isEmpty ? 0 : 1] + failure)
        var verdict: [UInt8] = []
        if isRoot, let (index, report) = reports.enumerated().first(where: { $0.element.first == 1 }) {
            verdict = Array(String(index).utf8) + [0] + report.dropFirst()
        }
        let shared = try broadcast(verdict)
        if !shared.isEmpty {
            let split = shared.firstIndex(of: 0)!
            let failed = Int(String(decoding: shared[..<split], as: UTF8.self))!
            throw DistributedError.rankFailed(rank: failed, size: size, message: String(decoding: shared[(split + 1)...], as: UTF8.self))
        }
        return try outcome.get()
    }

    // MARK: Progress

    /// Sends this rank's count of finished units to rank 0 (non-root ranks; never blocks on the work).
    func sendProgress(_ done: Int, final: Bool) {
        guard size > 1, !isRoot, let progressCommunicator else { return }
        var value = Int64(done)
        MPI_Send(&value, 1, dynamics_mpi_int64(), 0, final ? Self.progressDoneTag : Self.progressTag, progressCommunicator)
    }

    /// On rank 0: the latest count each other rank has sent, and whether each has finished (non-blocking).
    func pollProgress(into counts: inout [Int], finished: inout [Bool]) {
        guard size > 1, isRoot, let progressCommunicator else { return }
        while true {
            var flag: Int32 = 0
            var status = MPI_Status()
            MPI_Iprobe(dynamics_mpi_any_source(), dynamics_mpi_any_tag(), progressCommunicator, &flag, &status)
            guard flag != 0 else { return }
            var value: Int64 = 0
            MPI_Recv(&value, 1, dynamics_mpi_int64(), status.MPI_SOURCE, status.MPI_TAG, progressCommunicator, dynamics_mpi_status_ignore())
            let source = Int(status.MPI_SOURCE)
            counts[source] = Int(value)
            if status.MPI_TAG == Self.progressDoneTag { finished[source] = true }
        }
    }

    private static let chunk = 1 << 30
    private static let gatherTag: Int32 = 11
    private static let streamTag: Int32 = 12
    private static let progressTag: Int32 = 21
    private static let progressDoneTag: Int32 = 22
}

/// Failures of a multi-process job.
public enum DistributedError: Error, Equatable, CustomStringConvertible {
    case rankFailed(rank: Int, size: Int, message: String)
    case mpi(call: String, code: Int)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .rankFailed(rank, size, message): "rank \(rank) of \(size) failed: \(message)"
        case let .mpi(call, code): "\(call) failed with MPI error \(code)"
        case let .unsupported(what): what
        }
    }
}
