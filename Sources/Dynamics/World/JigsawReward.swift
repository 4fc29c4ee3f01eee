import Foundation

/// The three reward components of one output (THEORY §8), each in [0, 1].
public struct JigsawRewards: Equatable, Sendable, Codable {
    /// R_fmt: think block then answer block, nothing else, the answer a permutation of 0 … k−1.
    public let format: Double
    /// R_hit: fraction of slots whose answer equals the truth, when the answer has exactly k integers.
    public let hit: Double
    /// R_acc: 1 when the answer equals the truth exactly.
    public let accuracy: Double

    public init(format: Double, hit: Double, accuracy: Double) {
        self.format = format
        self.hit = hit
        self.accuracy = accuracy
    }
}

/// Weights of R = w_hit·R_hit + w_acc·R_acc + w_fmt·R_fmt (default 1, 1, 1).
public struct RewardWeights: Equatable, Sendable, Codable {
    public var hit: Double
    public var accuracy: Double
    public var format: Double

    public init(hit: Double = 1, accuracy: Double = 1, format: Double = 1) {
        self.hit = hit
        self.accuracy = accuracy
        self.format = format
    }

    /// The weighted total reward.
    public func total(_ r: JigsawRewards) -> Double { hit * r.hit + accuracy * r.accuracy + format * r.format }

    /// Parses "w_hit,w_acc,w_fmt" (three finite numbers).
    public init(parsing text: String) throws {
        let w = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard w.count == 3, w.allSatisfy(\.isFinite) else { throw WorldError.invalid("reward weights '\(text)' are not three numbers hit,acc,fmt") }
        self.init(hit: w[0], accuracy: w[1], format: w[2])
    }
}

/// The jigsaw rewards of THEORY §8, on output text.
public enum JigsawReward {
    static let tags = ["<think>", "</think>", "<answer>", "</answer>"]

    /// The text between `<answer>` and `</answer>` when each tag occurs exactly once and in that order; else nil.
    public static func answerBlock(_ output: String) -> String? {
        guard let open = single("<answer>", in: output), let close = single("</answer>", in: output),
              open.upperBound <= close.lowerBound else { return nil }
        return String(output[open.upperBound..<close.lowerBound])
    }

    /// `[` integers separated by commas `]`, whitespace allowed around every token; nil for anything else
    /// (no commas, signs, other characters, empty brackets). Integers are digit strings; one too large for
    /// `Int` still parses (as `Int.max`, which matches no position), so no input can trap.
    public static func parseList(_ text: String) -> [Int]? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("["), t.hasSuffix("]"), t.count >= 2 else { return nil }
        let inner = t.dropFirst().dropLast()
        var values: [Int] = []
        for piece in inner.split(separator: ",", omittingEmptySubsequences: false) {
            let digits = piece.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            values.append(Int(digits) ?? Int.max)
        }
        return values
    }

    /// The three rewards of `output` for the ground-truth permutation `truth` (k = truth.count).
    public static func score(output: String, truth: [Int]) -> JigsawRewards {
        let k = truth.count
        guard let answer = parsedAnswer(output) else { return JigsawRewards(format: 0, hit: 0, accuracy: 0) }
        let hit = answer.count == k && k > 0 ? Double(zip(answer, truth).filter { $0 == $1 }.count) / Double(k) : 0
        let accuracy = answer == truth ? 1.0 : 0.0
        return JigsawRewards(format: isPermutation(answer, pieces: k) && wellFormed(output) ? 1 : 0, hit: hit, accuracy: accuracy)
    }

    /// The answer block parses to a permutation of 0 … k−1: a well-formed answer in either prompt style.
    public static func answersWithPermutation(_ output: String, pieces k: Int) -> Bool {
        parsedAnswer(output).map { isPermutation($0, pieces: k) } ?? false
    }

    /// The integers of the single answer block, when it parses.
    static func parsedAnswer(_ output: String) -> [Int]? {
        answerBlock(output).flatMap(parseList)
    }

    /// `answer` holds each of 0 … k−1 exactly once.
    static func isPermutation(_ answer: [Int], pieces k: Int) -> Bool {
        answer.sorted() == Array(0..<k)
    }

    /// `<think> … </think>` then `<answer> … </answer>`, only whitespace outside the blocks, each tag once.
    static func wellFormed(_ output: String) -> Bool {
        let ranges = tags.map { single($0, in: output) }
        guard let thinkOpen = ranges[0], let thinkClose = ranges[1], let answerOpen = ranges[2], let answerClose = ranges[3],
              thinkOpen.upperBound <= thinkClose.lowerBound, thinkClose.upperBound <= answerOpen.lowerBound,
              answerOpen.upperBound <= answerClose.lowerBound else { return false }
        let outside = [output[..<thinkOpen.lowerBound], output[thinkClose.upperBound..<answerOpen.lowerBound],
                       output[answerClose.upperBound...]]
        return outside.allSatisfy { $0.allSatisfy(\.isWhitespace) }
    }

    /// The range of `tag` when it occurs exactly once in `text`.
    static func single(_ tag: String, in text: String) -> Range<String.Index>? {
        guard let first = text.range(of: tag) else { return nil }
        return text.range(of: tag, range: first.upperBound..<text.endIndex) == nil ? first : nil
    }
}
