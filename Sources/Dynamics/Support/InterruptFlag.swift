import Dispatch
import Foundation

/// Set by SIGINT: the training loop saves a checkpoint and stops at the next step boundary.
public final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private let source: DispatchSourceSignal

    /// Installs the handler; `received` runs (on a dispatch queue) when the first SIGINT arrives; a second one
    /// ends the process as usual.
    public init(received: @escaping @Sendable () -> Void = {}) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            lock.lock()
            value = true
            lock.unlock()
            received()
            signal(SIGINT, SIG_DFL)
        }
        source.resume()
    }

    public var raised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
