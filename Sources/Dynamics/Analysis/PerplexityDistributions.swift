import Foundation

/// The perplexity distributions of THEORY §6 (the paper's §5.4, Fig. 5): where the base model π_0 puts the responses
/// a fine-tuning run learns from. For each question, all scored by π_0: K rollouts of π_0 and K of the policy π_R on
/// the reasoning prompt, K rollouts of π_0 on the plain prompt, and the ground-truth answer on the plain prompt.
public enum PerplexitySource: String, CaseIterable, Sendable, Codable {
    case baseReasoning = "base_reasoning"
    case policyReasoning = "policy_reasoning"
    case basePlain = "base_plain"
    case groundTruth = "ground_truth"
}

/// One question in both prompt styles, built from any example of it with the world's templates (WORLD.md "Two
/// prompt styles"): the question is the prompt without the reasoning instruction; the answer is the truth's
/// permutation for permutation tasks (a jigsaw-format example's response is a guess) and the response's answer
/// block otherwise.
public struct PerplexityQuestion: Sendable {
    /// The source example (its id names the question).
    public let source: Example
    /// The reasoning-style prompt (empty response).
    public let reasoning: Example
    /// The plain-style prompt with the ground-truth response `<answer> … </answer>`.
    public let plain: Example

    public init(_ example: Example) throws {
        let suffix = " " + PromptStyle.reasoningInstruction
        let question = example.prompt.hasSuffix(suffix) ? String(example.prompt.dropLast(suffix.count)) : example.prompt
        let answer: String
        if let permutation = example.truth?.permutation, example.task.flatMap(TaskKind.init(rawValue:)).map({ $0.isPuzzle || $0.scoredAs == .ordering }) ?? true {
            answer = Jigsaw.listText(permutation)
        } else if let block = JigsawReward.answerBlock(example.response) {
            answer = block.trimmingCharacters(in: .whitespaces)
        } else {
            throw WorldError.invalid("example '\(example.id)': its response has no single <answer> … </answer> block and its truth no permutation, so it has no ground-truth answer")
        }
        source = example
        reasoning = Example(id: example.id, task: example.task, style: PromptStyle.reasoning.rawValue, prompt: PromptStyle.reasoning.prompt(question),
                            response: "", image: example.image, truth: example.truth, grid: example.grid)
        plain = Example(id: example.id, task: example.task, style: PromptStyle.plain.rawValue, prompt: PromptStyle.plain.prompt(question),
                        response: PromptStyle.plain.response(answer: answer, trace: ""), image: example.image, truth: example.truth, grid: example.grid)
    }
}

/// One scored response: a row of the perplexity CSV.
public struct ScoredResponse: Equatable, Sendable, Codable {
    public let question: String
    public let source: PerplexitySource
    public let sample: Int
    /// The image path as in the examples file ("" for none).
    public let image: String
    public let prompt: String
    /// The response text as scored (without `<eos>`).
    public let output: String
    /// Scored tokens: the response and the closing `<eos>` (a rollout cut at max_seq_len has none).
    public let tokens: Int
    /// ℓ̄ = (1/|o|) Σ_t log π_0(o_t | q, o_<t).
    public let meanLogProb: Double
    /// The task's own criterion (as `analyze rollouts`): TaskScorer's `correct`, or R_acc = 1 without a task.
    public let correct: Bool

    public var perplexity: Double { exp(-meanLogProb) }

    /// The columns of the long table.
    public static let header = ["question", "source", "sample", "image", "prompt", "output", "tokens", "mean_logprob", "ppl", "correct"]

    public var cells: [CSVCell] {
        [.string(question), .string(source.rawValue), .int(sample), .string(image), .string(prompt), .string(output), .int(tokens),
         .double(meanLogProb), .double(perplexity), .int(correct ? 1 : 0)]
    }
}

/// Samples and scores the responses of THEORY §6. Sample k of a rollout source for question ID draws from the stream
/// "perplexity.SOURCE.ID.k" (sampling through `RolloutSampler`), so the rows do not depend on threads or order;
/// every response is scored by the base model with `TokenGradients.responseLogProbs`, the workbench's one log-prob.
public struct PerplexityStudy: Sendable {
    public let base: Transformer
    public let policy: Transformer
    public let tokenizer: Tokenizer
    /// K: rollouts per question and source.
    public let samples: Int
    public let temperature: Double
    public let seed: UInt64

    /// Throws unless the two models read the same inputs (equal configs) and K ≥ 1.
    public init(base: Transformer, policy: Transformer, tokenizer: Tokenizer, samples: Int, temperature: Double = 1, seed: UInt64) throws {
        guard samples >= 1 else { throw WorldError.invalid("samples must be at least 1") }
        guard base.config == policy.config else {
            throw WorldError.invalid("the base and policy checkpoints have different model configs; the policy must be fine-tuned from the base")
        }
        _ = try RolloutSampler(model: base, tokenizer: tokenizer, temperature: temperature, seed: seed)
        self.base = base
        self.policy = policy
        self.tokenizer = tokenizer
        self.samples = samples
        self.temperature = temperature
        self.seed = seed
    }

    /// Rows per question: 3K rollouts and the ground truth.
    public var rowsPerQuestion: Int { 3 * samples + 1 }

    /// The first `count` examples of `file` as questions, both styles encoded (images read once).
    public func encode(_ file: ExampleFile, count: Int, threads: Int) throws -> [EncodedQuestion] {
        guard count >= 1 else { throw WorldError.invalid("questions must be at least 1") }
        let examples = Array(file.examples.prefix(count))
        let config = base.config, tokenizer = tokenizer
        return try Parallel.map(examples.count, threads: threads) { i in
            let q = try PerplexityQuestion(examples[i])
            return EncodedQuestion(question: q, reasoning: try EncodedExample(q.reasoning, file: file, tokenizer: tokenizer, config: config),
                                   plain: try EncodedExample(q.plain, file: file, tokenizer: tokenizer, config: config))
        }
    }

    /// All rows in question order, then source order (base_reasoning, policy_reasoning, base_plain, ground_truth),
    /// then sample; `progress(done, total)` after each chunk of work, on the calling thread.
    public func run(_ questions: [EncodedQuestion], threads: Int, progress: (Int, Int) -> Void = { _, _ in }) throws -> [ScoredResponse] {
        let baseSampler = try RolloutSampler(model: base, tokenizer: tokenizer, temperature: temperature, seed: seed)
        let policySampler = try RolloutSampler(model: policy, tokenizer: tokenizer, temperature: temperature, seed: seed)
        let perQuestion = rowsPerQuestion, total = questions.count * perQuestion, chunk = max(16, 4 * threads)
        var rows: [ScoredResponse] = []
        rows.reserveCapacity(total)
        for start in stride(from: 0, to: total, by: chunk) {
            let n = min(chunk, total - start)
            rows += try Parallel.map(n, threads: threads) { k in
                let item = start + k, q = questions[item / perQuestion], r = item % perQuestion
                if r == 3 * samples { return try score(q, source: .groundTruth, sample: 0) }
                let source = [PerplexitySource.baseReasoning, .policyReasoning, .basePlain][r / samples]
                return try score(q, source: source, sample: r % samples, sampler: source == .policyReasoning ? policySampler : baseSampler)
            }
            progress(start + n, total)
        }
        return rows
    }

    /// One response of `source` for `q`, sampled (except the ground truth) and scored by the base model.
    func score(_ q: EncodedQuestion, source: PerplexitySource, sample: Int, sampler: RolloutSampler? = nil) throws -> ScoredResponse {
        let example = source == .basePlain || source == .groundTruth ? q.question.plain : q.question.reasoning
        let prompted = source == .basePlain || source == .groundTruth ? q.plain : q.reasoning
        let scored: EncodedExample, output: String, correct: Bool
        if let sampler {
            let s = try sampler.sample(example, prompted, stream: "perplexity.\(source.rawValue).\(example.id).\(sample)")
            let promptTokens = Array(prompted.input.tokens[0..<prompted.responseStart])
            scored = EncodedExample(id: example.id, input: ModelInput(patches: prompted.input.patches, tokens: promptTokens + s.tokens),
                                    responseStart: prompted.responseStart)
            output = s.text
            correct = example.task == nil ? s.rewards.accuracy == 1 : try TaskScorer.score(example, output: s.text).correct
        } else {
            scored = prompted
            output = example.response
            correct = example.task == nil ? true : try TaskScorer.score(example, output: output).correct
        }
        let logProbs = try TokenGradients.responseLogProbs(base, scored)
        return ScoredResponse(question: example.id, source: source, sample: sample, image: example.image ?? "", prompt: example.prompt,
                              output: output, tokens: logProbs.count, meanLogProb: logProbs.map(\.logProb).reduce(0, +) / Double(logProbs.count),
                              correct: correct)
    }
}

/// A question with both of its prompts encoded.
public struct EncodedQuestion: Sendable {
    public let question: PerplexityQuestion
    /// `[patches] <bos> reasoning-prompt <eos>` (the prompt part is what the models continue).
    public let reasoning: EncodedExample
    /// `[patches] <bos> plain-prompt ground-truth <eos>`.
    public let plain: EncodedExample
}

/// The per-question gaps of THEORY §6:
/// g_R(q) = median_k PPL_0(π_R rollouts) − Q1_k PPL_0(π_0 rollouts, reasoning prompt);
/// g_GT(q) = PPL_0(ground truth) − Q1_k PPL_0(π_0 rollouts, plain prompt).
/// Quantiles interpolate linearly between order statistics (NumPy's default, R's type 7).
public struct QuestionGap: Equatable, Sendable {
    public let question: String
    public let q1BaseReasoning: Double
    public let medianPolicyReasoning: Double
    public let q1BasePlain: Double
    public let groundTruthPerplexity: Double
    /// Percentile rank (ties counted half) of the ground truth's PPL among the question's base plain-prompt rollouts.
    public let groundTruthPercentile: Double

    public var gR: Double { medianPolicyReasoning - q1BaseReasoning }
    public var gGT: Double { groundTruthPerplexity - q1BasePlain }

    public init(question: String, baseReasoning: [Double], policyReasoning: [Double], basePlain: [Double], groundTruth: Double) throws {
        self.question = question
        q1BaseReasoning = try Statistics.quantile(baseReasoning, 0.25)
        medianPolicyReasoning = try Statistics.median(policyReasoning)
        q1BasePlain = try Statistics.quantile(basePlain, 0.25)
        groundTruthPerplexity = groundTruth
        groundTruthPercentile = try Statistics.percentileRank(groundTruth, in: basePlain)
    }

    /// The gaps of every question in `rows` (in order of first appearance); throws when a question lacks a source.
    public static func all(_ rows: [ScoredResponse]) throws -> [QuestionGap] {
        var order: [String] = [], bySource: [String: [PerplexitySource: [Double]]] = [:]
        for r in rows {
            if bySource[r.question] == nil { order.append(r.question) }
            bySource[r.question, default: [:]][r.source, default: []].append(r.perplexity)
        }
        return try order.map { q in
            let s = bySource[q]!
            guard let br = s[.baseReasoning], let pr = s[.policyReasoning], let bp = s[.basePlain], let gt = s[.groundTruth]?.first else {
                throw WorldError.invalid("question '\(q)' lacks one of the four sources")
            }
            return try QuestionGap(question: q, baseReasoning: br, policyReasoning: pr, basePlain: bp, groundTruth: gt)
        }
    }

    public static let header = ["question", "q1_base_reasoning", "median_policy_reasoning", "g_R", "q1_base_plain", "ppl_ground_truth", "g_GT",
                                "gt_percentile"]

    public var cells: [CSVCell] {
        [.string(question), .double(q1BaseReasoning), .double(medianPolicyReasoning), .double(gR), .double(q1BasePlain),
         .double(groundTruthPerplexity), .double(gGT), .double(groundTruthPercentile)]
    }
}

/// The paper's claim as a test: g_R lies left of g_GT, paired by question.
public struct GapVerdict: Sendable {
    /// One-sided Wilcoxon signed-rank test of g_R < g_GT.
    public let test: SignedRankTest
    /// median over questions of g_GT − g_R, and its percentile-bootstrap 95 % interval.
    public let medianDifference: Double
    public let interval: (lower: Double, upper: Double)
    public let resamples: Int
    /// Quartiles of the ground truth's percentile rank within its question's base rollouts (50 = at their median).
    public let percentileQuartiles: [Double]
    /// Fraction of questions with g_R < g_GT.
    public let fractionLess: Double

    /// Bootstrap draws come from the stream "perplexity.bootstrap" under `seed`.
    public init(_ gaps: [QuestionGap], seed: UInt64, resamples: Int = 2000) throws {
        let gR = gaps.map(\.gR), gGT = gaps.map(\.gGT)
        test = try SignedRankTest(less: gR, than: gGT)
        let differences = zip(gGT, gR).map { $0 - $1 }
        medianDifference = try Statistics.median(differences)
        interval = try Statistics.bootstrapInterval(differences, resamples: resamples, rng: RandomStream(seed: seed, name: "perplexity.bootstrap"),
                                                    statistic: Statistics.median)
        self.resamples = resamples
        percentileQuartiles = try Statistics.quantiles(gaps.map(\.groundTruthPercentile), [0.25, 0.5, 0.75])
        fractionLess = Double(zip(gR, gGT).filter { $0 < $1 }.count) / Double(gaps.count)
    }

    /// `OUT.test.csv`: quantity,value.
    public var table: CSVTable {
        var t = CSVTable(header: ["quantity", "value"])
        let rows: [(String, CSVCell)] = [
            ("questions", .int(test.pairs)), ("wilcoxon_n_nonzero", .int(test.n)), ("wilcoxon_V", .double(test.statistic)),
            ("wilcoxon_z", .double(test.z)), ("wilcoxon_p_one_sided", .double(test.pValue)), ("wilcoxon_method", .string(test.method.rawValue)),
            ("fraction_g_R_below_g_GT", .double(fractionLess)),
            ("median_g_GT_minus_g_R", .double(medianDifference)), ("bootstrap_ci95_lower", .double(interval.lower)),
            ("bootstrap_ci95_upper", .double(interval.upper)), ("bootstrap_resamples", .int(resamples)),
            ("gt_percentile_q25", .double(percentileQuartiles[0])), ("gt_percentile_median", .double(percentileQuartiles[1])),
            ("gt_percentile_q75", .double(percentileQuartiles[2])),
        ]
        for (name, value) in rows { t.append([.string(name), value]) }
        return t
    }
}

/// The summary and histogram tables of a perplexity study.
public enum PerplexityReport {
    public static let quantileLevels = [0.05, 0.25, 0.5, 0.75, 0.95]

    /// The distributions summarised: g_R, g_GT, then each source's PPL.
    public static func distributions(_ rows: [ScoredResponse], _ gaps: [QuestionGap]) -> [(String, [Double])] {
        [("g_R", gaps.map(\.gR)), ("g_GT", gaps.map(\.gGT))]
            + PerplexitySource.allCases.map { s in ("ppl_\(s.rawValue)", rows.filter { $0.source == s }.map(\.perplexity)) }
    }

    /// `OUT.summary.csv`: distribution,n,mean,sd,q05,q25,q50,q75,q95.
    public static func summary(_ rows: [ScoredResponse], _ gaps: [QuestionGap]) throws -> CSVTable {
        var t = CSVTable(header: ["distribution", "n", "mean", "sd", "q05", "q25", "q50", "q75", "q95"])
        for (name, values) in distributions(rows, gaps) {
            let q = try Statistics.quantiles(values, quantileLevels)
            t.append([.string(name), .int(values.count), .double(try Statistics.mean(values)), .double(try Statistics.standardDeviation(values))]
                     + q.map { .double($0) })
        }
        return t
    }

    /// `OUT.histogram.csv`: distribution,bin_lo,bin_hi,count. g_R and g_GT share one set of `bins` equal bins over
    /// their joint range; the four PPL distributions share another. Bins are [lo, hi), the last one closed.
    public static func histogram(_ rows: [ScoredResponse], _ gaps: [QuestionGap], bins: Int = 20) -> CSVTable {
        var t = CSVTable(header: ["distribution", "bin_lo", "bin_hi", "count"])
        let all = distributions(rows, gaps)
        for group in [Array(all.prefix(2)), Array(all.dropFirst(2))] {
            let values = group.flatMap(\.1).filter(\.isFinite)
            guard let lo = values.min(), let hi = values.max() else { continue }
            let width = hi > lo ? (hi - lo) / Double(bins) : 1
            for (name, xs) in group {
                var counts = [Int](repeating: 0, count: bins)
                for x in xs where x.isFinite { counts[min(bins - 1, max(0, Int((x - lo) / width)))] += 1 }
                for b in 0..<bins {
                    t.append([.string(name), .double(lo + Double(b) * width), .double(b == bins - 1 && hi > lo ? hi : lo + Double(b + 1) * width), .int(counts[b])])
                }
            }
        }
        return t
    }

    /// The long table of all rows.
    public static func responses(_ rows: [ScoredResponse]) -> CSVTable {
        var t = CSVTable(header: ScoredResponse.header)
        for r in rows { t.append(r.cells) }
        return t
    }

    /// `OUT.gaps.csv`: one row per question.
    public static func gaps(_ gaps: [QuestionGap]) -> CSVTable {
        var t = CSVTable(header: QuestionGap.header)
        for g in gaps { t.append(g.cells) }
        return t
    }

    /// The study's verdict in a few lines (what `analyze perplexity` prints): the median PPLs under the base, the
    /// signed-rank test of g_R < g_GT with the bootstrap interval, and where the ground truth falls among the rollouts.
    public static func verdictLines(_ rows: [ScoredResponse], verdict: GapVerdict) -> [String] {
        let t = verdict.test
        let median = { (source: PerplexitySource) in (try? Statistics.median(rows.filter { $0.source == source }.map(\.perplexity))) ?? .nan }
        return [
            String(format: "median PPL under the base: base reasoning %.4g, policy reasoning %.4g, base plain %.4g, ground truth %.4g",
                   median(.baseReasoning), median(.policyReasoning), median(.basePlain), median(.groundTruth)),
            "claim g_R < g_GT, paired by question",
            String(format: "  Wilcoxon signed-rank (one-sided, %@)   n = %d   V = %g   z = %.3f   p = %.3g   → %@", t.method.rawValue, t.n, t.statistic,
                   t.z, t.pValue, t.pValue < 0.05 ? "supported at 5 %" : "not supported at 5 %"),
            String(format: "  median(g_GT − g_R) = %.4g   95 %% bootstrap CI [%.4g, %.4g] (%d resamples)   g_R < g_GT in %.0f %% of questions",
                   verdict.medianDifference, verdict.interval.lower, verdict.interval.upper, verdict.resamples, 100 * verdict.fractionLess),
            String(format: "  ground-truth PPL percentile among base rollouts: median %.0f (IQR %.0f–%.0f; 50 = at their median)",
                   verdict.percentileQuartiles[1], verdict.percentileQuartiles[0], verdict.percentileQuartiles[2]),
        ]
    }

    /// Writes the study's five tables: the responses, then gaps, summary, histogram (`bins` bins) and test, to `urls` in that order.
    public static func write(_ rows: [ScoredResponse], _ gaps: [QuestionGap], verdict: GapVerdict, bins: Int, to urls: [URL]) throws {
        let tables = [responses(rows), Self.gaps(gaps), try summary(rows, gaps), histogram(rows, gaps, bins: bins), verdict.table]
        for (table, url) in zip(tables, urls) { try table.write(to: url) }
    }
}

extension PerplexityStudy {
    /// The run record's details: the study's settings over `questions` questions and the verdict's figures.
    public func runDetails(questions: Int, verdict: GapVerdict) -> [String: String] {
        ["questions": String(questions), "samples": String(samples), "temperature": String(temperature), "seed": String(seed),
         "resamples": String(verdict.resamples), "wilcoxon_p": "\(verdict.test.pValue)", "median_gap_difference": "\(verdict.medianDifference)"]
    }
}
