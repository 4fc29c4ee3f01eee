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

    /// Sets `OPENBLAS_CORETYPE` to the pinned kernel and executes this program again with the same arguments, when
    /// the variable is unset and the processor runs that kernel. Returns without doing anything otherwise, and when
    /// the executable cannot be executed again (the process then goes on with the kernel OpenBLAS chose).
    public static func pinOrReexecute() {
        guard getenv(variable) == nil, processorRunsPinnedKernel else { return }
        setenv(variable, pinned, 1)
        if isPinned { return }  // already the pinned kernel (a Haswell-class processor): no need to start again
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: go on with OpenBLAS's own choice, and say so.
        FileHandle.standardError.write(Data("warning: could not execute the program again with \(variable)=\(pinned) (errno \(errno)); OpenBLAS runs its \(current) kernel, whose bytes differ from the pinned kernel's\n".utf8))
    }
}
