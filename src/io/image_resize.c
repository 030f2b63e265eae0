/*
 * Bilinear resize with half-pixel centres, the arithmetic of tf.image.resize(method="bilinear",
 * antialias=False): output pixel i samples input position (i + 0.5) * in/out - 0.5, reading the
 * two neighbours clamped to the image and mixing them by the fractional part.
 */
#include "simclr/image_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bilinear_tap {
    int lower;      /* index of the left/top neighbour */
    int upper;      /* index of the right/bottom neighbour */
    float fraction; /* weight of `upper` */
} bilinear_tap;

static bilinear_tap bilinear_tap_for(int out_index, int in_size, int out_size)
{
    float scale = (float)in_size / (float)out_size;
    float position = ((float)out_index + 0.5f) * scale - 0.5f;
    float below = floorf(position);
    bilinear_tap tap;
    tap.lower = below < 0.0f ? 0 : (int)below;
    int above = (int)ceilf(position);
    tap.upper = above > in_size - 1 ? in_size - 1 : above;
    if (tap.lower > in_size - 1) tap.lower = in_size - 1;
    if (tap.upper < 0) tap.upper = 0;
    tap.fraction = position - below;
    return tap;
}

static uint8_t round_to_byte(float value)
{
    if (value <= 0.0f) return 0;
    if (value >= 255.0f) return 255;
    return (uint8_t)(value + 0.5f);
}

void simclr_image_resize_bilinear(const uint8_t *in, int in_height, int in_width, int channels,
                           uint8_t *out, int out_height, int out_width)
{
    if (in_height < 1 || in_width < 1 || out_height < 1 || out_width < 1 || channels < 1) return;
    size_t in_row = (size_t)in_width * (size_t)channels;
    size_t out_row = (size_t)out_width * (size_t)channels;
    for (int y = 0; y < out_height; y++) {
        bilinear_tap row_tap = bilinear_tap_for(y, in_height, out_height);
        const uint8_t *top_row = in + (size_t)row_tap.lower * in_row;
        const uint8_t *bottom_row = in + (size_t)row_tap.upper * in_row;
        uint8_t *out_pixels = out + (size_t)y * out_row;
        for (int x = 0; x < out_width; x++) {
            bilinear_tap column_tap = bilinear_tap_for(x, in_width, out_width);
            size_t left = (size_t)column_tap.lower * (size_t)channels;
            size_t right = (size_t)column_tap.upper * (size_t)channels;
            for (int c = 0; c < channels; c++) {
                float top_left = top_row[left + c], top_right = top_row[right + c];
                float bottom_left = bottom_row[left + c], bottom_right = bottom_row[right + c];
                float top = top_left + (top_right - top_left) * column_tap.fraction;
                float bottom = bottom_left + (bottom_right - bottom_left) * column_tap.fraction;
                float value = top + (bottom - top) * row_tap.fraction;
                out_pixels[(size_t)x * (size_t)channels + c] = round_to_byte(value);
            }
        }
    }
}

const char *simclr_image_resize_mode_name(simclr_image_resize_mode mode)
{
    return mode == SIMCLR_IMAGE_RESIZE_CROP ? "crop" : "squash";
}

int simclr_image_resize_mode_parse(const char *name, simclr_image_resize_mode *mode)
{
    if (strcmp(name, "crop") == 0) *mode = SIMCLR_IMAGE_RESIZE_CROP;
    else if (strcmp(name, "squash") == 0) *mode = SIMCLR_IMAGE_RESIZE_SQUASH;
    else return -1;
    return 0;
}

int simclr_image_resize_to(const uint8_t *in, int in_height, int in_width, int channels, uint8_t *out,
                           int out_height, int out_width, simclr_image_resize_mode mode)
{
    if (mode != SIMCLR_IMAGE_RESIZE_CROP) {
        simclr_image_resize_bilinear(in, in_height, in_width, channels, out, out_height, out_width);
        return 0;
    }
    /* The largest centred region with the output's aspect ratio (rounded to whole pixels). */
    int crop_height = in_height, crop_width = in_width;
    if ((long long)in_width * out_height > (long long)in_height * out_width) {
        crop_width = (int)(((long long)in_height * out_width * 2 + out_height) / (2LL * out_height));
        if (crop_width < 1) crop_width = 1;
    } else {
        crop_height = (int)(((long long)in_width * out_height * 2 + out_width) / (2LL * out_width));
        if (crop_height < 1) crop_height = 1;
    }
    int top = (in_height - crop_height) / 2, left = (in_width - crop_width) / 2;
    size_t in_row = (size_t)in_width * (size_t)channels, crop_row = (size_t)crop_width * (size_t)channels;
    if (crop_width == in_width) { /* rows are contiguous: resize in place of the region */
        simclr_image_resize_bilinear(in + (size_t)top * in_row, crop_height, crop_width, channels, out, out_height,
                                     out_width);
        return 0;
    }
    uint8_t *region = malloc(crop_row * (size_t)crop_height);
    if (!region) return -1;
    for (int y = 0; y < crop_height; y++)
        memcpy(region + (size_t)y * crop_row, in + (size_t)(top + y) * in_row + (size_t)left * (size_t)channels,
               crop_row);
    simclr_image_resize_bilinear(region, crop_height, crop_width, channels, out, out_height, out_width);
    free(region);
    return 0;
}
