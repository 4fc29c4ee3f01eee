import Foundation

/// Progress of work spread over the ranks of a job, shown once: every rank counts its own finished units (from
/// any worker thread) and, while the work runs, a relay thread sends the count to rank 0, whose relay adds up
/// every rank's latest count and calls `report` with the job's total. Only the relay threads touch MPI during the
/// work (MPI_THREAD_SERIALIZED), and `run` joins them before returning, so collectives after it are safe.
public final class DistributedProgress: @unchecked Sendable {
    private let group: ProcessGroup
    private let report: (Int) -> Void
    private let lock = NSLock()
    private var done = 0
    private var working = false

    /// `report(total done over all ranks)` is called on rank 0 only, from one thread at a time.
    public init(group: ProcessGroup, report: @escaping (Int) -> Void) {
        self.group = group
        self.report = report
    }

    /// Records `n` more units finished on this rank (thread-safe).
    public func advance(by n: Int = 1) {
        lock.lock()
        done += n
        let value = done
        lock.unlock()
        if group.size == 1 { report(value) }
    }

    private var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    private var isWorking: Bool {
        lock.lock()
        defer { lock.unlock() }
        return working
    }

    /// Runs `work` with the relay going; returns (or rethrows) once every rank's final count has reached rank 0.
    public func run<T>(_ work: () throws -> T) rethrows -> T {
        guard group.size > 1 else { return try work() }
        lock.lock()
        working = true
        lock.unlock()
        let finished = DispatchSemaphore(value: 0)
        let relay = Thread { [self] in
            if group.isRoot { relayAtRoot() } else { relayToRoot() }
            finished.signal()
        }
        relay.start()
        defer {
            lock.lock()
            working = false
            lock.unlock()
            finished.wait()
        }
        return try work()
    }

    private func relayToRoot() {
        var sent = -1
        while isWorking {
            let value = current
            if value != sent {
                group.sendProgress(value, final: false)
                sent = value
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        group.sendProgress(current, final: true)
    }

    private func relayAtRoot() {
        var counts = [Int](repeating: 0, count: group.size)
        var finished = [Bool](repeating: false, count: group.size)
        var shown = -1
        while true {
            group.pollProgress(into: &counts, finished: &finished)
            let mine = current
            let ownDone = !isWorking
            counts[0] = mine
            let total = counts.reduce(0, +)
            if total != shown {
                report(total)
                shown = total
            }
            if ownDone && finished.dropFirst().allSatisfy({ $0 }) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
