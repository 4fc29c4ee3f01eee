extension RGBImage {
    /// The largest centred square, side min(width, height). When the excess is odd, the extra pixel is dropped on
    /// the bottom/right: a 6×3 image keeps columns 1…3 (one dropped on the left, two on the right).
    public func centreCropped() -> RGBImage {
        let side = min(width, height)
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        var out = RGBImage(width: side, height: side)
        for y in 0..<side { for x in 0..<side { for c in 0..<3 { out[x, y, c] = self[x0 + x, y0 + y, c] } } }
        return out
    }

    /// Area (box-filter) resampling to `size`×`size` pixels: each output pixel is the area-weighted mean of the
    /// input pixels its footprint covers, partly covered pixels weighted by the covered fraction. Meant for square
    /// images (`centreCropped` first); a non-square one is resampled along each axis independently (stretched).
    ///
    /// Weights are computed in integer units (overlap lengths over their greatest common divisor with the
    /// footprint), so resampling to the same size is exactly the identity and shrinking by an integer factor k
    /// is exactly the mean of each k×k block, (Σ values) / k². `size` ≤ 0 gives an empty image; an empty input
    /// gives a black `size`×`size` image.
    public func areaResampled(to size: Int) -> RGBImage {
        guard size > 0 else { return RGBImage(width: 0, height: 0) }
        var out = RGBImage(width: size, height: size)
        guard width > 0, height > 0 else { return out }
        let columns = Self.areaWeights(from: width, to: size), rows = Self.areaWeights(from: height, to: size)
        for oy in 0..<size { for ox in 0..<size { for c in 0..<3 {
            var sum = 0.0
            for (iy, wy) in rows.taps[oy] { for (ix, wx) in columns.taps[ox] { sum += Double(wy * wx) * self[ix, iy, c] } }
            out[ox, oy, c] = sum / Double(rows.total * columns.total)
        } } }
        return out
    }

    /// Along one axis of n input pixels resampled to m: for each output pixel o, the input pixels it covers with
    /// their integer overlaps, and the overlaps' common total. In units of 1/m input pixel, output o spans
    /// [o·n, (o+1)·n) and input i spans [i·m, (i+1)·m); all bounds are multiples of g = gcd(n, m), so dividing
    /// by g keeps the overlaps integers. The overlaps of o add up to `total` = n / g.
    static func areaWeights(from n: Int, to m: Int) -> (taps: [[(Int, Int)]], total: Int) {
        var a = n, b = m
        while b != 0 { (a, b) = (b, a % b) }
        let g = a
        let taps: [[(Int, Int)]] = (0..<m).map { o in
            let lo = o * n, hi = (o + 1) * n
            return (lo / m..<min(n, (hi + m - 1) / m)).compactMap { i in
                let overlap = min(hi, (i + 1) * m) - max(lo, i * m)
                return overlap > 0 ? (i, overlap / g) : nil
            }
        }
        return (taps, n / g)
    }
}
