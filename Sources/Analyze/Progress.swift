import Dynamics
import Foundation

/// Progress of long work on stderr: done/total, rate, ETA; at most a few lines a second, and a final line. Safe to
/// advance from worker threads.
final class Progress: @unchecked Sendable {
    private let label: String
    private let unit: String
    private let total: Int
    private let start = Date()
    private let lock = NSLock()
    private var lastReport = Date.distantPast
    private var done = 0

    init(_ label: String, total: Int, unit: String) {
        self.label = label
        self.total = total
        self.unit = unit
    }

    /// Records `n` more units done and reports when due (always at the end).
    func advance(by n: Int = 1, detail: String = "") {
        lock.lock()
        defer { lock.unlock() }
        done += n
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= 0.5 || done >= total else { return }
        lastReport = now
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let extra = detail.isEmpty ? "" : "  \(detail)"
        note(String(format: "%@ %d/%d %@  %.1f %@/s  ETA %@%@", label, done, total, unit, rate, unit, Progress.clock(eta), extra))
    }

    /// Records that `count` units are done in all.
    func advance(to count: Int) {
        lock.lock()
        let n = count - done
        lock.unlock()
        advance(by: n)
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }
}

extension ProcessGroup {
    /// Work of `total` units spread over this job's ranks, shown once: a `Progress` display on rank 0 counting every
    /// rank's units (with one process, exactly the display one process shows).
    func progress(_ label: String, total: Int, unit: String) -> DistributedProgress {
        let display = isRoot ? Progress(label, total: total, unit: unit) : nil
        return DistributedProgress(group: self) { done in if done > 0 { display?.advance(to: done) } }
    }
}
