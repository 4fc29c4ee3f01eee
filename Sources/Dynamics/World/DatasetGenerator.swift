import Foundation

/// The train/test split of a generated set. Splits draw from different random streams, so they share no image.
public enum Split: String, CaseIterable, Codable, Sendable {
    case train, test
}

/// What `analyze data generate` makes: a task mix, a split, a count, styles, a jigsaw grid, a seed.
public struct DatasetSpec: Sendable {
    public var tasks: [TaskKind]
    public var split: Split
    public var count: Int
    public var styles: [PromptStyle]
    public var grid: (rows: Int, columns: Int)
    public var seed: UInt64
    public var imageSize: Int
    /// Where scenes put their shapes and digits.
    public var layout: SceneLayout
    /// What lies behind the objects.
    public var background: SceneBackground
    /// What a reasoning-style jigsaw response thinks.
    public var jigsawTrace: JigsawTrace

    public init(tasks: [TaskKind], split: Split, count: Int, styles: [PromptStyle], grid: (rows: Int, columns: Int) = (2, 2),
                seed: UInt64, imageSize: Int = 24, layout: SceneLayout = .grid, background: SceneBackground = .dark,
                jigsawTrace: JigsawTrace = .scene) {
        self.tasks = tasks
        self.split = split
        self.count = count
        self.styles = styles
        self.grid = grid
        self.seed = seed
        self.imageSize = imageSize
        self.layout = layout
        self.background = background
        self.jigsawTrace = jigsawTrace
    }
}

/// One generated example with the images it refers to (paths relative to the output folder).
public struct GeneratedExample: Sendable {
    public var example: Example
    public var images: [(path: String, image: RGBImage)]
}

/// Generates datasets of the world. Example i uses its own stream ("world.<split>.<i>"), so the first n examples
/// of a larger set equal a set of n, and the output is the same whatever the thread count.
public struct DatasetGenerator: Sendable {
    public let spec: DatasetSpec
    let scenes: SceneGenerator

    public init(_ spec: DatasetSpec) throws {
        guard spec.count >= 1 else { throw WorldError.invalid("count must be at least 1") }
        guard !spec.tasks.isEmpty, !spec.styles.isEmpty else { throw WorldError.invalid("no task or style given") }
        self.spec = spec
        scenes = try SceneGenerator(size: spec.imageSize, layout: spec.layout, background: spec.background)
        // `--grid` matters to jigsaw and jigsaw-format only (a strip puzzle's three pieces fit any image of 8 pixels or more).
        if spec.tasks.contains(where: { $0 == .jigsaw || $0 == .jigsawFormat }) {
            _ = try Jigsaw(rows: spec.grid.rows, columns: spec.grid.columns, permutation: Array((0..<(spec.grid.rows * spec.grid.columns)).reversed()))
                .pieceSize(imageSize: spec.imageSize)
        }
    }

    /// The task and style of example i: tasks cycle fastest, then styles, so a mix is balanced.
    public func assignment(_ i: Int) -> (TaskKind, PromptStyle) {
        (spec.tasks[i % spec.tasks.count], spec.styles[(i / spec.tasks.count) % spec.styles.count])
    }

    /// Example i of the set.
    public func example(_ i: Int) throws -> GeneratedExample {
        let (task, style) = assignment(i)
        let rng = RandomStream(seed: spec.seed, name: "world.\(spec.split.rawValue).\(i)")
        let id = String(format: "%@-%06d", spec.split.rawValue, i)
        let imagePath = "images/\(id).png"
        if task.isPuzzle {
            let (scene, image) = scenes.generate(rng)
            let grid = task == .jigsawStrip ? TaskKind.stripGrids[rng.uniformInt(TaskKind.stripGrids.count)] : spec.grid
            let puzzle = try Jigsaw(rows: grid.rows, columns: grid.columns, rng: rng)
            let guess = task == .jigsawFormat ? try Jigsaw(rows: grid.rows, columns: grid.columns, rng: rng) : nil
            return try Self.jigsawExample(id: id, style: style, puzzle: puzzle, source: image, scene: scene, imagePath: imagePath, guess: guess,
                                          trace: spec.jigsawTrace, task: task)
        }
        // Draw scenes until one supports the question (OCR needs digits, ordering two shapes apart in x, the
        // adversarial grounding two shapes of one colour).
        let minShapes = task.scoredAs == .ordering || task == .groundingAdversarial ? 2 : 1
        for _ in 0..<1000 {
            let (scene, image) = scenes.generate(rng, digits: task == .ocr ? true : nil, minShapes: minShapes)
            guard let q = PriorTasks.question(task, scene: scene, rng: rng) else { continue }
            let example = Example(id: id, task: task.rawValue, style: style.rawValue, prompt: style.prompt(q.question),
                                  response: style.response(answer: q.answer, trace: PriorTasks.trace(scene)), image: imagePath, truth: q.truth)
            return GeneratedExample(example: example, images: [(imagePath, image)])
        }
        throw WorldError.invalid("could not draw a scene for task \(task.rawValue) at image size \(spec.imageSize)")
    }

    /// A jigsaw example over `source`: the shuffled image at `imagePath`, the cropped source beside it. With a
    /// `guess`, a jigsaw-format example: the response answers with the guess's permutation, the truth stays the puzzle's.
    /// `task` names the example's task (`jigsaw-strip` for a strip puzzle); by default jigsaw, or jigsaw-format with a guess.
    public static func jigsawExample(id: String, style: PromptStyle, puzzle: Jigsaw, source: RGBImage, scene: Scene?,
                                     imagePath: String, guess: Jigsaw? = nil, trace: JigsawTrace = .scene, task: TaskKind? = nil) throws -> GeneratedExample {
        let cropped = try puzzle.cropped(source)
        let sourcePath = imagePath.replacingOccurrences(of: ".png", with: "-source.png")
        let task: TaskKind = task ?? (guess == nil ? .jigsaw : .jigsawFormat)
        let example = Example(id: id, task: task.rawValue, style: style.rawValue, prompt: style.prompt(puzzle.question),
                              response: style.response(answer: (guess ?? puzzle).answer, trace: puzzle.trace(trace, scene: scene)), image: imagePath,
                              truth: Truth(permutation: puzzle.permutation, source: sourcePath, scene: scene),
                              grid: [puzzle.rows, puzzle.columns])
        return GeneratedExample(example: example, images: [(imagePath, try puzzle.shuffle(cropped)), (sourcePath, cropped)])
    }

    /// The file name of the split's JSONL inside the output folder.
    public var fileName: String { "\(spec.split.rawValue).jsonl" }
}

/// Writes generated examples: one JSONL (sorted keys, one example per line) and PNGs under the folder.
public enum DatasetWriter {
    /// JSON line of one example (sorted keys, so the same example gives the same bytes).
    public static func line(_ example: Example) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(example), as: UTF8.self)
    }

    /// Writes the images of `examples` under `folder` (each atomically, all made durable by one file-system sync
    /// rather than two fsyncs per image: a 128 000-example set spent most of its two minutes in them), then the JSONL
    /// at `folder/fileName`, which is written only once every image it names is durable.
    public static func write(_ examples: [GeneratedExample], folder: URL, fileName: String) throws {
        for e in examples {
            for (path, image) in e.images { try PNGCodec.write(image, to: folder.appendingPathComponent(path), durable: false) }
        }
        if examples.contains(where: { !$0.images.isEmpty }) { try AtomicFile.syncFileSystem(containing: folder) }
        let text = try examples.map { try line($0.example) }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent(fileName))
    }
}

/// The files `data generate` and `data jigsaw` write into a folder for a split: `<split>.jsonl`, `<split>.meta.json` and
/// `images/<split>-*.png`. Without `force` none of them may exist (SafeOutput's policy); with it they are replaced,
/// and nothing else in the folder is touched.
public enum DatasetOutput {
    public static func check(folder: URL, split: Split, force: Bool) throws {
        try SafeOutput.checkWritable([folder.appendingPathComponent("\(split.rawValue).jsonl"),
                                      folder.appendingPathComponent("\(split.rawValue).meta.json")], force: force)
        let images = folder.appendingPathComponent("images")
        if !force, let names = try? FileManager.default.contentsOfDirectory(atPath: images.path),
           let existing = names.sorted().first(where: { $0.hasPrefix("\(split.rawValue)-") }) {
            throw FileError.exists(path: images.appendingPathComponent(existing).path)
        }
    }
}

extension DatasetSpec {
    /// The run record's details of a generated set; `tasks`, `style` and `grid` as the command line gave them.
    public func runDetails(tasks: String, style: String, grid: String) -> [String: String] {
        ["tasks": tasks, "split": split.rawValue, "count": String(count), "style": style, "grid": grid, "seed": String(seed),
         "image_size": String(imageSize), "layout": layout.rawValue, "background": background.rawValue, "jigsaw_trace": jigsawTrace.rawValue]
    }

    /// The one-line result of writing the set as `path` (`style` as given).
    public func summary(path: String, style: String) -> String {
        "wrote \(path): \(count) examples (\(tasks.map(\.rawValue).joined(separator: ",")); \(style)) and their images"
    }
}
