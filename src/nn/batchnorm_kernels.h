/*
 * The element loops of batchnorm.c, written once for both activation types: batchnorm.c
 * includes this file twice, with BN_TYPE (float or uint16_t), BN_LOAD (element -> float),
 * BN_STORE (float -> element) and BN_NAME (the function name's suffix) defined. Each function
 * covers the rows [first, last) of a bn_geometry (batchnorm.c): the calling thread's share.
 *
 * Speed (bench_batchnorm): every row body is written for a lane count known to the compiler
 * (16 and 8, the blocked layouts, and 1, NCHW, as constants; any other count as a variable), so the
 * lane loop becomes one vector, the ReLU mask is its own pass over the row (inside the sums loop
 * it kept the loop scalar: 145 against 33 ms at 64 x 32x32), and a row's sums stay in double
 * registers (local arrays of at most BN_MAX_REGISTER_LANES) until the row ends. The passes are bound by memory bandwidth, so the
 * double arithmetic costs nothing measurable; float sums would lose the PyTorch parity of a
 * two-value batch (test_resnet_parity's 4x4 layers at batch 2), where the input gradient is a
 * near-cancellation amplified by 1 / std.
 */
#ifndef BN_TYPE
#error "define BN_TYPE, BN_LOAD, BN_STORE and BN_NAME before including batchnorm_kernels.h"
#endif

#ifndef BN_MAX_REGISTER_LANES
#define BN_MAX_REGISTER_LANES 16 /* wider rows (NHWC, BatchNorm1d) add to the thread's sums directly */
#define BN_ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

/* sum[l] += x and square[l] += x * x over the inner positions of one row (lanes <= 16). */
BN_ALWAYS_INLINE void BN_NAME(moments_row)(const BN_TYPE *restrict row, size_t inner, size_t lanes,
                                            double *restrict sum, double *restrict square)
{
    double s[BN_MAX_REGISTER_LANES] = {0}, q[BN_MAX_REGISTER_LANES] = {0};
    if (lanes == 1) {
        double s1 = 0.0, q1 = 0.0;
#pragma omp simd reduction(+ : s1, q1)
        for (size_t p = 0; p < inner; p++) {
            double value = BN_LOAD(row[p]);
            s1 += value;
            q1 += value * value;
        }
        s[0] = s1;
        q[0] = q1;
    } else {
        for (size_t p = 0; p < inner; p++) {
            const BN_TYPE *pixel = row + p * lanes;
#pragma omp simd
            for (size_t l = 0; l < lanes; l++) {
                double value = BN_LOAD(pixel[l]);
                s[l] += value;
                q[l] += value * value;
            }
        }
    }
    for (size_t l = 0; l < lanes; l++) {
        sum[l] += s[l];
        square[l] += q[l];
    }
}

/* The same for one row of many lanes and one position (NHWC, BatchNorm1d): straight to double. */
BN_ALWAYS_INLINE void BN_NAME(moments_wide_row)(const BN_TYPE *restrict row, size_t lanes,
                                                 double *restrict sum, double *restrict square)
{
#pragma omp simd
    for (size_t l = 0; l < lanes; l++) {
        double value = BN_LOAD(row[l]);
        sum[l] += value;
        square[l] += value * value;
    }
}

/* sum[c] += x and square[c] += x * x over the rows. */
SIMCLR_MULTIVERSIONED static void BN_NAME(accumulate_moments)(const bn_geometry *g, const BN_TYPE *in, size_t first,
                                        size_t last, double *sum, double *square)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        const BN_TYPE *row = in + r * row_length;
        if (g->lanes == 16)
            BN_NAME(moments_row)(row, g->inner, 16, sum + channel, square + channel);
        else if (g->lanes == 8)
            BN_NAME(moments_row)(row, g->inner, 8, sum + channel, square + channel);
        else if (g->lanes == 1)
            BN_NAME(moments_row)(row, g->inner, 1, sum + channel, square + channel);
        else if (g->lanes <= BN_MAX_REGISTER_LANES)
            BN_NAME(moments_row)(row, g->inner, g->lanes, sum + channel, square + channel);
        else
            for (size_t p = 0; p < g->inner; p++)
                BN_NAME(moments_wide_row)(row + p * g->lanes, g->lanes, sum + channel, square + channel);
    }
}

/* out = act(in * scale[l] + shift[l]) over one row; out may be in (each element is read before
 * it is written, at the same index). */
BN_ALWAYS_INLINE void BN_NAME(normalize_row)(BN_TYPE *out, const BN_TYPE *in, size_t inner, size_t lanes,
                                              int one_channel, const float *restrict a,
                                              const float *restrict b, int relu)
{
    for (size_t p = 0; p < inner; p++) {
        size_t offset = p * lanes;
#pragma omp simd
        for (size_t l = 0; l < lanes; l++) {
            size_t c = one_channel ? 0 : l;
            float value = BN_LOAD(in[offset + l]) * a[c] + b[c];
            if (relu) value = value > 0.0f ? value : 0.0f;
            out[offset + l] = BN_STORE(value);
        }
    }
}

/* out = act(in * scale[c] + shift[c]); out may be in. */
SIMCLR_MULTIVERSIONED static void BN_NAME(normalize)(const bn_geometry *g, BN_TYPE *out, const BN_TYPE *in,
                               const float *scale, const float *shift, int relu, size_t first,
                               size_t last)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        const float *a = scale + channel, *b = shift + channel;
        BN_TYPE *o = out + r * row_length;
        const BN_TYPE *i = in + r * row_length;
        if (g->lanes == 16)
            BN_NAME(normalize_row)(o, i, g->inner, 16, 0, a, b, relu);
        else if (g->lanes == 8)
            BN_NAME(normalize_row)(o, i, g->inner, 8, 0, a, b, relu);
        else if (g->lanes == 1) /* one channel: the row as one position of row_length lanes */
            BN_NAME(normalize_row)(o, i, 1, row_length, 1, a, b, relu);
        else
            BN_NAME(normalize_row)(o, i, g->inner, g->lanes, 0, a, b, relu);
    }
}

/* sum_dy[l] += dy and sum_dy_centered[l] += dy * (x - mean[l]) over one row (lanes <= 16, or any
 * count with one position). */
BN_ALWAYS_INLINE void BN_NAME(gradient_sums_row)(const BN_TYPE *restrict d_out, const BN_TYPE *restrict in,
                                                  size_t inner, size_t lanes, const float *restrict mean,
                                                  double *restrict sum_dy, double *restrict sum_dy_centered)
{
    if (lanes > BN_MAX_REGISTER_LANES) { /* one position of many lanes */
#pragma omp simd
        for (size_t l = 0; l < lanes; l++) {
            double dy = BN_LOAD(d_out[l]);
            sum_dy[l] += dy;
            sum_dy_centered[l] += dy * (double)(BN_LOAD(in[l]) - mean[l]);
        }
        return;
    }
    double s[BN_MAX_REGISTER_LANES] = {0}, q[BN_MAX_REGISTER_LANES] = {0};
    for (size_t p = 0; p < inner; p++) {
        size_t offset = p * lanes;
        for (size_t l = 0; l < lanes; l++) {
            size_t c = lanes == 1 ? 0 : l;
            double dy = BN_LOAD(d_out[offset + l]);
            s[c] += dy;
            q[c] += dy * (double)(BN_LOAD(in[offset + l]) - mean[c]);
        }
    }
    for (size_t l = 0; l < lanes; l++) {
        sum_dy[l] += s[l];
        sum_dy_centered[l] += q[l];
    }
}

/* Masks d_out by the ReLU where out is given (in place, as its own pass: inside the sums loop
 * the mask kept that loop scalar), then sum_dy[c] += dy and sum_dy_centered[c] += dy * (x - mean[c]). */
SIMCLR_MULTIVERSIONED static void BN_NAME(gradient_sums)(const bn_geometry *g, BN_TYPE *d_out, const BN_TYPE *out,
                                   const BN_TYPE *in, const float *mean, size_t first, size_t last,
                                   double *sum_dy, double *sum_dy_centered)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        size_t offset = r * row_length;
        BN_TYPE *dy = d_out + offset;
        const BN_TYPE *x = in + offset;
        if (out) {
            const BN_TYPE *o = out + offset;
#pragma omp simd
            for (size_t i = 0; i < row_length; i++) dy[i] = BN_STORE(BN_LOAD(o[i]) > 0.0f ? BN_LOAD(dy[i]) : 0.0f);
        }
        double *s = sum_dy + channel, *q = sum_dy_centered + channel;
        if (g->lanes == 16)
            BN_NAME(gradient_sums_row)(dy, x, g->inner, 16, mean + channel, s, q);
        else if (g->lanes == 8)
            BN_NAME(gradient_sums_row)(dy, x, g->inner, 8, mean + channel, s, q);
        else if (g->lanes == 1)
            BN_NAME(gradient_sums_row)(dy, x, g->inner, 1, mean + channel, s, q);
        else if (g->lanes <= BN_MAX_REGISTER_LANES)
            BN_NAME(gradient_sums_row)(dy, x, g->inner, g->lanes, mean + channel, s, q);
        else
            for (size_t p = 0; p < g->inner; p++)
                BN_NAME(gradient_sums_row)(dy + p * g->lanes, x + p * g->lanes, 1, g->lanes, mean + channel, s, q);
    }
}

/* d_in = a[l] * dy + b[l] * (x - mean[l]) + k[l] over one row; d_in may be in or d_out (each
 * element is read before it is written, at the same index). */
BN_ALWAYS_INLINE void BN_NAME(input_gradient_row)(BN_TYPE *d_in, const BN_TYPE *d_out, const BN_TYPE *in,
                                                   size_t inner, size_t lanes, int one_channel,
                                                   const float *restrict mean, const float *restrict a,
                                                   const float *restrict b, const float *restrict k)
{
    for (size_t p = 0; p < inner; p++) {
        size_t offset = p * lanes;
#pragma omp simd
        for (size_t l = 0; l < lanes; l++) {
            size_t c = one_channel ? 0 : l;
            float dy = BN_LOAD(d_out[offset + l]);
            float centered = BN_LOAD(in[offset + l]) - mean[c];
            d_in[offset + l] = BN_STORE(a[c] * dy + b[c] * centered + k[c]);
        }
    }
}

/* d_in = a[c] * dy + b[c] * (x - mean[c]) + k[c]; d_in may be in or d_out. */
SIMCLR_MULTIVERSIONED static void BN_NAME(input_gradient)(const bn_geometry *g, BN_TYPE *d_in, const BN_TYPE *d_out,
                                    const BN_TYPE *in, const float *mean, const float *a,
                                    const float *b, const float *k, size_t first, size_t last)
{
    size_t row_length = g->inner * g->lanes;
    for (size_t r = first; r < last; r++) {
        size_t channel = (r % g->groups) * g->lanes;
        size_t offset = r * row_length;
        const float *m = mean + channel, *ac = a + channel, *bc = b + channel, *kc = k + channel;
        if (g->lanes == 16)
            BN_NAME(input_gradient_row)(d_in + offset, d_out + offset, in + offset, g->inner, 16, 0, m, ac, bc, kc);
        else if (g->lanes == 8)
            BN_NAME(input_gradient_row)(d_in + offset, d_out + offset, in + offset, g->inner, 8, 0, m, ac, bc, kc);
        else if (g->lanes == 1)
            BN_NAME(input_gradient_row)(d_in + offset, d_out + offset, in + offset, 1, row_length, 1, m, ac, bc, kc);
        else
            BN_NAME(input_gradient_row)(d_in + offset, d_out + offset, in + offset, g->inner, g->lanes, 0, m, ac,
                                        bc, kc);
    }
}
