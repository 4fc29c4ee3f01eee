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
        let own = try ownPart(model: model, probes: probes, strategy: strategy, blocks: blocks, shard: shard, group: group, threads: threads,
                              progress: progress)
        guard group.size > 1 else { return own }
        let parts = try group.gather(own.entryValues())
        guard group.isRoot else { return nil }
        var whole = own
        whole.entries = try parts.flatMap { try own.entries(fromValues: $0) }
        whole.shard = shard
        return whole
    }

    /// `shard`'s kernel computed by the ranks of `group` and written by rank 0: the kernel file at `kernel`, its pair
    /// table at `pairs` and per-tensor table at `tensors` (`writeFiles`). With blocks and several ranks the blocks are
    /// streamed to the file (`distributedWithStreamedBlocks`), so no rank holds them all. Returns the kernel on
    /// rank 0 (without its blocks when they were streamed) and nil elsewhere.
    public static func computeAndWrite(model: Transformer, probes: [ProbeToken], strategy: KernelStrategy, blocks: Bool, shard: Shard,
                                       group: ProcessGroup, threads: Int, progress: DistributedProgress, kernel: URL, pairs: URL, tensors: URL,
                                       extra: [String: String]) throws -> ProbeKernel? {
        if blocks && group.size > 1 {
            guard let result = try distributedWithStreamedBlocks(model: model, probes: probes, strategy: strategy, shard: shard, group: group,
                                                                 threads: threads, progress: progress, url: kernel, extra: extra) else { return nil }
            try result.pairTable().write(to: pairs)
            try result.tensorTable().write(to: tensors)
            return result
        }
        guard let result = try distributed(model: model, probes: probes, strategy: strategy, blocks: blocks, shard: shard, group: group,
                                           threads: threads, progress: progress) else { return nil }
        try result.writeFiles(kernel: kernel, pairs: pairs, tensors: tensors, extra: extra)
        return result
    }

    /// The blocks each message of `distributedWithStreamedBlocks` carries.
    static let blocksPerMessage = 64

    /// `shard`'s kernel with `--blocks` under MPI, written to `url` without any rank holding every block: each rank
    /// computes its part, rank 0 gathers the per-pair values without blocks, writes the file's header and small
    /// tensors, then the blocks in pair order — its own, then each other rank's, received `blocksPerMessage` at a
    /// time — then the N × N matrices. The bytes equal `write(to:extra:)` of the one-process kernel (the same header
    /// and layout, `SafeTensors.header`). Peak memory: a rank's own part of the blocks (about 8·V²·P/ranks bytes)
    /// plus one message. Returns the kernel without blocks on rank 0 (for its tables), nil elsewhere.
    public static func distributedWithStreamedBlocks(model: Transformer, probes: [ProbeToken], strategy: KernelStrategy, shard: Shard,
                                                     group: ProcessGroup, threads: Int, progress: DistributedProgress, url: URL,
                                                     extra: [String: String]) throws -> ProbeKernel? {
        let own = try ownPart(model: model, probes: probes, strategy: strategy, blocks: true, shard: shard, group: group, threads: threads,
                              progress: progress)
        var light = own
        light.entries = own.entries.map { Entry(pair: $0.pair, trace: $0.trace, tensorTraces: $0.tensorTraces, influence: $0.influence, block: nil) }
        let parts = try group.gather(light.entryValues())
        let V = own.vocabSize, perBlock = V * V
        guard group.isRoot else {
            for start in stride(from: 0, to: own.entries.count, by: blocksPerMessage) {
                try group.sendToRoot(own.entries[start..<min(start + blocksPerMessage, own.entries.count)].flatMap { $0.block!.storage })
            }
            return nil
        }
        var whole = light
        whole.entries = try parts.flatMap { try light.entries(fromValues: $0) }
        whole.shard = shard
        let (tensors, metadata) = try whole.encoded(extra: extra)
        let split = tensors.firstIndex { $0.name == "tensor_trace" }! + 1
        var layout = tensors.map { ($0.name, $0.shape) }
        layout.insert(("blocks", [whole.entries.count, V, V]), at: split)
        try AtomicFile.replace(url) { temp in
            guard FileManager.default.createFile(atPath: temp.path, contents: nil) else { throw DistributedError.unsupported("cannot create \(temp.path)") }
            let file = try FileHandle(forWritingTo: temp)
            defer { try? file.close() }
            try file.write(contentsOf: SafeTensors.header(layout, metadata: metadata))
            for t in tensors[..<split] { try file.write(contentsOf: SafeTensors.littleEndian(t.values)) }
            for e in own.entries { try file.write(contentsOf: SafeTensors.littleEndian(e.block!.storage)) }
            for source in 1..<group.size {
                let total = try shard.part(source, of: group.size).range(of: probes.count * (probes.count + 1) / 2).count
                for start in stride(from: 0, to: total, by: blocksPerMessage) {
                    let n = min(blocksPerMessage, total - start)
                    try file.write(contentsOf: SafeTensors.littleEndian(try group.receive(from: source, count: n * perBlock)))
                }
            }
            for t in tensors[split...] { try file.write(contentsOf: SafeTensors.littleEndian(t.values)) }
            try file.synchronize()
        }
        return whole
    }

    /// This rank's part of `shard` (`Shard.part`), with every rank's pairs counted by `progress`; a failure on any
    /// rank ends every rank (`agree`).
    private static func ownPart(model: Transformer, probes: [ProbeToken], strategy: KernelStrategy, blocks: Bool, shard: Shard,
                                group: ProcessGroup, threads: Int, progress: DistributedProgress) throws -> ProbeKernel {
        try group.agree {
            try progress.run {
                try ProbeKernel(model: model, probes: probes, strategy: strategy, blocks: blocks, shard: try shard.part(group.rank, of: group.size),
                                threads: threads) { _, _ in progress.advance() }
            }
        }
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
