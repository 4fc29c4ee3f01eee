import CPNG
import Foundation

/// PNG files through libpng's simplified API. Pixels are 8-bit; a value v ∈ [0, 1] is stored as round(255·v),
/// and read back as byte / 255. Grey inputs are expanded to RGB; an alpha channel is ignored (the colour bytes are
/// read as stored, not composited), so a pixel is always its stored byte / 255 for 8-bit sRGB files.
public enum PNGCodec {
    /// Reads a PNG file; an unreadable or corrupt file is an `ImageError` naming it. The size is read from the
    /// header first: more than `ImageFile.maxPixels` pixels, or (with `expectedSide`) not expectedSide × expectedSide,
    /// is refused before any pixel is decoded.
    public static func read(_ url: URL) throws -> RGBImage { try read(url, expectedSide: nil) }

    /// The same, refusing from the header alone an image that is not expectedSide × expectedSide (when given).
    public static func read(_ url: URL, expectedSide: Int?) throws -> RGBImage {
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw ImageError.unreadable(path: url.path, reason: "no such file or not readable")
        }
        let data = try AtomicFile.read(url, what: "image")
        return try decode(data, source: url.path, expectedSide: expectedSide)
    }

    /// Decodes PNG bytes; `source` names them in errors. See `read`.
    public static func decode(_ data: Data, source: String, expectedSide: Int? = nil, maxPixels: Int = ImageFile.maxPixels) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { raw in
            raw.count == 0 ? 0 : png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard begun != 0 else {
            let reason = data.isEmpty ? "empty file" : message(of: &image)
            png_image_free(&image)
            throw ImageError.unreadable(path: source, reason: reason)
        }
        // Read as RGBA, so that libpng never composites alpha onto a background; the alpha bytes are dropped below.
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width <= 1 << 14, height <= 1 << 14, width * height <= maxPixels else {
            png_image_free(&image)
            throw ImageError.unreadable(path: source, reason: ImageFile.sizeRefusal(width: width, height: height))
        }
        if let side = expectedSide, width != side || height != side {
            png_image_free(&image)
            throw ImageError.wrongSize(path: source, expected: side, width: width, height: height)
        }
        var bytes = [UInt8](repeating: 0, count: width * height * 4)
        let ok = data.withUnsafeBytes { raw in
            bytes.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * 4), nil) }
        }
        guard ok != 0 else {
            let reason = message(of: &image)
            png_image_free(&image)
            throw ImageError.unreadable(path: source, reason: reason)
        }
        var pixels = [Double](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            for c in 0..<3 { pixels[3 * p + c] = Double(bytes[4 * p + c]) / 255 }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The bytes written for `image` (round(255·v), clamped to [0, 255]).
    public static func quantize(_ image: RGBImage) -> [UInt8] {
        image.pixels.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
    }

    /// Writes `image` as an 8-bit RGB PNG, atomically (`durable`: see `AtomicFile.write`).
    public static func write(_ image: RGBImage, to url: URL, durable: Bool = true) throws {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = UInt32(PNG_FORMAT_RGB)
        let bytes = quantize(image)
        var size: Int = 0
        // First call sizes the buffer, second fills it.
        guard png_image_write_to_memory(&png, nil, &size, 0, bytes, Int32(image.width * 3), nil) != 0 else {
            throw ImageError.cannotEncode(path: url.path, reason: message(of: &png))
        }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&png, $0.baseAddress, &size, 0, bytes, Int32(image.width * 3), nil) }
        guard ok != 0 else { throw ImageError.cannotEncode(path: url.path, reason: message(of: &png)) }
        try AtomicFile.write(Data(out.prefix(size)), to: url, durable: durable)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "not a readable PNG" : text
        }
    }
}

/// Image files that cannot be used.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case cannotEncode(path: String, reason: String)
    case wrongSize(path: String, expected: Int, width: Int, height: Int)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read image \(path): \(reason)"
        case let .cannotEncode(path, reason): "cannot encode image \(path): \(reason)"
        case let .wrongSize(path, expected, width, height): "image \(path) is \(width)×\(height), the model needs \(expected)×\(expected)"
        }
    }
}
