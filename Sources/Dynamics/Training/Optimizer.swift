import Foundation

/// A learning-rate schedule over optimizer steps (1-based).
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// The base rate at every step.
    case constant
    /// Linear warm-up from 0 over `warmup` steps, then cosine decay to `floor`·lr at step `total`.
    case warmupCosine(warmup: Int, total: Int, floor: Double)
    /// Warm-up, stable, decay: linear warm-up over `warmup` steps, the base rate until step `total − decay`, then
    /// cosine decay to `floor`·lr over the last `decay` steps. A run at the peak rate for most of its length, as
    /// language-model pretraining runs often are, for learning that comes late (notebook 03 §7).
    case warmupStableDecay(warmup: Int, total: Int, decay: Int, floor: Double)

    /// The rate at `step` for base rate `lr`.
    public func rate(_ lr: Double, step: Int) -> Double {
        switch self {
        case .constant:
            return lr
        case let .warmupCosine(warmup, total, floor):
            if step <= warmup { return Self.ramp(lr, step: step, over: warmup) }
            return lr * Self.cosine(from: warmup, to: total, at: step, floor: floor)
        case let .warmupStableDecay(warmup, total, decay, floor):
            if step <= warmup { return Self.ramp(lr, step: step, over: warmup) }
            let start = max(warmup, total - decay)
            return step <= start ? lr : lr * Self.cosine(from: start, to: total, at: step, floor: floor)
        }
    }

    /// The linear warm-up's rate at `step` of `warmup` steps.
    static func ramp(_ lr: Double, step: Int, over warmup: Int) -> Double { lr * Double(step) / Double(max(1, warmup)) }

    /// The cosine factor from 1 at step `start` to `floor` at step `end` (and `floor` beyond it).
    static func cosine(from start: Int, to end: Int, at step: Int, floor: Double) -> Double {
        let progress = min(1, Double(step - start) / Double(max(1, end - start)))
        return floor + (1 - floor) * 0.5 * (1 + cos(Double.pi * progress))
    }

    /// The schedule's name in messages.
    var name: String {
        switch self {
        case .constant: "constant"
        case .warmupCosine: "cosine"
        case .warmupStableDecay: "warm-up-stable-decay"
        }
    }

    /// The step at which the schedule reaches its floor, when it has one (a run cannot go past it on resume).
    public var decayEnd: Int? {
        switch self {
        case .constant: return nil
        case let .warmupCosine(_, total, _), let .warmupStableDecay(_, total, _, _): return total
        }
    }
}

/// The shapes `train --schedule` offers, each made into a `LearningRateSchedule` by `OptimizerConfig.training`.
public enum ScheduleShape: String, CaseIterable, Sendable {
    /// The base rate throughout.
    case constant
    /// Linear warm-up, then cosine to 10 % at the last step.
    case cosine
    /// Linear warm-up, the base rate, then cosine to 10 % over the last `--decay-steps` (default a fifth of the run).
    case wsd
}

/// Optimizer settings. Gradients given to `Optimizer.step` are those of a loss to **minimise**.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case sgd, adamw }

    public var kind: Kind
    /// Base learning rate η.
    public var learningRate: Double
    public var schedule: LearningRateSchedule
    /// Global-norm clipping threshold; nil = no clipping.
    public var clipNorm: Double?
    /// AdamW decoupled weight decay, applied to the weight matrices only: every rank-2 tensor except the token
    /// and position embeddings (biases and LayerNorm gains are never decayed).
    public var weightDecay: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Per-tensor factors on the learning rate (PyTorch's parameter groups); nil: every tensor at the base rate.
    /// Saved with a run only when given, so runs without them keep their bytes.
    public var learningRateScales: [LearningRateScale]?

    public init(kind: Kind, learningRate: Double, schedule: LearningRateSchedule = .constant, clipNorm: Double? = nil,
                weightDecay: Double = 0, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                learningRateScales: [LearningRateScale]? = nil) {
        self.learningRateScales = learningRateScales
        self.kind = kind
        self.learningRate = learningRate
        self.schedule = schedule
        self.clipNorm = clipNorm
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Throws when a setting is out of range.
    public func validate() throws {
        guard learningRate.isFinite, learningRate >= 0 else { throw TrainingError.invalid("learning rate must be finite and ≥ 0") }
        guard clipNorm.map({ $0 > 0 && $0.isFinite }) ?? true else { throw TrainingError.invalid("clip norm must be positive") }
        guard weightDecay >= 0, weightDecay.isFinite, (0..<1).contains(beta1), (0..<1).contains(beta2), epsilon > 0, epsilon.isFinite else {
            throw TrainingError.invalid("AdamW needs a finite weight decay ≥ 0, betas in [0, 1) and a finite epsilon > 0")
        }
        try schedule.validate()
        try LearningRateScale.validate(learningRateScales ?? [])
    }
}

/// A factor on the learning rate of the tensors `tensors` names: a tensor's full name (`patch_emb.weight`) or a
/// prefix that ends at a dot (`patch_emb`, `blocks.0`). A tensor several scales name takes the longest name's.
public struct LearningRateScale: Codable, Equatable, Sendable {
    public var tensors: String
    public var factor: Double

    public init(tensors: String, factor: Double) {
        self.tensors = tensors
        self.factor = factor
    }

    /// Parses `NAME=FACTOR`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let factor = Double(parts[1]) else {
            throw TrainingError.invalid("a learning-rate scale is NAME=FACTOR (e.g. patch_emb=2), not '\(text)'")
        }
        self.init(tensors: String(parts[0]), factor: factor)
    }

    /// Throws unless every scale names something, has a finite factor ≥ 0, and no name is given twice.
    public static func validate(_ scales: [LearningRateScale]) throws {
        for (i, s) in scales.enumerated() {
            guard !s.tensors.isEmpty else { throw TrainingError.invalid("a learning-rate scale needs a tensor name") }
            guard s.factor.isFinite, s.factor >= 0 else {
                throw TrainingError.invalid("the learning-rate scale of '\(s.tensors)' must be finite and ≥ 0, not \(s.factor)")
            }
            if scales[..<i].contains(where: { $0.tensors == s.tensors }) {
                throw TrainingError.invalid("the learning-rate scale of '\(s.tensors)' is given twice")
            }
        }
    }

    /// Whether the scale applies to the tensor called `name`.
    public func names(_ name: String) -> Bool { name == tensors || name.hasPrefix(tensors + ".") }

    /// Each element's factor over θ of `layout` (1 where no scale names the tensor); throws when a scale names no
    /// tensor.
    static func factors(_ scales: [LearningRateScale], layout: ParameterLayout) throws -> [Double] {
        for s in scales where !layout.tensors.contains(where: { s.names($0.name) }) {
            throw TrainingError.invalid("the learning-rate scale '\(s.tensors)' names no tensor of the model (tensors are named like patch_emb.weight, blocks.0.attn.qkv.weight, head.weight)")
        }
        return layout.perElement { t in
            scales.filter { $0.names(t.name) }.max { $0.tensors.count < $1.tensors.count }?.factor ?? 1
        }
    }
}

/// What one optimizer step did.
public struct StepReport: Equatable, Sendable {
    /// The learning rate used.
    public let learningRate: Double
    /// ‖g‖ before clipping.
    public let gradientNorm: Double
    public let clipped: Bool
}

/// SGD or AdamW (with bias correction) over the flat θ, with global-norm clipping and a schedule.
public struct Optimizer: Sendable {
    /// Fixed tiles of θ that `apply` updates, each on whichever thread claims it.
    static let updateTiles = 8
    public let config: OptimizerConfig
    /// Steps taken so far.
    public private(set) var step = 0
    /// AdamW first and second moments (empty for SGD).
    public private(set) var firstMoment: [Double]
    public private(set) var secondMoment: [Double]
    /// 1 where weight decay applies, 0 elsewhere.
    private let decayMask: [Double]
    /// Each element's learning-rate factor (empty when the config has no scales).
    private let rateFactors: [Double]

    public init(config: OptimizerConfig, layout: ParameterLayout) throws {
        try config.validate()
        self.config = config
        let n = config.kind == .adamw ? layout.count : 0
        firstMoment = [Double](repeating: 0, count: n)
        secondMoment = [Double](repeating: 0, count: n)
        decayMask = config.kind == .adamw && config.weightDecay > 0
            ? layout.perElement { t in t.shape.count == 2 && !t.name.hasPrefix("tok_emb") && !t.name.hasPrefix("pos_emb") ? 1 : 0 }
            : []
        rateFactors = try config.learningRateScales.map { try LearningRateScale.factors($0, layout: layout) } ?? []
    }

    /// Restores moments and step count saved by `state`; throws when sizes disagree.
    public mutating func restore(step: Int, firstMoment m: [Double], secondMoment v: [Double]) throws {
        guard m.count == firstMoment.count, v.count == secondMoment.count, step >= 0, step < Int.max,
              m.allSatisfy(\.isFinite), v.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw TrainingError.invalid("optimizer state has \(m.count)/\(v.count) moments, expected \(firstMoment.count)")
        }
        self.step = step
        firstMoment = m
        secondMoment = v
    }

    /// Forgets the moments and the step count (GRPO's periodic restart).
    public mutating func reset() {
        step = 0
        for i in firstMoment.indices { firstMoment[i] = 0; secondMoment[i] = 0 }
    }

    /// θ ← update(θ, g) for the gradient `g` of a loss to minimise. The update is elementwise, so it runs in
    /// `updateTiles` contiguous tiles on up to `threads` threads with the same bytes for any count (serial, the update
    /// of a batch-8 `small` pretraining step was a tenth of the step, the other core idle).
    public mutating func apply(_ gradient: [Double], to theta: inout [Double], threads: Int = 1) -> StepReport {
        precondition(gradient.count == theta.count, "gradient and θ sizes differ (internal error)")
        step += 1
        let lr = config.schedule.rate(config.learningRate, step: step)
        let norm = BLAS.norm2(gradient)
        var scale = 1.0
        if let c = config.clipNorm, norm > c { scale = c / norm }
        let n = theta.count
        let tiles = n >= 4 * Self.updateTiles ? Self.updateTiles : 1
        let tile = { (k: Int) in (k * n / tiles)..<((k + 1) * n / tiles) }
        // The loops run over raw buffers: every buffer has n elements (checked above and in init/restore), so
        // the bounds are proven once here instead of per element.
        switch config.kind {
        case .sgd:
            precondition(rateFactors.isEmpty || rateFactors.count == n, "learning-rate factors and θ sizes differ (internal error)")
            theta.withUnsafeMutableBufferPointer { t in gradient.withUnsafeBufferPointer { gp in rateFactors.withUnsafeBufferPointer { f in
                let t = t.baseAddress!, gp = gp.baseAddress!
                let f = f.isEmpty ? nil : f.baseAddress  // an empty array's buffer may still have an address
                Parallel.forEach(tiles, threads: threads) { k in
                    for i in tile(k) { t[i] -= (f == nil ? lr : lr * f![i]) * scale * gp[i] }
                }
            } } }
        case .adamw:
            precondition(firstMoment.count == n && secondMoment.count == n && (decayMask.isEmpty || decayMask.count == n)
                         && (rateFactors.isEmpty || rateFactors.count == n),
                         "optimizer state and θ sizes differ (internal error)")
            let b1 = config.beta1, b2 = config.beta2
            let c1 = 1 - pow(b1, Double(step)), c2 = 1 - pow(b2, Double(step))
            let wd = config.weightDecay, eps = config.epsilon
            let decays = !decayMask.isEmpty
            theta.withUnsafeMutableBufferPointer { t in gradient.withUnsafeBufferPointer { gp in
                firstMoment.withUnsafeMutableBufferPointer { m in secondMoment.withUnsafeMutableBufferPointer { v in
                    decayMask.withUnsafeBufferPointer { mask in rateFactors.withUnsafeBufferPointer { f in
                        let t = t.baseAddress!, gp = gp.baseAddress!, m = m.baseAddress!, v = v.baseAddress!, mask = mask.baseAddress
                        let f = f.isEmpty ? nil : f.baseAddress
                        Parallel.forEach(tiles, threads: threads) { k in
                            for i in tile(k) {
                                let g = scale * gp[i]
                                m[i] = b1 * m[i] + (1 - b1) * g
                                v[i] = b2 * v[i] + (1 - b2) * g * g
                                let update = (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
                                t[i] -= (f == nil ? lr : lr * f![i]) * (update + (decays ? wd * mask![i] * t[i] : 0))
                            }
                        }
                    } }
                } }
            } }
        }
        return StepReport(learningRate: lr, gradientNorm: norm, clipped: scale < 1)
    }
}

/// Training requests and runs that cannot go on.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case nonFinite(step: Int, what: String)
    case diverged(step: Int, magnitude: Double)

    public var description: String {
        switch self {
        case let .invalid(reason): reason
        case let .nonFinite(step, what): "non-finite \(what) at step \(step); the run stopped, the last good checkpoint is kept"
        case let .diverged(step, magnitude):
            "the run diverged at step \(step): a parameter would reach \(String(format: "%.3g", magnitude)), beyond ±\(String(format: "%g", RunLimits.maxParameterMagnitude)) (lower the learning rate or clip gradients); the run stopped before θ changed, the last good checkpoint is kept"
        }
    }
}

extension OptimizerConfig {
    /// A training run's optimizer over `steps` steps with the schedule `shape` (warm-ups of `warmup` steps, decays
    /// to 10 %; `wsd` decays over the last `decaySteps`, by default a fifth of the run); validated.
    public static func training(_ kind: Kind, learningRate: Double, schedule shape: ScheduleShape, warmup: Int, decaySteps: Int? = nil,
                                steps: Int, clipNorm: Double?, weightDecay: Double,
                                learningRateScales: [LearningRateScale]? = nil) throws -> OptimizerConfig {
        let schedule: LearningRateSchedule
        switch shape {
        case .constant: schedule = .constant
        case .cosine: schedule = .warmupCosine(warmup: warmup, total: steps, floor: 0.1)
        case .wsd: schedule = .warmupStableDecay(warmup: warmup, total: steps, decay: decaySteps ?? max(1, steps / 5), floor: 0.1)
        }
        let config = OptimizerConfig(kind: kind, learningRate: learningRate, schedule: schedule, clipNorm: clipNorm, weightDecay: weightDecay,
                                     learningRateScales: learningRateScales)
        try config.validate()
        return config
    }
}
