import CGlibc
import Foundation

/// Crash-safe file output: write to a temporary name in the same directory, fsync, rename.
/// A reader sees either the old file or the complete new one, never a torn write.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating parent directories as needed. `durable: false` skips the fsyncs
    /// (a reader still sees the old file or the whole new one; only a power cut could lose it): for many small files
    /// that one `syncFileSystem(containing:)` makes durable together, before the file that refers to them is written.
    public static func write(_ data: Data, to url: URL, durable: Bool = true) throws {
        try replace(url, durable: durable) { temp in
            let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            guard fd >= 0 else { throw FileError.cannotWrite(path: url.path, reason: String(cString: strerror(errno))) }
            var failure: String? = nil
            data.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 { if errno == EINTR { continue }; failure = String(cString: strerror(errno)); return }
                    done += n
                }
            }
            if failure == nil && durable && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
            close(fd)
            if let failure { throw FileError.cannotWrite(path: url.path, reason: failure) }
        }
    }

    /// Puts a file at `url` atomically: `produce` creates, fills and fsyncs the file at the temporary path it is
    /// given (in the same directory); then one rename puts it in place. On any failure the temporary file is
    /// removed and `url` is untouched.
    public static func replace(_ url: URL, durable: Bool = true, producing produce: (URL) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw FileError.cannotWrite(path: url.path, reason: "cannot create folder \(dir.path): \(error.localizedDescription)")
        }
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do { try produce(temp) } catch {
            unlink(temp.path)
            throw error
        }
        guard rename(temp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw FileError.cannotWrite(path: url.path, reason: reason)
        }
        if durable { syncDirectory(dir) }
    }

    /// Makes every write to the file system holding `url` durable (syncfs): one call after many `durable: false`
    /// writes, in place of an fsync of each file and of its folder.
    public static func syncFileSystem(containing url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotWrite(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard cglibc_syncfs(fd) == 0 else { throw FileError.cannotWrite(path: url.path, reason: String(cString: strerror(errno))) }
    }

    /// fsyncs a directory so that a rename inside it is durable.
    static func syncDirectory(_ dir: URL) {
        let fd = open(dir.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Reads a whole file, with an error naming it.
    public static func read(_ url: URL, what: String) throws -> Data {
        do { return try Data(contentsOf: url) } catch {
            throw FileError.cannotRead(path: url.path, what: what, reason: (error as NSError).localizedFailureReason ?? "no such file or not readable")
        }
    }
}

/// Failures to read or write files.
public enum FileError: Error, Equatable, CustomStringConvertible {
    case cannotRead(path: String, what: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case exists(path: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, what, reason): "cannot read \(what) \(path): \(reason)"
        case let .cannotWrite(path, reason): "cannot write \(path): \(reason)"
        case let .exists(path): "\(path) already exists; pass --force to replace it"
        }
    }
}
