// LAPACKE (Debian's liblapacke-dev). The two defines make LAPACKE use plain structs for complex numbers:
// C99 _Complex types do not import into Swift.
#define HAVE_LAPACK_CONFIG_H
#define LAPACK_COMPLEX_STRUCTURE
#include <lapacke.h>
