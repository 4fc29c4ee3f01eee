extension Sequence where Element: Hashable {
    /// The distinct elements in the order first seen: checkpoints, tasks, runs or series named in a table's rows.
    func distinctInOrder() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
