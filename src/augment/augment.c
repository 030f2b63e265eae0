/*
 * The seed's augmentation pipeline, matching Keras 3 on the TensorFlow backend.
 *
 * RandomTranslation and RandomZoom are two separate layers in the seed, each of which resamples
 * the whole image with tf.raw_ops.ImageProjectiveTransformV3 (bilinear, fill_mode "REFLECT").
 * Composing them into one sampling would differ near the borders and in interpolation, so this
 * file resamples twice too, with the kernel's exact arithmetic
 * (tensorflow/core/kernels/image/image_ops.h, ProjectiveGenerator and MapCoordinate):
 *   - pixel centres sit on integer coordinates: output pixel (x, y) samples the input at
 *     (a0*x + a2, b1*y + b2), no half-pixel offset;
 *   - that coordinate is first folded into [0, n-1] by the reflect rule (x < 0 -> -x-1,
 *     x > n-1 -> 2n-x-1, repeated with period 2n, then clamped), and only then interpolated:
 *     so for x in (-1, 0) the edge pixel is repeated rather than blended;
 *   - bilinear: row values (x_ceil - x)*f(x_floor) + (x - x_floor)*f(x_ceil), then the same
 *     weights along y; a neighbour past the last pixel reads the fill value 0 with weight 0.
 * Both transforms are axis-aligned, so the input column depends on the output column alone and
 * the input row on the output row alone: each pass tabulates one tap per output column and per
 * output row, and the inner loop is two-by-two blending.
 */
#include "simclr/augment.h"

#include "simclr/rng.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const simclr_augment_strength SIMCLR_AUGMENT_CONTRASTIVE = {.min_area = 0.25f, .brightness = 0.6f,
                                              .jitter = 0.2f};
const simclr_augment_strength SIMCLR_AUGMENT_CLASSIFICATION = {.min_area = 0.75f, .brightness = 0.3f,
                                                 .jitter = 0.1f};

/* Keras's Rescaling multiplies by float32(1/255) rather than dividing by 255; the two differ in
 * the last bit for some values. */
static const float RESCALE = 1.0f / 255.0f;

/* Where one output row (or column) reads: two neighbouring input indices and their weights. */
typedef struct axis_tap {
    int low, high;       /* input indices; high == low when low is the last one (weight 0) */
    float w_low, w_high; /* x_ceil - x and x - x_floor, as TensorFlow computes them */
} axis_tap;

static float zoom_factor(const simclr_augment_strength *strength)
{
    /* The example computes z in Python doubles: 1 - sqrt(min_area). */
    return (float)(1.0 - sqrt((double)strength->min_area));
}

void simclr_augment_draw(const simclr_augment_strength *strength, int height, int width, int channels,
                  uint64_t seed, uint64_t epoch, uint64_t step, uint64_t image, uint64_t view,
                  simclr_augment_params *params)
{
    assert(channels >= 1 && channels <= SIMCLR_AUGMENT_MAX_CHANNELS);
    simclr_rng_stream stream = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_AUGMENT, epoch, step, image, view);
    float zoom = zoom_factor(strength);
    float shift = zoom / 2.0f;

    /* Draw order follows the layers: flip, translation (height then width), zoom (height then
     * width), colour (brightness, then the jitter matrix row by row). */
    params->flip = simclr_rng_uniform01(&stream) < 0.5f;
    params->translate_y = simclr_rng_uniform(&stream, -shift, shift) * (float)height;
    params->translate_x = simclr_rng_uniform(&stream, -shift, shift) * (float)width;
    params->zoom_y = simclr_rng_uniform(&stream, 1.0f - zoom, 1.0f);
    params->zoom_x = simclr_rng_uniform(&stream, 1.0f - zoom, 1.0f);

    float scale = 1.0f + simclr_rng_uniform(&stream, -strength->brightness, strength->brightness);
    for (int i = 0; i < SIMCLR_AUGMENT_MAX_CHANNELS * SIMCLR_AUGMENT_MAX_CHANNELS; i++) params->color[i] = 0.0f;
    for (int row = 0; row < channels; row++) {
        for (int col = 0; col < channels; col++) {
            float jitter = simclr_rng_uniform(&stream, -strength->jitter, strength->jitter);
            params->color[row * channels + col] = (row == col ? scale : 0.0f) + jitter;
        }
    }
}

/* TensorFlow's MapCoordinate<FILL_REFLECT>, operation for operation (float arithmetic with the
 * same integer truncations), so far-out coordinates fold exactly as Keras folds them. */
static float reflect_coordinate(float coord, int length)
{
    if (length <= 1) return 0.0f;
    int64_t period = 2 * (int64_t)length;
    if (coord < 0.0f) {
        coord = (float)(period * (int64_t)(-coord / (float)period)) + coord;
        coord = coord < (float)-length ? coord + (float)period : -coord - 1.0f;
    } else if (coord > (float)(length - 1)) {
        coord -= (float)(period * (int64_t)(coord / (float)period));
        if (coord >= (float)length) coord = (float)period - coord - 1.0f;
    }
    if (coord < 0.0f) coord = 0.0f;
    if (coord > (float)(length - 1)) coord = (float)(length - 1);
    return coord;
}

/* Taps for output indices 0..count-1 of the axis map input = scale * output + offset over an
 * input axis of `count` pixels (Keras keeps the size). */
static void axis_taps(float scale, float offset, int count, axis_tap *taps)
{
    for (int out = 0; out < count; out++) {
        float coord = reflect_coordinate(scale * (float)out + offset, count);
        float floor_coord = floorf(coord);
        float ceil_coord = floor_coord + 1.0f;
        int low = (int)floor_coord;
        taps[out].low = low;
        taps[out].high = low + 1 < count ? low + 1 : low;
        taps[out].w_low = ceil_coord - coord;
        taps[out].w_high = coord - floor_coord;
    }
}

/* One bilinear pass: dst (H,W,C) from src (H,W,C) through the row and column taps. */
static inline void resample(const float *src, int height, int width, int channels,
                            const axis_tap *rows, const axis_tap *cols, float *dst)
{
    size_t row_stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) {
        const axis_tap row = rows[y];
        const float *src_low = src + (size_t)row.low * row_stride;
        const float *src_high = src + (size_t)row.high * row_stride;
        float *dst_row = dst + (size_t)y * row_stride;
        for (int x = 0; x < width; x++) {
            const axis_tap col = cols[x];
            const float *low_left = src_low + (size_t)col.low * channels;
            const float *low_right = src_low + (size_t)col.high * channels;
            const float *high_left = src_high + (size_t)col.low * channels;
            const float *high_right = src_high + (size_t)col.high * channels;
            for (int c = 0; c < channels; c++) {
                float value_low = col.w_low * low_left[c] + col.w_high * low_right[c];
                float value_high = col.w_low * high_left[c] + col.w_high * high_right[c];
                dst_row[(size_t)x * channels + c] = row.w_low * value_low + row.w_high * value_high;
            }
        }
    }
}

/* Rescaling and RandomFlip in one read of the uint8 image. */
static inline void rescale_and_flip(const uint8_t *in, int height, int width, int channels,
                                    int flip, float *out)
{
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            int src_x = flip ? width - 1 - x : x;
            const uint8_t *src = in + ((size_t)y * width + src_x) * channels;
            float *dst = out + ((size_t)y * width + x) * channels;
            for (int c = 0; c < channels; c++) dst[c] = (float)src[c] * RESCALE;
        }
    }
}

/* RandomColorAffine: each pixel's row vector times M, clipped to [0, 1], in place. */
static inline void color_affine(float *pixels, size_t count, int channels,
                                const float *matrix)
{
    for (size_t p = 0; p < count; p++) {
        float *pixel = pixels + p * channels;
        float in[SIMCLR_AUGMENT_MAX_CHANNELS];
        for (int k = 0; k < channels; k++) in[k] = pixel[k];
        for (int j = 0; j < channels; j++) {
            float sum = 0.0f;
            for (int k = 0; k < channels; k++) sum += in[k] * matrix[k * channels + j];
            pixel[j] = sum < 0.0f ? 0.0f : sum > 1.0f ? 1.0f : sum;
        }
    }
}

size_t simclr_augment_workspace_size(int height, int width, int channels)
{
    /* The translated image between the two passes, then the taps of one pass. Floats first
     * keeps them at malloc's alignment; the taps' 4-byte alignment follows. */
    return (size_t)height * width * channels * sizeof(float) +
           ((size_t)height + width) * sizeof(axis_tap);
}

/* The whole pipeline for one image. `inline` so that each call below with a constant channel
 * count becomes its own copy with the per-channel loops unrolled (about 3x faster for RGB);
 * the arithmetic, and so the result, is the same in every copy. */
static inline void apply_pipeline(const uint8_t *in, int height, int width, const int channels,
                                  const simclr_augment_params *params, void *workspace, float *out)
{
    float *translated = workspace;
    axis_tap *rows = (axis_tap *)(translated + (size_t)height * width * channels);
    axis_tap *cols = rows + height;

    rescale_and_flip(in, height, width, channels, params->flip, out);

    /* RandomTranslation's matrix [[1, 0, -dx], [0, 1, -dy]]. */
    axis_taps(1.0f, -params->translate_y, height, rows);
    axis_taps(1.0f, -params->translate_x, width, cols);
    resample(out, height, width, channels, rows, cols, translated);

    /* RandomZoom's matrix [[zx, 0, (W-1)/2 (1-zx)], [0, zy, (H-1)/2 (1-zy)]], offsets computed in
     * float32 as Keras does. */
    float offset_y = ((float)height - 1.0f) / 2.0f * (1.0f - params->zoom_y);
    float offset_x = ((float)width - 1.0f) / 2.0f * (1.0f - params->zoom_x);
    axis_taps(params->zoom_y, offset_y, height, rows);
    axis_taps(params->zoom_x, offset_x, width, cols);
    resample(translated, height, width, channels, rows, cols, out);

    color_affine(out, (size_t)height * width, channels, params->color);
}

void simclr_augment_apply_workspace(const uint8_t *in, int height, int width, int channels,
                             const simclr_augment_params *params, void *workspace, float *out)
{
    assert(channels >= 1 && channels <= SIMCLR_AUGMENT_MAX_CHANNELS);
    if (channels == 3)
        apply_pipeline(in, height, width, 3, params, workspace, out);
    else if (channels == 1)
        apply_pipeline(in, height, width, 1, params, workspace, out);
    else
        apply_pipeline(in, height, width, channels, params, workspace, out);
}

static void *workspace_alloc(int height, int width, int channels)
{
    size_t size = simclr_augment_workspace_size(height, width, channels);
    void *workspace = malloc(size);
    if (!workspace) {
        /* The void API leaves no way to report this; a few hundred KB failing means the process
         * cannot go on anyway. */
        fprintf(stderr, "simclr: out of memory allocating %zu bytes for augmentation\n", size);
        abort();
    }
    return workspace;
}

void simclr_augment_apply(const uint8_t *in, int height, int width, int channels,
                   const simclr_augment_params *params, float *out)
{
    void *workspace = workspace_alloc(height, width, channels);
    simclr_augment_apply_workspace(in, height, width, channels, params, workspace, out);
    free(workspace);
}

void simclr_augment_rescale(const uint8_t *in, size_t count, float *out)
{
#pragma omp parallel for schedule(static) if (count > ((size_t)1 << 18))
    for (size_t i = 0; i < count; i++) out[i] = (float)in[i] * RESCALE;
}

void simclr_augment_batch(const uint8_t *images, size_t batch, int height, int width, int channels,
                   const simclr_augment_strength *strength, uint64_t seed, uint64_t epoch, uint64_t step,
                   uint64_t view, float *out)
{
    simclr_augment_batch_from(images, batch, height, width, channels, strength, seed, epoch, step, 0, view,
                              out);
}

void simclr_augment_batch_from(const uint8_t *images, size_t batch, int height, int width, int channels,
                               const simclr_augment_strength *strength, uint64_t seed, uint64_t epoch,
                               uint64_t step, size_t first_image, uint64_t view, float *out)
{
    size_t image_size = (size_t)height * width * channels;
    if (!strength) {
        simclr_augment_rescale(images, batch * image_size, out);
        return;
    }
#pragma omp parallel
    {
        /* One workspace per thread for the whole batch, not one per image. */
        void *workspace = workspace_alloc(height, width, channels);
#pragma omp for schedule(static)
        for (size_t i = 0; i < batch; i++) {
            simclr_augment_params params;
            simclr_augment_draw(strength, height, width, channels, seed, epoch, step, first_image + i, view,
                                &params);
            simclr_augment_apply_workspace(images + i * image_size, height, width, channels, &params,
                                    workspace, out + i * image_size);
        }
        free(workspace);
    }
}
