#ifndef SIMCLR_IMAGE_IO_H
#define SIMCLR_IMAGE_IO_H
/*
 * Image files: decode PNG and JPEG (libpng, libjpeg-turbo) to HWC uint8, resize, and write PNG.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Decodes the PNG or JPEG file at path (format sniffed from its first bytes, not its name) into a
 * freshly allocated HWC uint8 buffer with `channels` channels (1: grey, converting colour by
 * luma; 3: RGB, replicating grey; alpha dropped, 16-bit reduced to 8). On success *pixels is
 * owned by the caller (free) and *height, *width are set. A file that is missing, truncated, not
 * an image or larger than 16384 x 16384 gives SIMCLR_ERROR_KIND_INPUT naming the file. */
int simclr_image_decode_file(const char *path, int channels, uint8_t **pixels, int *height, int *width,
                      simclr_error *err);

/* Same, from memory (name is used in messages only). */
int simclr_image_decode_memory(const uint8_t *bytes, size_t size, const char *name, int channels,
                        uint8_t **pixels, int *height, int *width, simclr_error *err);

/* Bilinear resize of HWC uint8 (half-pixel centres, as tf.image.resize / PIL bilinear without
 * antialias), rounding to nearest. out has out_height x out_width x channels bytes. */
void simclr_image_resize_bilinear(const uint8_t *in, int in_height, int in_width, int channels,
                           uint8_t *out, int out_height, int out_width);

/* Converts pixel_count HWC pixels from in_channels to out_channels (1 or 3 each) as the decoders
 * do: colour to grey by ITU-R 601 luma (PIL's convert("L")), grey to colour by replication. in
 * and out may be the same buffer when out_channels <= in_channels. */
void simclr_image_convert_channels(const uint8_t *in, size_t pixel_count, int in_channels,
                                   uint8_t *out, int out_channels);

/* Brings one HWC image of any size with 1 or 3 channels to height x width x channels the way a
 * model's images are prepared for training and inference: channel conversion as above, then
 * simclr_image_resize_bilinear when the size differs. out has height x width x channels bytes.
 * Fails (SIMCLR_ERROR_KIND_INPUT, naming `name`) on a channel count other than 1 or 3, or an
 * empty or oversized image. */
int simclr_image_fit(const uint8_t *in, int in_height, int in_width, int in_channels,
                     const char *name, uint8_t *out, int height, int width, int channels,
                     simclr_error *err);

/* Decodes the PNG or JPEG file at path straight to `channels` and fits it to height x width
 * (simclr_image_fit) into out, as `simclr predict` and the inference API read image files. */
int simclr_image_load_fitted(const char *path, uint8_t *out, int height, int width, int channels,
                             simclr_error *err);

/* Writes HWC uint8 (channels 1, 3 or 4) as PNG, atomically: a temporary file in the same
 * directory, fsync'd, then renamed over path, so a failure leaves no partial file. */
int simclr_image_write_png(const char *path, const uint8_t *pixels, int height, int width, int channels,
                    simclr_error *err);

SIMCLR_END_DECLS
#endif
