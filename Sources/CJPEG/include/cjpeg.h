#ifndef DYNAMICS_CJPEG_H
#define DYNAMICS_CJPEG_H
#include <stddef.h>

/// Decodes the JPEG file at `path` to 8-bit RGB (greyscale expanded). On success returns 0 and sets *pixels
/// (malloc'd, width·height·3 bytes; free with dynamics_jpeg_free), *width and *height. On failure returns
/// non-zero and writes a readable reason into `message`. Never exits the process.
int dynamics_jpeg_read(const char *path, unsigned char **pixels, int *width, int *height, char *message, size_t message_length);

/// Frees pixels returned by dynamics_jpeg_read.
void dynamics_jpeg_free(unsigned char *pixels);

/// Encodes 8-bit RGB pixels to a baseline JPEG at `path` with `quality` (1…100). Returns 0 on success.
int dynamics_jpeg_write(const char *path, const unsigned char *rgb, int width, int height, int quality, char *message, size_t message_length);
#endif
