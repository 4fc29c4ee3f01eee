/// A PNG contact sheet of examples, so a person can look at what the model sees: the image (and, for jigsaw,
/// the unshuffled source beside it), then the id, prompt and response.
public struct ContactSheet {
    /// Upscaling of the images (nearest neighbour).
    public let scale: Int
    /// Cells per row.
    public let columns: Int

    public init(scale: Int = 4, columns: Int = 4) throws {
        guard (1...16).contains(scale), (1...32).contains(columns) else { throw WorldError.invalid("scale must lie in 1…16 and columns in 1…32") }
        self.scale = scale
        self.columns = columns
    }

    /// One cell's content.
    public struct Cell {
        public let example: Example
        public let image: RGBImage?
        public let source: RGBImage?

        public init(example: Example, image: RGBImage?, source: RGBImage?) {
            self.example = example
            self.image = image
            self.source = source
        }
    }

    /// Largest sheet drawn, in pixels (as for images read: `ImageFile.maxPixels`).
    public static var maxPixels: Int { ImageFile.maxPixels }

    /// Width and height of the sheet for `cells`, computed without overflow (nil when it would not fit an Int).
    public func size(_ cells: [Cell]) -> (width: Int, height: Int)? {
        let largest = cells.compactMap { $0.image.map { max($0.width, $0.height) } }.max() ?? 24
        guard largest <= 1 << 14 else { return nil }
        let side = largest * scale
        let cellWidth = max(2 * side + 12, 216), textHeight = 14 * (PixelFont.glyphHeight + 2)
        let rows = (cells.count + columns - 1) / columns
        let (height, overflow) = max(1, rows).multipliedReportingOverflow(by: side + 8 + textHeight)
        return overflow ? nil : (columns * cellWidth + 8, height + 8)
    }

    /// Throws unless the sheet for `cells` has at most `maxPixels` pixels: checked before anything is drawn.
    public func checkSize(_ cells: [Cell]) throws {
        guard let (w, h) = size(cells), w.multipliedReportingOverflow(by: h).overflow == false, w * h <= Self.maxPixels else {
            throw WorldError.invalid("a contact sheet of \(cells.count) examples at scale \(scale) would exceed \(Self.maxPixels) pixels; show fewer examples or lower --scale")
        }
    }

    /// The sheet for `cells`, laid out row-major.
    public func render(_ cells: [Cell]) -> RGBImage {
        let side = (cells.compactMap { $0.image?.width }.max() ?? 24) * scale
        let cellWidth = max(2 * side + 12, 216), textHeight = 14 * (PixelFont.glyphHeight + 2)
        let cellHeight = side + 8 + textHeight
        let rows = (cells.count + columns - 1) / columns
        var canvas = Canvas(width: columns * cellWidth + 8, height: max(1, rows) * cellHeight + 8, background: (1, 1, 1))
        for (i, cell) in cells.enumerated() {
            let x0 = 8 + (i % columns) * cellWidth, y0 = 8 + (i / columns) * cellHeight
            if let image = cell.image { canvas.draw(image, atX: x0, y: y0, scale: scale) }
            if let source = cell.source { canvas.draw(source, atX: x0 + side + 4, y: y0, scale: scale) }
            let e = cell.example
            let label = [e.id, e.task, e.style].compactMap { $0 }.joined(separator: "  ")
            var y = canvas.wrappedText(label, x: x0, y: y0 + side + 4, maxWidth: cellWidth - 12, colour: (0.1, 0.1, 0.6))
            y = canvas.wrappedText("Q: " + e.prompt, x: x0, y: y + 2, maxWidth: cellWidth - 12, colour: (0, 0, 0))
            _ = canvas.wrappedText("A: " + e.response, x: x0, y: y + 2, maxWidth: cellWidth - 12, colour: (0.55, 0.1, 0.1))
        }
        return canvas.image
    }
}

extension ContactSheet.Cell {
    /// The first `count` examples of `file` with their images (and jigsaw sources).
    public static func first(_ count: Int, of file: ExampleFile) throws -> [ContactSheet.Cell] {
        let base = file.url.deletingLastPathComponent()
        return try file.examples.prefix(count).map { e in
            ContactSheet.Cell(example: e, image: try file.imageURL(e).map { try PNGCodec.read($0) },
                              source: try e.truth?.source.map { try PNGCodec.read(base.appendingPathComponent($0)) })
        }
    }
}

extension ContactSheet {
    /// The sheet of the first `count` examples of `file` (after checking its size), and the number of cells drawn.
    public static func render(_ count: Int, of file: ExampleFile, scale: Int, columns: Int) throws -> (sheet: RGBImage, cells: Int) {
        let cells = try Cell.first(count, of: file)
        let layout = try ContactSheet(scale: scale, columns: columns)
        try layout.checkSize(cells)
        return (layout.render(cells), cells.count)
    }
}
