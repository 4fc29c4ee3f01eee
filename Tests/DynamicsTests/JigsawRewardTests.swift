import Dynamics
import Testing

/// THEORY §8's worked cases and edge cases, as golden tests.
@Suite struct JigsawRewardTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let output: String
        let fmt: Double, hit: Double, acc: Double
        let note: String
        var testDescription: String { note }
    }

    static let truth = [2, 0, 1, 3]

    static let cases: [Case] = [
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 3 ] </answer>", fmt: 1, hit: 1, acc: 1, note: "correct"),
        Case(output: "<think> a </think> <answer> [ 0 , 2 , 1 , 3 ] </answer>", fmt: 1, hit: 0.5, acc: 0, note: "two swapped"),
        Case(output: "<answer> [ 2 , 0 , 1 , 3 ] </answer>", fmt: 0, hit: 1, acc: 1, note: "no think"),
        Case(output: "<think> a </think> <answer> [ 2 , 2 , 1 , 3 ] </answer>", fmt: 0, hit: 0.75, acc: 0, note: "repeat"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 ] </answer>", fmt: 0, hit: 0, acc: 0, note: "short"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 3 , 4 ] </answer>", fmt: 0, hit: 0, acc: 0, note: "long"),
        Case(output: "<think> a </think> <answer> </answer>", fmt: 0, hit: 0, acc: 0, note: "empty answer"),
        Case(output: "<think> a </think> <answer> [ ] </answer>", fmt: 0, hit: 0, acc: 0, note: "empty brackets"),
        Case(output: "", fmt: 0, hit: 0, acc: 0, note: "empty output"),
        Case(output: "<think> a </think> [ 2 , 0 , 1 , 3 ]", fmt: 0, hit: 0, acc: 0, note: "no answer block"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 3 ] </answer> <answer> [ 2 , 0 , 1 , 3 ] </answer>",
             fmt: 0, hit: 0, acc: 0, note: "two answer blocks"),
        Case(output: "<think> a </think> <think> b </think> <answer> [ 2 , 0 , 1 , 3 ] </answer>", fmt: 0, hit: 1, acc: 1, note: "two think blocks"),
        Case(output: "<answer> [ 2 , 0 , 1 , 3 ] </answer> <think> a </think>", fmt: 0, hit: 1, acc: 1, note: "answer before think"),
        Case(output: "<answer> [ 0 , 2 , 1 , 3 ] </answer> <think> a </think>", fmt: 0, hit: 0.5, acc: 0, note: "answer before think, half right"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 3 ] </answer> done", fmt: 0, hit: 1, acc: 1, note: "trailing text"),
        Case(output: "so <think> a </think> <answer> [ 2 , 0 , 1 , 3 ] </answer>", fmt: 0, hit: 1, acc: 1, note: "leading text"),
        Case(output: "<think> a </think> x <answer> [ 2 , 0 , 1 , 3 ] </answer>", fmt: 0, hit: 1, acc: 1, note: "text between blocks"),
        Case(output: " \n<think>a</think>\n\t <answer>[2,0,1,3]</answer> \n", fmt: 1, hit: 1, acc: 1, note: "whitespace between and around"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 7 ] </answer>", fmt: 0, hit: 0.75, acc: 0, note: "out of range"),
        Case(output: "<think> a </think> <answer> [ 2 0 1 3 ] </answer>", fmt: 0, hit: 0, acc: 0, note: "no commas"),
        Case(output: "<think> a </think> <answer> [ 2 , -0 , 1 , 3 ] </answer>", fmt: 0, hit: 0, acc: 0, note: "sign"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 3a ] </answer>", fmt: 0, hit: 0, acc: 0, note: "letters"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 3 </answer>", fmt: 0, hit: 0, acc: 0, note: "missing bracket"),
        Case(output: "<think> a </think> <answer> [ [ 2 , 0 , 1 , 3 ] ] </answer>", fmt: 0, hit: 0, acc: 0, note: "nested brackets"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , , 3 ] </answer>", fmt: 0, hit: 0, acc: 0, note: "empty element"),
        Case(output: "<think> a </answer> </think> <answer> [ 2 , 0 , 1 , 3 ] </answer>", fmt: 0, hit: 0, acc: 0, note: "answer tag inside think"),
        Case(output: "<think> a </think> <answer> [ 2 , 0 , 1 , 99999999999999999999999999999999999999 ] </answer>", fmt: 0, hit: 0.75, acc: 0,
             note: "huge number"),
        Case(output: "</answer> <think> a </think> <answer> [ 2 , 0 , 1 , 3 ]", fmt: 0, hit: 0, acc: 0, note: "tags out of order"),
    ]

    @Test(arguments: cases)
    func goldenCase(_ c: Case) {
        #expect(JigsawReward.score(output: c.output, truth: Self.truth) == JigsawRewards(format: c.fmt, hit: c.hit, accuracy: c.acc))
    }

    @Test func largerGridsWithTwoDigitPieces() {
        let truth9 = [8, 0, 3, 1, 7, 2, 6, 4, 5]
        #expect(JigsawReward.score(output: "<think> t </think> <answer> [ 8 , 0 , 3 , 1 , 7 , 2 , 6 , 4 , 5 ] </answer>", truth: truth9)
            == JigsawRewards(format: 1, hit: 1, accuracy: 1))
        let truth16 = Array((0..<16).reversed())
        let answer = "[ " + truth16.map(String.init).joined(separator: " , ") + " ]"
        #expect(JigsawReward.score(output: "<think> t </think> <answer> \(answer) </answer>", truth: truth16).accuracy == 1)
        var swapped = truth16
        swapped.swapAt(0, 1)
        let swappedText = "[ " + swapped.map(String.init).joined(separator: " , ") + " ]"
        let r = JigsawReward.score(output: "<think> t </think> <answer> \(swappedText) </answer>", truth: truth16)
        #expect(r == JigsawRewards(format: 1, hit: 14.0 / 16.0, accuracy: 0))
    }

    /// Random splices of tags, brackets, digits and text: every string scores without trapping, within [0, 1].
    @Test func arbitraryOutputsNeverTrap() {
        let pieces = ["<think>", "</think>", "<answer>", "</answer>", "[", "]", ",", " ", "2", "0", "1", "3", "12", "x", "\n", "-"]
        let rng = RandomStream(seed: 17, name: "test.fuzz")
        for _ in 0..<5000 {
            let output = (0..<rng.uniformInt(14)).map { _ in pieces[rng.uniformInt(pieces.count)] }.joined()
            let r = JigsawReward.score(output: output, truth: Self.truth)
            #expect([r.format, r.hit, r.accuracy].allSatisfy { (0...1).contains($0) }, "\(output)")
            #expect(r.format == 0 || (r.hit == 1) == (r.accuracy == 1))
        }
    }

    @Test func parsingAndWeights() {
        #expect(JigsawReward.parseList("[2,0,1]") == [2, 0, 1])
        #expect(JigsawReward.parseList("  [ 12 ,3 ]  ") == [12, 3])
        #expect(JigsawReward.parseList("[]") == nil)
        #expect(JigsawReward.parseList("[1;2]") == nil)
        #expect(JigsawReward.answerBlock("x <answer> y </answer> z") == " y ")
        #expect(JigsawReward.answerBlock("</answer> <answer>") == nil)
        let w = RewardWeights(hit: 0.5, accuracy: 2, format: 1)
        #expect(w.total(JigsawRewards(format: 1, hit: 0.5, accuracy: 0)) == 1.25)
        #expect(RewardWeights().total(JigsawRewards(format: 1, hit: 1, accuracy: 1)) == 3)
    }
}
