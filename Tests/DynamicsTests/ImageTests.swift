@testable import Dynamics
import CPNG
import Foundation
import Testing

@Suite struct ImageTests {
    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("img-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A smooth image: channel c of (x, y) rises along x + y, each channel a different slope.
    func gradient(_ w: Int, _ h: Int) throws -> RGBImage {
        let pixels: [Double] = (0..<(w * h * 3)).map { i in
            let p = i / 3, c = i % 3
            return Double(p % w + p / w) / Double(w + h) * (1 - 0.2 * Double(c)) + 0.1 * Double(c)
        }
        return try RGBImage(width: w, height: h, pixels: pixels)
    }

    /// Values k / 97 (k cycling over 0…96), so nothing is a multiple of a power of two by accident.
    func irregular(_ w: Int, _ h: Int) throws -> RGBImage {
        try RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { Double(($0 * 37 + 11) % 97) / 97 })
    }

    func maxAbsDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        zip(a.pixels, b.pixels).map { abs($0 - $1) }.max() ?? 0
    }

    /// The `ImageError` `body` throws, or nil (recording an issue) when it throws nothing or something else.
    func imageError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> ImageError? {
        do { try body() } catch let error as ImageError { return error } catch {
            Issue.record("expected an ImageError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
        Issue.record("expected an ImageError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    }

    // MARK: PNG and JPEG files

    @Test func pngRoundTripIsExactOnBytesAndCorruptFilesAreErrors() throws {
        let dir = try scratch()
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

    @Test func pngAlphaIsIgnoredNotComposited() throws {
        // A 2×1 RGBA image: an opaque pixel and a half-transparent one; both read as their stored bytes / 255.
        let rgba: [UInt8] = [200, 100, 50, 255, 10, 220, 130, 128]
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = 2
        png.height = 1
        png.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rgba-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(png_image_write_to_file(&png, url.path, 0, rgba, 8, nil) != 0)
        let image = try PNGCodec.read(url)
        #expect(image.pixels == [200, 100, 50, 10, 220, 130].map { Double($0) / 255 })
    }

    @Test func jpegRoundTripAtQuality100() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try gradient(16, 12)
        let url = dir.appendingPathComponent("sub/a.jpg")  // write creates the folder
        try JPEGCodec.write(image, to: url, quality: 100)
        let back = try JPEGCodec.read(url)
        #expect(back.width == 16 && back.height == 12)
        let error = maxAbsDifference(back, image)
        #expect(error < 0.05, "max abs error \(error) after a quality-100 round trip")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sub").path)
        #expect(names == ["a.jpg"], "no temporary file left behind: \(names)")
        // Low quality still decodes to the right size, and roughly the right values.
        try JPEGCodec.write(image, to: url, quality: 10)
        let rough = try JPEGCodec.read(url)
        #expect(rough.width == 16 && rough.height == 12 && maxAbsDifference(rough, image) < 0.25)
    }

    @Test func greyscaleJPEGReadsAsEqualRGBChannels() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 8×8 greyscale, quality 100, made with libjpeg: pixel (x, y) = 16x + 8y.
        let base64 = "/9j/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABwQAAAGAwAAAAAAAAAAAAAAAAAICSQ1Q1Rhcv/aAAgBAQAAPwAn02y2wDDGq50P/9k="
        let url = dir.appendingPathComponent("grey.jpeg")
        try #require(Data(base64Encoded: base64)).write(to: url)
        let image = try ImageFile.read(url)
        #expect(image.width == 8 && image.height == 8)
        for y in 0..<8 { for x in 0..<8 {
            #expect(image[x, y, 0] == image[x, y, 1] && image[x, y, 1] == image[x, y, 2])
            #expect(abs(image[x, y, 0] - Double(16 * x + 8 * y) / 255) <= 3.0 / 255, "pixel (\(x), \(y)) = \(image[x, y, 0] * 255)")
        } }
    }

    @Test func corruptTruncatedAndMissingJPEGsAreErrorsNamingTheFile() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.jpg")
        try JPEGCodec.write(try irregular(40, 32), to: good, quality: 90)  // noisy: a long scan
        let data = try Data(contentsOf: good)
        // The entropy-coded data starts after the start-of-scan marker FF DA.
        let bytes = [UInt8](data)
        let sos = try #require((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        #expect(data.count - sos > 100, "the scan is long enough to cut")

        var cases: [(String, Data)] = [
            ("corrupt.jpg", Data([0xFF, 0xD8, 0xFF]) + Data((0..<200).map { UInt8(($0 * 73 + 5) % 256) })),
            ("half.jpg", data.prefix(data.count / 2)),
            ("truncated.jpg", data.prefix(sos + (data.count - sos) / 2)),
            ("header-only.jpg", data.prefix(20)),
            ("magic-only.jpg", Data([0xFF, 0xD8, 0xFF])),
            ("no-end-marker.jpg", data.prefix(data.count - 2)),
        ]
        var garbled = data
        for i in stride(from: data.count / 3, to: data.count - 2, by: 7) { garbled[i] = 0xFF }
        cases.append(("garbled.jpg", garbled))
        for (name, bytes) in cases {
            let url = dir.appendingPathComponent(name)
            try bytes.write(to: url)
            if name == "garbled.jpg" {
                // libjpeg may recover from damaged entropy data; what matters is no crash.
                _ = try? ImageFile.read(url)
                continue
            }
            if name == "no-end-marker.jpg" {
                // Only the end marker is missing: every pixel is there, and the image reads.
                #expect(try ImageFile.read(url) == JPEGCodec.read(good))
                continue
            }
            for read in [JPEGCodec.read, ImageFile.read] {
                guard let error = imageError({ _ = try read(url) }) else { continue }
                #expect(error.description.contains(url.path), "\(name): \(error)")
                if case .unreadable = error {} else { Issue.record("\(name): \(error) should be .unreadable") }
            }
        }
        let truncated = imageError { _ = try JPEGCodec.read(dir.appendingPathComponent("truncated.jpg")) }
        #expect(truncated?.description.contains("Premature end of JPEG file") == true, "\(String(describing: truncated))")
        let missing = dir.appendingPathComponent("missing.jpg")
        #expect(imageError { _ = try JPEGCodec.read(missing) }?.description.contains(missing.path) == true)
        #expect(imageError { _ = try ImageFile.read(missing) }?.description.contains(missing.path) == true)
    }

    @Test func jpegWriteFailuresAreErrors() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("empty.jpg")
        #expect(throws: ImageError.cannotEncode(path: target.path, reason: "empty image (0×0)")) {
            try JPEGCodec.write(RGBImage(width: 0, height: 0), to: target)
        }
        // A regular file where the folder should be.
        let blocker = dir.appendingPathComponent("blocker")
        try Data([1]).write(to: blocker)
        #expect(throws: FileError.self) { try JPEGCodec.write(try gradient(4, 4), to: blocker.appendingPathComponent("x.jpg")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["blocker"])
    }

    @Test func imageFileSniffsContentNotExtension() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try gradient(6, 5)
        // A PNG named .jpg and a JPEG named .png, and neither with an extension.
        let pngAsJpg = dir.appendingPathComponent("really-png.jpg"), jpegAsPng = dir.appendingPathComponent("really-jpeg.png")
        let tmpPNG = dir.appendingPathComponent("p.png"), tmpJPEG = dir.appendingPathComponent("j.jpg")
        try PNGCodec.write(image, to: tmpPNG)
        try JPEGCodec.write(image, to: tmpJPEG, quality: 100)
        try FileManager.default.moveItem(at: tmpPNG, to: pngAsJpg)
        try FileManager.default.moveItem(at: tmpJPEG, to: jpegAsPng)
        #expect(try ImageFile.read(pngAsJpg) == PNGCodec.read(pngAsJpg))
        #expect(maxAbsDifference(try ImageFile.read(jpegAsPng), image) < 0.05)
        let bare = dir.appendingPathComponent("noextension")
        try FileManager.default.copyItem(at: jpegAsPng, to: bare)
        #expect(try ImageFile.read(bare) == JPEGCodec.read(bare))

        for (name, bytes) in [("x.gif", Data("GIF89a".utf8)), ("empty.png", Data()), ("short.jpg", Data([0xFF, 0xD8]))] {
            let url = dir.appendingPathComponent(name)
            try bytes.write(to: url)
            #expect(throws: ImageError.unreadable(path: url.path, reason: "not a PNG or JPEG image")) { try ImageFile.read(url) }
        }
        let folder = dir.appendingPathComponent("folder.png")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        #expect(imageError { _ = try ImageFile.read(folder) }?.description.contains(folder.path) == true)
    }

    @Test func imageFileNames() {
        for name in ["a.png", "B.PNG", "photo.jpg", "IMG_0001.JPG", "x.jpeg", "x.JpEg", "two.dots.png"] {
            #expect(ImageFile.isImageFileName(name), "\(name)")
        }
        for name in ["a.gif", "png", "a.png.txt", "a.jpgx", "._photo.jpg", ".hidden.png", "", "jpeg"] {
            #expect(!ImageFile.isImageFileName(name), "\(name)")
        }
    }

    // MARK: Centre crop and area resampling

    @Test func centreCropKeepsTheMiddleAndDropsTheOddPixelBottomRight() throws {
        let wide = try irregular(5, 3)  // excess 2: one column off each side
        let c = wide.centreCropped()
        #expect(c.width == 3 && c.height == 3)
        for y in 0..<3 { for x in 0..<3 { for ch in 0..<3 { #expect(c[x, y, ch] == wide[x + 1, y, ch]) } } }
        let tall = try irregular(3, 6)  // excess 3: one row off the top, two off the bottom
        let t = tall.centreCropped()
        #expect(t.width == 3 && t.height == 3)
        for y in 0..<3 { for x in 0..<3 { for ch in 0..<3 { #expect(t[x, y, ch] == tall[x, y + 1, ch]) } } }
        let square = try irregular(4, 4)
        #expect(square.centreCropped() == square)
    }

    @Test func areaResampleIsTheIdentityAtTheSameSize() throws {
        for n in [1, 3, 6, 24] {
            let image = try irregular(n, n)
            #expect(image.areaResampled(to: n) == image, "\(n)×\(n)")
        }
    }

    @Test func areaResampleByAnIntegerFactorIsTheBlockMeanExactly() throws {
        let g = try irregular(4, 4)
        let small = g.areaResampled(to: 2)
        #expect(small.width == 2 && small.height == 2)
        for y in 0..<2 { for x in 0..<2 { for c in 0..<3 {
            let mean = (g[2 * x, 2 * y, c] + g[2 * x + 1, 2 * y, c] + g[2 * x, 2 * y + 1, c] + g[2 * x + 1, 2 * y + 1, c]) / 4
            #expect(small[x, y, c] == mean, "(\(x), \(y), \(c)): \(small[x, y, c]) vs \(mean)")
        } } }
        // 9 → 3: 3×3 blocks, summed row by row.
        let nine = try irregular(9, 9)
        let three = nine.areaResampled(to: 3)
        for y in 0..<3 { for x in 0..<3 { for c in 0..<3 {
            var sum = 0.0
            for yy in 0..<3 { for xx in 0..<3 { sum += nine[3 * x + xx, 3 * y + yy, c] } }
            #expect(three[x, y, c] == sum / 9)
        } } }
        // Everything to one pixel: the global mean.
        let one = g.areaResampled(to: 1)
        for c in 0..<3 {
            let mean = stride(from: c, to: g.pixels.count, by: 3).map { g.pixels[$0] }.reduce(0, +) / 16
            #expect(abs(one[0, 0, c] - mean) < 1e-15)
        }
    }

    @Test func areaResampleThreeToTwoUsesFractionalWeights() throws {
        // Output pixel 0 covers input [0, 1.5): input 0 whole, input 1 half → weights 2/3, 1/3 per axis;
        // output pixel 1 covers [1.5, 3): weights 1/3 (input 1), 2/3 (input 2).
        let a = try irregular(3, 3)
        let w: [[Double]] = [[2.0 / 3, 1.0 / 3, 0], [0, 1.0 / 3, 2.0 / 3]]
        let two = a.areaResampled(to: 2)
        for oy in 0..<2 { for ox in 0..<2 { for c in 0..<3 {
            var expected = 0.0
            for iy in 0..<3 { for ix in 0..<3 { expected += w[oy][iy] * w[ox][ix] * a[ix, iy, c] } }
            #expect(abs(two[ox, oy, c] - expected) < 1e-15, "(\(ox), \(oy), \(c)): \(two[ox, oy, c]) vs \(expected)")
        } } }
        // By hand for one pixel: (4·a00 + 2·a10 + 2·a01 + 1·a11) / 9.
        let hand = (4 * a[0, 0, 1] + 2 * a[1, 0, 1] + 2 * a[0, 1, 1] + a[1, 1, 1]) / 9
        #expect(abs(two[0, 0, 1] - hand) < 1e-15)
        // Upsampling 2 → 3: the middle output straddles both inputs equally.
        var ramp = RGBImage(width: 2, height: 2)
        for y in 0..<2 { ramp[1, y, 0] = 1 }
        let up = ramp.areaResampled(to: 3)
        #expect(up[0, 1, 0] == 0 && up[2, 1, 0] == 1 && abs(up[1, 1, 0] - 0.5) < 1e-15)
    }

    @Test func areaResampleKeepsConstantsAndHandlesEdgeSizes() throws {
        let constant = try RGBImage(width: 7, height: 7, pixels: (0..<147).map { [0.3, 0.6, 0.9][$0 % 3] })
        for size in [1, 2, 3, 5, 7, 10, 24] {
            let r = constant.areaResampled(to: size)
            #expect(r.width == size && r.height == size)
            for (i, v) in r.pixels.enumerated() { #expect(abs(v - [0.3, 0.6, 0.9][i % 3]) < 1e-15) }
        }
        #expect(constant.areaResampled(to: 0).pixels.isEmpty)
        #expect(constant.areaResampled(to: -3).pixels.isEmpty)
        #expect(RGBImage(width: 0, height: 0).areaResampled(to: 2) == RGBImage(width: 2, height: 2))
        // Non-square input: each axis on its own.
        let wide = try irregular(6, 3).areaResampled(to: 3)
        #expect(wide.width == 3 && wide.height == 3)
        // Every tap set's overlaps add up to the total.
        for (n, m) in [(3, 2), (2, 3), (7, 24), (24, 7), (100, 24), (5, 5)] {
            let (taps, total) = RGBImage.areaWeights(from: n, to: m)
            #expect(taps.allSatisfy { $0.reduce(0) { $0 + $1.1 } == total }, "\(n) → \(m)")
        }
    }

    // MARK: Fonts

    @Test func everyPrintableCharacterHasADistinctGlyph() throws {
        var seen: [[UInt8]: Character] = [:]
        for code in UInt8(32)...UInt8(126) {
            let c = Character(Unicode.Scalar(code))
            let rows = try #require(PixelFont.glyph(c), "\(c)")
            #expect(rows.count == PixelFont.glyphHeight && rows.allSatisfy { $0 < 32 }, "\(c)")
            if c != " " { #expect(rows.contains { $0 != 0 }, "'\(c)' has ink") }
            if let other = seen[rows] { Issue.record("'\(c)' looks like '\(other)'") }
            seen[rows] = c
            // `glyph` and `ink` agree.
            for y in 0..<7 { for x in 0..<5 { #expect((rows[y] >> (4 - x) & 1 != 0) == PixelFont.ink(c, x: x, y: y)) } }
        }
        #expect(PixelFont.glyph("T")?.first == 0b11111)
        #expect(PixelFont.glyph("é") == nil && PixelFont.glyph("\n") == nil && PixelFont.glyph("\u{7F}") == nil)
    }

    @Test func smallDigitsAreTenDistinctThreeByFiveGlyphs() {
        let digits = (0..<10).map(PixelFont.smallDigit)
        #expect(Set(digits).count == 10)
        #expect(digits.allSatisfy { $0.count == 5 && $0.allSatisfy { $0 < 8 } })
        #expect(PixelFont.smallDigit(7) == [7, 1, 1, 1, 1])
        #expect(PixelFont.smallDigit(1) == [2, 6, 2, 2, 7])
        #expect(PixelFont.smallDigit(-3) == PixelFont.smallDigit(7) && PixelFont.smallDigit(12) == PixelFont.smallDigit(2))
    }

    // MARK: Canvas

    @Test func glyphPixelsLandWhereExpected() {
        var canvas = Canvas(width: 20, height: 10, background: (1, 1, 1))
        canvas.text("1", x: 0, y: 0, colour: (0, 0, 0))
        #expect(canvas.image[2, 0, 0] == 0, "the top of '1' is its middle column")
        #expect(canvas.image[0, 0, 0] == 1 && canvas.image[1, 0, 0] == 1)
        #expect(canvas.image[1, 6, 0] == 0 && canvas.image[3, 6, 0] == 0, "the foot of '1' is three wide")
        // "T" at (7, 2): the top bar covers x 7…11 on row 2, the stem is x = 9 below it.
        canvas.text("T", x: 7, y: 2, colour: (1, 0, 0))
        for x in 7...11 { #expect(canvas.image[x, 2, 1] == 0) }
        #expect(canvas.image[6, 2, 1] == 1 && canvas.image[12, 2, 1] == 1)
        for y in 3...8 { #expect(canvas.image[9, y, 1] == 0 && canvas.image[8, y, 1] == 1) }
        // The second character starts 6 px on.
        var two = Canvas(width: 20, height: 8, background: (1, 1, 1))
        two.text("-T", x: 0, y: 0, colour: (0, 0, 0))
        #expect(two.image[6, 0, 0] == 0 && two.image[5, 0, 0] == 1)
        // Scale 2: the '1''s top pixel becomes a 2×2 block at (4, 0).
        var big = Canvas(width: 20, height: 20, background: (1, 1, 1))
        big.text("1", x: 0, y: 0, colour: (0, 0, 0), scale: 2)
        #expect(big.image[4, 0, 0] == 0 && big.image[5, 1, 0] == 0 && big.image[3, 0, 0] == 1 && big.image[6, 0, 0] == 1)
        // A newline goes back to x and down `lineHeight`·scale.
        var lines = Canvas(width: 20, height: 30, background: (1, 1, 1))
        lines.text("-\n1", x: 3, y: 1, colour: (0, 0, 0), scale: 1)
        #expect(lines.image[5, 1 + Canvas.lineHeight, 0] == 0)
        // Unknown characters draw as '?'.
        var a = Canvas(width: 6, height: 7, background: (1, 1, 1)), b = a
        a.text("é", x: 0, y: 0, colour: (0, 0, 0))
        b.text("?", x: 0, y: 0, colour: (0, 0, 0))
        #expect(a.image == b.image && a.image.pixels.contains(0))
    }

    @Test func smallDigitsDrawFourPixelsApart() {
        var canvas = Canvas(width: 12, height: 6, background: (0, 0, 0))
        canvas.digits("17", x: 1, y: 0, colour: (1, 1, 1))
        // '1' = rows [2, 6, 2, 2, 7] at x 1…3; '7' = [7, 1, 1, 1, 1] at x 5…7.
        #expect(canvas.image[2, 0, 0] == 1 && canvas.image[1, 0, 0] == 0 && canvas.image[3, 0, 0] == 0)
        #expect(canvas.image[1, 4, 0] == 1 && canvas.image[3, 4, 0] == 1)
        #expect((5...7).allSatisfy { canvas.image[$0, 0, 0] == 1 } && canvas.image[7, 4, 0] == 1 && canvas.image[5, 4, 0] == 0)
        #expect((0..<6).allSatisfy { canvas.image[4, $0, 0] == 0 && canvas.image[8, $0, 0] == 0 }, "1 px gaps")
        var spaced = Canvas(width: 12, height: 6, background: (0, 0, 0))
        spaced.digits("a7", x: 1, y: 0, colour: (1, 1, 1))
        #expect(spaced.image[5, 0, 0] == 1 && !(1...3).contains { spaced.image[$0, 0, 0] == 1 }, "a non-digit leaves its cell blank")
    }

    @Test func scaleTwoBlitOfATwoByTwoImage() throws {
        let source = try RGBImage(width: 2, height: 2, pixels: [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1])
        var canvas = Canvas(width: 6, height: 6, background: (0.5, 0.5, 0.5))
        canvas.draw(source, atX: 1, y: 1, scale: 2)
        for y in 0..<6 { for x in 0..<6 { for c in 0..<3 {
            let inside = (1...4).contains(x) && (1...4).contains(y)
            let expected = inside ? source[(x - 1) / 2, (y - 1) / 2, c] : 0.5
            #expect(canvas.image[x, y, c] == expected, "(\(x), \(y), \(c))")
        } } }
        // Partly off the top-left: at scale 2 from (−3, −3) only source pixel (1, 1) reaches pixel (0, 0).
        var clipped = Canvas(width: 3, height: 3, background: (0, 0, 0))
        clipped.draw(source, atX: -3, y: -3, scale: 2)
        #expect(clipped.image[0, 0, 0] == 1 && clipped.image[0, 0, 1] == 1 && clipped.image[1, 0, 0] == 0 && clipped.image[0, 1, 0] == 0)
        var offset = Canvas(width: 3, height: 3, background: (0, 0, 0))
        offset.draw(source, atX: -1, y: 0, scale: 2)  // column 0 shows the right half of source x = 0
        #expect(offset.image[0, 0, 0] == 1 && offset.image[1, 0, 1] == 1 && offset.image[2, 0, 1] == 1)
    }

    @Test func drawingAnywhereNeverTraps() throws {
        var canvas = Canvas(width: 20, height: 10, background: (1, 1, 1))
        let extremes = [Int.min, Int.min + 1, -1_000_000, -30, -1, 20, 1_000_000, Int.max - 1, Int.max]
        let source = try irregular(3, 2)
        for x in extremes { for y in extremes {
            canvas.text("hello\nworld", x: x, y: y, colour: (0, 0, 0), scale: 3)
            canvas.text("x", x: x, y: y, colour: (0, 0, 0), scale: Int.max)
            canvas.digits("0123", x: x, y: y, colour: (0, 0, 0))
            canvas.wrappedText("a b c", x: x, y: y, maxWidth: 12, colour: (0, 0, 0))
            canvas.fill(x: x, y: y, width: Int.max, height: 0, colour: (0, 0, 0))
            canvas.fill(x: x, y: y, width: -5, height: 4, colour: (0, 0, 0))
            canvas.draw(source, atX: x, y: y, scale: 1 << 40)
            canvas.draw(source, atX: x, y: y, scale: -2)
        } }
        _ = canvas.wrappedText("a b", x: 0, y: Int.max, maxWidth: Int.min, colour: (0, 0, 0))
        // Something large enough starting far up-left covers the canvas; a huge fill too.
        var cover = Canvas(width: 4, height: 4, background: (0, 0, 0))
        cover.fill(x: Int.min, y: Int.min, width: Int.max, height: Int.max, colour: (1, 1, 1))
        #expect(cover.image.pixels.allSatisfy { $0 == 0 }, "[Int.min, −1] misses the canvas")
        cover.fill(x: -5, y: -5, width: Int.max, height: Int.max, colour: (1, 1, 1))
        #expect(cover.image.pixels.allSatisfy { $0 == 1 })
        var huge = Canvas(width: 4, height: 4, background: (0, 0, 0))
        huge.draw(source, atX: Int.min, y: Int.min, scale: Int.max)  // pixel (1, 1)'s block covers [−1, Int.max − 1)
        #expect(huge.image[0, 0, 0] == source[1, 1, 0] && huge.image[3, 3, 2] == source[1, 1, 2])
        let tiny = Canvas(width: -4, height: 0, background: (0, 0, 0))
        #expect(tiny.image.width == 1 && tiny.image.height == 1)
    }

    @Test func wrappedTextBreaksAtSpacesAndReturnsTheNextY() {
        var canvas = Canvas(width: 40, height: 60, background: (1, 1, 1))
        #expect(canvas.wrappedText("aaa bbb ccc", x: 0, y: 0, maxWidth: 24, colour: (0, 0, 0)) == 3 * Canvas.lineHeight,
                "three lines: four characters fit in 24 px, 'aaa bbb' needs 7")
        #expect(canvas.wrappedText("aa bb", x: 0, y: 5, maxWidth: 29, colour: (0, 0, 0)) == 5 + Canvas.lineHeight,
                "five characters take 29 px")
        #expect(canvas.wrappedText("abcdefghij", x: 0, y: 0, maxWidth: 24, colour: (0, 0, 0)) == 3 * Canvas.lineHeight,
                "a long word is split 4 + 4 + 2")
        #expect(canvas.wrappedText("a\n\nb", x: 0, y: 0, maxWidth: 100, colour: (0, 0, 0)) == 3 * Canvas.lineHeight)
        #expect(canvas.wrappedText("", x: 0, y: 7, maxWidth: 100, colour: (0, 0, 0)) == 7)
        // The second line starts at x, one line lower: '-' is row 3, columns 0…4.
        var lines = Canvas(width: 30, height: 30, background: (1, 1, 1))
        lines.wrappedText("--- -", x: 2, y: 0, maxWidth: 20, colour: (0, 0, 0))
        #expect(lines.image[2, 3 + Canvas.lineHeight, 0] == 0 && lines.image[20, 3, 0] == 1)
    }
}
