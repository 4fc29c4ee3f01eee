import Dynamics
import Foundation
import Testing

@Suite struct ImageTests {
    func scratch() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("img-\(UUID().uuidString)") }

    func gradient(_ w: Int, _ h: Int) throws -> RGBImage {
        let pixels: [Double] = (0..<(w * h * 3)).map { i in
            let p = i / 3
            return Double(p % w + p / w) / Double(w + h)
        }
        return try RGBImage(width: w, height: h, pixels: pixels)
    }

    @Test func pngRoundTripIsExactOnBytesAndCorruptFilesAreErrors() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes: [Double] = (0..<60).map { i -> Double in Double((i * 37) % 256) / 255 }
        let image = try RGBImage(width: 5, height: 4, pixels: bytes)
        let url = dir.appendingPathComponent("a.png")
        try PNGCodec.write(image, to: url)
        #expect(try PNGCodec.read(url) == image)
        #expect(try ImageFile.read(url) == image)
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: url)
        #expect(throws: ImageError.self) { try PNGCodec.read(url) }
        #expect(throws: ImageError.self) { try PNGCodec.read(dir.appendingPathComponent("missing.png")) }
    }

    @Test func jpegRoundTripAndCorruptFiles() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let image = try gradient(16, 12)
        let url = dir.appendingPathComponent("a.jpg")
        try JPEGCodec.write(image, to: url, quality: 100)
        let back = try ImageFile.read(url)
        #expect(back.width == 16 && back.height == 12)
        #expect(zip(back.pixels, image.pixels).map { abs($0 - $1) }.max()! < 0.05)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: dir.appendingPathComponent("truncated.jpg"))
        _ = try? JPEGCodec.read(dir.appendingPathComponent("truncated.jpg"))  // libjpeg may pad a truncated scan; it must not crash
        try (Data([0xFF, 0xD8, 0xFF]) + Data((0..<200).map { UInt8($0 % 251) })).write(to: dir.appendingPathComponent("corrupt.jpg"))
        #expect(throws: ImageError.self) { try ImageFile.read(dir.appendingPathComponent("corrupt.jpg")) }
        try Data("GIF89a".utf8).write(to: dir.appendingPathComponent("x.gif"))
        #expect(throws: ImageError.unreadable(path: dir.appendingPathComponent("x.gif").path, reason: "not a PNG or JPEG image")) {
            try ImageFile.read(dir.appendingPathComponent("x.gif"))
        }
    }

    @Test func centreCropAndAreaResample() throws {
        let wide = try gradient(5, 3)
        let c = wide.centreCropped()
        #expect(c.width == 3 && c.height == 3 && c[0, 0, 0] == wide[1, 0, 0])
        let tall = try gradient(3, 6).centreCropped()
        #expect(tall.width == 3 && tall.height == 3)
        let g = try gradient(6, 6)
        #expect(g.areaResampled(to: 6) == g)
        let small = g.areaResampled(to: 3)
        for y in 0..<3 { for x in 0..<3 {
            let mean = (g[2 * x, 2 * y, 1] + g[2 * x + 1, 2 * y, 1] + g[2 * x, 2 * y + 1, 1] + g[2 * x + 1, 2 * y + 1, 1]) / 4
            #expect(abs(small[x, y, 1] - mean) < 1e-15)
        } }
        // 3 → 2: output pixel 0 covers input [0, 1.5): weights 2/3 and 1/3.
        var three = RGBImage(width: 3, height: 3)
        for x in 0..<3 { for y in 0..<3 { three[x, y, 0] = Double(x) } }
        let two = three.areaResampled(to: 2)
        #expect(abs(two[0, 0, 0] - 1.0 / 3.0) < 1e-15 && abs(two[1, 1, 0] - 5.0 / 3.0) < 1e-15)
    }

    @Test func canvasClipsAndDrawsGlyphs() {
        var canvas = Canvas(width: 20, height: 10, background: (1, 1, 1))
        canvas.text("1", x: 0, y: 0, colour: (0, 0, 0))
        #expect(canvas.image[2, 0, 0] == 0, "the top of '1' is its middle column")
        #expect(canvas.image[0, 0, 0] == 1)
        canvas.text("hello", x: -30, y: -3, colour: (0, 0, 0))
        canvas.fill(x: 15, y: 5, width: 100, height: 100, colour: (0, 1, 0))
        #expect(canvas.image[19, 9, 1] == 1 && canvas.image[19, 9, 0] == 0)
        var dot = RGBImage(width: 2, height: 2)
        dot[1, 1, 2] = 1
        canvas.draw(dot, atX: 18, y: 0, scale: 2)
        #expect(canvas.image[19, 0, 2] == 0 && canvas.image[18, 0, 0] == 0)
        #expect(PixelFont.smallDigit(7) == [7, 1, 1, 1, 1])
        let y = canvas.wrappedText("aaa bbb ccc", x: 0, y: 0, maxWidth: 24, colour: (0, 0, 0))
        #expect(y == 3 * 9, "three lines of three letters at 4 characters per line")
    }
}
