import Foundation

/// Settings of a GRPO run (THEORY §7); the defaults are the paper's except the learning rate.
public struct GRPORunConfig: Codable, Equatable, Sendable {
    /// Optimizer updates of the run.
    public var steps: Int
    /// G: samples per prompt.
    public var groupSize: Int = 4
    /// τ: sampling temperature.
    public var temperature: Double = 1
    /// β: weight of the k3 KL to the reference.
    public var beta: Double = 0.04
    /// Prompts per micro-batch.
    public var batchSize: Int = 4
    /// Micro-batches per update (gradient accumulation): an update sees batchSize · accumulation prompts.
    public var accumulation: Int = 4
    /// μ: updates per batch of rollouts (PPO clip with ε when μ > 1).
    public var updatesPerBatch: Int = 1
    public var clipEpsilon: Double = 0.2
    /// Every R epochs: reset the optimizer and set π_ref ← π_θ (0: never).
    public var restartEvery: Int = 2
    /// What a restart resets (nil: both, THEORY §7; stored as nil so that checkpoints written before the setting
    /// existed still resume).
    public var restartScope: RestartScope?
    public var weights = RewardWeights()
    public var optimizer: OptimizerConfig
    public var seed: UInt64
    /// The prompts file (jigsaw or ordering examples with truth).
    public var data: String

    public init(steps: Int, optimizer: OptimizerConfig, seed: UInt64, data: String) {
        self.steps = steps
        self.optimizer = optimizer
        self.seed = seed
        self.data = data
    }

    /// Prompts per update.
    public var promptsPerStep: Int { batchSize * accumulation }

    // validate(): ResumeValidation.swift, with the limits every run setting shares.
}

/// What GRPO's periodic restart resets.
public enum RestartScope: String, Codable, CaseIterable, Sendable {
    /// π_ref ← π_θ and the optimizer's moments and step (THEORY §7, the paper's).
    case referenceAndOptimizer = "reference-and-optimizer"
    /// π_ref ← π_θ only; AdamW keeps its moments (a diagnostic: does the moment reset change learning?).
    case reference
}

/// One GRPO update's record: a row of `metrics.csv`.
public struct GRPOStepRecord: Equatable, Sendable {
    public let step: Int
    public let epoch: Double
    public let loss: Double
    public let report: StepReport
    /// Mean and sample std of the total reward and of each component, over all rollouts of the update.
    public let reward: (mean: Double, std: Double)
    public let format: (mean: Double, std: Double)
    public let hit: (mean: Double, std: Double)
    public let accuracy: (mean: Double, std: Double)
    /// Mean k3 KL per token to the reference.
    public let kl: Double
    /// Mean completion length in tokens.
    public let completionLength: Double
    /// Fraction of prompts whose G rewards are all equal (no learning signal).
    public let zeroStdFraction: Double
    public let clipFraction: Double
    /// True when this update began with a periodic restart.
    public let restarted: Bool
    /// Mean entropy (nats) of π_θ per completion token, from the loss's forward pass (TRL's `entropy`).
    public var entropy: Double = 0
    /// Fraction of the update's completions cut at max_seq_len without `<eos>` (TRL's `completions/clipped_ratio`).
    public var clippedRatio: Double = 0

    public static func == (a: GRPOStepRecord, b: GRPOStepRecord) -> Bool {
        a.step == b.step && a.loss == b.loss && a.report == b.report && a.reward == b.reward && a.kl == b.kl
    }
}

/// GRPO on prompts with permutation answers (jigsaw, ordering): sample G outputs per prompt from π_θ, reward them
/// (THEORY §8), normalise advantages per group, minimise the clipped surrogate with a k3 KL to π_ref.
public struct GRPOTrainer: Sendable {
    public private(set) var model: Transformer
    public private(set) var reference: Transformer
    public private(set) var optimizer: Optimizer
    public let config: GRPORunConfig
    public let tokenizer: Tokenizer
    /// The prompts (examples with truth) and their encodings.
    public let examples: [Example]
    public let prompts: [EncodedExample]
    public private(set) var step = 0
    /// The processes that share each update: rollouts and the terms of units of rollouts are split over them (see `sampleGroups`).
    public var group: ProcessGroup = .single

    public init(model: Transformer, tokenizer: Tokenizer, examples: [Example], prompts: [EncodedExample], config: GRPORunConfig) throws {
        try config.validate()
        guard !prompts.isEmpty, prompts.count == examples.count else { throw TrainingError.invalid("no prompts") }
        for e in examples where e.truth?.permutation == nil {
            throw TrainingError.invalid("example '\(e.id)' has no truth.permutation: GRPO rewards need a jigsaw or ordering answer")
        }
        self.model = model
        reference = model
        self.tokenizer = tokenizer
        self.examples = examples
        self.prompts = prompts
        self.config = config
        optimizer = try Optimizer(config: config.optimizer, layout: model.layout)
    }

    /// Continues from a saved state: θ is `model`, the reference's θ is `referenceParameters`.
    public init(model: Transformer, tokenizer: Tokenizer, examples: [Example], prompts: [EncodedExample], config: GRPORunConfig,
                state: TrainerState, referenceParameters: [Double]) throws {
        try self.init(model: model, tokenizer: tokenizer, examples: examples, prompts: prompts, config: config)
        guard (0...config.steps).contains(state.step) else { throw TrainingError.invalid("saved step \(state.step) is outside the run's 0…\(config.steps)") }
        try optimizer.restore(step: state.optimizerStep, firstMoment: state.firstMoment, secondMoment: state.secondMoment)
        reference = try Transformer(config: model.config, parameters: referenceParameters)
        step = state.step
    }

    /// Completed epochs before update `k` (0-based).
    func epochsBefore(_ k: Int) -> Int { k * config.promptsPerStep / prompts.count }

    /// Prompt indices of update `k`: slices of one permutation per epoch (stream "grpo.order.<epoch>").
    public func promptIndices(_ k: Int) -> [Int] {
        let n = prompts.count
        var cachedEpoch = -1
        var order: [Int] = []
        return (k * config.promptsPerStep..<((k + 1) * config.promptsPerStep)).map { j in
            if j / n != cachedEpoch {
                cachedEpoch = j / n
                order = Array(0..<n)
                RandomStream(seed: config.seed, name: "grpo.order.\(cachedEpoch)").shuffle(&order)
            }
            return order[j % n]
        }
    }

    /// Samples the G rollouts of each prompt of update `step` with the current θ (θ_old) and scores them.
    public func sampleGroups(threads: Int, group: ProcessGroup = .single) throws -> [[Rollout]] {
        let indices = promptIndices(step)
        let G = config.groupSize
        let reference = self.reference, config = self.config
        let prompts = self.prompts, examples = self.examples, step = self.step
        let sampler = try RolloutSampler(model: model, tokenizer: tokenizer, temperature: config.temperature, seed: config.seed)
        // Each rollout has its own stream, so under MPI ranks can sample their slices and exchange the rollouts.
        let flat: [Rollout] = try group.allMap(indices.count * G, threads: threads, encode: Rollout.encode, decode: Rollout.decode) { k -> Rollout in
            let slot = k / G, j = k % G, index = indices[slot]
            let s = try sampler.sample(examples[index], prompts[index], stream: "grpo.sample.\(step).\(slot).\(j)")
            let prompt = AnswerGenerator.promptInput(prompts[index])
            var rollout = Rollout(prompt: prompt, tokens: s.tokens, oldLogProbs: s.logProbs, referenceLogProbs: [],
                                  reward: config.weights.total(s.rewards), rewards: s.rewards)
            if !s.tokens.isEmpty {
                let acts = try reference.forward(rollout.sequence)
                rollout.referenceLogProbs = s.tokens.enumerated().map { t, token in acts.logProbabilities(at: prompt.length + t - 1)[token] }
            }
            return rollout
        }
        // Rollouts received from other ranks carry no prompt (it is not sent): each gets its prompt back from its index.
        let complete = flat.enumerated().map { k, r -> Rollout in
            guard r.prompt.length == 0 else { return r }
            var r = r
            r.prompt = AnswerGenerator.promptInput(prompts[indices[k / G]])
            return r
        }
        return stride(from: 0, to: complete.count, by: G).map { Array(complete[$0..<($0 + G)]) }
    }

    /// One update: restart if due, sample, then μ optimizer steps on the batch. Non-finite values stop it before θ changes.
    public mutating func trainStep(threads: Int) throws -> GRPOStepRecord {
        let restart = config.restartEvery > 0 && step > 0
            && epochsBefore(step) / config.restartEvery > epochsBefore(step - 1) / config.restartEvery
        if restart {
            if (config.restartScope ?? .referenceAndOptimizer) == .referenceAndOptimizer { optimizer.reset() }
            reference = model
        }
        let groups = try sampleGroups(threads: threads, group: group)
        let withAdvantages = groups.map { g in zip(g, GRPOObjective.advantages(g.map(\.reward))).map { (rollout: $0, advantage: $1) } }
        var loss = 0.0, kl = 0.0, clipFraction = 0.0, entropy = 0.0
        var report = StepReport(learningRate: 0, gradientNorm: 0, clipped: false)
        var theta = model.parameters
        var candidate = model
        for _ in 0..<config.updatesPerBatch {
            let r = try GRPOObjective.lossAndGradient(candidate, groups: withAdvantages, beta: config.beta, clipEpsilon: config.clipEpsilon, threads: threads, group: group)
            guard r.loss.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "loss") }
            guard r.gradient.allSatisfy(\.isFinite) else { throw TrainingError.nonFinite(step: step + 1, what: "gradient") }
            (loss, kl, clipFraction, entropy) = (r.loss, r.kl, r.clipFraction, r.entropy)
            report = optimizer.apply(r.gradient, to: &theta, threads: threads)
            try RunLimits.checkParameters(theta, step: step + 1)
            candidate.parameters = theta
        }
        model = candidate
        step += 1
        let all = groups.flatMap { $0 }
        func stats(_ xs: [Double]) -> (mean: Double, std: Double) {
            ((try? Statistics.mean(xs)) ?? 0, (try? Statistics.standardDeviation(xs)) ?? 0)
        }
        return GRPOStepRecord(
            step: step, epoch: Double(step * config.promptsPerStep) / Double(prompts.count), loss: loss, report: report,
            reward: stats(all.map(\.reward)), format: stats(all.map(\.rewards.format)), hit: stats(all.map(\.rewards.hit)),
            accuracy: stats(all.map(\.rewards.accuracy)), kl: kl, completionLength: stats(all.map { Double($0.tokens.count) }).mean,
            zeroStdFraction: Double(groups.filter { Set($0.map(\.reward)).count == 1 }.count) / Double(groups.count),
            clipFraction: clipFraction, restarted: restart, entropy: entropy,
            clippedRatio: Double(all.filter { $0.tokens.last != Tokenizer.eos }.count) / Double(all.count))
    }

    /// The optimizer state to save beside θ (the reference θ is saved as well).
    public var state: TrainerState {
        TrainerState(step: step, optimizerStep: optimizer.step, firstMoment: optimizer.firstMoment, secondMoment: optimizer.secondMoment)
    }

    /// The metrics.csv columns.
    public static let metricsHeader = ["step", "epoch", "loss", "lr", "grad_norm", "reward_mean", "reward_std", "fmt_mean", "fmt_std",
                                       "hit_mean", "hit_std", "acc_mean", "acc_std", "kl", "completion_length", "zero_std_fraction",
                                       "clip_fraction", "restarted", "entropy", "clipped_ratio"]

    public static func metricsRow(_ r: GRPOStepRecord) -> [CSVCell] {
        [.int(r.step), .double(r.epoch), .double(r.loss), .double(r.report.learningRate), .double(r.report.gradientNorm),
         .double(r.reward.mean), .double(r.reward.std), .double(r.format.mean), .double(r.format.std), .double(r.hit.mean),
         .double(r.hit.std), .double(r.accuracy.mean), .double(r.accuracy.std), .double(r.kl), .double(r.completionLength),
         .double(r.zeroStdFraction), .double(r.clipFraction), .int(r.restarted ? 1 : 0), .double(r.entropy), .double(r.clippedRatio)]
    }
}

extension Rollout {
    /// Rollouts as flat values for other ranks (the prompt is not sent: the receiver has it).
    static func encode(_ rollouts: [Rollout]) -> [Double] {
        var values: [Double] = []
        for r in rollouts {
            values.append(Double(r.tokens.count))
            values.append(Double(r.referenceLogProbs.count))
            values.append(contentsOf: r.tokens.map(Double.init))
            values.append(contentsOf: r.oldLogProbs)
            values.append(contentsOf: r.referenceLogProbs)
            values.append(contentsOf: [r.reward, r.rewards.format, r.rewards.hit, r.rewards.accuracy])
        }
        return values
    }

    /// The rollouts `encode` wrote, each with an empty prompt for the caller to fill in.
    static func decode(_ values: [Double]) throws -> [Rollout] {
        var out: [Rollout] = []
        var k = 0
        while k + 2 <= values.count {
            let n = Int(values[k]), m = Int(values[k + 1]), base = k + 2
            guard n >= 0, m >= 0, base + 2 * n + m + 4 <= values.count else { throw DistributedError.unsupported("a rank sent a malformed rollout") }
            let tokens = values[base..<(base + n)].map { Int($0) }
            let old = Array(values[(base + n)..<(base + 2 * n)]), reference = Array(values[(base + 2 * n)..<(base + 2 * n + m)])
            let tail = base + 2 * n + m
            let rewards = JigsawRewards(format: values[tail + 1], hit: values[tail + 2], accuracy: values[tail + 3])
            out.append(Rollout(prompt: ModelInput(patches: nil, tokens: []), tokens: tokens, oldLogProbs: old, referenceLogProbs: reference,
                               reward: values[tail], rewards: rewards))
            k = tail + 4
        }
        return out
    }
}
