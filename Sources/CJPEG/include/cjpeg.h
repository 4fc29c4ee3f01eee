#ifndef DYNAMICS_CJPEG_H
#define DYNAMICS_CJPEG_H
#include <stddef.h>
/* Placeholder: filled in by the JPEG reader work. */
#endif
