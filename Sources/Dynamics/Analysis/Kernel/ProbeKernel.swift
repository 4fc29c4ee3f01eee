import Foundation

/// One token example of a probe set: where it comes from and what the network reads.
public struct ProbeToken: Sendable {
    public let reference: TokenReference
    /// The example's task (WORLD.md), "unknown" when the file does not say.
    public let task: String
    public let input: ModelInput

    public init(reference: TokenReference, task: String, input: ModelInput) {
        self.reference = reference
        self.task = task
        self.input = input
    }

    /// The token examples `selection` takes from each example, in file order.
    public static func all(_ examples: [EncodedExample], tasks: [String], selection: TokenSelection) -> [ProbeToken] {
        zip(examples, tasks).flatMap { e, task in
            selection.positions(in: e).map { ProbeToken(reference: TokenReference(id: e.id, position: $0), task: task, input: e.input) }
        }
    }
}

/// The eNTK over a probe set of N token examples (THEORY §5): for each pair i ≤ j the trace tr K(x_i, x_j), each
/// tensor's trace, the influence I_ij = A(x_i) K(x_i, x_j) G(x_j) = ⟨∇θ log π(x_i), ∇θ log π(x_j)⟩ and, when asked,
/// the V × V block. The pairs can be split into shards that run anywhere and merge into the same result.
public struct ProbeKernel: Sendable {
    /// A pair of probe indices, i ≤ j.
    public struct Pair: Equatable, Hashable, Sendable {
        public let i: Int, j: Int
    }

    /// One pair's results.
    public struct Entry: Sendable {
        public let pair: Pair
        public let trace: Double
        /// tr K_g per tensor, θ order.
        public let tensorTraces: [Double]
        public let influence: Double
        /// K(x_i, x_j), V × V, when blocks were asked for.
        public let block: Matrix?
    }

    /// `k`-th of `n` contiguous slices of the N(N+1)/2 pairs (1 ≤ k ≤ n), in row-major upper-triangle order.
    public struct Shard: Equatable, Sendable, CustomStringConvertible {
        public let index: Int, count: Int

        public init(index: Int, count: Int) throws {
            // At most 2^20 shards, so that a slice's bounds (index · pairs / count) never overflow.
            guard (1...(1 << 20)).contains(count), (1...count).contains(index) else { throw KernelError.badShard("\(index)/\(count)") }
            self.init(checked: index, count)
        }

        private init(checked index: Int, _ count: Int) {
            self.index = index
            self.count = count
        }

        /// Parses `k/n`.
        public init(parsing text: String) throws {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else { throw KernelError.badShard(text) }
            try self.init(index: k, count: n)
        }

        /// All pairs: 1/1.
        public static let whole = Shard(checked: 1, 1)

        public var description: String { "\(index)/\(count)" }

        /// This shard's slice of `total` pairs.
        public func range(of total: Int) -> Range<Int> { ((index - 1) * total / count)..<(index * total / count) }
    }

    public let probes: [TokenReference]
    /// Each probe's task.
    public let tasks: [String]
    public let tensorNames: [String]
    public let vocabSize: Int
    public internal(set) var shard: Shard
    /// The plan this shard ran (nil for a kernel read from a file or merged).
    public private(set) var plan: KernelPlan?
    /// This shard's pairs, in order.
    public var entries: [Entry]

    /// Every pair i ≤ j of `n` probes, row-major.
    public static func allPairs(_ n: Int) -> [Pair] { (0..<n).flatMap { i in (i..<n).map { Pair(i: i, j: $0) } } }

    /// Computes `shard`'s pairs under `strategy` (whose per-tensor plan is chosen for the whole probe set), spread
    /// over `threads`. Traces without blocks under a non-explicit strategy come from the probes' stacked features,
    /// one product per tensor and tile pair (`StackedTraces`, memory within `featureBudget` bytes); blocks, and the
    /// explicit reference, go pair by pair from each probe's whole features. `progress`, when given, is called from
    /// the worker threads after each pair with (pairs done, pairs in this shard).
    public init(model: Transformer, probes: [ProbeToken], strategy: KernelStrategy, blocks: Bool, shard: Shard = .whole,
                threads: Int = Parallel.defaultThreads, progress: (@Sendable (Int, Int) -> Void)? = nil) throws {
        try self.init(model: model, probes: probes, strategy: strategy, blocks: blocks, shard: shard, threads: threads,
                      featureBudget: StackedTraces.defaultBudget, progress: progress)
    }

    init(model: Transformer, probes: [ProbeToken], strategy: KernelStrategy, blocks: Bool, shard: Shard, threads: Int,
         featureBudget: Int, progress: (@Sendable (Int, Int) -> Void)?) throws {
        guard !probes.isEmpty else { throw KernelError.empty }
        let all = Self.allPairs(probes.count)
        let pairs = Array(all[shard.range(of: all.count)])
        // The plan is made for the whole computation, not the shard, so every shard computes each pair exactly as
        // one run would (same per-layer products, same round-off) and merged shards equal one run bit for bit.
        let workload = KernelWorkload(prefixes: probes.map { ($0.reference.position, $0.input.imagePositions) }, pairs: all.count,
                                      output: blocks ? .blocks : .traces)
        let plan = KernelPlan(strategy: strategy, model: model, workload: workload)
        let layout = model.layout
        let counter = Counter()
        if pairs.isEmpty {
            entries = []  // an empty slice (more slices than pairs)
        } else if blocks || strategy == .explicit {
            let needed = Array(Set(pairs.flatMap { [$0.i, $0.j] })).sorted()
            let features = try Parallel.map(needed.count, threads: threads) { k in
                let p = probes[needed[k]]
                let f = try KernelFeatures(model, input: p.input, position: p.reference.position, plan: plan)
                return (f, f.logProbGradient(layout: layout))
            }
            let slot = Dictionary(uniqueKeysWithValues: needed.enumerated().map { ($1, $0) })
            entries = Parallel.map(pairs.count, threads: threads) { k in
                let pair = pairs[k]
                let (fi, gi) = features[slot[pair.i]!], (fj, gj) = features[slot[pair.j]!]
                let (trace, perTensor) = KernelProducts.trace(fi, fj, layout: layout)
                let block = blocks ? KernelProducts.block(fi, fj, layout: layout).kernel : nil
                progress?(counter.increment(), pairs.count)
                return Entry(pair: pair, trace: trace, tensorTraces: perTensor, influence: BLAS.dot(gi, gj), block: block)
            }
        } else {
            let stacked = StackedTraces(model: model, plan: plan, probeCount: probes.count, budget: featureBudget)
            entries = try stacked.entries(pairs, probes: probes, model: model, plan: plan, threads: threads) {
                progress?(counter.increment(), pairs.count)
            }
        }
        self.probes = probes.map(\.reference)
        tasks = probes.map(\.task)
        tensorNames = layout.tensors.map(\.name)
        vocabSize = model.config.vocabSize
        self.shard = shard
        self.plan = plan
    }

    /// Assembles shards of one computation (same probes, tensors and block setting, covering every pair exactly
    /// once) into the result one run gives.
    public static func merge(_ shards: [ProbeKernel]) throws -> ProbeKernel {
        guard let first = shards.first else { throw KernelError.empty }
        for s in shards.dropFirst() {
            guard s.probes == first.probes, s.tasks == first.tasks, s.tensorNames == first.tensorNames, s.vocabSize == first.vocabSize,
                  s.shard.count == first.shard.count, s.hasBlocks == first.hasBlocks else {
                throw KernelError.incompatibleShards("shard \(s.shard) was computed over other probes, tensors or settings than shard \(first.shard)")
            }
        }
        var seen = Set<Int>()
        for s in shards where !seen.insert(s.shard.index).inserted { throw KernelError.incompatibleShards("shard \(s.shard) given twice") }
        let missing = (1...first.shard.count).filter { !seen.contains($0) }
        guard missing.isEmpty else {
            throw KernelError.incompatibleShards("missing shard(s) \(missing.map { "\($0)/\(first.shard.count)" }.joined(separator: ", "))")
        }
        var merged = first
        merged.entries = shards.sorted { $0.shard.index < $1.shard.index }.flatMap(\.entries)
        guard merged.entries.map(\.pair) == allPairs(first.probes.count) else {
            throw KernelError.incompatibleShards("the shards' pairs do not cover the probe set exactly once")
        }
        merged.shard = .whole
        merged.plan = nil
        return merged
    }

    /// An assembled kernel from its parts (used when reading files).
    init(probes: [TokenReference], tasks: [String], tensorNames: [String], vocabSize: Int, shard: Shard, entries: [Entry]) {
        self.probes = probes
        self.tasks = tasks
        self.tensorNames = tensorNames
        self.vocabSize = vocabSize
        self.shard = shard
        self.entries = entries
        plan = nil
    }

    public var hasBlocks: Bool { entries.first?.block != nil }

    /// True when this holds every pair (a whole run or merged shards).
    public var isComplete: Bool { entries.count == probes.count * (probes.count + 1) / 2 }

    /// The symmetric N × N matrix of a per-pair value (complete kernels only).
    public func matrix(_ value: (Entry) -> Double) -> Matrix {
        let n = probes.count
        var m = Matrix(rows: n, cols: n)
        for e in entries {
            m[e.pair.i, e.pair.j] = value(e)
            m[e.pair.j, e.pair.i] = value(e)
        }
        return m
    }

    /// Θ: the N × N trace kernel.
    public var traceKernel: Matrix { matrix(\.trace) }

    /// The N × N influence matrix (symmetric: A(x) = G(x) for a token example).
    public var influenceMatrix: Matrix { matrix(\.influence) }
}

/// Failures of kernel computations and files.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    case badShard(String)
    case empty
    case incompatibleShards(String)
    case incomparable(String)
    case badFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badShard(text): "shard '\(text)' must be k/n with 1 ≤ k ≤ n"
        case .empty: "no probe token examples (or no shards) to compute"
        case let .incompatibleShards(reason): "cannot merge the shards: \(reason)"
        case let .incomparable(reason): "cannot compare the kernels: \(reason)"
        case let .badFile(path, reason): "kernel file \(path): \(reason)"
        }
    }
}

/// Pairs completed, counted across worker threads.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
