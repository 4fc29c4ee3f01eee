/// Questions of the prior tasks about a scene, with their answers (WORLD.md "Prior tasks").
public struct TaskQuestion: Equatable, Sendable {
    public let question: String
    /// The answer as the response writes it (inside `<answer>` tags).
    public let answer: String
    public let truth: Truth
}

/// Writes the prior tasks' questions. Numbers are written as digit strings with spaced punctuation, the way the
/// tokenizer reads them back.
public enum PriorTasks {
    /// "i see a red circle and a blue square" (and "and a number" when digits are drawn): the think trace.
    public static func trace(_ scene: Scene) -> String {
        var parts = scene.shapes.map { "a \($0.name)" }
        if scene.digits != nil { parts.append("a number") }
        guard let last = parts.popLast() else { return "i see no shapes" }
        return "i see " + (parts.isEmpty ? last : parts.joined(separator: " , ") + " and " + last)
    }

    /// A question of `task` about `scene`, or nil when the scene cannot support one (no digits for OCR,
    /// fewer than two shapes or a tie in x for ordering). Draws choices from `rng`.
    public static func question(_ task: TaskKind, scene: Scene, rng: RandomStream) -> TaskQuestion? {
        let shapes = scene.shapes
        switch task {
        case .grounding, .groundingAdversarial:
            // Adversarial: only shapes whose colour another shape shares can be asked about.
            let candidates = task == .grounding ? shapes : shapes.filter { s in shapes.filter { $0.colour == s.colour }.count > 1 }
            guard !candidates.isEmpty else { return nil }
            let s = candidates[rng.uniformInt(candidates.count)]
            let b = s.box
            return TaskQuestion(question: "where is the \(s.name) ?",
                                answer: "{ bbox : [ \(b.x1) , \(b.y1) , \(b.x2) , \(b.y2) ] }", truth: Truth(box: b.array, scene: scene))
        case .ocr:
            guard let digits = scene.digits else { return nil }
            return TaskQuestion(question: "read the number .", answer: digits, truth: Truth(answer: digits, scene: scene))
        case .vqa:
            let unique = ShapeKind.allCases.filter { k in shapes.filter { $0.kind == k }.count == 1 }
            if !unique.isEmpty && rng.uniform() < 0.5, let shape = shapes.first(where: { $0.kind == unique[rng.uniformInt(unique.count)] }) {
                let kind = shape.kind
                let colour = shape.colour.rawValue
                return TaskQuestion(question: "what colour is the \(kind.rawValue) ?", answer: colour, truth: Truth(answer: colour, scene: scene))
            }
            let kind = ShapeKind.allCases[rng.uniformInt(3)]
            let n = String(shapes.filter { $0.kind == kind }.count)
            return TaskQuestion(question: "how many \(kind.plural) are there ?", answer: n, truth: Truth(answer: n, scene: scene))
        case .pope, .popeAdversarial:
            let present = Set(shapes.map(\.name))
            var absent = ShapeColour.allCases.flatMap { c in ShapeKind.allCases.map { "\(c.rawValue) \($0.rawValue)" } }.filter { !present.contains($0) }
            if task == .popeAdversarial {
                // Negatives that share a colour or a shape with an object in the scene (the same draws follow).
                let words = Set(shapes.flatMap { [$0.colour.rawValue, $0.kind.rawValue] })
                let near = absent.filter { $0.split(separator: " ").contains { words.contains(String($0)) } }
                if !near.isEmpty { absent = near }
            }
            let yes = !shapes.isEmpty && (absent.isEmpty || rng.uniform() < 0.5)
            let name = yes ? shapes[rng.uniformInt(shapes.count)].name : absent[rng.uniformInt(absent.count)]
            let answer = yes ? "yes" : "no"
            return TaskQuestion(question: "is there a \(name) ?", answer: answer, truth: Truth(answer: answer, scene: scene))
        case .ordering, .orderingAdversarial:
            guard shapes.count >= 2, Set(shapes.map(\.box.doubledCentreX)).count == shapes.count else { return nil }
            if task == .orderingAdversarial && Set(shapes.map(\.colour)).count == shapes.count { return nil }
            var listing = Array(shapes.indices)
            rng.shuffle(&listing)
            // Answer: for each shape from left to right, its index in the prompt's listing.
            let leftToRight = listing.indices.sorted { shapes[listing[$0]].box.doubledCentreX < shapes[listing[$1]].box.doubledCentreX }
            let names = listing.map { shapes[$0].name }.joined(separator: " , ")
            return TaskQuestion(question: "order the shapes from left to right : \(names) .",
                                answer: Jigsaw.listText(leftToRight), truth: Truth(permutation: leftToRight, scene: scene))
        case .jigsaw, .jigsawFormat, .jigsawStrip:
            return nil
        }
    }
}
