import CGlibc

/// Process-wide allocator settings for large Float64 work.
///
/// glibc serves allocations above 32 MiB with fresh `mmap`s and unmaps them on free, so every logit Jacobian
/// (V × d doubles, ~120 MB on `small`) pays for the kernel zeroing new pages again: measured here, that was half
/// of a Jacobian's time. Retaining freed memory in the heap lets the next call reuse it. A program opts in once
/// at start-up (the library never changes it behind a caller's back); memory is then not returned to the system
/// until exit.
///
/// One arena for every thread: glibc otherwise gives worker threads their own arenas, whose heaps hold at most
/// 64 MiB, so a Jacobian made on a worker thread (two examples' features side by side in `analyze entk`) was again
/// served by fresh pages each time — measured here, 130 ms for the pair's two explicit Jacobians instead of 95.
/// The work allocates few, large buffers, so the shared arena's lock costs nothing measurable.
public enum MemoryPolicy {
    /// Serve all allocations from the heap (one arena for all threads) and keep freed memory for reuse.
    public static func retainFreedMemory() {
        _ = mallopt(M_ARENA_MAX, 1)
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        _ = mallopt(M_TOP_PAD, 256 << 20)
    }
}
