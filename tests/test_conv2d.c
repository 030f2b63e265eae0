/*
 * conv2d against a naive double-precision convolution: the forward output, and every gradient
 * (input, kernel, bias) against central differences of the objective sum(out * R) computed in
 * double, so the only error measured is the layer's own float32 arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/nn.h"
#include "simclr/rng.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries per tensor checked by finite differences (all of them in small tensors). */
#define GRADIENT_SAMPLES 96

typedef struct conv_case {
    const char *name;
    int batch;
    simclr_conv2d_config config;
} conv_case;

/* A case's tensors: float for the layer, double copies for the reference. */
typedef struct conv_tensors {
    const conv_case *c;
    int out_height, out_width;
    size_t in_count, weight_count, out_count;
    float *in, *weight, *bias, *out, *d_out_seed; /* d_out_seed: R, the objective's weights */
    double *in64, *weight64, *bias64, *seed64;
} conv_tensors;

static void fill_uniform(float *values, size_t count, float low, float high, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 7, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform(&stream, low, high);
}

static double *to_double(const float *values, size_t count)
{
    double *copy = malloc(count * sizeof *copy);
    assert_non_null(copy);
    for (size_t i = 0; i < count; i++) copy[i] = values[i];
    return copy;
}

static float *float_array(size_t count)
{
    float *values = calloc(count ? count : 1, sizeof *values);
    assert_non_null(values);
    return values;
}

static conv_tensors tensors_make(const conv_case *c, uint64_t key)
{
    const simclr_conv2d_config *k = &c->config;
    conv_tensors t = {.c = c};
    t.out_height = simclr_conv2d_output_size(k->in_height, k->kernel, k->stride, k->padding);
    t.out_width = simclr_conv2d_output_size(k->in_width, k->kernel, k->stride, k->padding);
    t.in_count = (size_t)c->batch * k->in_height * k->in_width * k->in_channels;
    t.weight_count = (size_t)k->kernel * k->kernel * k->in_channels * k->out_channels;
    t.out_count = (size_t)c->batch * t.out_height * t.out_width * k->out_channels;
    t.in = float_array(t.in_count);
    t.weight = float_array(t.weight_count);
    t.bias = float_array((size_t)k->out_channels);
    t.out = float_array(t.out_count);
    t.d_out_seed = float_array(t.out_count);
    fill_uniform(t.in, t.in_count, -1.0f, 1.0f, key);
    fill_uniform(t.weight, t.weight_count, -0.5f, 0.5f, key + 1);
    fill_uniform(t.bias, (size_t)k->out_channels, -0.2f, 0.2f, key + 2);
    fill_uniform(t.d_out_seed, t.out_count, -1.0f, 1.0f, key + 3);
    t.in64 = to_double(t.in, t.in_count);
    t.weight64 = to_double(t.weight, t.weight_count);
    t.bias64 = to_double(t.bias, (size_t)k->out_channels);
    t.seed64 = to_double(t.d_out_seed, t.out_count);
    return t;
}

static void tensors_free(conv_tensors *t)
{
    free(t->in), free(t->weight), free(t->bias), free(t->out), free(t->d_out_seed);
    free(t->in64), free(t->weight64), free(t->bias64), free(t->seed64);
}

/* Naive NHWC/HWIO convolution with zero padding and optional ReLU, in double. */
static void reference_forward(double *out, const conv_tensors *t)
{
    const simclr_conv2d_config *k = &t->c->config;
    for (int n = 0; n < t->c->batch; n++)
        for (int oy = 0; oy < t->out_height; oy++)
            for (int ox = 0; ox < t->out_width; ox++)
                for (int co = 0; co < k->out_channels; co++) {
                    double sum = t->bias64[co];
                    for (int ky = 0; ky < k->kernel; ky++)
                        for (int kx = 0; kx < k->kernel; kx++) {
                            int iy = oy * k->stride + ky - k->padding;
                            int ix = ox * k->stride + kx - k->padding;
                            if (iy < 0 || iy >= k->in_height || ix < 0 || ix >= k->in_width)
                                continue;
                            const double *pixel =
                                t->in64 +
                                (((size_t)n * k->in_height + iy) * k->in_width + ix) * k->in_channels;
                            const double *taps = t->weight64 + ((size_t)(ky * k->kernel + kx) *
                                                                k->in_channels) * k->out_channels;
                            for (int ci = 0; ci < k->in_channels; ci++)
                                sum += pixel[ci] * taps[(size_t)ci * k->out_channels + co];
                        }
                    if (k->activation == SIMCLR_NN_ACTIVATION_RELU && sum < 0.0) sum = 0.0;
                    out[(((size_t)n * t->out_height + oy) * t->out_width + ox) * k->out_channels +
                        co] = sum;
                }
}

/* The scalar whose gradient the layer's backward computes when d_out = R: sum(out * R). */
static double objective(const conv_tensors *t)
{
    double *out = malloc(t->out_count * sizeof *out);
    assert_non_null(out);
    reference_forward(out, t);
    double total = 0.0;
    for (size_t i = 0; i < t->out_count; i++) total += out[i] * t->seed64[i];
    free(out);
    return total;
}

/* Compares analytic[i] with the central difference of objective() w.r.t. values[i] (a double
 * tensor the objective reads), on up to GRADIENT_SAMPLES entries spread over the tensor. */
static void check_gradient(const char *label, double *values, size_t count, const float *analytic,
                           const conv_tensors *t)
{
    size_t samples = count < GRADIENT_SAMPLES ? count : GRADIENT_SAMPLES;
    float *numeric = float_array(samples), *picked = float_array(samples);
    for (size_t s = 0; s < samples; s++) {
        size_t i = samples == count ? s : (s * 7919u) % count;
        double saved = values[i];
        double step = 1e-6 * fmax(1.0, fabs(saved));
        values[i] = saved + step;
        double above = objective(t);
        values[i] = saved - step;
        double below = objective(t);
        values[i] = saved;
        numeric[s] = (float)((above - below) / (2.0 * step));
        picked[s] = analytic[i];
    }
    test_assert_close(label, picked, numeric, samples, 5e-5, 5e-5);
    free(numeric);
    free(picked);
}

static void check_forward(simclr_conv2d *layer, conv_tensors *t)
{
    simclr_error err = {0};
    if (simclr_conv2d_forward(layer, t->out, t->in, t->weight, t->bias, t->c->batch, &err))
        fail_msg("conv2d_forward: %s", err.message);
    double *expected64 = malloc(t->out_count * sizeof *expected64);
    assert_non_null(expected64);
    reference_forward(expected64, t);
    float *expected = float_array(t->out_count);
    for (size_t i = 0; i < t->out_count; i++) expected[i] = (float)expected64[i];
    char label[96];
    snprintf(label, sizeof label, "%s forward", t->c->name);
    test_assert_close(label, t->out, expected, t->out_count, 1e-5, 1e-5);
    free(expected);
    free(expected64);
}

static void run_case(const conv_case *c, uint64_t key)
{
    const simclr_conv2d_config *k = &c->config;
    conv_tensors t = tensors_make(c, key);
    simclr_conv2d *layer = NULL;
    simclr_error err = {0};
    if (simclr_conv2d_create(&layer, k, &err)) fail_msg("conv2d_create: %s", err.message);
    assert_int_equal(simclr_conv2d_out_height(layer), t.out_height);
    assert_int_equal(simclr_conv2d_out_width(layer), t.out_width);
    check_forward(layer, &t);

    float *d_in = float_array(t.in_count), *d_weight = float_array(t.weight_count);
    float *d_bias = float_array((size_t)k->out_channels), *d_out = float_array(t.out_count);
    memcpy(d_out, t.d_out_seed, t.out_count * sizeof *d_out);
    if (simclr_conv2d_backward(layer, d_in, d_weight, d_bias, d_out, t.out, t.in, t.weight, c->batch,
                        &err))
        fail_msg("conv2d_backward: %s", err.message);
    char label[96];
    snprintf(label, sizeof label, "%s d_in", c->name);
    check_gradient(label, t.in64, t.in_count, d_in, &t);
    snprintf(label, sizeof label, "%s d_weight", c->name);
    check_gradient(label, t.weight64, t.weight_count, d_weight, &t);
    snprintf(label, sizeof label, "%s d_bias", c->name);
    check_gradient(label, t.bias64, (size_t)k->out_channels, d_bias, &t);

    /* A second backward (d_in NULL, the first layer's case) adds the same gradients again. */
    float *once_weight = float_array(t.weight_count), *twice_weight = float_array(t.weight_count);
    float *once_bias = float_array((size_t)k->out_channels);
    float *twice_bias = float_array((size_t)k->out_channels);
    memcpy(once_weight, d_weight, t.weight_count * sizeof(float));
    memcpy(once_bias, d_bias, (size_t)k->out_channels * sizeof(float));
    memcpy(d_out, t.d_out_seed, t.out_count * sizeof *d_out);
    if (simclr_conv2d_backward(layer, NULL, d_weight, d_bias, d_out, t.out, t.in, t.weight, c->batch,
                        &err))
        fail_msg("conv2d_backward (d_in NULL): %s", err.message);
    for (size_t i = 0; i < t.weight_count; i++) twice_weight[i] = 2.0f * once_weight[i];
    for (int i = 0; i < k->out_channels; i++) twice_bias[i] = 2.0f * once_bias[i];
    snprintf(label, sizeof label, "%s d_weight accumulates", c->name);
    test_assert_close(label, d_weight, twice_weight, t.weight_count, 1e-6, 1e-6);
    snprintf(label, sizeof label, "%s d_bias accumulates", c->name);
    test_assert_close(label, d_bias, twice_bias, (size_t)k->out_channels, 1e-6, 1e-6);

    free(once_weight), free(twice_weight), free(once_bias), free(twice_bias);
    free(d_in), free(d_weight), free(d_bias), free(d_out);
    simclr_conv2d_free(layer);
    tensors_free(&t);
}

static void test_stride2_valid_relu_rectangular(void **state)
{
    (void)state;
    conv_case c = {"s2 p0 relu 9x7x3->4", 2, {9, 7, 3, 4, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_case(&c, 100);
}

static void test_stride1_padded_linear(void **state)
{
    (void)state;
    conv_case c = {"s1 p1 none 6x5x2->3", 3, {6, 5, 2, 3, 3, 1, 1, SIMCLR_NN_ACTIVATION_NONE, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_case(&c, 200);
}

static void test_stride2_padded_relu_even(void **state)
{
    (void)state;
    conv_case c = {"s2 p1 relu 8x10x1->5", 2, {8, 10, 1, 5, 3, 2, 1, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_case(&c, 300);
}

static void test_stride1_valid_relu(void **state)
{
    (void)state;
    conv_case c = {"s1 p0 relu 5x7x2->2", 1, {5, 7, 2, 2, 3, 1, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_case(&c, 400);
}

/* Channel counts of blocked jit kernels (multiples of 16): oneDNN reorders the kernel. */
static void test_wide_channels(void **state)
{
    (void)state;
    conv_case first = {"s2 p0 relu 13x11x3->32", 2, {13, 11, 3, 32, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_case(&first, 500);
    conv_case inner = {"s2 p0 relu 9x8x32->32", 3, {9, 8, 32, 32, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_case(&inner, 600);
}

/* More batch sizes than cached plans: evicted plans are rebuilt and still compute the same. */
static void test_batch_size_cache(void **state)
{
    (void)state;
    simclr_conv2d_config config = {7, 6, 3, 16, 3, 2, 1, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC};
    simclr_conv2d *layer = NULL;
    simclr_error err = {0};
    if (simclr_conv2d_create(&layer, &config, &err)) fail_msg("conv2d_create: %s", err.message);
    int batches[] = {1, 5, 2, 3, 4, 6, 5, 1, 2};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        conv_case c = {"cache", batches[i], config};
        conv_tensors t = tensors_make(&c, 700 + i);
        check_forward(layer, &t);
        tensors_free(&t);
    }
    simclr_conv2d_free(layer);
}

/* Rounds a float tensor (and its double copy) to bf16-representable values. */
static void round_to_bf16(float *values, double *copy, size_t count)
{
    uint16_t *bf16 = malloc(count * sizeof *bf16);
    assert_non_null(bf16);
    simclr_nn_f32_to_bf16(bf16, values, count);
    simclr_nn_bf16_to_f32(values, bf16, count);
    for (size_t i = 0; i < count; i++) copy[i] = values[i];
    free(bf16);
}

/* A bf16 layer against the same layer in fp32 on bf16-representable inputs, kernel and output
 * gradient: products are then exact in both and both accumulate in float32, so the forward
 * output and the input gradient differ by bf16's final rounding (2^-8 relative) and the kernel
 * and bias gradients (accumulated and returned in float32) by the order of the sums. */
static void run_bf16_case(const conv_case *c, uint64_t key)
{
    conv_case fp32_case = *c;
    fp32_case.config.precision = SIMCLR_NN_PRECISION_FP32;
    conv_case bf16_case = *c;
    bf16_case.config.precision = SIMCLR_NN_PRECISION_BF16;
    conv_tensors t = tensors_make(&fp32_case, key);
    round_to_bf16(t.in, t.in64, t.in_count);
    round_to_bf16(t.weight, t.weight64, t.weight_count);
    round_to_bf16(t.d_out_seed, t.seed64, t.out_count);
    simclr_conv2d *fp32 = NULL, *bf16 = NULL;
    simclr_error err = {0};
    if (simclr_conv2d_create(&fp32, &fp32_case.config, &err) ||
        simclr_conv2d_create(&bf16, &bf16_case.config, &err))
        fail_msg("conv2d_create: %s", err.message);
    const simclr_conv2d_config *k = &c->config;
    size_t bias_count = (size_t)k->out_channels;

    /* fp32 reference: forward and backward. */
    float *d_in = float_array(t.in_count), *d_weight = float_array(t.weight_count);
    float *d_bias = float_array(bias_count), *d_out = float_array(t.out_count);
    if (simclr_conv2d_forward(fp32, t.out, t.in, t.weight, t.bias, c->batch, &err))
        fail_msg("conv2d_forward: %s", err.message);
    memcpy(d_out, t.d_out_seed, t.out_count * sizeof *d_out);
    if (simclr_conv2d_backward(fp32, d_in, d_weight, d_bias, d_out, t.out, t.in, t.weight, c->batch,
                        &err))
        fail_msg("conv2d_backward: %s", err.message);

    /* bf16: the same through bf16 tensors. */
    uint16_t *in16 = malloc(t.in_count * 2), *out16 = malloc(t.out_count * 2);
    uint16_t *d_out16 = malloc(t.out_count * 2), *d_in16 = malloc(t.in_count * 2);
    assert_true(in16 && out16 && d_out16 && d_in16);
    float *out = float_array(t.out_count), *d_in_bf16 = float_array(t.in_count);
    float *d_weight_bf16 = float_array(t.weight_count), *d_bias_bf16 = float_array(bias_count);
    simclr_nn_f32_to_bf16(in16, t.in, t.in_count);
    if (simclr_conv2d_forward(bf16, out16, in16, t.weight, t.bias, c->batch, &err))
        fail_msg("bf16 conv2d_forward: %s", err.message);
    simclr_nn_bf16_to_f32(out, out16, t.out_count);
    simclr_nn_f32_to_bf16(d_out16, t.d_out_seed, t.out_count);
    if (simclr_conv2d_backward(bf16, d_in16, d_weight_bf16, d_bias_bf16, d_out16, out16, in16, t.weight,
                        c->batch, &err))
        fail_msg("bf16 conv2d_backward: %s", err.message);
    simclr_nn_bf16_to_f32(d_in_bf16, d_in16, t.in_count);

    char label[96];
    snprintf(label, sizeof label, "%s bf16 forward", c->name);
    test_assert_close(label, out, t.out, t.out_count, 1e-3, 1.0 / 128);
    snprintf(label, sizeof label, "%s bf16 d_in", c->name);
    test_assert_close(label, d_in_bf16, d_in, t.in_count, 1e-3, 1.0 / 128);
    snprintf(label, sizeof label, "%s bf16 d_weight", c->name);
    test_assert_close(label, d_weight_bf16, d_weight, t.weight_count, 1e-4, 1e-4);
    snprintf(label, sizeof label, "%s bf16 d_bias", c->name);
    test_assert_close(label, d_bias_bf16, d_bias, bias_count, 1e-4, 1e-4);

    free(in16), free(out16), free(d_out16), free(d_in16);
    free(out), free(d_in_bf16), free(d_weight_bf16), free(d_bias_bf16);
    free(d_in), free(d_weight), free(d_bias), free(d_out);
    simclr_conv2d_free(fp32);
    simclr_conv2d_free(bf16);
    tensors_free(&t);
}

static void test_bf16_matches_fp32(void **state)
{
    (void)state;
    /* The seed's inner layers (valid, stride 2) and a Fashion-MNIST-like first layer (one
     * channel, padding 1). */
    conv_case inner = {"s2 p0 relu 13x11x32->32", 3,
                       {13, 11, 32, 32, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_BF16, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    conv_case first = {"s2 p1 relu 12x12x1->16", 4,
                       {12, 12, 1, 16, 3, 2, 1, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_BF16, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    conv_case linear = {"s1 p1 none 6x5x3->8", 2,
                        {6, 5, 3, 8, 3, 1, 1, SIMCLR_NN_ACTIVATION_NONE, SIMCLR_NN_PRECISION_BF16, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC}};
    run_bf16_case(&inner, 900);
    run_bf16_case(&first, 910);
    run_bf16_case(&linear, 920);
}

/* The layout conversions against the index formulas of nn.h, on a tensor whose every element
 * holds its own NHWC index. */
static void test_layout_conversion(void **state)
{
    (void)state;
    enum { N = 2, H = 3, W = 2, C = 32 };
    size_t count = (size_t)N * H * W * C;
    float *nhwc = float_array(count), *back = float_array(count), *moved = float_array(count);
    uint16_t *moved16 = malloc(count * sizeof *moved16);
    assert_non_null(moved16);
    for (size_t i = 0; i < count; i++) nhwc[i] = (float)i;
    simclr_nn_layout layouts[] = {SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NCHW, SIMCLR_NN_LAYOUT_BLOCKED16,
                                  SIMCLR_NN_LAYOUT_BLOCKED8};
    for (int l = 0; l < 4; l++) {
        simclr_nn_activations_from_nhwc(moved, layouts[l], SIMCLR_NN_PRECISION_FP32, nhwc, N, H, W, C);
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    for (int c = 0; c < C; c++) {
                        size_t logical = (((size_t)n * H + h) * W + w) * C + c, offset;
                        if (layouts[l] == SIMCLR_NN_LAYOUT_NCHW)
                            offset = (((size_t)n * C + c) * H + h) * W + w;
                        else if (layouts[l] == SIMCLR_NN_LAYOUT_BLOCKED16)
                            offset = ((((size_t)n * (C / 16) + c / 16) * H + h) * W + w) * 16 +
                                     c % 16;
                        else if (layouts[l] == SIMCLR_NN_LAYOUT_BLOCKED8)
                            offset = ((((size_t)n * (C / 8) + c / 8) * H + h) * W + w) * 8 + c % 8;
                        else
                            offset = logical;
                        if (moved[offset] != (float)logical)
                            fail_msg("%s: element (%d,%d,%d,%d) at %zu holds %g", 
                                     simclr_nn_layout_name(layouts[l]), n, h, w, c, offset,
                                     (double)moved[offset]);
                    }
        simclr_nn_activations_to_nhwc(back, moved, layouts[l], SIMCLR_NN_PRECISION_FP32, N, H, W, C);
        assert_memory_equal(back, nhwc, count * sizeof(float));
        /* bf16: the same places, rounded (indices up to 383 need 9 bits: exact below 256). */
        simclr_nn_activations_from_nhwc(moved16, layouts[l], SIMCLR_NN_PRECISION_BF16, nhwc, N, H, W, C);
        simclr_nn_activations_to_nhwc(back, moved16, layouts[l], SIMCLR_NN_PRECISION_BF16, N, H, W, C);
        for (size_t i = 0; i < count; i++) {
            uint16_t rounded;
            float expected;
            simclr_nn_f32_to_bf16(&rounded, &nhwc[i], 1);
            simclr_nn_bf16_to_f32(&expected, &rounded, 1);
            if (back[i] != expected)
                fail_msg("%s bf16: element %zu came back as %g, expected %g",
                         simclr_nn_layout_name(layouts[l]), i, (double)back[i], (double)expected);
        }
    }
    free(nhwc), free(back), free(moved), free(moved16);
}

/* A layer in oneDNN's layouts (NCHW -> nChw16c for a first layer, nChw16c -> nChw16c inside)
 * against the same layer in NHWC, whose gradients the cases above check by finite differences:
 * the tensors are moved between layouts with nn_activations_*; forward, input gradient (for
 * nChw16c inputs: a first layer's is never needed) and kernel and bias gradients must agree to
 * float32 summation order. */
static void run_layout_case(const conv_case *c, uint64_t key)
{
    conv_case nhwc_case = *c;
    nhwc_case.config.in_layout = nhwc_case.config.out_layout = SIMCLR_NN_LAYOUT_NHWC;
    conv_tensors t = tensors_make(&nhwc_case, key);
    simclr_conv2d *reference = NULL, *layer = NULL;
    simclr_error err = {0};
    if (simclr_conv2d_create(&reference, &nhwc_case.config, &err) ||
        simclr_conv2d_create(&layer, &c->config, &err))
        fail_msg("conv2d_create: %s", err.message);
    const simclr_conv2d_config *k = &c->config;
    size_t bias_count = (size_t)k->out_channels;
    int in_blocked = simclr_nn_layout_block(k->in_layout) > 0;

    float *d_in = float_array(t.in_count), *d_weight = float_array(t.weight_count);
    float *d_bias = float_array(bias_count), *d_out = float_array(t.out_count);
    if (simclr_conv2d_forward(reference, t.out, t.in, t.weight, t.bias, c->batch, &err))
        fail_msg("conv2d_forward: %s", err.message);
    memcpy(d_out, t.d_out_seed, t.out_count * sizeof *d_out);
    if (simclr_conv2d_backward(reference, d_in, d_weight, d_bias, d_out, t.out, t.in, t.weight,
                        c->batch, &err))
        fail_msg("conv2d_backward: %s", err.message);

    float *in = float_array(t.in_count), *out = float_array(t.out_count);
    float *layer_d_out = float_array(t.out_count), *layer_d_in = float_array(t.in_count);
    float *out_nhwc = float_array(t.out_count), *d_in_nhwc = float_array(t.in_count);
    float *layer_d_weight = float_array(t.weight_count), *layer_d_bias = float_array(bias_count);
    simclr_nn_activations_from_nhwc(in, k->in_layout, SIMCLR_NN_PRECISION_FP32, t.in, c->batch, k->in_height,
                             k->in_width, k->in_channels);
    if (simclr_conv2d_forward(layer, out, in, t.weight, t.bias, c->batch, &err))
        fail_msg("conv2d_forward (%s): %s", simclr_nn_layout_name(k->out_layout), err.message);
    simclr_nn_activations_to_nhwc(out_nhwc, out, k->out_layout, SIMCLR_NN_PRECISION_FP32, c->batch,
                           t.out_height, t.out_width, k->out_channels);
    simclr_nn_activations_from_nhwc(layer_d_out, k->out_layout, SIMCLR_NN_PRECISION_FP32, t.d_out_seed,
                             c->batch, t.out_height, t.out_width, k->out_channels);
    if (simclr_conv2d_backward(layer, in_blocked ? layer_d_in : NULL, layer_d_weight, layer_d_bias,
                        layer_d_out, out, in, t.weight, c->batch, &err))
        fail_msg("conv2d_backward (%s): %s", simclr_nn_layout_name(k->out_layout), err.message);

    char label[96];
    snprintf(label, sizeof label, "%s forward", c->name);
    test_assert_close(label, out_nhwc, t.out, t.out_count, 1e-5, 1e-5);
    if (in_blocked) {
        simclr_nn_activations_to_nhwc(d_in_nhwc, layer_d_in, k->in_layout, SIMCLR_NN_PRECISION_FP32, c->batch,
                               k->in_height, k->in_width, k->in_channels);
        snprintf(label, sizeof label, "%s d_in", c->name);
        test_assert_close(label, d_in_nhwc, d_in, t.in_count, 1e-5, 1e-5);
    }
    snprintf(label, sizeof label, "%s d_weight", c->name);
    test_assert_close(label, layer_d_weight, d_weight, t.weight_count, 1e-5, 1e-5);
    snprintf(label, sizeof label, "%s d_bias", c->name);
    test_assert_close(label, layer_d_bias, d_bias, bias_count, 1e-5, 1e-5);

    free(in), free(out), free(layer_d_out), free(layer_d_in), free(out_nhwc), free(d_in_nhwc);
    free(layer_d_weight), free(layer_d_bias);
    free(d_in), free(d_weight), free(d_bias), free(d_out);
    simclr_conv2d_free(reference);
    simclr_conv2d_free(layer);
    tensors_free(&t);
}

static void test_blocked_layouts_match_nhwc(void **state)
{
    (void)state;
    conv_case first = {"nchw->nChw16c s2 p0 relu 13x11x3->32", 3,
                       {13, 11, 3, 32, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                        SIMCLR_NN_LAYOUT_NCHW, SIMCLR_NN_LAYOUT_BLOCKED16}};
    conv_case inner = {"nChw16c s2 p1 relu 9x8x32->16", 2,
                       {9, 8, 32, 16, 3, 2, 1, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                        SIMCLR_NN_LAYOUT_BLOCKED16, SIMCLR_NN_LAYOUT_BLOCKED16}};
    conv_case linear = {"nChw16c s1 p1 none 6x5x16->32", 2,
                        {6, 5, 16, 32, 3, 1, 1, SIMCLR_NN_ACTIVATION_NONE, SIMCLR_NN_PRECISION_FP32,
                         SIMCLR_NN_LAYOUT_BLOCKED16, SIMCLR_NN_LAYOUT_BLOCKED16}};
    run_layout_case(&first, 1000);
    run_layout_case(&inner, 1010);
    run_layout_case(&linear, 1020);
    /* nChw8c, oneDNN's layout below AVX-512: the same cases with 8-channel blocks. */
    conv_case first8 = {"nchw->nChw8c s2 p0 relu 13x11x3->24", 3,
                        {13, 11, 3, 24, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                         SIMCLR_NN_LAYOUT_NCHW, SIMCLR_NN_LAYOUT_BLOCKED8}};
    conv_case inner8 = {"nChw8c s2 p1 relu 9x8x24->16", 2,
                        {9, 8, 24, 16, 3, 2, 1, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                         SIMCLR_NN_LAYOUT_BLOCKED8, SIMCLR_NN_LAYOUT_BLOCKED8}};
    conv_case linear8 = {"nChw8c s1 p1 none 6x5x8->32", 2,
                         {6, 5, 8, 32, 3, 1, 1, SIMCLR_NN_ACTIVATION_NONE, SIMCLR_NN_PRECISION_FP32,
                          SIMCLR_NN_LAYOUT_BLOCKED8, SIMCLR_NN_LAYOUT_BLOCKED8}};
    run_layout_case(&first8, 1030);
    run_layout_case(&inner8, 1040);
    run_layout_case(&linear8, 1050);
}

/* What the network planner relies on (network_plan.c), and the reason it exists: nChw16c on an
 * AVX2 CPU ran every convolution on oneDNN's reference kernels, 800x slower. On this CPU (its
 * oneDNN ISA, which ONEDNN_MAX_CPU_ISA may cap): NHWC has jit kernels (or gemm) for every pass of
 * the seed's inner conv, at any ISA; the ISA's own blocked layout has them too from AVX2 up (on
 * SSE4.1 only its forward: the planner then takes NHWC), as it has for a first conv reading NCHW
 * (but backward-data, which training never runs); the other blocked layout runs on reference
 * kernels where the ISA is AVX2 or older. */
static void test_reference_kernels_detected(void **state)
{
    (void)state;
    simclr_nn_layout native = simclr_conv2d_blocked_layout();
    simclr_nn_layout other = native == SIMCLR_NN_LAYOUT_BLOCKED16 ? SIMCLR_NN_LAYOUT_BLOCKED8
                                                                   : SIMCLR_NN_LAYOUT_BLOCKED16;
    const char *isa = simclr_conv2d_cpu_isa_name();
    int below_avx2 = strcmp(isa, "sse41") == 0 || strcmp(isa, "avx") == 0;
    printf("  oneDNN ISA %s: blocked layout %s\n", isa, simclr_nn_layout_name(native));
    simclr_conv2d_config inner = {23, 23, 128, 128, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                                  native, native};
    simclr_conv2d_config first = {96, 96, 3, 128, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                                  SIMCLR_NN_LAYOUT_NCHW, native};
    simclr_conv2d_config nhwc = {23, 23, 128, 128, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32,
                                 SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC};
    unsigned passes = 99;
    simclr_error err = {0};
    assert_int_equal(simclr_conv2d_reference_passes(&nhwc, 64, &passes, &err), 0);
    printf("  nhwc reference passes: %u\n", passes);
    assert_int_equal(passes, 0);
    assert_int_equal(simclr_conv2d_reference_passes(&inner, 64, &passes, &err), 0);
    printf("  %s reference passes: %u\n", simclr_nn_layout_name(native), passes);
    assert_int_equal(passes & SIMCLR_CONV2D_PASS_FORWARD, 0);
    if (!below_avx2) assert_int_equal(passes, 0);
    assert_int_equal(simclr_conv2d_reference_passes(&first, 64, &passes, &err), 0);
    assert_int_equal(passes & SIMCLR_CONV2D_PASS_FORWARD, 0);
    if (!below_avx2) assert_int_equal(passes & ~SIMCLR_CONV2D_PASS_BACKWARD_DATA, 0);
    inner.in_layout = inner.out_layout = other;
    assert_int_equal(simclr_conv2d_reference_passes(&inner, 64, &passes, &err), 0);
    printf("  %s reference passes: %u\n", simclr_nn_layout_name(other), passes);
    if (native == SIMCLR_NN_LAYOUT_BLOCKED8) assert_int_not_equal(passes, 0);
    assert_int_equal(simclr_conv2d_reference_passes(&inner, 0, &passes, &err), -1);
}

/* Layout pairs without a jit kernel, and blocked layouts on channel counts that are not
 * multiples of 16, are refused up front. */
static void test_rejects_unsupported_layouts(void **state)
{
    (void)state;
    simclr_conv2d_config configs[] = {
        {9, 9, 16, 16, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_BLOCKED16,
         SIMCLR_NN_LAYOUT_NHWC},
        {9, 9, 16, 16, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC,
         SIMCLR_NN_LAYOUT_BLOCKED16},
        {9, 9, 16, 24, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_BLOCKED16,
         SIMCLR_NN_LAYOUT_BLOCKED16},
        {9, 9, 32, 16, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NCHW,
         SIMCLR_NN_LAYOUT_BLOCKED16},
        {9, 9, 8, 16, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_BLOCKED8,
         SIMCLR_NN_LAYOUT_BLOCKED16},
        {9, 9, 8, 12, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_BLOCKED8,
         SIMCLR_NN_LAYOUT_BLOCKED8},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        simclr_conv2d *layer = NULL;
        simclr_error err = {0};
        assert_int_equal(simclr_conv2d_create(&layer, &configs[i], &err), -1);
        assert_null(layer);
        assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
        assert_non_null(strstr(err.message, "layouts"));
    }
}

/* Round to nearest even, NaN kept, and the exact way back. */
static void test_bf16_conversion(void **state)
{
    (void)state;
    float in[6] = {1.0f, 1.00390625f /* 1 + 2^-8: a tie, to even (1) */,
                   1.01171875f /* 1 + 3 * 2^-8: a tie, to even (1 + 2^-6) */, -2.5f, 0.0f, NAN};
    uint16_t out[6];
    simclr_nn_f32_to_bf16(out, in, 6);
    assert_int_equal(out[0], 0x3f80);
    assert_int_equal(out[1], 0x3f80);
    assert_int_equal(out[2], 0x3f82);
    assert_int_equal(out[3], 0xc020);
    assert_int_equal(out[4], 0x0000);
    float back[6];
    simclr_nn_bf16_to_f32(back, out, 6);
    assert_true(back[0] == 1.0f && back[1] == 1.0f && back[2] == 1.015625f && back[3] == -2.5f);
    assert_true(isnan(back[5]));
}

static void test_rejects_empty_output(void **state)
{
    (void)state;
    simclr_conv2d_config config = {2, 8, 3, 4, 3, 2, 0, SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NHWC};
    simclr_conv2d *layer = NULL;
    simclr_error err = {0};
    assert_int_equal(simclr_conv2d_create(&layer, &config, &err), -1);
    assert_null(layer);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_int_equal(simclr_conv2d_output_size(96, 3, 2, 0), 47);
    assert_int_equal(simclr_conv2d_output_size(28, 3, 2, 1), 14);
    assert_int_equal(simclr_conv2d_output_size(2, 3, 2, 0), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stride2_valid_relu_rectangular),
        cmocka_unit_test(test_stride1_padded_linear),
        cmocka_unit_test(test_stride2_padded_relu_even),
        cmocka_unit_test(test_stride1_valid_relu),
        cmocka_unit_test(test_wide_channels),
        cmocka_unit_test(test_batch_size_cache),
        cmocka_unit_test(test_rejects_empty_output),
        cmocka_unit_test(test_bf16_conversion),
        cmocka_unit_test(test_layout_conversion),
        cmocka_unit_test(test_blocked_layouts_match_nhwc),
        cmocka_unit_test(test_rejects_unsupported_layouts),
        cmocka_unit_test(test_reference_kernels_detected),
    };
    const struct CMUnitTest bf16_tests[] = {
        cmocka_unit_test(test_bf16_matches_fp32),
    };
    return test_main_with_bf16(argc, argv, tests, bf16_tests, NULL, NULL);
}
