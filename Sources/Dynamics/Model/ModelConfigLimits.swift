import Foundation

/// Sizes a configuration implies, computed without allocating (and without overflow), so that a corrupt or
/// hostile `config.json` is refused before any array is made (MODEL.md: loading never traps).
extension ModelConfig {
    /// Largest parameter count accepted: 2^27 (1 GiB of Float64 weights; `small` has 123 200).
    public static let maxParameters = 1 << 27

    /// d, the number of parameters (MODEL.md's tensor table), or nil when it does not fit in an Int.
    public var parameterCountIfRepresentable: Int? {
        func mul(_ xs: Int...) -> Int? {
            var p = 1
            for x in xs {
                let (r, o) = p.multipliedReportingOverflow(by: x)
                if o { return nil }
                p = r
            }
            return p
        }
        func add(_ xs: Int?...) -> Int? {
            var s = 0
            for x in xs {
                guard let x else { return nil }
                let (r, o) = s.addingReportingOverflow(x)
                if o { return nil }
                s = r
            }
            return s
        }
        let D = dModel
        guard let block = add(mul(4, D), mul(3, D, D), mul(3, D), mul(D, D), D, mul(dFF, D), dFF, mul(D, dFF), D),
              let blocks = mul(nLayers, block) else { return nil }
        return add(mul(vocabSize, D), mul(D, patchDim), D, mul(maxSeqLen, D), blocks, mul(2, D), mul(vocabSize, D))
    }

    /// A rough upper estimate in bytes of what one process needs to train this model on one sequence: θ, its
    /// gradient, two AdamW moments and a loaded copy (5 × 8 bytes per parameter), plus one sequence's activations
    /// (per layer T × (12 D + 2 d_ff) values and the H attention maps T × T).
    public var estimatedBytes: Double {
        let d = Double(parameterCountIfRepresentable ?? Int.max)
        let T = Double(maxSeqLen), D = Double(dModel), L = Double(nLayers)
        let activations = L * (T * (12 * D + 2 * Double(dFF)) + Double(nHeads) * T * T) + T * Double(vocabSize)
        return 8 * (5 * d + activations)
    }

    /// Throws when the network is too large to load here: more than `maxParameters` parameters, or an estimated
    /// footprint above the machine's physical memory.
    public func checkSize() throws {
        guard let d = parameterCountIfRepresentable, d <= Self.maxParameters else {
            let text = parameterCountIfRepresentable.map(String.init) ?? "more than 2^63"
            throw ConfigError.invalid(field: "config", reason: "describes \(text) parameters; at most \(Self.maxParameters) are supported")
        }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        guard estimatedBytes <= memory else {
            throw ConfigError.invalid(field: "config", reason: String(format: "needs about %.1f GB (%d parameters, max_seq_len %d), more than this machine's %.1f GB",
                                                                      estimatedBytes / 1e9, d, maxSeqLen, memory / 1e9))
        }
    }
}
