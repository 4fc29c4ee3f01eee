// Open MPI (Debian's libopenmpi-dev): MPI's predefined handles (MPI_COMM_WORLD, MPI_BYTE, MPI_SUM, …) are C macros
// over addresses of library globals, which Swift cannot import; these accessors return them.
#include <mpi.h>

static inline MPI_Comm dynamics_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype dynamics_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype dynamics_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op dynamics_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op dynamics_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Status *dynamics_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int dynamics_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int dynamics_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int dynamics_mpi_any_tag(void) { return MPI_ANY_TAG; }
static inline MPI_Errhandler dynamics_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Datatype dynamics_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype dynamics_mpi_int(void) { return MPI_INT; }
