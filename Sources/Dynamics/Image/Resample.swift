extension RGBImage {
    /// The largest centred square; when the excess is odd, the extra pixel goes from the bottom/right.
    public func centreCropped() -> RGBImage {
        let side = min(width, height)
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        var out = RGBImage(width: side, height: side)
        for y in 0..<side { for x in 0..<side { for c in 0..<3 { out[x, y, c] = self[x0 + x, y0 + y, c] } } }
        return out
    }

    /// Area (box-filter) resampling of a square image to `size`×`size`: each output pixel is the exact
    /// area-weighted mean of the input pixels it covers, with fractional weights at its edges. Resampling to
    /// the same size is the identity; shrinking by an integer factor k averages k×k blocks.
    public func areaResampled(to size: Int) -> RGBImage {
        let n = width
        // weights[o] = [(input index, covered fraction of output pixel o)] along one axis.
        let weights: [[(Int, Double)]] = (0..<size).map { o in
            let lo = Double(o) * Double(n) / Double(size), hi = Double(o + 1) * Double(n) / Double(size)
            return (Int(lo)..<min(n, Int(hi.rounded(.up)))).compactMap { i in
                let w = min(hi, Double(i + 1)) - max(lo, Double(i))
                return w > 0 ? (i, w / (hi - lo)) : nil
            }
        }
        var out = RGBImage(width: size, height: size)
        for oy in 0..<size { for ox in 0..<size { for c in 0..<3 {
            var v = 0.0
            for (iy, wy) in weights[oy] { for (ix, wx) in weights[ox] { v += wy * wx * self[ix, iy, c] } }
            out[ox, oy, c] = v
        } } }
        return out
    }
}
