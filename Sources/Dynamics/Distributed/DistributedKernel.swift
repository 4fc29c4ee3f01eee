import Foundation

extension ProbeKernel.Shard {
    /// Rank `rank`'s part of this shard when `ranks` processes share it: slice ((k−1)·ranks + rank + 1) of
    /// (n·ranks). The parts are contiguous, in rank order, and together exactly this shard's pairs, since
    /// ⌊(k−1)·ranks·P/(n·ranks)⌋ = ⌊(k−1)·P/n⌋.
    public func part(_ rank: Int, of ranks: Int) throws -> ProbeKernel.Shard {
        try ProbeKernel.Shard(index: (index - 1) * ranks + rank + 1, count: count * ranks)
    }
}

extension ProbeKernel {
    /// `shard`'s pairs computed by the ranks of `group`, each its contiguous part (`Shard.part`), gathered on rank 0
    /// in pair order: the result equals a one-process `ProbeKernel(... shard: shard)` bit for bit, since every
    /// pair is computed under the plan of the whole probe set. Returns the kernel on rank 0 and nil elsewhere.
    /// A failure on any rank ends every rank with `DistributedError.rankFailed`.
    public static func distributed(model: Transformer, probes: [ProbeToken], strategy: KernelStrategy, blocks: Bool, shard: Shard,
                                   group: ProcessGroup, threads: Int, progress: DistributedProgress) throws -> ProbeKernel? {
        let own = try group.agree {
            try progress.run {
                try ProbeKernel(model: model, probes: probes, strategy: strategy, blocks: blocks, shard: try shard.part(group.rank, of: group.size),
                                threads: threads) { _, _ in progress.advance() }
            }
        }
        guard group.size > 1 else { return own }
        let parts = try group.gather(own.entryValues())
        guard group.isRoot else { return nil }
        var whole = own
        whole.entries = try parts.flatMap { try own.entries(fromValues: $0) }
        whole.shard = shard
        return whole
    }

    /// The entries as one flat list: per pair i, j, trace, influence, the per-tensor traces, then the block if kept.
    func entryValues() -> [Double] {
        var values: [Double] = []
        for e in entries {
            values += [Double(e.pair.i), Double(e.pair.j), e.trace, e.influence]
            values += e.tensorTraces
            if let block = e.block { values += block.storage }
        }
        return values
    }

    /// The entries `entryValues` wrote, for a kernel with this one's tensors, vocabulary and block setting.
    func entries(fromValues values: [Double]) throws -> [Entry] {
        let t = tensorNames.count, blockSize = hasBlocks ? vocabSize * vocabSize : 0, stride = 4 + t + blockSize
        guard values.count % stride == 0 else { throw DistributedError.unsupported("a rank sent \(values.count) kernel values, not a multiple of \(stride)") }
        return try (0..<(values.count / stride)).map { k in
            let base = k * stride
            let block = blockSize == 0 ? nil : try Matrix(rows: vocabSize, cols: vocabSize, storage: Array(values[(base + 4 + t)..<(base + stride)]))
            return Entry(pair: Pair(i: Int(values[base]), j: Int(values[base + 1])), trace: values[base + 2],
                         tensorTraces: Array(values[(base + 4)..<(base + 4 + t)]), influence: values[base + 3], block: block)
        }
    }
}
