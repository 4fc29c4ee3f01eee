import Foundation

/// The tasks of the world (WORLD.md): five prior tasks and the novel one.
public enum TaskKind: String, CaseIterable, Codable, Sendable {
    case grounding, ocr, vqa, pope, ordering, jigsaw

    /// The prior tasks a base model is pretrained on.
    public static let prior: [TaskKind] = [.grounding, .ocr, .vqa, .pope, .ordering]

    /// Parses a comma-separated list of task names; `prior` stands for the five prior tasks, `all` for every task.
    public static func parseList(_ text: String) throws -> [TaskKind] {
        var out: [TaskKind] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch name {
            case "prior": out += prior
            case "all": out += allCases
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
