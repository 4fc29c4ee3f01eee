import Foundation

/// The one policy for outputs, `--force` included:
/// - an output path must not be empty or root-like (`/`, the current folder or one of its ancestors, the home
///   folder or one of its ancestors): such a path is an error before anything is written;
/// - without `--force` no existing file or folder a command would write is touched (the command fails first);
/// - with `--force` a command replaces only the files it writes itself: a checkpoint folder is replaced as a whole
///   only when it holds nothing but checkpoint files (`Checkpoint.fileNames`), anything else in it is an error;
/// - hidden staging leftovers of a killed writer (`.NAME.new-PID-…`, `.NAME.old-PID-…`, `.NAME.tmp-PID-…`) are
///   removed by the next writer in the same folder once process PID is gone.
public enum SafeOutput {
    /// Throws unless `path`, given as `flag`, may name an output: not empty, not root-like.
    public static func checkPath(_ path: String, flag: String = "--out") throws {
        guard !path.trimmingCharacters(in: .whitespaces).isEmpty else { throw OutputError.emptyPath(flag: flag) }
        let target = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().pathComponents
        if target.count <= 1 { throw OutputError.rootLike(flag: flag, path: path, what: "the file-system root") }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.resolvingSymlinksInPath().pathComponents
        if cwd.starts(with: target) { throw OutputError.rootLike(flag: flag, path: path, what: target == cwd ? "the current folder" : "an ancestor of the current folder") }
        let home = FileManager.default.homeDirectoryForCurrentUser.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        if home.count > 1, home.starts(with: target) { throw OutputError.rootLike(flag: flag, path: path, what: "the home folder or an ancestor of it") }
    }

    /// Throws before any work when one of `urls` exists and `force` is false: nothing is overwritten by accident.
    /// An existing folder where a file is to be written is an error even with `force`.
    public static func checkWritable(_ urls: [URL], force: Bool) throws {
        for url in urls {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue { throw OutputError.folderInTheWay(path: url.path) }
            if !force { throw FileError.exists(path: url.path) }
        }
    }

    /// Throws unless the folder `url` may be replaced as a whole by a writer of the files `names`: it does not
    /// exist, or it is a folder holding only files named in `names` (and hidden leftovers of killed writers).
    public static func checkReplaceableFolder(_ url: URL, holding names: Set<String>) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue else { throw OutputError.notReplaceable(path: url.path, reason: "it is a file, not a folder") }
        let contents: [String]
        do { contents = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw OutputError.notReplaceable(path: url.path, reason: "its contents cannot be listed (\(error.localizedDescription))")
        }
        if let foreign = contents.sorted().first(where: { !names.contains($0) }) {
            throw OutputError.notReplaceable(path: url.path, reason: "it holds '\(foreign)', which this command does not write")
        }
    }

    /// Removes the hidden staging leftovers in `folder` (`.NAME.new-PID-R`, `.NAME.old-PID-R`, `.NAME.tmp-PID-R`)
    /// whose writer PID is no longer running; a `.old-` folder whose NAME is missing is put back as NAME (the
    /// writer was killed between its two renames, and the old copy is the last complete one). Returns the names
    /// removed or restored.
    @discardableResult
    public static func removeLeftovers(in folder: URL) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var handled: [String] = []
        for name in names.sorted() where name.hasPrefix(".") {
            guard let (target, kind, pid) = leftover(name), !isRunning(pid) else { continue }
            let url = folder.appendingPathComponent(name)
            let targetURL = folder.appendingPathComponent(target)
            if kind == "old" && !FileManager.default.fileExists(atPath: targetURL.path) {
                if (try? FileManager.default.moveItem(at: url, to: targetURL)) != nil { handled.append(name) }
                continue
            }
            if (try? FileManager.default.removeItem(at: url)) != nil { handled.append(name) }
        }
        return handled
    }

    /// `.NAME.KIND-PID-RANDOM` → (NAME, KIND, PID) for KIND in new, old, tmp.
    static func leftover(_ name: String) -> (String, String, Int32)? {
        for kind in ["new", "old", "tmp"] {
            guard let r = name.range(of: ".\(kind)-", options: .backwards), r.lowerBound > name.index(after: name.startIndex) else { continue }
            let tail = name[r.upperBound...].split(separator: "-")
            guard tail.count == 2, let pid = Int32(tail[0]), pid > 0, UInt32(tail[1]) != nil else { continue }
            return (String(name[name.index(after: name.startIndex)..<r.lowerBound]), kind, pid)
        }
        return nil
    }

    static func isRunning(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

/// Outputs refused by `SafeOutput`.
public enum OutputError: Error, Equatable, CustomStringConvertible {
    case emptyPath(flag: String)
    case rootLike(flag: String, path: String, what: String)
    case folderInTheWay(path: String)
    case notReplaceable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .emptyPath(flag): "\(flag) is empty; give the path of the output"
        case let .rootLike(flag, path, what): "\(flag) '\(path)' is \(what); refusing to write there (choose a new folder)"
        case let .folderInTheWay(path): "\(path) is a folder; the output is a file, so it cannot be written there (not even with --force)"
        case let .notReplaceable(path, reason): "\(path) cannot be replaced: \(reason); --force replaces only the files a command writes itself"
        }
    }
}
