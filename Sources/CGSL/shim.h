// GSL (Debian's libgsl-dev): random streams and statistics only. Never include gsl_cblas.h or gsl_blas.h here:
// they redeclare the CBLAS enums of OpenBLAS, and GSL's slow CBLAS must not serve cblas_* calls.
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_cdf.h>

// gsl_randist.h would pull in gsl_cblas.h (see above), so its one function used here is declared directly.
double gsl_ran_gaussian(const gsl_rng *r, const double sigma);

// Swift 6 rejects GSL's generator-type globals as not concurrency-safe; these accessors return them.
static inline const gsl_rng_type *dynamics_gsl_rng_mt19937(void) { return gsl_rng_mt19937; }
