import CJPEG
import Foundation

/// JPEG files through libjpeg (C target `CJPEG`, which turns libjpeg's fatal errors — a longjmp Swift cannot catch —
/// into return codes). Pixels are 8-bit: a byte b reads as b / 255, a value v ∈ [0, 1] is written as round(255·v).
public enum JPEGCodec {
    /// Reads a JPEG file as RGB with values byte/255 (greyscale files come back grey in all three channels).
    /// A missing, truncated, corrupt or CMYK file, or one wider or taller than 16384 pixels or larger than
    /// `ImageFile.maxPixels`, is an `ImageError` naming it (the size is checked from the header, before decoding).
    public static func read(_ url: URL) throws -> RGBImage { try read(url, expectedSide: nil) }

    /// The same, refusing from the header alone an image that is not expectedSide × expectedSide (when given).
    public static func read(_ url: URL, expectedSide: Int?) throws -> RGBImage {
        try decoded(source: url.path, expectedSide: expectedSide) { pixels, width, height, message, length in
            dynamics_jpeg_read(url.path, ImageFile.maxPixels, pixels, width, height, message, length)
        }
    }

    /// Decodes JPEG bytes; `source` names them in errors. See `read`.
    public static func decode(_ data: Data, source: String, expectedSide: Int? = nil, maxPixels: Int = ImageFile.maxPixels) throws -> RGBImage {
        try data.withUnsafeBytes { raw in
            try decoded(source: source, expectedSide: expectedSide) { pixels, width, height, message, length in
                dynamics_jpeg_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, maxPixels, pixels, width, height, message, length)
            }
        }
    }

    private static func decoded(source: String, expectedSide: Int?,
                                _ call: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>,
                                         UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { call(&pixels, &width, &height, $0.baseAddress!, $0.count) }
        defer { dynamics_jpeg_free(pixels) }
        guard status == 0, let pixels, width > 0, height > 0 else {
            throw ImageError.unreadable(path: source, reason: text(message, otherwise: "not a readable JPEG"))
        }
        if let side = expectedSide, width != side || height != side {
            throw ImageError.wrongSize(path: source, expected: side, width: Int(width), height: Int(height))
        }
        let bytes = UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 3)
        return try RGBImage(width: Int(width), height: Int(height), pixels: bytes.map { Double($0) / 255 })
    }

    /// Writes `image` as a baseline JPEG (lossy) at `quality` 1…100 (clamped; full-resolution chroma from 90 up),
    /// atomically: a temporary file in the same folder, fsynced, then renamed over `url`. Creates the folder.
    /// Values are stored as round(255·v) clamped to [0, 255]. Failures are `ImageError.cannotEncode` or
    /// `FileError.cannotWrite` naming `url`.
    public static func write(_ image: RGBImage, to url: URL, quality: Int = 95) throws {
        guard image.width > 0, image.height > 0 else {
            throw ImageError.cannotEncode(path: url.path, reason: "empty image (\(image.width)×\(image.height))")
        }
        try AtomicFile.replace(url) { temp in
            var message = [CChar](repeating: 0, count: 256)
            let status = dynamics_jpeg_write(temp.path, PNGCodec.quantize(image), Int32(image.width), Int32(image.height),
                                             Int32(max(1, min(100, quality))), &message, message.count)
            guard status == 0 else { throw ImageError.cannotEncode(path: url.path, reason: text(message, otherwise: "libjpeg failed")) }
        }
    }

    /// The NUL-terminated text the C side wrote, or `otherwise` when it wrote none.
    private static func text(_ message: [CChar], otherwise: String) -> String {
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? otherwise : text
    }
}
