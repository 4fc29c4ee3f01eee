// glibc's allocator tuning (mallopt), which Swift's Glibc module does not export. Part of libc: nothing to link.
#include <malloc.h>
