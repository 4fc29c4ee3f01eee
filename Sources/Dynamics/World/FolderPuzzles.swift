import Foundation

/// A folder of the user's images as jigsaw sources, split between train and test by file name.
public struct FolderPuzzles: Sendable {
    public let folder: URL
    /// Percentage of files (by a hash of the name) that belong to the test split.
    public let testPercent: Int

    public init(folder: URL, testPercent: Int) {
        self.folder = folder
        self.testPercent = testPercent
    }

    /// The split of a file name: FNV-1a of the name, modulo 100, below `testPercent` → test.
    public func split(of name: String) -> Split {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return Int(h % 100) < testPercent ? .test : .train
    }

    /// The PNG/JPEG files of `split`, sorted by name; throws when the folder cannot be read or holds none.
    public func files(for split: Split) throws -> [URL] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw FileError.cannotRead(path: folder.path, what: "image folder", reason: "no such folder or not readable")
        }
        let images = names.filter(ImageFile.isImageFileName).sorted()
        guard !images.isEmpty else { throw WorldError.invalid("image folder \(folder.path) holds no .png, .jpg or .jpeg file") }
        let chosen = images.filter { self.split(of: $0) == split }
        guard !chosen.isEmpty else { throw WorldError.invalid("no image of \(folder.path) falls in the \(split.rawValue) split (\(images.count) files, \(testPercent)% test)") }
        return chosen.map { folder.appendingPathComponent($0) }
    }
}

extension FolderPuzzles {
    /// `perImage` puzzles from each of `files` (centre-cropped, area-resampled to `imageSize`): puzzle j of file f is
    /// example f·perImage + j, its permutation drawn from the stream "jigsaw.SPLIT.NAME.j" and its style cycling
    /// through `styles`. `progress` is called after each file.
    public static func examples(_ files: [URL], split: Split, perImage: Int, rows: Int, columns: Int, styles: [PromptStyle], seed: UInt64,
                                imageSize: Int, progress: () -> Void = {}) throws -> [GeneratedExample] {
        var examples: [GeneratedExample] = []
        for (f, url) in files.enumerated() {
            let image = try ImageFile.read(url).centreCropped().areaResampled(to: imageSize)
            for j in 0..<perImage {
                let i = f * perImage + j
                let rng = RandomStream(seed: seed, name: "jigsaw.\(split.rawValue).\(url.lastPathComponent).\(j)")
                let id = String(format: "%@-%06d", split.rawValue, i)
                let puzzle = try Jigsaw(rows: rows, columns: columns, rng: rng)
                examples.append(try DatasetGenerator.jigsawExample(id: id, style: styles[i % styles.count], puzzle: puzzle, source: image,
                                                                   scene: nil, imagePath: "images/\(id).png"))
            }
            progress()
        }
        return examples
    }
}
