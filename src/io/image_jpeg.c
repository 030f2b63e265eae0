/*
 * JPEG decoding through libjpeg-turbo, from memory. libjpeg's default error handler calls exit();
 * ours formats the message and longjmps back, so a bad file is an error, never a dead process.
 */
#include "io/image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* Progressive files may hold any number of scans, each a full pass over the coefficients; a
 * hostile file with thousands of tiny scans would take minutes. Real encoders write about 10. */
#define JPEG_MAX_SCANS 500
/* libjpeg's working memory (coefficient buffers of progressive files): enough for the largest
 * image we accept, refused beyond that rather than swapping. */
#define JPEG_MAX_WORKING_MEMORY (1536L * 1024 * 1024)

typedef struct jpeg_error_handler {
    struct jpeg_error_mgr base; /* first, so libjpeg's pointer to it is a pointer to us */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 32];
} jpeg_error_handler;

/* Everything the decoder changes, in the caller's frame (see png_decode_state). */
typedef struct jpeg_decode_state {
    struct jpeg_decompress_struct info;
    jpeg_error_handler errors;
    struct jpeg_progress_mgr progress;
    uint8_t *pixels;
    int size_rejected;
    int out_of_memory;
    int min_height, min_width; /* the DCT scaling keeps at least this size (0: full size) */
} jpeg_decode_state;

static void jpeg_on_error(j_common_ptr info)
{
    jpeg_error_handler *handler = (jpeg_error_handler *)info->err;
    info->err->format_message(info, handler->message);
    longjmp(handler->jump, 1);
}

/* Warnings (level -1) are tolerated like PIL does (stray bytes before a marker, say), except a
 * premature end of data: libjpeg would fill the rest of a truncated file (JWRN_JPEG_EOF), or of a
 * scan that ends at the next marker before its blocks do (JWRN_HIT_MARKER), with grey. Without the
 * latter a few hundred bytes declaring 16384 x 16384 pixels decode "successfully" (1.5 GB). */
static void jpeg_on_message(j_common_ptr info, int level)
{
    if (level < 0 &&
        (info->err->msg_code == JWRN_JPEG_EOF || info->err->msg_code == JWRN_HIT_MARKER))
        jpeg_on_error(info);
}

static void jpeg_on_progress(j_common_ptr info)
{
    if (!info->is_decompressor) return;
    j_decompress_ptr decompress = (j_decompress_ptr)info;
    if (decompress->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_error_handler *handler = (jpeg_error_handler *)info->err;
        snprintf(handler->message, sizeof handler->message, "more than %d progressive scans",
                 JPEG_MAX_SCANS);
        longjmp(handler->jump, 1);
    }
}

/* The only function that calls setjmp; returns 0 or -1 (state->errors.message says why). */
static int jpeg_decode_into_state(jpeg_decode_state *state, const uint8_t *bytes, size_t size)
{
    if (setjmp(state->errors.jump)) return -1;

    jpeg_create_decompress(&state->info);
    state->info.mem->max_memory_to_use = JPEG_MAX_WORKING_MEMORY;
    state->progress.progress_monitor = jpeg_on_progress;
    state->info.progress = &state->progress;
    jpeg_mem_src(&state->info, bytes, (unsigned long)size);
    jpeg_read_header(&state->info, TRUE);
    if (state->info.image_width == 0 || state->info.image_height == 0 ||
        state->info.image_width > IMAGE_MAX_SIDE || state->info.image_height > IMAGE_MAX_SIDE) {
        state->size_rejected = 1;
        return -1;
    }
    state->info.out_color_space =
        state->info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    if (state->min_height > 0 && state->min_width > 0) {
        unsigned denominator = 8;
        while (denominator > 1 &&
               ((state->info.image_height + denominator - 1) / denominator < (unsigned)state->min_height ||
                (state->info.image_width + denominator - 1) / denominator < (unsigned)state->min_width))
            denominator /= 2;
        state->info.scale_num = 1;
        state->info.scale_denom = denominator;
    }
    jpeg_start_decompress(&state->info);

    size_t row_bytes = (size_t)state->info.output_width * (size_t)state->info.output_components;
    state->pixels = malloc(row_bytes * state->info.output_height);
    if (!state->pixels) {
        state->out_of_memory = 1;
        return -1;
    }
    while (state->info.output_scanline < state->info.output_height) {
        JSAMPROW row = state->pixels + (size_t)state->info.output_scanline * row_bytes;
        jpeg_read_scanlines(&state->info, &row, 1);
    }
    jpeg_finish_decompress(&state->info);
    return 0;
}

/* The header only, read from an open file as far as the frame header (libjpeg reads on demand). */
static int jpeg_read_size_into_state(jpeg_decode_state *state, FILE *file)
{
    if (setjmp(state->errors.jump)) return -1;
    jpeg_create_decompress(&state->info);
    jpeg_stdio_src(&state->info, file);
    jpeg_read_header(&state->info, TRUE);
    return 0;
}

int simclr_image_jpeg_read_size(FILE *file, const char *name, int *height, int *width, simclr_error *err)
{
    jpeg_decode_state *state = calloc(1, sizeof *state);
    if (!state) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory", name);
    state->info.err = jpeg_std_error(&state->errors.base);
    state->errors.base.error_exit = jpeg_on_error;
    state->errors.base.emit_message = jpeg_on_message;
    int result = 0;
    if (jpeg_read_size_into_state(state, file) != 0)
        result = simclr_error_input(err, "%s: not a valid JPEG image (%s)", name, state->errors.message);
    else if (state->info.image_width == 0 || state->info.image_height == 0 ||
             state->info.image_width > IMAGE_MAX_SIDE || state->info.image_height > IMAGE_MAX_SIDE)
        result = simclr_error_input(err, "%s: JPEG declares %u x %u pixels; expected 1 to %d per side", name,
                                    (unsigned)state->info.image_width, (unsigned)state->info.image_height,
                                    IMAGE_MAX_SIDE);
    else {
        *height = (int)state->info.image_height;
        *width = (int)state->info.image_width;
    }
    jpeg_destroy_decompress(&state->info);
    free(state);
    return result;
}

int simclr_image_jpeg_decode(const uint8_t *bytes, size_t size, const char *name, int min_height, int min_width,
                             uint8_t **pixels, int *height, int *width, int *channels, simclr_error *err)
{
    jpeg_decode_state *state = calloc(1, sizeof *state); /* ~1 KB of libjpeg structs */
    if (!state) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory", name);
    state->info.err = jpeg_std_error(&state->errors.base);
    state->errors.base.error_exit = jpeg_on_error;
    state->errors.base.emit_message = jpeg_on_message;
    state->min_height = min_height;
    state->min_width = min_width;

    int status = jpeg_decode_into_state(state, bytes, size);
    int result = 0;
    if (status != 0) {
        free(state->pixels);
        if (state->size_rejected)
            result = simclr_error_input(err, "%s: JPEG declares %u x %u pixels; expected 1 to %d per side",
                                 name, (unsigned)state->info.image_width,
                                 (unsigned)state->info.image_height, IMAGE_MAX_SIDE);
        else if (state->out_of_memory)
            result = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory decoding JPEG", name);
        else
            result = simclr_error_input(err, "%s: not a valid JPEG image (%s)", name,
                                 state->errors.message);
    } else {
        *pixels = state->pixels;
        *height = (int)state->info.output_height;
        *width = (int)state->info.output_width;
        *channels = state->info.output_components;
    }
    jpeg_destroy_decompress(&state->info);
    free(state);
    return result;
}
