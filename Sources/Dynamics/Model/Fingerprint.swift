/// A short identity of a network's parameters, so that files computed from the same checkpoint can be recognised.
extension Transformer {
    /// FNV-1a (64-bit) over θ's IEEE bit patterns, as 16 hex digits: equal θ, equal fingerprint.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in parameters {
            var bits = x.bitPattern
            for _ in 0..<8 {
                hash ^= bits & 0xff
                hash = hash &* 0x0000_0100_0000_01b3
                bits >>= 8
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
