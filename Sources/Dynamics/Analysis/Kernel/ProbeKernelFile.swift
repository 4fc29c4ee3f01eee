import Foundation

/// A probe-set kernel on disk: safetensors with one row per pair (`pairs` [P, 2] as probe indices i ≤ j,
/// `trace` [P], `influence` [P], `tensor_trace` [P, tensors], and `blocks` [P, V, V] when computed), plus, for a
/// complete kernel, the symmetric N × N `trace_kernel` and `influence_matrix`. `__metadata__` carries `probes`
/// and `tasks` (JSON arrays), `tensors`, `vocab_size`, `shard` (k/n) and the caller's own keys (e.g. the
/// checkpoint's fingerprint), which shards must share to be merged.
extension ProbeKernel {
    /// The file's tensors and metadata (`extra` adds keys).
    public func encoded(extra: [String: String]) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        let p = entries.count, t = tensorNames.count, V = vocabSize
        var tensors = [
            NamedTensor(name: "pairs", shape: [p, 2], values: entries.flatMap { [Double($0.pair.i), Double($0.pair.j)] }),
            NamedTensor(name: "trace", shape: [p], values: entries.map(\.trace)),
            NamedTensor(name: "influence", shape: [p], values: entries.map(\.influence)),
            NamedTensor(name: "tensor_trace", shape: [p, t], values: entries.flatMap(\.tensorTraces)),
        ]
        if hasBlocks { tensors.append(NamedTensor(name: "blocks", shape: [p, V, V], values: entries.flatMap { $0.block!.storage })) }
        if isComplete {
            let n = probes.count
            tensors.append(NamedTensor(name: "trace_kernel", shape: [n, n], values: traceKernel.storage))
            tensors.append(NamedTensor(name: "influence_matrix", shape: [n, n], values: influenceMatrix.storage))
        }
        var metadata = extra
        metadata["probes"] = try Self.json(probes.map(\.description))
        metadata["tasks"] = try Self.json(tasks)
        metadata["tensors"] = try Self.json(tensorNames)
        metadata["vocab_size"] = String(V)
        metadata["shard"] = shard.description
        return (tensors, metadata)
    }

    /// Writes the kernel (atomically).
    public func write(to url: URL, extra: [String: String]) throws {
        let (tensors, metadata) = try encoded(extra: extra)
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    /// Reads a kernel file written by `write`; every inconsistency is an error naming the file.
    /// Returns the kernel and the metadata keys beyond the kernel's own.
    public static func read(_ url: URL) throws -> (kernel: ProbeKernel, extra: [String: String]) {
        let (tensors, metadata) = try SafeTensors.read(url)
        func fail(_ reason: String) -> KernelError { .badFile(path: url.path, reason: reason) }
        func strings(_ key: String) throws -> [String] {
            guard let text = metadata[key], let data = text.data(using: .utf8),
                  let list = try? JSONDecoder().decode([String].self, from: data) else { throw fail("metadata '\(key)' missing or not a JSON list of strings") }
            return list
        }
        let probes = try strings("probes").map { try TokenReference(parsing: $0) }
        let tasks = try strings("tasks"), names = try strings("tensors")
        guard let V = metadata["vocab_size"].flatMap(Int.init), V > 0 else { throw fail("metadata 'vocab_size' missing or invalid") }
        guard let shardText = metadata["shard"], let shard = try? Shard(parsing: shardText) else { throw fail("metadata 'shard' missing or invalid") }
        guard tasks.count == probes.count else { throw fail("\(tasks.count) tasks for \(probes.count) probes") }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func tensor(_ name: String, _ shape: [Int]) throws -> [Double] {
            guard let t = byName[name] else { throw fail("no tensor '\(name)'") }
            guard t.shape == shape else { throw fail("tensor '\(name)' has shape \(t.shape), expected \(shape)") }
            return t.values
        }
        guard let pairShape = byName["pairs"]?.shape, pairShape.count == 2, pairShape[1] == 2 else { throw fail("tensor 'pairs' missing or not [P, 2]") }
        let p = pairShape[0], n = probes.count
        let pairs = try tensor("pairs", [p, 2]), trace = try tensor("trace", [p]), influence = try tensor("influence", [p])
        let perTensor = try tensor("tensor_trace", [p, names.count])
        let blocks = byName["blocks"] == nil ? nil : try tensor("blocks", [p, V, V])
        var entries: [Entry] = []
        for k in 0..<p {
            guard let i = Int(exactly: pairs[2 * k]), let j = Int(exactly: pairs[2 * k + 1]), 0 <= i, i <= j, j < n else {
                throw fail("pair \(k) is not two probe indices i ≤ j below \(n)")
            }
            let block = try blocks.map { try Matrix(rows: V, cols: V, storage: Array($0[(k * V * V)..<((k + 1) * V * V)])) }
            entries.append(Entry(pair: Pair(i: i, j: j), trace: trace[k], tensorTraces: Array(perTensor[(k * names.count)..<((k + 1) * names.count)]),
                                 influence: influence[k], block: block))
        }
        let kernel = ProbeKernel(probes: probes, tasks: tasks, tensorNames: names, vocabSize: V, shard: shard, entries: entries)
        guard kernel.entries.map(\.pair) == Array(allPairs(n)[shard.range(of: n * (n + 1) / 2)]) else {
            throw fail("its pairs are not those of shard \(shard) of \(n) probes")
        }
        let own: Set<String> = ["probes", "tasks", "tensors", "vocab_size", "shard"]
        return (kernel, metadata.filter { !own.contains($0.key) })
    }

    /// Long-format CSV rows, one per pair: i, j, probe_i, probe_j, task_i, task_j, trace, influence.
    /// OUT.csv's columns and OUT.tensors.csv's.
    public static let pairHeader = ["i", "j", "probe_i", "probe_j", "task_i", "task_j", "trace", "influence"]
    public static let tensorHeader = ["i", "j", "tensor", "trace"]

    public func pairTable() -> CSVTable {
        var table = CSVTable(header: Self.pairHeader)
        for e in entries {
            let (i, j) = (e.pair.i, e.pair.j)
            table.append([.int(i), .int(j), .string(probes[i].description), .string(probes[j].description), .string(tasks[i]),
                          .string(tasks[j]), .double(e.trace), .double(e.influence)])
        }
        return table
    }

    /// Long-format CSV rows, one per pair and parameter tensor: i, j, tensor, trace.
    public func tensorTable() -> CSVTable {
        var table = CSVTable(header: Self.tensorHeader)
        for e in entries {
            for (name, value) in zip(tensorNames, e.tensorTraces) { table.append([.int(e.pair.i), .int(e.pair.j), .string(name), .double(value)]) }
        }
        return table
    }

    private static func json(_ list: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(list), as: UTF8.self)
    }
}
