@testable import Dynamics
import Foundation
import Testing

/// THEORY §6 by hand: the gaps, the type-7 quantiles, the percentile rank and the signed-rank test on cases small
/// enough to work out on paper (the test's values also agree with SciPy's `wilcoxon` and R's `wilcox.test`).
@Suite struct PerplexityDistributionTests {
    @Test func gapsAndQuantilesByHand() throws {
        // Q1 of 1…5: h = 4·0.25 = 1 → 2. Median of 2, 4, 10 → 4. Q1 of 3, 5, 7, 9: h = 0.75 → 3 + 0.75·2 = 4.5.
        let g = try QuestionGap(question: "q", baseReasoning: [5, 1, 4, 2, 3], policyReasoning: [10, 2, 4], basePlain: [9, 3, 7, 5], groundTruth: 7)
        #expect(g.q1BaseReasoning == 2 && g.medianPolicyReasoning == 4 && g.gR == 2)
        #expect(g.q1BasePlain == 4.5 && g.gGT == 2.5)
        // 7 among 3, 5, 7, 9: two below, one equal → (2 + ½)/4 = 62.5 %.
        #expect(g.groundTruthPercentile == 62.5)
        let q = try Statistics.quantiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0.05, 0.95])
        #expect(abs(q[0] - 1.45) < 1e-12 && abs(q[1] - 9.55) < 1e-12, "type 7: \(q)")
    }

    @Test func gapsFromRows() throws {
        func row(_ s: PerplexitySource, _ k: Int, _ ppl: Double) -> ScoredResponse {
            ScoredResponse(question: "a", source: s, sample: k, image: "", prompt: "p", output: "o", tokens: 3, meanLogProb: -log(ppl), correct: false)
        }
        let rows = [row(.baseReasoning, 0, 2), row(.baseReasoning, 1, 4), row(.policyReasoning, 0, 3), row(.policyReasoning, 1, 5),
                    row(.basePlain, 0, 6), row(.basePlain, 1, 8), row(.groundTruth, 0, 10)]
        let gaps = try QuestionGap.all(rows)
        #expect(gaps.count == 1)
        // Q1 of 2, 4 = 2.5; median of 3, 5 = 4; Q1 of 6, 8 = 6.5.
        #expect(abs(gaps[0].gR - 1.5) < 1e-12 && abs(gaps[0].gGT - 3.5) < 1e-12 && gaps[0].groundTruthPercentile == 100)
        #expect(throws: WorldError.self) { try QuestionGap.all(Array(rows.dropLast())) }
    }

    @Test func signedRankExact() throws {
        // d = g_R − g_GT = −1, 2, −3, −4, −5: no ties, no zeros → exact. V = rank of the one positive |d| = 2.
        // Subsets of {1…5} with sum ≤ 2: {}, {1}, {2} → p = 3/32.
        let t = try SignedRankTest(less: [0, 0, 0, 0, 0], than: [1, -2, 3, 4, 5])
        #expect(t.method == .exact && t.n == 5 && t.statistic == 2)
        #expect(t.pValue == 3.0 / 32)
        #expect(SignedRankTest.exactLowerTail(n: 3, v: 6) == 1 && SignedRankTest.exactLowerTail(n: 3, v: 0) == 0.125)
    }

    @Test func signedRankNormalWithTiesAndZeros() throws {
        // d = −1, −2, 2, −4, −5: |d| ranks 1, 2.5, 2.5, 4, 5; V = 2.5. σ² = 5·6·11/24 − (2³ − 2)/48 = 13.625.
        // z = (2.5 − 7.5 + 0.5)/√13.625 = −1.21911…, p = Φ(z) = 0.1114005 (SciPy: 0.11140049559056725).
        let t = try SignedRankTest(less: [1, 2, 3, 4, 5], than: [2, 4, 1, 8, 10])
        #expect(t.method == .normal && t.statistic == 2.5)
        #expect(abs(t.z - (-4.5 / 13.625.squareRoot())) < 1e-14)
        #expect(abs(t.pValue - 0.11140049559056725) < 1e-12)
        // A zero difference is dropped: n = 5, V = 2, σ² = 13.75, p = Φ(−5/√13.75) = 0.08876492620607673.
        let z = try SignedRankTest(less: [0, 0, 0, 0, 0, 1], than: [1, -2, 3, 4, 5, 1])
        #expect(z.method == .normal && z.n == 5 && z.pairs == 6 && z.statistic == 2)
        #expect(abs(z.pValue - 0.08876492620607673) < 1e-12)
        #expect(throws: NumericsError.self) { try SignedRankTest(less: [1, 2], than: [1, 2]) }
    }

    @Test func verdictIsSeededAndBracketsTheMedian() throws {
        let gaps = try (0..<30).map { i in
            try QuestionGap(question: "q\(i)", baseReasoning: [1, 2, 3], policyReasoning: [Double(i % 5) + 2], basePlain: [1, 2, 3],
                            groundTruth: Double(i % 7) + 4)
        }
        let a = try GapVerdict(gaps, seed: 1, resamples: 500), b = try GapVerdict(gaps, seed: 1, resamples: 500)
        #expect(a.table.text == b.table.text)
        #expect(a.interval.lower <= a.medianDifference && a.medianDifference <= a.interval.upper)
        #expect(a.test.pValue < 1e-4, "g_GT is larger for almost every question")
    }

    @Test func questionsInBothStyles() throws {
        let jig = Example(id: "j", task: "jigsaw-format", style: "reasoning", prompt: "cut into 2 x 1 pieces . think first , then answer .",
                          response: "<think> i see </think> <answer> [ 0 , 1 ] </answer>", image: "images/j.png", truth: Truth(permutation: [1, 0]))
        let q = try PerplexityQuestion(jig)
        #expect(q.reasoning.prompt == jig.prompt && q.plain.prompt == "cut into 2 x 1 pieces .")
        #expect(q.plain.response == "<answer> [ 1 , 0 ] </answer>", "the truth, not the format example's guess")
        let vqa = Example(id: "v", task: "vqa", style: "plain", prompt: "what colour is the circle ?", response: "<answer> red </answer>")
        let v = try PerplexityQuestion(vqa)
        #expect(v.reasoning.prompt == "what colour is the circle ? think first , then answer ." && v.plain.response == "<answer> red </answer>")
    }
}
