import Foundation

/// Image files of either format, recognised by their first bytes rather than their names.
public enum ImageFile {
    /// Largest image accepted, in pixels (2^25 ≈ 33.5 million, e.g. 8192 × 4096): checked from the header before
    /// any pixel is decoded. Its Float64 RGB copy is 805 MB.
    public static let maxPixels = 1 << 25

    /// The message for an image whose header declares a size this reader refuses.
    static func sizeRefusal(width: Int, height: Int) -> String {
        String(format: "unsupported size %d×%d (%.1f megapixels): at most 16384 per side and %.1f megapixels are read",
               width, height, Double(width) * Double(height) / 1e6, Double(maxPixels) / 1e6)
    }

    /// Reads a PNG (first bytes 89 50 4E 47) or a JPEG (FF D8 FF) file as RGB with values byte/255, whatever its
    /// name says. A missing file, any other content, or a corrupt image is an `ImageError` naming the file.
    public static func read(_ url: URL) throws -> RGBImage {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw ImageError.unreadable(path: url.path, reason: "no such file")
        }
        guard !isFolder.boolValue else { throw ImageError.unreadable(path: url.path, reason: "a folder, not an image file") }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ImageError.unreadable(path: url.path, reason: "not readable")
        }
        let magic: [UInt8]
        do {
            magic = [UInt8](try handle.read(upToCount: 4) ?? Data())
            try handle.close()
        } catch {
            try? handle.close()
            throw ImageError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        if magic.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try PNGCodec.read(url) }
        if magic.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEGCodec.read(url) }
        throw ImageError.unreadable(path: url.path, reason: "not a PNG or JPEG image")
    }

    /// True for file names ending in .png, .jpg or .jpeg in any case — the files a folder listing offers to
    /// `read`. Hidden names (a leading ".", e.g. macOS's "._photo.jpg" resource forks) are false.
    public static func isImageFileName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.hasPrefix(".") && (lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg"))
    }
}
