/// Pairs of distinct items drawn at random for the pairwise analyses (symmetry sweeps), reproducibly.
public enum RandomPairs {
    /// `count` distinct unordered pairs (i, j), i < j < n, drawn without replacement from the GSL stream
    /// "symmetry.pairs" seeded with `seed`, in the order drawn. Throws when fewer than `count` pairs exist.
    public static func draw(_ count: Int, from n: Int, seed: UInt64) throws -> [(Int, Int)] {
        let available = n * (n - 1) / 2
        guard count >= 1, count <= available else {
            throw LearningDynamicsError.invalid("cannot draw \(count) distinct pairs from \(n) items (\(available) pairs exist)")
        }
        let rng = RandomStream(seed: seed, name: "symmetry.pairs")
        if 2 * count > available {
            // Most pairs are wanted: shuffle them all.
            var all = (0..<n).flatMap { i in ((i + 1)..<n).map { (i, $0) } }
            rng.shuffle(&all)
            return Array(all.prefix(count))
        }
        var seen = Set<Int>(), pairs: [(Int, Int)] = []
        while pairs.count < count {
            let a = rng.uniformInt(n), b = rng.uniformInt(n)
            guard a != b else { continue }
            let (i, j) = (min(a, b), max(a, b))
            if seen.insert(i * n + j).inserted { pairs.append((i, j)) }
        }
        return pairs
    }
}
