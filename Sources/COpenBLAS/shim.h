// CBLAS from OpenBLAS (Debian's libopenblas-dev). There is no separate `cblas` pkg-config entry:
// OpenBLAS's own header declares cblas_* and openblas_set_num_threads.
#include <cblas.h>
