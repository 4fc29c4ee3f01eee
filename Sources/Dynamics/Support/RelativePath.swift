import Foundation

/// Paths written into files that refer to other files (an examples file's images).
public enum RelativePath {
    /// The path of `file` relative to the folder `base` ("../data/images/x.png"), both made absolute first.
    public static func from(_ base: URL, to file: URL) -> String {
        let b = base.standardizedFileURL.pathComponents, f = file.standardizedFileURL.pathComponents
        var common = 0
        while common < b.count && common < f.count - 1 && b[common] == f[common] { common += 1 }
        return (Array(repeating: "..", count: b.count - common) + f[common...]).joined(separator: "/")
    }
}
