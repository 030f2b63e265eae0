/*
 * RandomResizedCrop as torchvision does it on a float tensor: get_params' 10 tries, then the
 * centre-crop fallback (transforms.py), and resized_crop = crop + resize(bilinear,
 * align_corners=False) (functional_tensor.resize -> torch.nn.functional.interpolate), with
 * PyTorch's CPU kernel arithmetic (aten/src/ATen/native/UpSample.h): for output index d,
 * source s = (in / out) * (d + 0.5) - 0.5, clamped at 0; i0 = floor(s) (at most in - 1),
 * i1 = i0 + 1 unless i0 is the last index; weights 1 - (s - i0) and s - i0; rows blend the two
 * column blends. The output keeps the image's size, so the crop is only ever enlarged: the
 * antialiased kernel (antialias=True) has the same weights there, and both match.
 * The horizontal flip is folded in by reversing the column taps; the two axes are resampled one
 * after the other (the crop's rows blended along the width, then those rows along the height).
 */
#include "simclr/augment_policy.h"

#include <math.h>
#include <stdlib.h>

#include "policy_internal.h"
#include "simclr/rng.h"

static const float RESCALE = 1.0f / 255.0f;

void simclr_augment_crop_draw(simclr_rng_stream *rng, int height, int width, float scale_min,
                              float scale_max, float ratio_min, float ratio_max, int *top, int *left,
                              int *crop_height, int *crop_width)
{
    double area = (double)height * (double)width;
    float log_ratio_min = logf(ratio_min), log_ratio_max = logf(ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target_area = area * (double)simclr_rng_uniform(rng, scale_min, scale_max);
        double aspect = exp((double)simclr_rng_uniform(rng, log_ratio_min, log_ratio_max));
        /* Python's round(): halves to even, as nearbyint in the default rounding mode. */
        int w = (int)nearbyint(sqrt(target_area * aspect));
        int h = (int)nearbyint(sqrt(target_area / aspect));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            *top = (int)simclr_rng_below(rng, (uint64_t)(height - h + 1));
            *left = (int)simclr_rng_below(rng, (uint64_t)(width - w + 1));
            *crop_height = h;
            *crop_width = w;
            return;
        }
    }
    double in_ratio = (double)width / (double)height;
    int w = width, h = height;
    if (in_ratio < (double)ratio_min) {
        h = (int)nearbyint((double)w / (double)ratio_min);
    } else if (in_ratio > (double)ratio_max) {
        w = (int)nearbyint((double)h * (double)ratio_max);
    }
    *top = (height - h) / 2;
    *left = (width - w) / 2;
    *crop_height = h;
    *crop_width = w;
}

/* Taps of the output indices 0..out_count-1 reading input indices offset..offset+in_count-1. */
static void linear_taps(int in_count, int out_count, int offset, simclr_augment_linear_tap *taps)
{
    float scale = (float)in_count / (float)out_count;
    for (int d = 0; d < out_count; d++) {
        float source = scale * ((float)d + 0.5f) - 0.5f;
        if (source < 0.0f) source = 0.0f;
        int low = (int)floorf(source);
        if (low > in_count - 1) low = in_count - 1;
        float lambda = source - (float)low;
        if (lambda < 0.0f) lambda = 0.0f;
        if (lambda > 1.0f) lambda = 1.0f;
        taps[d].low = offset + low;
        taps[d].high = offset + low + (low < in_count - 1 ? 1 : 0);
        taps[d].w_low = 1.0f - lambda;
        taps[d].w_high = lambda;
    }
}

void simclr_augment_resized_crop_taps(const uint8_t *in, int height, int width, int channels, int top,
                                      int left, int crop_height, int crop_width, int flip,
                                      simclr_augment_linear_tap *taps, float *rows_buffer, float *out)
{
    simclr_augment_linear_tap *rows = taps, *cols = taps + height;
    linear_taps(crop_height, height, top, rows);
    linear_taps(crop_width, width, left, cols);
    if (flip) {
        for (int x = 0; x < width / 2; x++) {
            simclr_augment_linear_tap swap = cols[x];
            cols[x] = cols[width - 1 - x];
            cols[width - 1 - x] = swap;
        }
    }
    /* Along the width first, for each input row of the crop, then along the height: PyTorch's
     * w_y0 (w_x0 a + w_x1 b) + w_y1 (w_x0 c + w_x1 d), the same operations in the same order. */
    size_t in_stride = (size_t)width * (size_t)channels, out_stride = in_stride;
    for (int r = 0; r < crop_height; r++) {
        const uint8_t *src = in + (size_t)(top + r) * in_stride;
        float *dst = rows_buffer + (size_t)r * out_stride;
        for (int x = 0; x < width; x++) {
            const simclr_augment_linear_tap col = cols[x];
            const uint8_t *low = src + (size_t)col.low * channels;
            const uint8_t *high = src + (size_t)col.high * channels;
            for (int c = 0; c < channels; c++)
                dst[(size_t)x * channels + c] =
                    col.w_low * ((float)low[c] * RESCALE) + col.w_high * ((float)high[c] * RESCALE);
        }
    }
    for (int y = 0; y < height; y++) {
        const simclr_augment_linear_tap row = rows[y];
        const float *low = rows_buffer + (size_t)(row.low - top) * out_stride;
        const float *high = rows_buffer + (size_t)(row.high - top) * out_stride;
        float *dst = out + (size_t)y * out_stride;
        for (size_t i = 0; i < out_stride; i++) dst[i] = row.w_low * low[i] + row.w_high * high[i];
    }
}

void simclr_augment_resized_crop(const uint8_t *in, int height, int width, int channels, int top, int left,
                                 int crop_height, int crop_width, int flip, float *out)
{
    simclr_augment_linear_tap *taps = malloc(((size_t)height + (size_t)width) * sizeof *taps);
    float *rows = malloc((size_t)crop_height * width * channels * sizeof(float));
    if (!taps || !rows) abort(); /* the void API has no way to report it */
    simclr_augment_resized_crop_taps(in, height, width, channels, top, left, crop_height, crop_width, flip,
                                     taps, rows, out);
    free(rows);
    free(taps);
}
