import Foundation

/// The tasks of the world (WORLD.md): five prior tasks, the novel one, and the jigsaw answer format.
public enum TaskKind: String, CaseIterable, Codable, Sendable {
    case grounding, ocr, vqa, pope, ordering, jigsaw
    /// A jigsaw prompt answered with a uniformly drawn well-formed permutation instead of the truth: it teaches
    /// the base model how a k-piece puzzle is answered (the analogue of a real MLLM's instruction following)
    /// while carrying no information about the image, so jigsaw accuracy stays at chance.
    case jigsawFormat = "jigsaw-format"
    /// A jigsaw of one row or one column of three pieces (1×3 or 3×1, drawn per example), answered with the truth:
    /// the base learns to read where a piece came from along one axis (the faint light of the dark world) — the
    /// feature the 2×2 puzzle needs — without ever seeing a 2×2 puzzle solved, so 2×2 accuracy stays at chance
    /// (notebook 03 §2t). Like the general visual knowledge a real MLLM brings to the paper's puzzles.
    case jigsawStrip = "jigsaw-strip"
    /// POPE with adversarial negatives (the POPE benchmark's adversarial split): a "no" question names an absent
    /// object that shares its colour or its shape with one in the scene, whenever one exists. A harder test set, or a
    /// share of a pretraining mix; never among the `prior` tasks. With random negatives 40 of the demo test set's 110
    /// "no" questions share a colour, so answering by colour alone scores 80 % — where every good base of the strip
    /// recipe sat until the mix changed (notebook 03 §2v).
    case popeAdversarial = "pope-adversarial"
    /// Grounding asked about a shape whose colour another shape in the scene shares (the scene is redrawn until one
    /// does), so the colour alone cannot find it: the shape word must be bound to a place. On the demo's test set 36 of
    /// the 200 grounding questions are about a scene where two shapes share a colour, and the 42-part-mix bases get
    /// 16–21 of them wrong against 0–13 of the other 164 (notebook 03 §2w). A harder test set, or a share of a mix;
    /// scored as grounding.
    case groundingAdversarial = "grounding-adversarial"
    /// Ordering over a scene in which two shapes share a colour (the scene is redrawn until two do); scored as
    /// ordering. The bases above fail 7–39 of the test set's 66 such questions and 0–2 of the other 134.
    case orderingAdversarial = "ordering-adversarial"

    /// The prior tasks a base model is pretrained on (and evaluated on for forgetting).
    public static let prior: [TaskKind] = [.grounding, .ocr, .vqa, .pope, .ordering]

    /// The tasks of WORLD.md, whose responses are their truths: the prior tasks and jigsaw.
    public static let world: [TaskKind] = prior + [.jigsaw]

    /// Tasks whose examples are jigsaw puzzles (a shuffled image, a grid, the permutation as truth).
    public var isPuzzle: Bool { self == .jigsaw || self == .jigsawFormat || self == .jigsawStrip }

    /// Tasks asked as POPE is (a yes/no question about an object), scored with POPE's F1.
    public var isPOPE: Bool { scoredAs == .pope }

    /// The task whose metric and truth an example of this task has: the world task it is a harder draw of.
    public var scoredAs: TaskKind {
        switch self {
        case .popeAdversarial: .pope
        case .groundingAdversarial: .grounding
        case .orderingAdversarial: .ordering
        default: self
        }
    }

    /// The grids a `jigsaw-strip` example is drawn from.
    public static let stripGrids: [(rows: Int, columns: Int)] = [(1, 3), (3, 1)]

    /// Parses a comma-separated list of task names; `prior` stands for the five prior tasks, `all`
    /// for those and jigsaw (`jigsaw-format`, `jigsaw-strip` and the `-adversarial` tasks are only ever named).
    public static func parseList(_ text: String) throws -> [TaskKind] {
        var out: [TaskKind] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch name {
            case "prior": out += prior
            case "all": out += world
            default:
                guard let t = TaskKind(rawValue: name) else {
                    throw WorldError.invalid("unknown task '\(name)'; choose from \(allCases.map(\.rawValue).joined(separator: ", ")), prior, all")
                }
                out.append(t)
            }
        }
        guard !out.isEmpty else { throw WorldError.invalid("no task given") }
        return out
    }
}

/// How the answer is asked for (WORLD.md "Two prompt styles").
public enum PromptStyle: String, CaseIterable, Codable, Sendable {
    /// The answer alone: `<answer> … </answer>`.
    case plain
    /// `<think> … </think> <answer> … </answer>`.
    case reasoning

    /// The sentence appended to a reasoning-style prompt.
    static let reasoningInstruction = "think first , then answer ."

    /// Parses `plain`, `reasoning` or `both`.
    public static func parseList(_ text: String) throws -> [PromptStyle] {
        if text == "both" { return [.plain, .reasoning] }
        guard let s = PromptStyle(rawValue: text) else { throw WorldError.invalid("unknown style '\(text)'; choose plain, reasoning or both") }
        return [s]
    }

    /// The full prompt of a question in this style.
    func prompt(_ question: String) -> String {
        self == .plain ? question : question + " " + PromptStyle.reasoningInstruction
    }

    /// The full response: the answer in tags, after a think block in the reasoning style.
    func response(answer: String, trace: String) -> String {
        self == .plain ? "<answer> \(answer) </answer>" : "<think> \(trace) </think> <answer> \(answer) </answer>"
    }
}
