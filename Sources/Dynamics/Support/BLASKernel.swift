import COpenBLAS
import Foundation

/// One OpenBLAS kernel on every x86-64 machine, so that the same seed gives the same bytes on any of them.
///
/// Debian's OpenBLAS picks its kernels for the processor it finds (`DYNAMIC_ARCH`), and kernels of different vector
/// widths add a product's terms in different orders: a 300-step pretraining at one seed ends in other bytes with the
/// AVX-512 kernels (`SkylakeX`, `Cooperlake`) than with the AVX2 ones (`Haswell`, `Zen`), and after 96 000 steps the
/// two are different models (notebook 03 §2y: one meets every prior-task target, the other leaves ordering at
/// 32.5 %). Thread and rank counts never change the bytes (`Parallel`, `ProcessGroup`); the machine should not either.
///
/// OpenBLAS reads its kernel choice, `OPENBLAS_CORETYPE`, once, as the library is loaded: before `main` runs. A
/// program that wants the pinned kernel therefore calls `pinOrReexecute()` first thing; where the variable is unset
/// and the processor runs the pinned kernel, it sets the variable and executes the same program again (the same
/// arguments and process id). A variable the user set is kept: `OPENBLAS_CORETYPE=SkylakeX` asks for the wider
/// kernels, at the price of other bytes. On this project's machines the pinned kernel costs nothing measurable
/// (`small` pretraining: 83.1 steps/s against 83.7 with `Cooperlake`).
public enum BLASKernel {
    /// The kernel family pinned: `Haswell`, AVX2 with FMA (also what OpenBLAS runs on AMD Zen 1–3).
    public static let pinned = "Haswell"

    /// The environment variable OpenBLAS reads at load time.
    public static let variable = "OPENBLAS_CORETYPE"

    /// The kernel OpenBLAS runs in this process, as it names it (`Haswell`, `SkylakeX`, …).
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Whether this processor runs the pinned kernel (x86-64 with AVX2 and FMA).
    public static var processorRunsPinnedKernel: Bool { copenblas_cpu_runs_haswell_kernels() != 0 }

    /// Whether this process runs the pinned kernel.
    public static var isPinned: Bool { current.caseInsensitiveCompare(pinned) == .orderedSame }

    /// How long OpenBLAS's idle worker threads spin before they sleep, as the exponent n of 2ⁿ cycles
    /// (`OPENBLAS_THREAD_TIMEOUT`, read at load time like the kernel). OpenBLAS's default, 28, keeps a worker
    /// spinning for about 0.1 s after the library loads and after every threaded call: a core taken from the work
    /// that follows on the workbench's own threads (`Parallel`, with one-threaded BLAS). A cold `analyze entk` computed
    /// its two examples' features in 46–56 ms or, when they started inside that window, in 89–103 ms (notebook 04 §6).
    /// 2²² cycles (about 1.5 ms) still keeps the workers awake between back-to-back threaded calls.
    public static let threadTimeout = "22"

    /// The environment variable OpenBLAS reads its thread timeout from.
    public static let threadTimeoutVariable = "OPENBLAS_THREAD_TIMEOUT"

    /// The thread timeout this process runs with, as `threadTimeout` (nil: OpenBLAS's default).
    public static var currentThreadTimeout: String? { getenv(threadTimeoutVariable).map { String(cString: $0) } }

    /// Sets the load-time variables this process should run with and, when OpenBLAS has not loaded with them,
    /// executes this program again with the same arguments (and process id): `OPENBLAS_CORETYPE` to the pinned kernel
    /// when it is unset and the processor runs that kernel, and `OPENBLAS_THREAD_TIMEOUT` to `threadTimeout` when it is
    /// unset. A variable the user set is kept. Returns without doing anything when both are already as they should
    /// be, and when the executable cannot be executed again (the process then goes on as OpenBLAS loaded).
    public static func pinOrReexecute() {
        var reload = false
        if getenv(variable) == nil, processorRunsPinnedKernel {
            setenv(variable, pinned, 1)
            reload = !isPinned  // a Haswell-class processor already runs the pinned kernel
        }
        let setsTimeout = getenv(threadTimeoutVariable) == nil
        if setsTimeout {
            setenv(threadTimeoutVariable, threadTimeout, 1)
            reload = true
        }
        guard reload else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: go on with what OpenBLAS chose, and say so.
        FileHandle.standardError.write(Data("warning: could not execute the program again with \(variable)=\(pinned) and \(threadTimeoutVariable)=\(threadTimeout) (errno \(errno)); OpenBLAS runs its \(current) kernel, whose bytes may differ from the pinned kernel's\n".utf8))
        if setsTimeout { unsetenv(threadTimeoutVariable) }  // OpenBLAS loaded without it; a user's own value stays
    }
}
