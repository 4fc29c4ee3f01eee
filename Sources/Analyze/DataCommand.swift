import ArgumentParser
import Dynamics
import Foundation

extension Split: ExpressibleByArgument {}
extension SceneLayout: ExpressibleByArgument {}
extension SceneBackground: ExpressibleByArgument {}
extension JigsawTrace: ExpressibleByArgument {}

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Generate and inspect datasets of the toy world.",
        subcommands: [Generate.self, JigsawFromImages.self, Preview.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Procedural examples: JSONL (WORLD.md schema) + PNG under an output folder.",
            discussion: "Writes OUT/<split>.jsonl and OUT/images/<split>-NNNNNN.png (jigsaw also -source.png, the unshuffled image). Tasks cycle fastest, then styles. Example i draws from its own stream, so train and test never share an image and the first n of a larger set equal a set of n.")

        @Option(name: .long, help: "Comma-separated tasks: grounding, ocr, vqa, pope, ordering, jigsaw, jigsaw-format (jigsaw prompts answered with a random well-formed permutation: the answer format without the skill), jigsaw-strip (solved 1×3 and 3×1 puzzles), pope-adversarial, grounding-adversarial, ordering-adversarial (harder draws of their world task, scored as it); 'prior' for the five prior tasks, 'all' for those and jigsaw.")
        var tasks: String = "prior"
        @Option(name: .long, help: "train or test.")
        var split: Split = .train
        @Option(name: .long, parsing: .unconditional, help: "Number of examples.")
        var count: Int = 100
        @Option(name: .long, help: "plain, reasoning or both.")
        var style: String = "both"
        @Option(name: .long, help: "Jigsaw grid ROWSxCOLUMNS.")
        var grid: String = "2x2"
        @Option(name: .long, parsing: .unconditional, help: "Seed of the world's streams.")
        var seed: UInt64 = 0
        @Option(name: .long, parsing: .unconditional, help: "Image side S in pixels (24 for small, 8 for tiny).")
        var imageSize: Int = 24
        @Option(name: .long, help: "Where shapes and digits go: grid (whole 4-pixel cells, the patch grid; default) or free (any pixel, the harder world).")
        var layout: SceneLayout = .grid
        @Option(name: .long, help: "What lies behind the objects: dark (black with a faint red and blue light across it, the jigsaw's cue), black (zero pixels: background patches carry only their position) or gradient (a random colour with gradients and noise, the older world).")
        var background: SceneBackground = .dark
        @Option(name: .long, help: "What a reasoning-style jigsaw response thinks: scene (the prior tasks' scene description, the words the base model already writes; default) or fixed (one sentence per grid, the earlier world).")
        var jigsawTrace: JigsawTrace = .scene
        @OptionGroup var threads: ThreadsOption
        @Option(name: .long, help: "Output folder.")
        var out: String
        @Flag(name: .long, help: "Replace an existing <split>.jsonl, <split>.meta.json and images/<split>-*.png.")
        var force = false

        func validate() throws {
            try NumericFlag.check("--count", count, FlagRange.count)
            try NumericFlag.check("--image-size", imageSize, FlagRange.imageSize)
            try SafeOutput.checkPath(out)
        }

        func run() throws {
            let spec = DatasetSpec(tasks: try TaskKind.parseList(tasks), split: split, count: count, styles: try PromptStyle.parseList(style),
                                   grid: try Jigsaw.parseGrid(grid), seed: seed, imageSize: imageSize, layout: layout, background: background, jigsawTrace: jigsawTrace)
            let generator = try DatasetGenerator(spec)
            let folder = URL(fileURLWithPath: out)
            try DatasetOutput.check(folder: folder, split: split, force: force)
            let progress = Progress("generate", total: count, unit: "examples")
            let examples = try Parallel.chunkedMap(count, threads: threads.threads, chunk: 64, progress: { progress.advance(by: $0) }) {
                try generator.example($0)
            }
            try DatasetWriter.write(examples, folder: folder, fileName: generator.fileName)
            let path = (out as NSString).appendingPathComponent(generator.fileName)
            try RunRecord(command: commandLine, outputs: [path], details: spec.runDetails(tasks: tasks, style: style, grid: grid))
                .write(to: folder.appendingPathComponent("\(split.rawValue).meta.json"))
            print(spec.summary(path: path, style: style))
        }
    }

    struct JigsawFromImages: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jigsaw", abstract: "Jigsaw puzzles from a folder of PNG/JPEG images (centre-cropped, area-resampled to S×S).",
            discussion: "Files are split between train and test by a hash of their name (--test-percent), so the splits never share a file.")

        @Option(name: .long, help: "Folder of PNG or JPEG images (any sizes).")
        var images: String
        @Option(name: .long, help: "train or test.")
        var split: Split = .train
        @Option(name: .long, parsing: .unconditional, help: "Percentage of files assigned to the test split.")
        var testPercent: Int = 20
        @Option(name: .long, parsing: .unconditional, help: "Puzzles per image (each with its own permutation).")
        var perImage: Int = 1
        @Option(name: .long, help: "Jigsaw grid ROWSxCOLUMNS.")
        var grid: String = "3x3"
        @Option(name: .long, help: "plain, reasoning or both.")
        var style: String = "plain"
        @Option(name: .long, parsing: .unconditional, help: "Seed of the permutations.")
        var seed: UInt64 = 0
        @Option(name: .long, parsing: .unconditional, help: "Image side S in pixels.")
        var imageSize: Int = 24
        @Option(name: .long, help: "Output folder.")
        var out: String
        @Flag(name: .long, help: "Replace an existing <split>.jsonl, <split>.meta.json and images/<split>-*.png.")
        var force = false

        func validate() throws {
            try NumericFlag.check("--test-percent", testPercent, FlagRange.percent)
            try NumericFlag.check("--per-image", perImage, FlagRange.perItem)
            try NumericFlag.check("--image-size", imageSize, FlagRange.imageSize)
            try SafeOutput.checkPath(out)
        }

        func run() throws {
            let source = FolderPuzzles(folder: URL(fileURLWithPath: images), testPercent: testPercent)
            let files = try source.files(for: split)
            let folder = URL(fileURLWithPath: out)
            let file = folder.appendingPathComponent("\(split.rawValue).jsonl")
            try DatasetOutput.check(folder: folder, split: split, force: force)
            let (rows, columns) = try Jigsaw.parseGrid(grid)
            let progress = Progress("jigsaw", total: files.count, unit: "images")
            let examples = try FolderPuzzles.examples(files, split: split, perImage: perImage, rows: rows, columns: columns, styles: try PromptStyle.parseList(style),
                                                      seed: seed, imageSize: imageSize) { progress.advance() }
            try DatasetWriter.write(examples, folder: folder, fileName: file.lastPathComponent)
            try RunRecord(command: commandLine, inputs: ["images": images], outputs: [(out as NSString).appendingPathComponent(file.lastPathComponent)],
                          details: ["files": String(files.count), "grid": grid, "seed": String(seed), "image_size": String(imageSize)])
                .write(to: folder.appendingPathComponent("\(split.rawValue).meta.json"))
            print("wrote \((out as NSString).appendingPathComponent(file.lastPathComponent)): \(examples.count) puzzles from \(files.count) images")
        }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A PNG contact sheet of examples: image, unshuffled source for jigsaw, prompt and answer.")

        @Option(name: .long, help: "Examples file (JSONL).")
        var data: String
        @Option(name: .long, parsing: .unconditional, help: "How many examples, from the start of the file.")
        var count: Int = 12
        @Option(name: .long, parsing: .unconditional, help: "Image upscaling.")
        var scale: Int = 4
        @Option(name: .long, parsing: .unconditional, help: "Cells per row.")
        var columns: Int = 4
        @OptionGroup var output: OutputOption

        func validate() throws {
            try NumericFlag.check("--count", count, FlagRange.previewCount)
            try NumericFlag.check("--scale", scale, FlagRange.previewScale)
            try NumericFlag.check("--columns", columns, FlagRange.previewColumns)
        }

        func run() throws {
            try output.checkWritable([output.url, output.sibling("meta.json")])
            let file = try ExampleFile(url: URL(fileURLWithPath: data))
            let (sheet, cells) = try ContactSheet.render(count, of: file, scale: scale, columns: columns)
            try PNGCodec.write(sheet, to: output.url)
            try RunRecord(command: commandLine, inputs: ["data": data], outputs: [output.out],
                          details: ["count": String(cells), "scale": String(scale), "columns": String(columns)])
                .write(to: output.sibling("meta.json"))
            print("wrote \(output.out): \(cells) examples, \(sheet.width)×\(sheet.height) pixels")
        }
    }
}
