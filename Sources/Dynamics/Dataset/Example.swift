import Foundation

/// One line of an examples file (WORLD.md "Datasets on disk"): a prompt, a response, an optional image.
public struct Example: Codable, Equatable, Sendable {
    public var id: String
    /// Task name (e.g. "grounding", "jigsaw"); optional for hand-written files.
    public var task: String?
    /// Prompt style, "plain" or "reasoning"; optional for hand-written files.
    public var style: String?
    public var prompt: String
    public var response: String
    /// PNG path relative to the examples file's folder, or nil for a text-only example.
    public var image: String?
    /// Structured ground truth (box, answer text, permutation, scene, …); nil for hand-written files.
    public var truth: Truth?
    /// Jigsaw only: [rows, columns] of the puzzle grid.
    public var grid: [Int]?

    public init(id: String, task: String? = nil, style: String? = nil, prompt: String, response: String, image: String? = nil,
                truth: Truth? = nil, grid: [Int]? = nil) {
        self.id = id
        self.task = task
        self.style = style
        self.prompt = prompt
        self.response = response
        self.image = image
        self.truth = truth
        self.grid = grid
    }
}

/// The ground truth of a generated example; the fields a task needs are present, the rest absent.
public struct Truth: Codable, Equatable, Sendable {
    /// Grounding: the box [x1, y1, x2, y2] of the named shape (pixels, corners inclusive).
    public var box: [Int]?
    /// OCR, VQA and POPE: the expected answer text ("407", "2", "red", "yes").
    public var answer: String?
    /// Ordering and jigsaw: the expected permutation.
    public var permutation: [Int]?
    /// Jigsaw: the unshuffled source image, relative to the examples file.
    public var source: String?
    /// The scene behind the image, when the world drew it.
    public var scene: Scene?

    public init(box: [Int]? = nil, answer: String? = nil, permutation: [Int]? = nil, source: String? = nil, scene: Scene? = nil) {
        self.box = box
        self.answer = answer
        self.permutation = permutation
        self.source = source
        self.scene = scene
    }
}

/// A JSONL file of examples, with the folder its image paths are relative to.
public struct ExampleFile: Sendable {
    public let url: URL
    public let examples: [Example]

    /// Reads `url`: one JSON object per non-blank line (LF or CRLF line ends; JSONLines). Errors name the file, the
    /// line and the field; duplicate ids, a key given twice in one object, malformed ground truth
    /// (`Example.validateTruth`) and empty files are errors.
    public init(url: URL) throws {
        try self.init(data: AtomicFile.read(url, what: "examples file"), url: url)
    }

    /// The same from the file's bytes; `url` names it and anchors its image paths.
    public init(data: Data, url: URL) throws {
        guard String(data: data, encoding: .utf8) != nil else {
            throw ExampleError.malformed(path: url.path, line: 0, reason: "not UTF-8 text")
        }
        // Lines are decoded in chunks on every core (JSONDecoder took 5 s of a 168 000-line file on one), then
        // checked in file order, so the error thrown is the one a serial read meets first.
        let lines = JSONLines.lines(data), chunk = 4096
        let chunks = Parallel.map((lines.count + chunk - 1) / chunk) { c in
            let decoder = JSONDecoder()
            return lines[(c * chunk)..<min(lines.count, (c + 1) * chunk)].map { line in
                Result { try Self.decode(line.bytes, line: line.number, decoder: decoder, url: url) }
            }
        }
        var examples: [Example] = []
        examples.reserveCapacity(lines.count)
        var seen = Set<String>(minimumCapacity: lines.count)
        for (decoded, number) in zip(chunks.joined(), lines.lazy.map(\.number)) {
            let example = try decoded.get()
            guard seen.insert(example.id).inserted else {
                throw ExampleError.malformed(path: url.path, line: number, reason: "duplicate id '\(example.id)'")
            }
            examples.append(example)
        }
        guard !examples.isEmpty else { throw ExampleError.malformed(path: url.path, line: 0, reason: "no examples") }
        self.url = url
        self.examples = examples
    }

    /// One line's example, its errors naming the file and the line.
    private static func decode(_ line: Data, line number: Int, decoder: JSONDecoder, url: URL) throws -> Example {
        do {
            try StrictJSON.checkNoDuplicateKeys(line)
            let example = try decoder.decode(Example.self, from: line)
            try example.validateTruth()
            return example
        } catch let error as ExampleError {
            throw ExampleError.malformed(path: url.path, line: number, reason: "\(error)")
        } catch let error as StrictJSONError {
            throw ExampleError.malformed(path: url.path, line: number, reason: "\(error)")
        } catch {
            throw ExampleError.malformed(path: url.path, line: number, reason: JSONErrorText.describe(error))
        }
    }

    /// The example with `id`; throws naming the id and file when absent.
    public func example(id: String) throws -> Example {
        guard let e = examples.first(where: { $0.id == id }) else { throw ExampleError.unknownID(id, path: url.path) }
        return e
    }

    /// Absolute location of an example's image.
    public func imageURL(_ example: Example) -> URL? {
        example.image.map { URL(fileURLWithPath: $0, relativeTo: url.deletingLastPathComponent()).standardizedFileURL }
    }
}

/// Examples files and example references that cannot be used.
public enum ExampleError: Error, Equatable, CustomStringConvertible {
    case malformed(path: String, line: Int, reason: String)
    case unknownID(String, path: String)
    case tooLong(id: String, length: Int, max: Int)
    case badReference(String)
    case badPosition(id: String, position: Int, valid: ClosedRange<Int>)
    case malformedTruth(id: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(path, line, reason): line > 0 ? "\(path) line \(line): \(reason)" : "\(path): \(reason)"
        case let .unknownID(id, path): "no example with id '\(id)' in \(path)"
        case let .tooLong(id, length, max): "example '\(id)' needs \(length) positions, more than max_seq_len \(max)"
        case let .badReference(text): "'\(text)' is not an ID:POSITION reference (e.g. ex3:41)"
        case let .badPosition(id, position, valid):
            "position \(position) of example '\(id)' is not a predicted text position; valid: \(valid.lowerBound)…\(valid.upperBound)"
        case let .malformedTruth(id, reason): "example '\(id)': \(reason)"
        }
    }
}
