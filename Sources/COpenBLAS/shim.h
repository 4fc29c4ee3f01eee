// CBLAS from OpenBLAS (Debian's libopenblas-dev). There is no separate `cblas` pkg-config entry:
// OpenBLAS's own header declares cblas_* and openblas_set_num_threads (and openblas_get_corename).
#include <cblas.h>

// Whether this CPU runs OpenBLAS's Haswell kernels (AVX2 and FMA), which `BLASKernel` pins: 0 elsewhere, and on
// processors other than x86-64.
static inline int copenblas_cpu_runs_haswell_kernels(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}
