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

/* The same, a JPEG decoded at the smallest of libjpeg-turbo's DCT scalings (1/8, 1/4, 1/2, 1)
 * that keeps at least min_height x min_width (issue 25: a large photograph decoded straight to
 * near its target size, several times faster); PNG at its size. */
int simclr_image_decode_file_at_least(const char *path, int channels, int min_height, int min_width,
                                      uint8_t **pixels, int *height, int *width, simclr_error *err);

/* The size a PNG or JPEG file declares, from its headers only (no pixels decoded): what a folder
 * dataset's index reads. Errors as simclr_image_decode_file's. */
int simclr_image_read_size(const char *path, int *height, int *width, simclr_error *err);

/* Whether the file ends as a whole PNG (its IEND chunk) or JPEG (an end-of-image marker in its
 * last kilobyte) does: a truncated file fails (SIMCLR_ERROR_KIND_INPUT, naming it), from one read
 * of its tail, without decoding. */
int simclr_image_check_ending(const char *path, simclr_error *err);

/* Both, from one open of the file: its declared size (as simclr_image_read_size) and that it ends
 * as a whole image (as simclr_image_check_ending), failing with the same messages. info (when not
 * NULL) receives the open file's fstat, taken before anything is read: what a folder dataset's
 * index cache records of the file the size came from. */
struct stat;
int simclr_image_read_header(const char *path, int *height, int *width, struct stat *info, simclr_error *err);

/* Same, from memory (name is used in messages only). */
int simclr_image_decode_memory(const uint8_t *bytes, size_t size, const char *name, int channels,
                        uint8_t **pixels, int *height, int *width, simclr_error *err);

/* Bilinear resize of HWC uint8 (half-pixel centres, as tf.image.resize / PIL bilinear without
 * antialias), rounding to nearest. out has out_height x out_width x channels bytes. */
void simclr_image_resize_bilinear(const uint8_t *in, int in_height, int in_width, int channels,
                           uint8_t *out, int out_height, int out_width);

/* How an image of another shape is brought to a model's: squashed (the whole image resized to
 * height x width, its aspect ratio lost) or centre-cropped (the largest centred region of the
 * target's aspect ratio, then resized: torchvision's Resize + CenterCrop up to interpolation). */
typedef enum simclr_image_resize_mode {
    SIMCLR_IMAGE_RESIZE_SQUASH = 0,
    SIMCLR_IMAGE_RESIZE_CROP = 1,
} simclr_image_resize_mode;

const char *simclr_image_resize_mode_name(simclr_image_resize_mode mode); /* "squash", "crop" */
int simclr_image_resize_mode_parse(const char *name, simclr_image_resize_mode *mode);

/* Resizes HWC uint8 to out_height x out_width the given way (bilinear as above). Returns -1 only
 * when out of memory (a crop of a non-contiguous region is copied first). */
int simclr_image_resize_to(const uint8_t *in, int in_height, int in_width, int channels, uint8_t *out,
                           int out_height, int out_width, simclr_image_resize_mode mode);

/* Converts pixel_count HWC pixels from in_channels to out_channels (1 or 3 each) as the decoders
 * do: colour to grey by ITU-R 601 luma (PIL's convert("L")), grey to colour by replication. in
 * and out may be the same buffer when out_channels <= in_channels. */
void simclr_image_convert_channels(const uint8_t *in, size_t pixel_count, int in_channels,
                                   uint8_t *out, int out_channels);

/* Brings one HWC image of any size with 1 or 3 channels to height x width x channels the way a
 * model's images are prepared for training and inference: channel conversion as above, then
 * simclr_image_resize_to (`mode`) when the size differs. out has height x width x channels bytes.
 * Fails (SIMCLR_ERROR_KIND_INPUT, naming `name`) on a channel count other than 1 or 3, or an
 * empty or oversized image. */
int simclr_image_fit(const uint8_t *in, int in_height, int in_width, int in_channels,
                     const char *name, uint8_t *out, int height, int width, int channels,
                     simclr_image_resize_mode mode, simclr_error *err);

/* Decodes the PNG or JPEG file at path straight to `channels` (a large JPEG at the DCT scaling
 * that keeps at least height x width: simclr_image_decode_file_at_least) and fits it to height x
 * width (simclr_image_fit) into out, as folder datasets, `simclr predict` and the inference API
 * read image files. */
int simclr_image_load_fitted(const char *path, uint8_t *out, int height, int width, int channels,
                             simclr_image_resize_mode mode, simclr_error *err);

/* Writes HWC uint8 (channels 1, 3 or 4) as PNG, atomically: a temporary file in the same
 * directory, fsync'd, then renamed over path, so a failure leaves no partial file. */
int simclr_image_write_png(const char *path, const uint8_t *pixels, int height, int width, int channels,
                    simclr_error *err);

SIMCLR_END_DECLS
#endif
