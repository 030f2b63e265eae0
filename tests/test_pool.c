/*
 * Max pooling, global average pooling and the residual add (src/nn/pool.c, activation.c):
 * forward against naive double loops, gradients against central differences of sum(out * R),
 * the NCHW and nChw16c layouts against NHWC, bf16 against fp32, in-place max-pool backward, and
 * refused configs. (PyTorch parity of the three inside a ResNet: test_resnet_parity.)
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

static float *float_array(size_t count)
{
    float *values = calloc(count ? count : 1, sizeof *values);
    assert_non_null(values);
    return values;
}

static void fill_uniform(float *values, size_t count, float low, float high, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 13, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform(&stream, low, high);
}

/* Naive max pool over NHWC in double: PyTorch's rule (first maximum wins). */
static double reference_max_pool(const simclr_max_pool_config *c, const double *in, int batch, double *out,
                                 const double *r)
{
    int oh = simclr_conv2d_output_size(c->in_height, c->kernel, c->stride, c->padding);
    int ow = simclr_conv2d_output_size(c->in_width, c->kernel, c->stride, c->padding);
    double total = 0.0;
    for (int n = 0; n < batch; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int ch = 0; ch < c->channels; ch++) {
                    double best = -INFINITY;
                    for (int ky = 0; ky < c->kernel; ky++)
                        for (int kx = 0; kx < c->kernel; kx++) {
                            int y = oy * c->stride + ky - c->padding, x = ox * c->stride + kx - c->padding;
                            if (y < 0 || y >= c->in_height || x < 0 || x >= c->in_width) continue;
                            double v = in[(((size_t)n * c->in_height + y) * c->in_width + x) * c->channels + ch];
                            if (v > best) best = v;
                        }
                    size_t o = (((size_t)n * oh + oy) * ow + ox) * c->channels + ch;
                    if (out) out[o] = best;
                    if (r) total += best * r[o];
                }
    return total;
}

static void run_max_pool_case(simclr_max_pool_config config, int batch, uint64_t key)
{
    simclr_error err = {0};
    if (simclr_max_pool_check(&config, &err)) fail_msg("max_pool_check: %s", err.message);
    int oh = simclr_conv2d_output_size(config.in_height, config.kernel, config.stride, config.padding);
    int ow = simclr_conv2d_output_size(config.in_width, config.kernel, config.stride, config.padding);
    size_t in_count = (size_t)batch * config.in_height * config.in_width * config.channels;
    size_t out_count = (size_t)batch * oh * ow * config.channels;
    float *in = float_array(in_count), *out = float_array(out_count), *r = float_array(out_count);
    fill_uniform(in, in_count, -1.0f, 1.0f, key);
    fill_uniform(r, out_count, -1.0f, 1.0f, key + 1);
    double *in64 = malloc(in_count * sizeof *in64), *out64 = malloc(out_count * sizeof *out64);
    double *r64 = malloc(out_count * sizeof *r64);
    assert_true(in64 && out64 && r64);
    for (size_t i = 0; i < in_count; i++) in64[i] = in[i];
    for (size_t i = 0; i < out_count; i++) r64[i] = r[i];
    reference_max_pool(&config, in64, batch, out64, NULL);
    float *expected = float_array(out_count);
    for (size_t i = 0; i < out_count; i++) expected[i] = (float)out64[i];

    simclr_nn_layout layouts[] = {SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NCHW, SIMCLR_NN_LAYOUT_BLOCKED16,
                                  SIMCLR_NN_LAYOUT_BLOCKED8};
    for (int l = 0; l < 4; l++) {
        int block = simclr_nn_layout_block(layouts[l]);
        if (block > 0 && config.channels % block != 0) continue;
        simclr_max_pool_config c = config;
        c.layout = layouts[l];
        float *in_l = float_array(in_count), *out_l = float_array(out_count), *r_l = float_array(out_count);
        float *nhwc_out = float_array(out_count), *d_in = float_array(in_count);
        int h = config.in_height, w = config.in_width, ch = config.channels;
        simclr_nn_activations_from_nhwc(in_l, c.layout, SIMCLR_NN_PRECISION_FP32, in, batch, h, w, ch);
        simclr_nn_activations_from_nhwc(r_l, c.layout, SIMCLR_NN_PRECISION_FP32, r, batch, oh, ow, ch);
        simclr_max_pool_forward(&c, out_l, in_l, batch);
        simclr_nn_activations_to_nhwc(nhwc_out, out_l, c.layout, SIMCLR_NN_PRECISION_FP32, batch, oh, ow, ch);
        char label[96];
        snprintf(label, sizeof label, "max pool %s forward", simclr_nn_layout_name(c.layout));
        test_assert_close(label, nhwc_out, expected, out_count, 0.0, 0.0);
        /* In place: the input gradient over the input itself. */
        if (simclr_max_pool_backward(&c, in_l, r_l, in_l, batch, &err)) fail_msg("backward: %s", err.message);
        simclr_nn_activations_to_nhwc(d_in, in_l, c.layout, SIMCLR_NN_PRECISION_FP32, batch, h, w, ch);
        /* Central differences (inputs are distinct, so the maxima do not move for a small step). */
        size_t samples = in_count < 80 ? in_count : 80;
        float *numeric = float_array(samples), *picked = float_array(samples);
        for (size_t s = 0; s < samples; s++) {
            size_t i = samples == in_count ? s : (s * 7919u) % in_count;
            double saved = in64[i];
            in64[i] = saved + 1e-7;
            double above = reference_max_pool(&config, in64, batch, NULL, r64);
            in64[i] = saved - 1e-7;
            double below = reference_max_pool(&config, in64, batch, NULL, r64);
            in64[i] = saved;
            numeric[s] = (float)((above - below) / 2e-7);
            picked[s] = d_in[i];
        }
        snprintf(label, sizeof label, "max pool %s d_in", simclr_nn_layout_name(c.layout));
        test_assert_close(label, picked, numeric, samples, 1e-5, 1e-5);
        free(numeric), free(picked), free(in_l), free(out_l), free(r_l), free(nhwc_out), free(d_in);
    }
    free(in), free(out), free(r), free(in64), free(out64), free(r64), free(expected);
}

static void test_max_pool(void **state)
{
    (void)state;
    /* ResNet's ImageNet stem (3x3, stride 2, padding 1), on an odd and an even size. */
    run_max_pool_case((simclr_max_pool_config){9, 8, 16, 3, 2, 1, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC}, 2, 10);
    run_max_pool_case((simclr_max_pool_config){6, 7, 5, 2, 2, 0, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC}, 3, 20);
    /* Large enough for the threaded path. */
    run_max_pool_case((simclr_max_pool_config){24, 24, 32, 3, 2, 1, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC}, 4, 30);
}

static void test_global_avg_pool(void **state)
{
    (void)state;
    enum { N = 3, H = 5, W = 4, C = 32 };
    size_t in_count = (size_t)N * H * W * C;
    float *in = float_array(in_count), *r = float_array(N * C), *expected = float_array(N * C);
    float *expected_d_in = float_array(in_count);
    fill_uniform(in, in_count, -1.0f, 1.0f, 40);
    fill_uniform(r, N * C, -1.0f, 1.0f, 41);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double sum = 0.0;
            for (int p = 0; p < H * W; p++) sum += in[((size_t)n * H * W + p) * C + c];
            expected[n * C + c] = (float)(sum / (H * W));
            /* d(sum_nc out * r) / d in = r / (H * W): exact by linearity, no differences needed. */
            for (int p = 0; p < H * W; p++)
                expected_d_in[((size_t)n * H * W + p) * C + c] = r[n * C + c] / (float)(H * W);
        }
    simclr_nn_layout layouts[] = {SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_NCHW, SIMCLR_NN_LAYOUT_BLOCKED16,
                                  SIMCLR_NN_LAYOUT_BLOCKED8};
    for (int l = 0; l < 4; l++) {
        float *in_l = float_array(in_count), *out = float_array(N * C), *d_in = float_array(in_count);
        float *d_in_nhwc = float_array(in_count);
        simclr_nn_activations_from_nhwc(in_l, layouts[l], SIMCLR_NN_PRECISION_FP32, in, N, H, W, C);
        simclr_global_avg_pool_forward(out, in_l, layouts[l], SIMCLR_NN_PRECISION_FP32, N, H, W, C);
        simclr_global_avg_pool_backward(d_in, r, layouts[l], SIMCLR_NN_PRECISION_FP32, N, H, W, C);
        simclr_nn_activations_to_nhwc(d_in_nhwc, d_in, layouts[l], SIMCLR_NN_PRECISION_FP32, N, H, W, C);
        char label[64];
        snprintf(label, sizeof label, "avg pool %s forward", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, out, expected, N * C, 1e-6, 1e-6);
        snprintf(label, sizeof label, "avg pool %s d_in", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, d_in_nhwc, expected_d_in, in_count, 1e-7, 1e-6);
        /* bf16 input: the same means of the bf16-rounded values. */
        uint16_t *in16 = malloc(in_count * 2);
        assert_non_null(in16);
        simclr_nn_activations_from_nhwc(in16, layouts[l], SIMCLR_NN_PRECISION_BF16, in, N, H, W, C);
        simclr_global_avg_pool_forward(out, in16, layouts[l], SIMCLR_NN_PRECISION_BF16, N, H, W, C);
        snprintf(label, sizeof label, "avg pool %s bf16 forward", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, out, expected, N * C, 4e-3, 0.0);
        free(in16), free(in_l), free(out), free(d_in), free(d_in_nhwc);
    }
    free(in), free(r), free(expected), free(expected_d_in);
}

static void test_add(void **state)
{
    (void)state;
    enum { COUNT = 1000 };
    float a[COUNT], b[COUNT], out[COUNT], expected[COUNT];
    fill_uniform(a, COUNT, -1.0f, 1.0f, 50);
    fill_uniform(b, COUNT, -1.0f, 1.0f, 51);
    for (int i = 0; i < COUNT; i++) expected[i] = a[i] + b[i] > 0.0f ? a[i] + b[i] : 0.0f;
    simclr_add_forward(out, a, b, COUNT, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_ACTIVATION_RELU);
    test_assert_close("add relu", out, expected, COUNT, 0.0, 0.0);
    for (int i = 0; i < COUNT; i++) expected[i] = a[i] + b[i];
    memcpy(out, a, sizeof out);
    simclr_add_forward(out, out, b, COUNT, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_ACTIVATION_NONE);
    test_assert_close("add in place", out, expected, COUNT, 0.0, 0.0);
    uint16_t a16[COUNT], b16[COUNT], out16[COUNT];
    simclr_nn_f32_to_bf16(a16, a, COUNT);
    simclr_nn_f32_to_bf16(b16, b, COUNT);
    simclr_add_forward(out16, a16, b16, COUNT, SIMCLR_NN_PRECISION_BF16, SIMCLR_NN_ACTIVATION_NONE);
    simclr_nn_bf16_to_f32(out, out16, COUNT);
    test_assert_close("add bf16", out, expected, COUNT, 1e-2, 1.0 / 64);
}

static void test_refuses_bad_pools(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_max_pool_config too_small = {1, 1, 8, 3, 2, 0, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC};
    assert_int_equal(simclr_max_pool_check(&too_small, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    simclr_max_pool_config padded = {8, 8, 8, 3, 2, 2, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC};
    assert_int_equal(simclr_max_pool_check(&padded, &err), -1);
    simclr_max_pool_config blocked = {8, 8, 8, 3, 2, 1, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_BLOCKED16};
    assert_int_equal(simclr_max_pool_check(&blocked, &err), -1);
    simclr_max_pool_config blocked8 = {8, 8, 12, 3, 2, 1, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_BLOCKED8};
    assert_int_equal(simclr_max_pool_check(&blocked8, &err), -1);
    assert_non_null(strstr(err.message, "nChw8c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_pool),
        cmocka_unit_test(test_global_avg_pool),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_refuses_bad_pools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
