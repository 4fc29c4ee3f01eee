// JPEG reading and writing for Swift through libjpeg(-turbo). libjpeg reports fatal errors with longjmp, which
// Swift cannot catch; these functions catch them in C and return a status and a message instead.
#ifndef DYNAMICS_CJPEG_H
#define DYNAMICS_CJPEG_H
#include <stddef.h>

/// Decodes the JPEG file at `path` to 8-bit RGB, row-major, 3 bytes per pixel (greyscale and YCbCr converted;
/// CMYK is an error). On success returns 0 and sets *pixels (malloc'd, width·height·3 bytes; free with
/// dynamics_jpeg_free), *width and *height. On failure returns non-zero, leaves *pixels NULL and writes a
/// readable reason into `message` (NUL-terminated, at most message_length bytes). A file whose image data is cut
/// short (truncated, or a marker in the middle of the data) is a failure; one missing only its end marker is not.
/// The size is read from the header first: wider or taller than 16384, or more than `max_pixels` pixels (when
/// max_pixels > 0), is a failure before any pixel is decoded or allocated.
/// Never exits the process; the file and the decompressor are released on every path.
int dynamics_jpeg_read(const char *path, long max_pixels, unsigned char **pixels, int *width, int *height, char *message,
                       size_t message_length);

/// The same for a JPEG held in memory (`size` bytes at `bytes`).
int dynamics_jpeg_decode(const unsigned char *bytes, size_t size, long max_pixels, unsigned char **pixels, int *width,
                         int *height, char *message, size_t message_length);

/// Frees pixels returned by dynamics_jpeg_read (NULL is allowed).
void dynamics_jpeg_free(unsigned char *pixels);

/// Encodes width·height 8-bit RGB pixels (row-major, 3 bytes per pixel) as a baseline JPEG at `path` with `quality`
/// 1…100 (clamped; chroma at full resolution from 90 up, 4:2:0 below), flushed and fsynced. Returns 0 on success,
/// non-zero with a reason in `message` on failure (the partial file is left for the caller to remove).
int dynamics_jpeg_write(const char *path, const unsigned char *rgb, int width, int height, int quality, char *message,
                        size_t message_length);
#endif
