import Dynamics
import Foundation

/// Progress of long work on stderr: done/total, rate, ETA; at most a few lines a second, and a final line.
final class Progress {
    private let label: String
    private let unit: String
    private let total: Int
    private let start = Date()
    private var lastReport = Date.distantPast
    private(set) var done = 0

    init(_ label: String, total: Int, unit: String) {
        self.label = label
        self.total = total
        self.unit = unit
    }

    /// Records `n` more units done and reports when due (always at the end).
    func advance(by n: Int = 1, detail: String = "") {
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

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }
}

extension Progress {
    /// `body` over `items` on up to `threads` cores, `chunk` items at a time, advancing after each chunk; results in
    /// the items' order (and, like `Parallel.map`, independent of the thread count).
    func map<E: Sendable, T: Sendable>(_ items: [E], threads: Int, chunk: Int, _ body: @Sendable (E) throws -> T) throws -> [T] {
        let step = max(1, chunk)
        var results: [T] = []
        for start in stride(from: 0, to: items.count, by: step) {
            let part = Array(items[start..<min(start + step, items.count)])
            results += try Parallel.map(part.count, threads: threads) { try body(part[$0]) }
            advance(by: part.count)
        }
        return results
    }
}
