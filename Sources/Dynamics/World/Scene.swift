import Foundation

/// A box in pixel coordinates, corners inclusive: x1 ≤ x ≤ x2, y1 ≤ y ≤ y2.
public struct PixelBox: Codable, Equatable, Sendable {
    public var x1, y1, x2, y2: Int

    public init(x1: Int, y1: Int, x2: Int, y2: Int) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
    }

    public var area: Int { max(0, x2 - x1 + 1) * max(0, y2 - y1 + 1) }
    /// Twice the horizontal centre (an integer, for exact left-to-right ordering).
    public var doubledCentreX: Int { x1 + x2 }
    public var array: [Int] { [x1, y1, x2, y2] }

    /// Intersection over union of the pixel sets (inclusive corners).
    public func iou(_ other: PixelBox) -> Double {
        let inter = PixelBox(x1: max(x1, other.x1), y1: max(y1, other.y1), x2: min(x2, other.x2), y2: min(y2, other.y2)).area
        let union = area + other.area - inter
        return union > 0 ? Double(inter) / Double(union) : 0
    }

    /// True when the boxes, each grown by `margin` pixels, share a pixel.
    func touches(_ other: PixelBox, margin: Int) -> Bool {
        x1 - margin <= other.x2 && other.x1 - margin <= x2 && y1 - margin <= other.y2 && other.y1 - margin <= y2
    }
}

/// One shape in a scene, with its tight bounding box.
public struct SceneShape: Codable, Equatable, Sendable {
    public var kind: ShapeKind
    public var colour: ShapeColour
    public var box: PixelBox

    /// "red circle".
    public var name: String { "\(colour.rawValue) \(kind.rawValue)" }
}

/// A procedural scene (WORLD.md "Images") and its full ground truth.
public struct Scene: Codable, Equatable, Sendable {
    /// S: the image is S×S.
    public var size: Int
    /// 1–3 non-overlapping shapes, each (colour, kind) pair at most once.
    public var shapes: [SceneShape]
    /// The digit string drawn in the scene, if any.
    public var digits: String?
    /// Where the digits are drawn.
    public var digitsBox: PixelBox?
}

/// Where a scene's shapes and digits may go.
public enum SceneLayout: String, CaseIterable, Codable, Sendable {
    /// On the 4-pixel grid of the presets' image patches: every shape fills exactly one cell (its box is the
    /// patch), and each digit glyph sits at the top left of its own cell column, so which patch holds an object
    /// determines the answer, and one patch's pixels say what the object is. The default: what a linear patch
    /// front end can learn. (Measured: a shape over 2×2 cells was no easier to ground; `notebooks-md/03-training.md`.)
    case grid
    /// Anywhere, at any pixel: shape sides from S/5 to 3S/8, digits at any offset (the harder world).
    case free
}

/// Draws scenes from a random stream: a smooth background (colour gradient plus mild noise), shapes, digits.
/// What lies behind the shapes and digits.
public enum SceneBackground: String, CaseIterable, Codable, Sendable {
    /// Every background pixel 0, so a background patch is the zero vector: the linear patch embedding maps it to its
    /// bias alone, and with the position embedding added each background patch carries only where it is. Which
    /// patch holds an object then shows as a change in that field of positions, which the small models learn to read
    /// (notebook 03: one-shape grounding on `tiny` is at chance on a grey background and at 100 % after 250 steps on
    /// black).
    case black
    /// Black, lit faintly: the red channel rises from 0 at the left edge to r at the right, the blue channel falls
    /// from b at the top to 0 at the bottom (r, b uniform in 0.2…0.35 per image), with no noise. The light says where
    /// a jigsaw piece came from, and stays faint enough next to the shapes' full colours that position still shows.
    case dark
    /// A random colour per image with a vertical light and a horizontal red gradient and pixel noise (the world
    /// before notebook 03's change): a patch's content then outweighs its position after LayerNorm, and the small
    /// models do not learn where an object is.
    case gradient
}

public struct SceneGenerator: Sendable {
    /// S: image side in pixels.
    public let size: Int
    /// Where shapes and digits go.
    public let layout: SceneLayout
    /// The grid layout's cell side in pixels: the patch size P of the `tiny` and `small` presets.
    /// What lies behind the objects.
    public let background: SceneBackground
    public static let cell = 4

    public init(size: Int, layout: SceneLayout = .grid, background: SceneBackground = .dark) throws {
        guard size >= 8 && size <= 512 else { throw WorldError.invalid("image size \(size) must lie in 8…512") }
        self.size = size
        self.layout = layout
        self.background = background
    }

    /// Smallest and largest shape side in pixels for this image size.
    var shapeSides: ClosedRange<Int> {
        let lo = max(2, size / 5)
        return lo...max(lo, size * 3 / 8)
    }

    /// Cells across the image in the grid layout.
    var cells: Int { size / Self.cell }

    /// The most digits that fit across the image with the 3×5 font (4 px advance) and a 1 px margin.
    var maxDigits: Int { max(1, min(3, (size - 1) / 4)) }

    /// A candidate box for a shape: any pixel offset and side (free), or whole cells (grid).
    private func shapeBox(_ rng: RandomStream) -> PixelBox {
        switch layout {
        case .free:
            let side = shapeSides.lowerBound + rng.uniformInt(shapeSides.count)
            let x = rng.uniformInt(size - side + 1), y = rng.uniformInt(size - side + 1)
            return PixelBox(x1: x, y1: y, x2: x + side - 1, y2: y + side - 1)
        case .grid:
            // The side is one cell; its draw (from a range of one) stays in the stream so that generated sets keep
            // the bytes of the runs measured in notebook 03.
            _ = rng.uniformInt(1)
            let cx = rng.uniformInt(cells), cy = rng.uniformInt(cells)
            return PixelBox(x1: cx * Self.cell, y1: cy * Self.cell, x2: cx * Self.cell + Self.cell - 1, y2: cy * Self.cell + Self.cell - 1)
        }
    }

    /// A scene and its image. `digits`: nil draws digits with probability 0.4, true always, false never.
    /// Digits go on the background first (they always fit there); shapes are then placed around them.
    public func generate(_ rng: RandomStream, digits: Bool? = nil, minShapes: Int = 1) -> (Scene, RGBImage) {
        var image = backgroundImage(rng)
        var scene = Scene(size: size, shapes: [], digits: nil, digitsBox: nil)
        if digits ?? (rng.uniform() < 0.4) { placeDigits(&scene, &image, rng) }
        let wanted = minShapes + rng.uniformInt(max(1, 4 - minShapes))
        var used = Set<String>()
        var tries = 0
        while scene.shapes.count < wanted && tries < 200 {
            tries += 1
            let kind = ShapeKind.allCases[rng.uniformInt(3)]
            let colour = ShapeColour.allCases[rng.uniformInt(4)]
            let box = shapeBox(rng)
            let taken = scene.shapes.map(\.box) + [scene.digitsBox].compactMap { $0 }
            // Free shapes keep a pixel of background between them; grid shapes may fill neighbouring cells.
            let margin = layout == .grid ? 0 : 1
            guard !used.contains("\(colour) \(kind)"), !taken.contains(where: { $0.touches(box, margin: margin) }) else { continue }
            used.insert("\(colour) \(kind)")
            var shape = SceneShape(kind: kind, colour: colour, box: box)
            shape.box = paint(shape, into: &image)
            scene.shapes.append(shape)
        }
        return (scene, image)
    }

    /// A random base colour, lighter towards the top and redder towards the right by random amounts, plus mild
    /// noise. Like light from above in a photograph, the gradient says where a piece of the image came from: that
    /// is what makes jigsaw puzzles solvable. (A gradient in a random direction fits 8 arrangements of a 2×2
    /// puzzle equally well, and the `small` model learnt nothing from it.)
    private func backgroundImage(_ rng: RandomStream) -> RGBImage {
        switch background {
        case .black: return RGBImage(width: size, height: size)
        case .dark:
            let red = 0.2 + 0.15 * rng.uniform(), blue = 0.2 + 0.15 * rng.uniform()
            var image = RGBImage(width: size, height: size)
            for y in 0..<size { for x in 0..<size {
                image[x, y, 0] = red * Double(x) / Double(size - 1)
                image[x, y, 2] = blue * Double(size - 1 - y) / Double(size - 1)
            } }
            return image
        case .gradient: break
        }
        let base = (0..<3).map { _ in 0.15 + 0.5 * rng.uniform() }
        let light = 0.15 + 0.15 * rng.uniform(), red = 0.15 + 0.15 * rng.uniform()
        var image = RGBImage(width: size, height: size)
        for y in 0..<size { for x in 0..<size {
            let u = Double(x) / Double(size - 1), v = Double(y) / Double(size - 1)
            for c in 0..<3 {
                let value = base[c] + light * (0.5 - v) + (c == 0 ? red * (u - 0.5) : 0)
                image[x, y, c] = min(1, max(0, value + rng.gaussian(sigma: 0.02)))
            }
        } }
        return image
    }

    /// Paints a shape inside its box and returns the tight box of the painted pixels.
    private func paint(_ shape: SceneShape, into image: inout RGBImage) -> PixelBox {
        let b = shape.box, side = Double(b.x2 - b.x1 + 1)
        let (r, g, bl) = shape.colour.rgb
        var tight = PixelBox(x1: Int.max, y1: Int.max, x2: Int.min, y2: Int.min)
        for y in b.y1...b.y2 { for x in b.x1...b.x2 {
            let u = Double(x - b.x1) + 0.5, v = Double(y - b.y1) + 0.5
            let inside: Bool
            switch shape.kind {
            case .square: inside = true
            case .circle: inside = (u - side / 2) * (u - side / 2) + (v - side / 2) * (v - side / 2) <= side * side / 4
            case .triangle: inside = abs(u - side / 2) <= v / 2 + 0.25
            }
            guard inside else { continue }
            image[x, y, 0] = r
            image[x, y, 1] = g
            image[x, y, 2] = bl
            tight = PixelBox(x1: min(tight.x1, x), y1: min(tight.y1, y), x2: max(tight.x2, x), y2: max(tight.y2, y))
        } }
        return tight
    }

    /// Draws a 1–3 digit string (3×5 font, 4 px advance) where it touches no shape yet placed.
    private func placeDigits(_ scene: inout Scene, _ image: inout RGBImage, _ rng: RandomStream) {
        let count = 1 + rng.uniformInt(maxDigits)
        let text = (0..<count).map { i in String(i == 0 && count > 1 ? 1 + rng.uniformInt(9) : rng.uniformInt(10)) }.joined()
        let width = 4 * count - 1, height = 5
        for _ in 0..<100 {
            let x: Int, y: Int
            switch layout {
            case .free:
                x = rng.uniformInt(size - width + 1)
                y = rng.uniformInt(size - height + 1)
            case .grid:
                // One glyph per cell column, at the top of a cell row: its first four rows (which tell every digit
                // apart) in that row's patches, the fifth in the row below.
                x = Self.cell * rng.uniformInt(cells - count + 1)
                y = Self.cell * rng.uniformInt((size - height) / Self.cell + 1)
            }
            let box = PixelBox(x1: x, y1: y, x2: x + width - 1, y2: y + height - 1)
            guard !scene.shapes.contains(where: { $0.box.touches(box, margin: 1) }) else { continue }
            var luminance = 0.0
            for yy in box.y1...box.y2 { for xx in box.x1...box.x2 { luminance += image[xx, yy, 0] + image[xx, yy, 1] + image[xx, yy, 2] } }
            let ink = luminance / Double(3 * box.area) > 0.45 ? 0.05 : 0.97
            for (i, ch) in text.enumerated() {
                guard let d = ch.wholeNumberValue else { continue }
                let rows = PixelFont.smallDigit(d)
                for (ry, bits) in rows.enumerated() { for cx in 0..<3 where bits & (1 << (2 - cx)) != 0 {
                    for c in 0..<3 { image[x + 4 * i + cx, y + ry, c] = ink }
                } }
            }
            scene.digits = text
            scene.digitsBox = box
            return
        }
    }
}

/// Requests the world cannot satisfy.
public enum WorldError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(reason): reason
        }
    }
}
