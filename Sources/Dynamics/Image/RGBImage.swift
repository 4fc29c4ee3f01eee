/// An RGB image with Float64 channel values in [0, 1], row-major, channel last.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// width · height · 3 values; pixel (x, y) channel c at ((y · width) + x) · 3 + c.
    public var pixels: [Double]

    /// A black image.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [Double](repeating: 0, count: width * height * 3)
    }

    /// An image over existing pixels; throws when the count disagrees.
    public init(width: Int, height: Int, pixels: [Double]) throws {
        guard pixels.count == width * height * 3 else {
            throw ShapeError.mismatch(what: "image pixels", expected: [height, width, 3], found: [pixels.count])
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Channel `c` of pixel (x, y).
    @inlinable public subscript(x: Int, y: Int, c: Int) -> Double {
        get { pixels[(y * width + x) * 3 + c] }
        set { pixels[(y * width + x) * 3 + c] = newValue }
    }
}
