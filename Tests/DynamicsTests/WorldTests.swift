import Dynamics
import Foundation
import Testing

@Suite struct WorldTests {
    func scratch() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("world-\(UUID().uuidString)") }

    @Test(arguments: [24, 8, 32])
    func scenesAreDeterministicAndWellFormed(size: Int) throws {
        let generator = try SceneGenerator(size: size)
        for i in 0..<60 {
            let (scene, image) = generator.generate(RandomStream(seed: 1, name: "scene.\(i)"))
            let (again, image2) = generator.generate(RandomStream(seed: 1, name: "scene.\(i)"))
            #expect(scene == again && image == image2)
            #expect((1...3).contains(scene.shapes.count))
            #expect(Set(scene.shapes.map(\.name)).count == scene.shapes.count, "each (colour, shape) at most once")
            #expect(image.pixels.allSatisfy { (0...1).contains($0) })
            for (a, s) in scene.shapes.enumerated() {
                let b = s.box
                #expect(b.x1 >= 0 && b.y1 >= 0 && b.x2 < size && b.y2 < size && b.x1 <= b.x2 && b.y1 <= b.y2)
                // The tight box's corners rows/columns hold the shape's colour somewhere.
                let (r, g, bl) = s.colour.rgb
                let painted = (b.x1...b.x2).contains { x in image[x, b.y2, 0] == r && image[x, b.y2, 1] == g && image[x, b.y2, 2] == bl }
                #expect(painted, "bottom row of \(s.name)'s box holds its colour")
                for other in scene.shapes[(a + 1)...] {
                    #expect(b.iou(other.box) == 0, "shapes must not overlap")
                }
            }
        }
    }

    @Test(arguments: [24, 8])
    func gridLayoutPutsObjectsOnThePatchGrid(size: Int) throws {
        let generator = try SceneGenerator(size: size, layout: .grid)
        let cell = SceneGenerator.cell
        var sides = Set<Int>(), digitScenes = 0
        for i in 0..<200 {
            let (scene, image) = generator.generate(RandomStream(seed: 5, name: "grid.\(i)"))
            for s in scene.shapes {
                let b = s.box
                // Whole cells starting on a cell boundary: the box covers exactly the patches the shape is in.
                #expect(b.x1 % cell == 0 && b.y1 % cell == 0 && (b.x2 + 1) % cell == 0 && (b.y2 + 1) % cell == 0, "\(s)")
                #expect(b.x2 - b.x1 == b.y2 - b.y1)
                sides.insert(b.x2 - b.x1 + 1)
            }
            if let digits = scene.digits, let box = scene.digitsBox {
                digitScenes += 1
                // One glyph per cell column, at the top left of a cell.
                #expect(box.x1 % cell == 0 && box.y1 % cell == 0 && box.x2 - box.x1 + 1 == 4 * digits.count - 1 && box.y2 - box.y1 == 4)
                #expect(scene.shapes.allSatisfy { $0.box.iou(box) == 0 })
                // Each glyph's top row (the digit's first four rows all lie in the cell's patch) holds ink.
                for g in 0..<digits.count {
                    let inked = (0..<3).contains { x in [0.05, 0.97].contains(image[box.x1 + 4 * g + x, box.y1, 0]) }
                    #expect(inked, "glyph \(g) of \(digits)")
                }
            }
        }
        #expect(sides == [4], "one cell wide")
        #expect(digitScenes > 40)
        // The free layout draws sides off the grid.
        let free = try SceneGenerator(size: 24, layout: .free)
        let offGrid = (0..<50).contains { i in free.generate(RandomStream(seed: 5, name: "grid.\(i)")).0.shapes.contains { $0.box.x1 % cell != 0 } }
        #expect(offGrid)
    }

    @Test func digitsAreDrawnWhenAsked() throws {
        let generator = try SceneGenerator(size: 24)
        for i in 0..<20 {
            let (scene, _) = generator.generate(RandomStream(seed: 2, name: "d\(i)"), digits: true)
            let digits = try #require(scene.digits)
            #expect((1...3).contains(digits.count) && digits.allSatisfy(\.isNumber))
            #expect(digits.count == 1 || digits.first != "0")
            let box = try #require(scene.digitsBox)
            #expect(scene.shapes.allSatisfy { $0.box.iou(box) == 0 }, "shapes keep clear of the digits")
        }
    }

    @Test(arguments: ["2x2", "3x3", "2x3", "5x5", "4x1"])
    func reassemblingWithTheTruthGivesTheSourceBack(grid: String) throws {
        let (m, n) = try Jigsaw.parseGrid(grid)
        let (_, image) = try SceneGenerator(size: 24).generate(RandomStream(seed: 3, name: grid))
        for i in 0..<10 {
            let puzzle = try Jigsaw(rows: m, columns: n, rng: RandomStream(seed: UInt64(i), name: "perm"))
            #expect(puzzle.permutation != Array(0..<(m * n)))
            let shuffled = try puzzle.shuffle(image)
            #expect(try puzzle.reassemble(shuffled, answer: puzzle.permutation) == puzzle.cropped(image))
            #expect(shuffled != (try puzzle.cropped(image)), "a puzzle is never the unshuffled image")
        }
        #expect(throws: WorldError.self) { try Jigsaw.parseGrid("1x1") }
        #expect(throws: WorldError.self) { try Jigsaw.parseGrid("3by3") }
        #expect(throws: WorldError.self) { try Jigsaw(rows: 2, columns: 2, permutation: [0, 1, 2, 3]) }
    }

    @Test func twoByTwoAnswerConventionByHand() throws {
        // A 2×2 image whose four pixels are pieces 0…3; slot s must show piece permutation[s].
        var image = RGBImage(width: 2, height: 2)
        for p in 0..<4 { image[p % 2, p / 2, 0] = Double(p) / 4 }
        let puzzle = try Jigsaw(rows: 2, columns: 2, permutation: [2, 0, 3, 1])
        let shuffled = try puzzle.shuffle(image)
        #expect((0..<4).map { shuffled[$0 % 2, $0 / 2, 0] * 4 } == [2, 0, 3, 1])
    }

    @Test func everyGeneratedExampleTokenizesAndScoresPerfectlyOnItsTruth() throws {
        let tokenizer = try Tokenizer.standard()
        var used = Set<Int>()
        // Both jigsaw traces: the fixed sentence is still written (--jigsaw-trace fixed, puzzles from photographs).
        for (size, trace) in [(24, JigsawTrace.scene), (8, .scene), (24, .fixed)] {
            let spec = DatasetSpec(tasks: TaskKind.world, split: .train, count: 240, styles: [.plain, .reasoning], grid: (3, 3), seed: 4, imageSize: size,
                                   jigsawTrace: trace)
            let g = try DatasetGenerator(spec)
            var yes = 0, pope = 0
            for i in 0..<spec.count {
                let e = try g.example(i).example
                used.formUnion(try tokenizer.encode(e.prompt))
                used.formUnion(try tokenizer.encode(e.response))
                let s = try TaskScorer.score(e, output: e.response)
                #expect(s.correct && s.score == 1, "\(e.id) \(e.task ?? "") must score 1 on its own response")
                // The decoded tokens of the response score the same (what a model that wrote it would output).
                let decoded = try tokenizer.decode(try tokenizer.encode(e.response))
                #expect(try TaskScorer.score(e, output: decoded).correct)
                if e.task == "pope" { pope += 1; if e.truth?.answer == "yes" { yes += 1 } }
                if e.style == "reasoning" { #expect(e.response.hasPrefix("<think>")) } else { #expect(e.response.hasPrefix("<answer>")) }
            }
            #expect(abs(Double(yes) / Double(pope) - 0.5) < 0.2, "POPE is balanced: \(yes)/\(pope) yes")
        }
        let words = tokenizer.tokens.indices.filter { !Tokenizer.pieces(of: tokenizer.tokens[$0]).allSatisfy { $0.count == 1 && !$0.first!.isLetter } }
        let unused = words.filter { $0 >= Tokenizer.specials.count && !used.contains($0) }.map { tokenizer.tokens[$0] }
        #expect(unused.isEmpty, "words in the vocabulary that the world never writes: \(unused)")
    }

    @Test func sameSeedSameBytesAndSplitsShareNoImage() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ split: Split) throws -> URL {
            let g = try DatasetGenerator(DatasetSpec(tasks: TaskKind.world, split: split, count: 36, styles: [.plain], seed: 9))
            let folder = dir.appendingPathComponent(name)
            try DatasetWriter.write(try (0..<36).map(g.example), folder: folder, fileName: g.fileName)
            return folder
        }
        let a = try write("a", .train), b = try write("b", .train), t = try write("a", .test)
        let fm = FileManager.default
        #expect(fm.contentsEqual(atPath: a.appendingPathComponent("train.jsonl").path, andPath: b.appendingPathComponent("train.jsonl").path))
        let trainImages = try fm.contentsOfDirectory(atPath: a.appendingPathComponent("images").path).filter { $0.hasPrefix("train") }.sorted()
        #expect(trainImages.count == 36 + 6, "one image per example plus a source per jigsaw")
        for name in trainImages {
            #expect(fm.contentsEqual(atPath: a.appendingPathComponent("images/\(name)").path, andPath: b.appendingPathComponent("images/\(name)").path))
        }
        let trainBytes = Set(try trainImages.map { try Data(contentsOf: a.appendingPathComponent("images/\($0)")) })
        let testImages = try fm.contentsOfDirectory(atPath: t.appendingPathComponent("images").path).filter { $0.hasPrefix("test") }
        #expect(testImages.count == 42)
        for name in testImages {
            #expect(!trainBytes.contains(try Data(contentsOf: t.appendingPathComponent("images/\(name)"))), "\(name) repeats a train image")
        }
        // Reassembling the shuffled PNG on disk with the truth gives back the source PNG exactly.
        let file = try ExampleFile(url: a.appendingPathComponent("train.jsonl"))
        for e in file.examples where e.task == "jigsaw" {
            let truth = try #require(e.truth), grid = try #require(e.grid)
            let shuffled = try PNGCodec.read(try #require(file.imageURL(e)))
            let source = try PNGCodec.read(a.appendingPathComponent(try #require(truth.source)))
            let puzzle = try Jigsaw(rows: grid[0], columns: grid[1], permutation: try #require(truth.permutation))
            #expect(try puzzle.reassemble(shuffled, answer: puzzle.permutation) == source)
        }
    }

    @Test func jigsawFormatAnswersAreWellFormedGuessesIndependentOfTheTruth() throws {
        let n = 600
        let format = try DatasetGenerator(DatasetSpec(tasks: [.jigsawFormat], split: .train, count: n, styles: [.reasoning], seed: 4))
        let jigsaw = try DatasetGenerator(DatasetSpec(tasks: [.jigsaw], split: .train, count: n, styles: [.reasoning], seed: 4))
        var hit = 0.0, exact = 0
        for i in 0..<n {
            let f = try format.example(i).example, j = try jigsaw.example(i).example
            #expect(f.task == "jigsaw-format" && f.prompt == j.prompt && f.truth == j.truth && f.grid == [2, 2])
            let truth = try #require(f.truth?.permutation)
            let own = try #require(JigsawReward.answerBlock(f.response).flatMap(JigsawReward.parseList))
            #expect(JigsawReward.score(output: f.response, truth: own) == JigsawRewards(format: 1, hit: 1, accuracy: 1), "\(f.response)")
            let scored = try TaskScorer.score(f, output: f.response)
            hit += scored.score
            exact += scored.correct ? 1 : 0
        }
        // Independent uniform non-identity permutations of 4: P(equal) = 1/23, mean hit 0.2514.
        #expect(Double(exact) / Double(n) < 0.08, "\(exact) of \(n) guesses equal the truth")
        #expect(abs(hit / Double(n) - 0.2514) < 0.04, "mean hit \(hit / Double(n))")
    }

    /// `jigsaw-strip`: 1×3 and 3×1 puzzles (both drawn), answered with the truth, whatever `--grid` says; the shuffled
    /// image reassembles to its source; the truth's own answer scores 1.
    @Test func jigsawStripExamplesAreSolvedOneRowOrColumnPuzzles() throws {
        let n = 40
        let strip = try DatasetGenerator(DatasetSpec(tasks: [.jigsawStrip], split: .train, count: n, styles: [.plain, .reasoning], grid: (2, 2), seed: 9))
        var grids: [[Int]: Int] = [:]
        for i in 0..<n {
            let generated = try strip.example(i)
            let e = generated.example
            let grid = try #require(e.grid)
            grids[grid, default: 0] += 1
            #expect(e.task == "jigsaw-strip" && (grid == [1, 3] || grid == [3, 1]), "\(e.task ?? "") \(grid)")
            #expect(e.prompt.hasPrefix("the image is cut into \(grid[0]) x \(grid[1]) pieces"))
            let permutation = try #require(e.truth?.permutation)
            #expect(permutation.sorted() == [0, 1, 2] && permutation != [0, 1, 2])
            #expect(try TaskScorer.score(e, output: e.response).correct)
            let images = Dictionary(uniqueKeysWithValues: generated.images.map { ($0.0, $0.1) })
            let (shuffled, source) = (try #require(images[e.image ?? ""]), try #require(images[e.truth?.source ?? ""]))
            let puzzle = try Jigsaw(rows: grid[0], columns: grid[1], permutation: permutation)
            #expect(try puzzle.reassemble(shuffled, answer: permutation) == source)
        }
        #expect(grids[[1, 3], default: 0] >= 10 && grids[[3, 1], default: 0] >= 10, "\(grids)")
        // The printed summary keeps the whole task name, the other tasks' names padded to its width.
        let scored = try (0..<4).map { i -> ScoredOutput in
            let e = try DatasetGenerator(DatasetSpec(tasks: [.jigsawStrip, .vqa], split: .train, count: 4, styles: [.plain], seed: 9)).example(i).example
            return try TaskScorer.score(e, output: e.response)
        }
        let lines = EvaluationReport.summaryLines(TaskSummary.summarise(scored))
        #expect(lines.count == 2 && lines[0].hasPrefix("jigsaw-strip n=2 ") && lines[1].hasPrefix("vqa          n=2 "), "\(lines)")
        #expect(throws: WorldError.self) { try TaskKind.parseList("jigsaw-stripe") }
    }

    /// `pope-adversarial`: every "no" names an absent object sharing a colour or a shape with one in the scene
    /// (with random negatives some do not); "yes" and "no" stay balanced; the examples score as POPE, and the same
    /// seed's random-negative POPE set is unchanged (its "no" questions include ones that share nothing).
    @Test func adversarialPOPENegativesShareAColourOrAShape() throws {
        let n = 400
        func examples(_ task: TaskKind) throws -> [Example] {
            let g = try DatasetGenerator(DatasetSpec(tasks: [task], split: .train, count: n, styles: [.plain], seed: 4))
            return try (0..<n).map { try g.example($0).example }
        }
        func sharesAWord(_ e: Example) throws -> Bool {
            let name = e.prompt.replacingOccurrences(of: "is there a ", with: "").replacingOccurrences(of: " ?", with: "")
            let asked = Set(name.split(separator: " ").map(String.init))
            let scene = try #require(e.truth?.scene)
            #expect(scene.shapes.map(\.name).contains(name) == (e.truth?.answer == "yes"), "\(name)")
            return scene.shapes.contains { asked.contains($0.colour.rawValue) || asked.contains($0.kind.rawValue) }
        }
        var no = 0
        for e in try examples(.popeAdversarial) {
            #expect(e.task == "pope-adversarial")
            let scored = try TaskScorer.score(e, output: e.response)
            #expect(scored.correct && scored.expectedYes == (e.truth?.answer == "yes"))
            if e.truth?.answer == "no" { no += 1; #expect(try sharesAWord(e), "\(e.prompt)") }
        }
        #expect(abs(Double(no) / Double(n) - 0.5) < 0.1, "\(no) of \(n) answers are no")
        // Its scenes are drawn as POPE's (one shape allowed), so sets made before the other adversarial tasks keep their bytes.
        #expect(try examples(.popeAdversarial).contains { try #require($0.truth?.scene).shapes.count == 1 })
        let random = try examples(.pope).filter { $0.truth?.answer == "no" }
        #expect(try random.contains { try !sharesAWord($0) })
        #expect(try TaskKind.parseList("prior").contains(.popeAdversarial) == false)
    }

    /// `grounding-adversarial` asks only about a shape whose colour another shape shares, and its truth is that
    /// shape's box; `ordering-adversarial` draws only scenes where two shapes share a colour. Both score as their world
    /// task (the response is right, another same-coloured shape's box is wrong), and the plain tasks at the same seed
    /// do ask about scenes where every colour is distinct.
    @Test func adversarialGroundingAndOrderingNeedTheShapeNotJustTheColour() throws {
        let n = 200
        func examples(_ task: TaskKind) throws -> [Example] {
            let g = try DatasetGenerator(DatasetSpec(tasks: [task], split: .train, count: n, styles: [.plain, .reasoning], seed: 4))
            return try (0..<n).map { try g.example($0).example }
        }
        func sharesAColour(_ scene: Scene) -> Bool { Set(scene.shapes.map(\.colour)).count < scene.shapes.count }
        for e in try examples(.groundingAdversarial) {
            #expect(e.task == "grounding-adversarial")
            let scene = try #require(e.truth?.scene)
            let name = e.prompt.replacingOccurrences(of: "where is the ", with: "").components(separatedBy: " ?")[0]
            let target = try #require(scene.shapes.first { $0.name == name }, "\(e.prompt)")
            #expect(e.truth?.box == target.box.array)
            let twin = try #require(scene.shapes.first { $0.colour == target.colour && $0.name != name }, "\(e.prompt)")
            #expect(try TaskScorer.score(e, output: e.response).correct)
            let b = twin.box
            if b.iou(target.box) < 0.5 {
                #expect(try !TaskScorer.score(e, output: "<answer> { bbox : [ \(b.x1) , \(b.y1) , \(b.x2) , \(b.y2) ] } </answer>").correct)
            }
        }
        for e in try examples(.orderingAdversarial) {
            #expect(e.task == "ordering-adversarial")
            #expect(sharesAColour(try #require(e.truth?.scene)))
            let scored = try TaskScorer.score(e, output: e.response)
            #expect(scored.correct && scored.answersWithPermutation == true)
        }
        #expect(try examples(.grounding).contains { !sharesAColour(try #require($0.truth?.scene)) })
        #expect(try examples(.ordering).contains { !sharesAColour(try #require($0.truth?.scene)) })
        #expect(try TaskKind.parseList("prior").contains(.groundingAdversarial) == false)
        #expect(TaskKind.groundingAdversarial.scoredAs == .grounding && TaskKind.orderingAdversarial.scoredAs == .ordering)
    }

    @Test func jigsawThinkTraceIsTheSceneDescriptionOrTheFixedSentence() throws {
        let scene = try DatasetGenerator(DatasetSpec(tasks: [.jigsaw, .jigsawFormat], split: .train, count: 40, styles: [.reasoning], seed: 6))
        let fixed = try DatasetGenerator(DatasetSpec(tasks: [.jigsaw, .jigsawFormat], split: .train, count: 40, styles: [.reasoning], seed: 6,
                                                     jigsawTrace: .fixed))
        var traces = Set<String>()
        for i in 0..<40 {
            let s = try scene.example(i).example, f = try fixed.example(i).example
            let truthScene = try #require(s.truth?.scene)
            // Same puzzle and image; only the think block differs.
            #expect(s.prompt == f.prompt && s.truth == f.truth && s.image == f.image)
            #expect(s.response.hasPrefix("<think> \(PriorTasks.trace(truthScene)) </think> <answer> "), "\(s.response)")
            #expect(f.response.hasPrefix("<think> i see 4 pieces , i put each piece back in its original position </think> <answer> "))
            #expect(s.response.components(separatedBy: "</think>").last == f.response.components(separatedBy: "</think>").last)
            traces.insert(s.response.components(separatedBy: "</think>")[0])
        }
        // The description follows the scene, so traces vary from puzzle to puzzle.
        #expect(traces.count >= 10, "\(traces.count) distinct traces in 40 puzzles")
        // A photograph has no scene: the fixed sentence, whatever the choice.
        let puzzle = try Jigsaw(rows: 3, columns: 3, permutation: [1, 0, 2, 3, 4, 5, 6, 7, 8])
        #expect(puzzle.trace(.scene, scene: nil) == puzzle.trace)
    }

    @Test func scorerMetrics() throws {
        let g = Example(id: "g", task: "grounding", style: "plain", prompt: "", response: "", truth: Truth(box: [2, 2, 9, 9]))
        #expect(try TaskScorer.score(g, output: "<answer> { bbox : [ 2 , 2 , 9 , 9 ] } </answer>").score == 1)
        let shifted = try TaskScorer.score(g, output: "<answer> {bbox:[4,2,11,9]} </answer>")
        #expect(abs(shifted.score - 48.0 / 80.0) < 1e-15 && shifted.correct)
        let far = try TaskScorer.score(g, output: "<answer> { bbox : [ 6 , 2 , 13 , 9 ] } </answer>")
        #expect(abs(far.score - 32.0 / 96.0) < 1e-15 && !far.correct)
        #expect(try !TaskScorer.score(g, output: "{ bbox : [ 2 , 2 , 9 , 9 ] }").correct, "no answer block, no credit")
        let pope = [("yes", "yes"), ("yes", "no"), ("no", "yes"), ("no", "no"), ("yes", "yes")].enumerated().map { i, p in
            (Example(id: "p\(i)", task: "pope", style: "plain", prompt: "", response: "", truth: Truth(answer: p.0)), "<answer> \(p.1) </answer>")
        }
        let scored = try pope.map { try TaskScorer.score($0.0, output: $0.1) }
        let s = try #require(TaskSummary.summarise(scored).first)
        #expect(s.accuracy == 0.6 && s.n == 5)
        let f1 = try #require(s.f1)
        let expectedF1 = 4.0 / 6.0  // tp 2, fp 1, fn 1: 2·tp / (2·tp + fp + fn)
        #expect(abs(f1 - expectedF1) < 1e-15)
        #expect(throws: WorldError.self) { try TaskScorer.score(Example(id: "x", prompt: "", response: ""), output: "") }
        #expect(s.permutationRate == nil)

        // Permutation rate: a well-formed answer in either style counts; R_fmt needs the think block too.
        let j = Example(id: "j", task: "jigsaw", style: "plain", prompt: "", response: "", truth: Truth(permutation: [2, 0, 1, 3]))
        let outputs = ["<answer> [ 1 , 0 , 3 , 2 ] </answer>", "<think> a </think> <answer> [ 2 , 0 , 1 , 3 ] </answer>",
                       "<answer> [ 2 , 2 , 1 , 3 ] </answer>", "<answer> [ 2 , 0 , 1 ] </answer>"]
        let jigsaw = try #require(TaskSummary.summarise(try outputs.map { try TaskScorer.score(j, output: $0) }).first)
        #expect(jigsaw.permutationRate == 0.5 && jigsaw.meanRewards?.format == 0.25 && jigsaw.accuracy == 0.25)
    }
}
