#ifndef SIMCLR_IO_IMAGE_CODECS_H
#define SIMCLR_IO_IMAGE_CODECS_H
/*
 * Private to src/io: the PNG and JPEG decoders behind image_io.h. Each decodes to the file's own
 * channel count (1 for grey files, 3 for colour ones); image_decode.c converts to what the caller
 * asked for. Both check the declared size against IMAGE_MAX_SIDE before allocating anything.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "simclr/error.h"

#define IMAGE_MAX_SIDE 16384

/* On success *pixels (height x width x *channels bytes, HWC) is owned by the caller. */
int simclr_image_png_decode(const uint8_t *bytes, size_t size, const char *name, uint8_t **pixels,
                     int *height, int *width, int *channels, simclr_error *err);
/* min_height, min_width > 0: decode at the smallest of libjpeg-turbo's DCT scalings (1/8, 1/4,
 * 1/2, 1) that keeps at least that size (issue 25: a large photograph straight to near its
 * target); 0: full size. */
int simclr_image_jpeg_decode(const uint8_t *bytes, size_t size, const char *name, int min_height, int min_width,
                             uint8_t **pixels, int *height, int *width, int *channels, simclr_error *err);

/* A JPEG's declared size from its headers only (file positioned at its start). */
int simclr_image_jpeg_read_size(FILE *file, const char *name, int *height, int *width, simclr_error *err);

#endif
