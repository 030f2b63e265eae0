/*
 * The element loops of batchnorm.c, written once for both activation types: batchnorm.c
 * includes this file twice, with BN_TYPE (float or uint16_t), BN_LOAD (element -> float),
 * BN_STORE (float -> element) and BN_NAME (the function name's suffix) defined. Each function
 * covers the rows [first, last) of a bn_geometry (batchnorm.c): the calling thread's share.
 */
#ifndef BN_TYPE
#error "define BN_TYPE, BN_LOAD, BN_STORE and BN_NAME before including batchnorm_kernels.h"
#endif

/* sum[c] += x and square[c] += x * x over the rows. */
static void BN_NAME(accumulate_moments)(const bn_geometry *g, const BN_TYPE *in, size_t first,
                                        size_t last, double *sum, double *square)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        const BN_TYPE *row = in + r * row_length;
        if (g->lanes == 1) {
            double s = 0.0, q = 0.0;
#pragma omp simd reduction(+ : s, q)
            for (size_t i = 0; i < row_length; i++) {
                double value = BN_LOAD(row[i]);
                s += value;
                q += value * value;
            }
            sum[channel] += s;
            square[channel] += q;
            continue;
        }
        double *s = sum + channel, *q = square + channel;
        for (size_t p = 0; p < g->inner; p++) {
            const BN_TYPE *pixel = row + p * g->lanes;
            for (size_t l = 0; l < g->lanes; l++) {
                double value = BN_LOAD(pixel[l]);
                s[l] += value;
                q[l] += value * value;
            }
        }
    }
}

/* out = act(in * scale[c] + shift[c]); out may be in. */
static void BN_NAME(normalize)(const bn_geometry *g, BN_TYPE *out, const BN_TYPE *in,
                               const float *scale, const float *shift, int relu, size_t first,
                               size_t last)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        const float *a = scale + channel, *b = shift + channel;
        for (size_t p = 0; p < g->inner; p++) {
            size_t offset = r * row_length + p * g->lanes;
            for (size_t l = 0; l < g->lanes; l++) {
                float value = BN_LOAD(in[offset + l]) * a[l] + b[l];
                if (relu && !(value > 0.0f)) value = 0.0f;
                out[offset + l] = BN_STORE(value);
            }
        }
    }
}

/* Masks d_out by the ReLU where out is given (in place), then sum_dy[c] += dy and
 * sum_dy_centered[c] += dy * (x - mean[c]). */
static void BN_NAME(gradient_sums)(const bn_geometry *g, BN_TYPE *d_out, const BN_TYPE *out,
                                   const BN_TYPE *in, const float *mean, size_t first, size_t last,
                                   double *sum_dy, double *sum_dy_centered)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        double *s = sum_dy + channel, *q = sum_dy_centered + channel;
        const float *m = mean + channel;
        for (size_t p = 0; p < g->inner; p++) {
            size_t offset = r * row_length + p * g->lanes;
            for (size_t l = 0; l < g->lanes; l++) {
                float dy = BN_LOAD(d_out[offset + l]);
                if (out && !(BN_LOAD(out[offset + l]) > 0.0f)) {
                    dy = 0.0f;
                    d_out[offset + l] = BN_STORE(0.0f);
                }
                s[l] += dy;
                q[l] += (double)dy * (double)(BN_LOAD(in[offset + l]) - m[l]);
            }
        }
    }
}

/* d_in = a[c] * dy + b[c] * (x - mean[c]) + k[c]; d_in may be in or d_out: each element is read
 * before it is written. */
static void BN_NAME(input_gradient)(const bn_geometry *g, BN_TYPE *d_in, const BN_TYPE *d_out,
                                    const BN_TYPE *in, const float *mean, const float *a,
                                    const float *b, const float *k, size_t first, size_t last)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        const float *m = mean + channel, *ac = a + channel, *bc = b + channel, *kc = k + channel;
        for (size_t p = 0; p < g->inner; p++) {
            size_t offset = r * row_length + p * g->lanes;
            for (size_t l = 0; l < g->lanes; l++) {
                float dy = BN_LOAD(d_out[offset + l]);
                float centered = BN_LOAD(in[offset + l]) - m[l];
                d_in[offset + l] = BN_STORE(ac[l] * dy + bc[l] * centered + kc[l]);
            }
        }
    }
}
