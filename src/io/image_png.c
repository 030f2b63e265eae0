/*
 * PNG through libpng 1.6: decoding with the classic API (so 16-bit samples keep their high byte
 * and alpha is dropped, as PIL does, rather than the simplified API's gamma-aware compositing),
 * writing with the simplified png_image API into an simclr_atomic_file.
 */
#include "io/image_codecs.h"
#include "simclr/atomic_file.h"
#include "simclr/image_io.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything the decoder changes lives here, in the caller's frame, so nothing local to the
 * function that calls setjmp is modified between setjmp and a longjmp back to it. */
typedef struct png_decode_state {
    const uint8_t *bytes;
    size_t size;
    size_t offset;
    png_structp png;
    png_infop info;
    uint8_t *pixels;
    png_bytep *rows;
    png_uint_32 height;
    png_uint_32 width;
    int channels;
    int size_rejected; /* the header declared a size we refuse: not a libpng error */
    int out_of_memory;
    char message[256];
} png_decode_state;

static void png_read_from_memory(png_structp png, png_bytep out, size_t length)
{
    png_decode_state *state = png_get_io_ptr(png);
    if (length > state->size - state->offset) png_error(png, "file is truncated");
    memcpy(out, state->bytes + state->offset, length);
    state->offset += length;
}

static void png_on_error(png_structp png, png_const_charp message)
{
    png_decode_state *state = png_get_error_ptr(png);
    snprintf(state->message, sizeof state->message, "%s", message);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message; /* ancillary-chunk trouble: the pixels are still good */
}

/* The only function that calls setjmp; returns 0, or -1 with state->message set. */
static int png_decode_into_state(png_decode_state *state)
{
    if (setjmp(png_jmpbuf(state->png))) return -1;

    png_set_read_fn(state->png, state, png_read_from_memory);
    png_set_user_limits(state->png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    png_read_info(state->png, state->info);
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(state->png, state->info, &state->width, &state->height, &bit_depth, &color_type,
                 NULL, NULL, NULL);
    if (state->width == 0 || state->height == 0 || state->width > IMAGE_MAX_SIDE ||
        state->height > IMAGE_MAX_SIDE) {
        state->size_rejected = 1;
        return -1;
    }

    /* deflate compresses at most 1032:1, so a file much smaller than its declared pixels is
     * truncated: say so before allocating up to 1 GB for it. */
    size_t file_row_bytes = png_get_rowbytes(state->png, state->info);
    if ((file_row_bytes + 1) * state->height / 1032 > state->size) {
        snprintf(state->message, sizeof state->message,
                 "%zu bytes cannot hold %u x %u pixels; file is truncated", state->size,
                 (unsigned)state->width, (unsigned)state->height);
        return -1;
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(state->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(state->png);
    if (bit_depth == 16) png_set_strip_16(state->png);
    /* Alpha is dropped, including the tRNS transparency of palette images, which libpng would
     * otherwise expand into a fourth channel. */
    if ((color_type & PNG_COLOR_MASK_ALPHA) ||
        png_get_valid(state->png, state->info, PNG_INFO_tRNS))
        png_set_strip_alpha(state->png);
    png_set_interlace_handling(state->png);
    png_read_update_info(state->png, state->info);

    state->channels = png_get_channels(state->png, state->info);
    size_t row_bytes = (size_t)state->width * (size_t)state->channels;
    if ((state->channels != 1 && state->channels != 3) ||
        png_get_rowbytes(state->png, state->info) != row_bytes) {
        snprintf(state->message, sizeof state->message, "unexpected layout after conversion");
        return -1;
    }
    state->pixels = malloc(row_bytes * state->height);
    state->rows = malloc(sizeof *state->rows * state->height);
    if (!state->pixels || !state->rows) {
        state->out_of_memory = 1;
        return -1;
    }
    for (png_uint_32 y = 0; y < state->height; y++) state->rows[y] = state->pixels + y * row_bytes;
    png_read_image(state->png, state->rows);
    png_read_end(state->png, NULL); /* a file cut before IEND is still truncated */
    return 0;
}

static uint32_t read_big_endian_u32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

int simclr_image_png_decode(const uint8_t *bytes, size_t size, const char *name, uint8_t **pixels,
                     int *height, int *width, int *channels, simclr_error *err)
{
    /* The IHDR chunk comes first (signature, length, "IHDR", width, height): check the declared
     * size there, so the message says why even when the rest of the file is missing. */
    if (size >= 24 && memcmp(bytes + 12, "IHDR", 4) == 0) {
        uint32_t declared_width = read_big_endian_u32(bytes + 16);
        uint32_t declared_height = read_big_endian_u32(bytes + 20);
        if (declared_width == 0 || declared_height == 0 || declared_width > IMAGE_MAX_SIDE ||
            declared_height > IMAGE_MAX_SIDE)
            return simclr_error_input(err, "%s: PNG declares %u x %u pixels; expected 1 to %d per side",
                               name, (unsigned)declared_width, (unsigned)declared_height,
                               IMAGE_MAX_SIDE);
    }
    png_decode_state state;
    memset(&state, 0, sizeof state);
    state.bytes = bytes;
    state.size = size;
    state.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_on_error, png_on_warning);
    if (!state.png) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: cannot initialise libpng", name);
    state.info = png_create_info_struct(state.png);
    if (!state.info) {
        png_destroy_read_struct(&state.png, NULL, NULL);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: cannot initialise libpng", name);
    }

    int status = png_decode_into_state(&state);
    png_destroy_read_struct(&state.png, &state.info, NULL);
    free(state.rows);
    if (status != 0) {
        free(state.pixels);
        if (state.size_rejected)
            return simclr_error_input(err, "%s: PNG declares %u x %u pixels; expected 1 to %d per side",
                               name, (unsigned)state.width, (unsigned)state.height,
                               IMAGE_MAX_SIDE);
        if (state.out_of_memory)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory decoding %u x %u PNG",
                             name, (unsigned)state.width, (unsigned)state.height);
        return simclr_error_input(err, "%s: not a valid PNG image (%s)", name, state.message);
    }
    *pixels = state.pixels;
    *height = (int)state.height;
    *width = (int)state.width;
    *channels = state.channels;
    return 0;
}

int simclr_image_write_png(const char *path, const uint8_t *pixels, int height, int width, int channels,
                    simclr_error *err)
{
    if (channels != 1 && channels != 3 && channels != 4)
        return simclr_error_input(err, "%s: cannot write a PNG with %d channels (expected 1, 3 or 4)",
                           path, channels);
    if (height < 1 || width < 1 || height > IMAGE_MAX_SIDE || width > IMAGE_MAX_SIDE)
        return simclr_error_input(err, "%s: cannot write a %d x %d PNG (1 to %d pixels per side)", path,
                           width, height, IMAGE_MAX_SIDE);

    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY
                   : channels == 3 ? PNG_FORMAT_RGB
                                   : PNG_FORMAT_RGBA;

    simclr_atomic_file file;
    if (simclr_atomic_file_open(&file, path, err) != 0) return -1;
    if (!png_image_write_to_stdio(&image, file.stream, 0, pixels, (png_int_32)(width * channels),
                                  NULL)) {
        char message[sizeof image.message];
        snprintf(message, sizeof message, "%s", image.message);
        png_image_free(&image);
        simclr_atomic_file_abort(&file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot write PNG %s: %s", path, message);
    }
    return simclr_atomic_file_commit(&file, err);
}
