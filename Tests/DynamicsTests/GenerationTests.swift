@testable import Dynamics
import Testing

@Suite struct GenerationTests {
    @Test(arguments: [true, false])
    func kvCacheStepsEqualFullRecomputation(image: Bool) throws {
        let model = try randomTinyModel(seed: 5)
        let prompt = randomInput(model, seed: 5, textLength: 3, image: image)
        let cache = KVCache(config: model.config)
        // Prefill through generate's path, then compare every step with a fresh full forward pass.
        let full = try model.forward(prompt)
        for l in 0..<model.config.nLayers {
            let D = model.config.dModel
            for t in 0..<prompt.length {
                (cache.keys[l] + t * D).update(from: full.blocks[l].qkv + t * 3 * D + D, count: D)
                (cache.values[l] + t * D).update(from: full.blocks[l].qkv + t * 3 * D + 2 * D, count: D)
            }
        }
        var seq = prompt
        for k in 0..<6 {
            let token = (7 * k + 3) % model.config.vocabSize
            let stepped = model.step(token: token, position: seq.length, cache: cache)
            seq.tokens.append(token)
            let recomputed = try model.forward(seq).logits(at: seq.length - 1)
            expectClose(stepped, recomputed, tolerance: 1e-12, "step \(k) logits")
        }
    }

    @Test func greedyGenerationMatchesArgmaxOfFullPasses() throws {
        let model = try randomTinyModel(seed: 6)
        let prompt = randomInput(model, seed: 6, textLength: 2)
        let out = try model.generate(prompt, options: GenerationOptions(maxNewTokens: 8, stopToken: -1))
        #expect(out.tokens.count == 8)
        var seq = prompt
        for (k, token) in out.tokens.enumerated() {
            let logProbs = try model.forward(seq).logProbabilities(at: seq.length - 1)
            let argmax = logProbs.indices.max { logProbs[$0] < logProbs[$1] }!
            #expect(token == argmax, "token \(k)")
            #expect(abs(out.logProbs[k] - logProbs[token]) < 1e-12)
            seq.tokens.append(token)
        }
    }

    @Test func samplingIsSeededAndRespectsTopK() throws {
        let model = try randomTinyModel(seed: 7)
        let prompt = randomInput(model, seed: 7, textLength: 2)
        let options = GenerationOptions(maxNewTokens: 10, temperature: 1.5, topK: 3, stopToken: -1)
        let a = try model.generate(prompt, options: options, rng: RandomStream(seed: 9, name: "sample"))
        let b = try model.generate(prompt, options: options, rng: RandomStream(seed: 9, name: "sample"))
        #expect(a == b)
        var seq = prompt
        for token in a.tokens {
            let logits = try model.forward(seq).logits(at: seq.length - 1)
            let rank = logits.filter { $0 > logits[token] }.count
            #expect(rank < 3, "sampled token must be among the top 3")
            seq.tokens.append(token)
        }
        #expect(throws: GenerationError.self) { try model.generate(prompt, options: options) }
    }

    @Test func generationStopsAtStopTokenAndMaxLength() throws {
        let model = try randomTinyModel(seed: 8)
        let prompt = randomInput(model, seed: 8, textLength: 2)
        let greedy = try model.generate(prompt, options: GenerationOptions(maxNewTokens: 1, stopToken: -1))
        let stopped = try model.generate(prompt, options: GenerationOptions(maxNewTokens: 5, stopToken: greedy.tokens[0]))
        #expect(stopped.tokens == greedy.tokens && stopped.stopped)
        let long = try model.generate(prompt, options: GenerationOptions(maxNewTokens: 1000, stopToken: -1))
        #expect(prompt.length + long.tokens.count == model.config.maxSeqLen + 1)
    }
}
