import CJPEG
import Foundation

/// JPEG files through libjpeg (C shim `CJPEG`, which turns libjpeg's fatal errors into return codes).
public enum JPEGCodec {
    /// Reads a JPEG as RGB with values byte/255; an unreadable or corrupt file is an `ImageError` naming it.
    public static func read(_ url: URL) throws -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = dynamics_jpeg_read(url.path, &pixels, &width, &height, &message, message.count)
        guard status == 0, let pixels else {
            throw ImageError.unreadable(path: url.path, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { dynamics_jpeg_free(pixels) }
        let count = Int(width) * Int(height) * 3
        return try RGBImage(width: Int(width), height: Int(height), pixels: (0..<count).map { Double(pixels[$0]) / 255 })
    }

    /// Writes `image` as a baseline JPEG (lossy) at `quality` 1…100, atomically.
    public static func write(_ image: RGBImage, to url: URL, quality: Int = 95) throws {
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        var message = [CChar](repeating: 0, count: 256)
        let status = dynamics_jpeg_write(temp.path, PNGCodec.quantize(image), Int32(image.width), Int32(image.height),
                                         Int32(max(1, min(100, quality))), &message, message.count)
        guard status == 0 else {
            unlink(temp.path)
            throw ImageError.cannotEncode(path: url.path, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        guard rename(temp.path, url.path) == 0 else {
            unlink(temp.path)
            throw FileError.cannotWrite(path: url.path, reason: String(cString: strerror(errno)))
        }
    }
}

/// Image files of either format, recognised by their first bytes rather than their names.
public enum ImageFile {
    /// Reads a PNG or JPEG file; anything else is an `ImageError` naming the file.
    public static func read(_ url: URL) throws -> RGBImage {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ImageError.unreadable(path: url.path, reason: "no such file or not readable")
        }
        let magic = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        try? handle.close()
        if magic.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try PNGCodec.read(url) }
        if magic.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEGCodec.read(url) }
        throw ImageError.unreadable(path: url.path, reason: "not a PNG or JPEG image")
    }

    /// True for names ending in .png, .jpg or .jpeg (any case).
    public static func isImageFileName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.hasPrefix(".") && (lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg"))
    }
}
