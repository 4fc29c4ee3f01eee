/// An RGB drawing surface for contact sheets: filled rectangles, upscaled images and bitmap text.
/// Everything clips at the edges; no coordinate can trap.
public struct Canvas: Sendable {
    public var image: RGBImage

    public init(width: Int, height: Int, background: (Double, Double, Double)) {
        image = RGBImage(width: max(1, width), height: max(1, height))
        fill(x: 0, y: 0, width: image.width, height: image.height, colour: background)
    }

    /// Sets pixel (x, y) when it lies on the canvas.
    public mutating func set(_ x: Int, _ y: Int, _ colour: (Double, Double, Double)) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        image[x, y, 0] = colour.0
        image[x, y, 1] = colour.1
        image[x, y, 2] = colour.2
    }

    public mutating func fill(x: Int, y: Int, width: Int, height: Int, colour: (Double, Double, Double)) {
        for yy in max(0, y)..<max(max(0, y), min(image.height, y + height)) {
            for xx in max(0, x)..<max(max(0, x), min(image.width, x + width)) { set(xx, yy, colour) }
        }
    }

    /// Draws `source` with its top-left corner at (x, y), each pixel as a `scale`×`scale` block.
    public mutating func draw(_ source: RGBImage, atX x: Int, y: Int, scale: Int = 1) {
        let s = max(1, scale)
        for sy in 0..<source.height { for sx in 0..<source.width {
            let colour = (source[sx, sy, 0], source[sx, sy, 1], source[sx, sy, 2])
            fill(x: x + sx * s, y: y + sy * s, width: s, height: s, colour: colour)
        } }
    }

    /// Draws `text` in the 5×7 font from (x, y); a newline starts the next line 9 px lower.
    public mutating func text(_ text: String, x: Int, y: Int, colour: (Double, Double, Double)) {
        var cx = x, cy = y
        for c in text {
            if c == "\n" { cx = x; cy += PixelFont.glyphHeight + 2; continue }
            for gy in 0..<PixelFont.glyphHeight { for gx in 0..<PixelFont.glyphWidth where PixelFont.ink(c, x: gx, y: gy) {
                set(cx + gx, cy + gy, colour)
            } }
            cx += PixelFont.advance
        }
    }

    /// Draws `text` word-wrapped to `maxWidth` pixels from (x, y); returns the y below the last line.
    @discardableResult
    public mutating func wrappedText(_ text: String, x: Int, y: Int, maxWidth: Int, colour: (Double, Double, Double)) -> Int {
        let perLine = max(1, maxWidth / PixelFont.advance)
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ").map(String.init) {
            var w = word
            while w.count > perLine {
                if !line.isEmpty { lines.append(line); line = "" }
                lines.append(String(w.prefix(perLine)))
                w = String(w.dropFirst(perLine))
            }
            if line.isEmpty { line = w } else if line.count + 1 + w.count <= perLine { line += " " + w } else { lines.append(line); line = w }
        }
        if !line.isEmpty { lines.append(line) }
        for (i, l) in lines.enumerated() { self.text(l, x: x, y: y + i * (PixelFont.glyphHeight + 2), colour: colour) }
        return y + lines.count * (PixelFont.glyphHeight + 2)
    }
}
