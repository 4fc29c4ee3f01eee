// libjpeg reports errors through error_exit, which by default calls exit(). Swift cannot catch a longjmp, so the
// decoder and encoder live here: error_exit longjmps back to a setjmp in this file, which cleans up and returns.
#include "cjpeg.h"
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <jerror.h>

/// Largest accepted width or height, in pixels (the PNG reader's limit too).
#define DYNAMICS_JPEG_MAX_SIDE 16384

struct guarded_error {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char *message;
    size_t message_length;
    int saw_eof;  // the file ended before its end marker (libjpeg then feeds the decoder a fake one)
};

/// error_exit: formats libjpeg's message into the caller's buffer and jumps back to the setjmp.
static void guarded_exit(j_common_ptr cinfo) {
    struct guarded_error *err = (struct guarded_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    if (err->message && err->message_length > 0) snprintf(err->message, err->message_length, "%s", text);
    longjmp(err->escape, 1);
}

/// emit_message: warnings are silent, except JWRN_HIT_MARKER — the entropy decoder needed image data that is not
/// there, and libjpeg would pad the rest of the image with grey and report success. That is fatal, reported as a
/// premature end of file when the file ran out (a truncated file). A premature end of file alone is not fatal:
/// libjpeg warns of it even when only the end marker is missing (its decoder reads ahead), and that image is whole.
/// Other warnings (e.g. stray bytes before a marker) are common in real cameras' files and the image is whole too.
static void guarded_emit(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) return;
    struct guarded_error *err = (struct guarded_error *)cinfo->err;
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) err->saw_eof = 1;
    if (cinfo->err->msg_code == JWRN_HIT_MARKER) {
        if (err->saw_eof) cinfo->err->msg_code = JWRN_JPEG_EOF;
        (*cinfo->err->error_exit)(cinfo);
    }
}

static void quiet(j_common_ptr cinfo) { (void)cinfo; }

/// Sets up `err` so that libjpeg's errors longjmp to err->escape with their text in `message`.
static struct jpeg_error_mgr *guarded(struct guarded_error *err, char *message, size_t message_length) {
    jpeg_std_error(&err->base);
    err->base.error_exit = guarded_exit;
    err->base.emit_message = guarded_emit;
    err->base.output_message = quiet;
    err->message = message;
    err->message_length = message_length;
    err->saw_eof = 0;
    return &err->base;
}

static void say(char *message, size_t message_length, const char *text) {
    if (message && message_length > 0) snprintf(message, message_length, "%s", text);
}

/// Decodes from `file` when non-NULL, else from the `size` bytes at `bytes`; see dynamics_jpeg_read.
static int decode(FILE *file, const unsigned char *bytes, size_t size, long max_pixels, unsigned char **pixels, int *width,
                  int *height, char *message, size_t message_length) {
    *pixels = NULL;
    *width = 0;
    *height = 0;
    struct jpeg_decompress_struct cinfo;
    struct guarded_error err;
    unsigned char *volatile buffer = NULL;
    // Zeroed first: if jpeg_create_decompress itself fails, cinfo.mem stays NULL and jpeg_destroy is a no-op.
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = guarded(&err, message, message_length);
    if (setjmp(err.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(buffer);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    if (file) {
        jpeg_stdio_src(&cinfo, file);
    } else {
        if (size == 0) {
            say(message, message_length, "empty JPEG data");
            jpeg_destroy_decompress(&cinfo);
            return 1;
        }
        jpeg_mem_src(&cinfo, bytes, (unsigned long)size);
    }
    jpeg_read_header(&cinfo, TRUE);
    // The size comes from the header: refuse before any pixel is decoded or allocated.
    if (cinfo.image_width == 0 || cinfo.image_height == 0 || cinfo.image_width > DYNAMICS_JPEG_MAX_SIDE ||
        cinfo.image_height > DYNAMICS_JPEG_MAX_SIDE ||
        (max_pixels > 0 && (long)cinfo.image_width * (long)cinfo.image_height > max_pixels)) {
        if (message && message_length > 0)
            snprintf(message, message_length, "unsupported size %u×%u (at most %d per side and %ld pixels)", cinfo.image_width,
                     cinfo.image_height, DYNAMICS_JPEG_MAX_SIDE, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    // Greyscale and YCbCr convert to RGB; CMYK/YCCK cannot and fail in jpeg_start_decompress with libjpeg's message.
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        if (message && message_length > 0)
            snprintf(message, message_length, "unsupported JPEG (%d output components)", cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    buffer = malloc(stride * cinfo.output_height);
    if (!buffer) {
        say(message, message_length, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buffer + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *width = (int)cinfo.output_width;
    *height = (int)cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    *pixels = buffer;
    return 0;
}

int dynamics_jpeg_read(const char *path, long max_pixels, unsigned char **pixels, int *width, int *height, char *message,
                       size_t message_length) {
    *pixels = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) {
        say(message, message_length, strerror(errno));
        return 1;
    }
    int status = decode(file, NULL, 0, max_pixels, pixels, width, height, message, message_length);
    fclose(file);
    return status;
}

int dynamics_jpeg_decode(const unsigned char *bytes, size_t size, long max_pixels, unsigned char **pixels, int *width,
                         int *height, char *message, size_t message_length) {
    return decode(NULL, bytes, size, max_pixels, pixels, width, height, message, message_length);
}

void dynamics_jpeg_free(unsigned char *pixels) { free(pixels); }

int dynamics_jpeg_write(const char *path, const unsigned char *rgb, int width, int height, int quality, char *message,
                        size_t message_length) {
    if (width <= 0 || height <= 0 || width > 65500 || height > 65500) {
        if (message && message_length > 0) snprintf(message, message_length, "unsupported size %d×%d", width, height);
        return 1;
    }
    FILE *file = fopen(path, "wb");
    if (!file) {
        say(message, message_length, strerror(errno));
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    struct guarded_error err;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = guarded(&err, message, message_length);
    if (setjmp(err.escape)) {
        jpeg_destroy_compress(&cinfo);
        fclose(file);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    int q = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    jpeg_set_quality(&cinfo, q, TRUE);
    if (q >= 90) {
        // Full-resolution chroma (4:4:4) at high quality: small images with sharp coloured edges keep their colours.
        cinfo.comp_info[0].h_samp_factor = 1;
        cinfo.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    // Flushed and synced before the caller renames the file into place.
    int failed = fflush(file) != 0 || fsync(fileno(file)) != 0;
    int saved = errno;
    if (fclose(file) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        say(message, message_length, strerror(saved));
        return 1;
    }
    return 0;
}
