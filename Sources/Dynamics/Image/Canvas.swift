/// An RGB drawing surface for contact sheets and scenes: filled rectangles, upscaled images, 5×7 text and 3×5
/// digits. Coordinates are pixels, (0, 0) the top-left corner, x to the right, y down; colours are (r, g, b) in
/// [0, 1]. Everything clips at the edges: any coordinates (negative, far off the canvas, Int.min or Int.max) and any
/// sizes or scales are safe, and nothing traps.
public struct Canvas: Sendable {
    public var image: RGBImage

    /// Distance between the tops of two lines of 5×7 text at scale 1, in pixels (7 px glyphs, 2 px leading).
    public static let lineHeight = PixelFont.glyphHeight + 2

    /// A `width`×`height` canvas (at least 1×1) filled with `background`.
    public init(width: Int, height: Int, background: (Double, Double, Double)) {
        image = RGBImage(width: max(1, width), height: max(1, height))
        fill(x: 0, y: 0, width: image.width, height: image.height, colour: background)
    }

    /// Sets pixel (x, y) when it lies on the canvas; otherwise does nothing.
    public mutating func set(_ x: Int, _ y: Int, _ colour: (Double, Double, Double)) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        image[x, y, 0] = colour.0
        image[x, y, 1] = colour.1
        image[x, y, 2] = colour.2
    }

    /// Fills the `width`×`height` rectangle whose top-left corner is (x, y), clipped to the canvas.
    public mutating func fill(x: Int, y: Int, width: Int, height: Int, colour: (Double, Double, Double)) {
        let xs = Self.clip(x, width, image.width), ys = Self.clip(y, height, image.height)
        for yy in ys { for xx in xs { set(xx, yy, colour) } }
    }

    /// Draws `source` with its top-left corner at (x, y), each pixel as a `scale`×`scale` block (nearest-neighbour
    /// integer upscaling; `scale` below 1 counts as 1), clipped to the canvas.
    public mutating func draw(_ source: RGBImage, atX x: Int, y: Int, scale: Int = 1) {
        let s = max(1, scale)
        let columns = Self.blocks(origin: x, count: source.width, scale: s, limit: image.width)
        for (py, sy) in Self.blocks(origin: y, count: source.height, scale: s, limit: image.height) {
            for (px, sx) in columns { set(px, py, (source[sx, sy, 0], source[sx, sy, 1], source[sx, sy, 2])) }
        }
    }

    /// Draws `text` in the 5×7 font with its first glyph's top-left corner at (x, y), each font pixel a
    /// `scale`×`scale` block (below 1 counts as 1). Characters advance 6·scale px; a newline starts the next line
    /// `lineHeight`·scale px lower at x. Characters outside printable ASCII draw as '?'.
    public mutating func text(_ text: String, x: Int, y: Int, colour: (Double, Double, Double), scale: Int = 1) {
        let s = max(1, scale)
        var cx = x, cy = y
        for c in text {
            if c.isNewline {
                cx = x
                cy = Self.advanced(cy, by: Self.lineHeight, times: s)
                continue
            }
            let rows = PixelFont.glyph(c) ?? PixelFont.glyph("?") ?? []
            stamp(rows, columns: PixelFont.glyphWidth, x: cx, y: cy, scale: s, colour: colour)
            cx = Self.advanced(cx, by: PixelFont.advance, times: s)
        }
    }

    /// Draws `text` in the 5×7 font from (x, y), wrapped at spaces so that no line is wider than `maxWidth` px (a
    /// word longer than a whole line is split); a newline forces a break. Returns the y just below the last line
    /// (y + lines·`lineHeight`; y itself for empty text).
    @discardableResult
    public mutating func wrappedText(_ text: String, x: Int, y: Int, maxWidth: Int, colour: (Double, Double, Double)) -> Int {
        // k characters take 6k − 1 px; at least one per line.
        let perLine = max(1, (max(0, maxWidth) + 1) / PixelFont.advance)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) {
                var w = word
                while w.count > perLine {
                    if !line.isEmpty { lines.append(line); line = "" }
                    lines.append(String(w.prefix(perLine)))
                    w = String(w.dropFirst(perLine))
                }
                if w.isEmpty { continue }
                if line.isEmpty { line = w } else if line.count + 1 + w.count <= perLine { line += " " + w } else { lines.append(line); line = w }
            }
            lines.append(line)
        }
        if lines == [""] { return y }
        var cy = y
        for line in lines {
            self.text(line, x: x, y: cy, colour: colour)
            cy = Self.advanced(cy, by: Self.lineHeight, times: 1)
        }
        return cy
    }

    /// Draws the digits of `text` in the 3×5 font from (x, y), 4 px per character; characters other than
    /// ASCII 0–9 leave their 4 px cell blank.
    public mutating func digits(_ text: String, x: Int, y: Int, colour: (Double, Double, Double)) {
        var cx = x
        for c in text {
            if let code = c.asciiValue, (48...57).contains(code) {
                stamp(PixelFont.smallDigit(Int(code) - 48), columns: PixelFont.smallDigitWidth, x: cx, y: y, scale: 1, colour: colour)
            }
            cx = Self.advanced(cx, by: PixelFont.smallDigitAdvance, times: 1)
        }
    }

    /// Draws a bitmap given as row values (bit columns − 1 the left column) at (x, y), each bit a scale×scale block.
    private mutating func stamp(_ rows: [UInt8], columns: Int, x: Int, y: Int, scale: Int, colour: (Double, Double, Double)) {
        let xs = Self.blocks(origin: x, count: columns, scale: scale, limit: image.width)
        guard !xs.isEmpty else { return }
        for (py, row) in Self.blocks(origin: y, count: rows.count, scale: scale, limit: image.height) {
            for (px, column) in xs where rows[row] >> (columns - 1 - column) & 1 != 0 { set(px, py, colour) }
        }
    }

    /// The pixels of [start, start + length) that lie in [0, limit), without overflow.
    static func clip(_ start: Int, _ length: Int, _ limit: Int) -> Range<Int> {
        guard length > 0, limit > 0, start < limit else { return 0..<0 }
        let (end, overflow) = start.addingReportingOverflow(length)  // length > 0: only upward overflow
        let lo = max(0, start), hi = overflow ? limit : min(limit, end)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Along one axis of `limit` pixels: `count` blocks of `scale` (≥ 1) pixels laid end to end from `origin`.
    /// Returns each on-canvas pixel with the index of the block covering it, in order. Exact for every Int input:
    /// the block under pixel 0 is found by division, never by forming origin + index·scale.
    static func blocks(origin: Int, count: Int, scale: Int, limit: Int) -> [(pixel: Int, block: Int)] {
        guard count > 0, scale > 0, limit > 0, origin < limit else { return [] }
        var pixel = max(0, origin), block = 0, phase = 0
        if origin < 0 {
            // Pixel 0 lies −origin = d + 1 pixels past the origin (d = −origin − 1 cannot overflow).
            let d = -(origin + 1)
            let (q, r) = d.quotientAndRemainder(dividingBy: scale)
            if r == scale - 1 {
                guard q < count - 1 else { return [] }
                block = q + 1
            } else {
                guard q < count else { return [] }
                block = q
                phase = r + 1
            }
        }
        var out: [(pixel: Int, block: Int)] = []
        while pixel < limit && block < count {
            out.append((pixel, block))
            pixel += 1
            phase += 1
            if phase == scale { phase = 0; block += 1 }
        }
        return out
    }

    /// position + step·times, saturating at Int.min/Int.max instead of trapping.
    static func advanced(_ position: Int, by step: Int, times: Int) -> Int {
        let (distance, o1) = step.multipliedReportingOverflow(by: times)
        if o1 { return (step < 0) != (times < 0) ? Int.min : Int.max }
        let (sum, o2) = position.addingReportingOverflow(distance)
        if o2 { return distance < 0 ? Int.min : Int.max }
        return sum
    }
}
