// libjpeg reports errors through error_exit, which by default calls exit(). Swift cannot catch a longjmp, so the
// decoder and encoder live here: error_exit longjmps back to a setjmp in this file, which cleans up and returns.
#include "cjpeg.h"
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct guarded_error {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char *message;
    size_t message_length;
};

static void guarded_exit(j_common_ptr cinfo) {
    struct guarded_error *err = (struct guarded_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    if (err->message && err->message_length > 0) snprintf(err->message, err->message_length, "%s", text);
    longjmp(err->escape, 1);
}

static void quiet(j_common_ptr cinfo) { (void)cinfo; }

/// Sets up `err` so that libjpeg's errors longjmp to err->escape with their text in `message`.
static struct jpeg_error_mgr *guarded(struct guarded_error *err, char *message, size_t message_length) {
    jpeg_std_error(&err->base);
    err->base.error_exit = guarded_exit;
    err->base.output_message = quiet;
    err->message = message;
    err->message_length = message_length;
    return &err->base;
}

int dynamics_jpeg_read(const char *path, unsigned char **pixels, int *width, int *height, char *message, size_t message_length) {
    *pixels = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(message, message_length, "cannot open the file");
        return 1;
    }
    struct jpeg_decompress_struct cinfo;
    struct guarded_error err;
    unsigned char *volatile buffer = NULL;
    cinfo.err = guarded(&err, message, message_length);
    if (setjmp(err.escape)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(file);
        free(buffer);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, file);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3 || cinfo.output_width == 0 || cinfo.output_height == 0 ||
        cinfo.output_width > 16384 || cinfo.output_height > 16384) {
        snprintf(message, message_length, "unsupported JPEG (%u×%u, %d components)", cinfo.output_width, cinfo.output_height,
                 cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        fclose(file);
        return 1;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    buffer = malloc(stride * cinfo.output_height);
    if (!buffer) {
        snprintf(message, message_length, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        fclose(file);
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
    fclose(file);
    *pixels = buffer;
    return 0;
}

void dynamics_jpeg_free(unsigned char *pixels) { free(pixels); }

int dynamics_jpeg_write(const char *path, const unsigned char *rgb, int width, int height, int quality, char *message, size_t message_length) {
    FILE *file = fopen(path, "wb");
    if (!file) {
        snprintf(message, message_length, "cannot create the file");
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    struct guarded_error err;
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
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    int closed = fclose(file);
    if (closed != 0) {
        snprintf(message, message_length, "cannot finish writing the file");
        return 1;
    }
    return 0;
}
