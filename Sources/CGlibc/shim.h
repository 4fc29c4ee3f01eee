// glibc functions Swift's Glibc module does not export. Part of libc: nothing to link.
// - mallopt (malloc.h): the allocator tuning of MemoryPolicy.
// - syncfs (unistd.h with _GNU_SOURCE): one sync of a file system after many small writes (AtomicFile).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <unistd.h>

static inline int cglibc_syncfs(int fd) { return syncfs(fd); }
