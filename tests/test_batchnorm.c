/*
 * BatchNorm2d / BatchNorm1d (src/nn/batchnorm.c):
 *   against PyTorch (fixtures of tools/make_batchnorm_fixtures.py): training-mode forward, input,
 *   gamma and beta gradients, the running statistics after one step, the inference-mode output, the output recomputed from
 *   the batch statistics (bit for bit the forward's);
 *   the same cases in the NCHW and nChw16c layouts;
 *   every gradient against central differences of sum(act(bn(x)) * R) computed in double
 *   (training mode), on a small case and on one large enough to run on several threads;
 *   bf16 activations against fp32; in-place input gradients; refused configs and batches.
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

/* Entries per tensor checked by finite differences. */
#define GRADIENT_SAMPLES 64

static float *float_array(size_t count)
{
    float *values = calloc(count ? count : 1, sizeof *values);
    assert_non_null(values);
    return values;
}

static float *copy_of(const float *values, size_t count)
{
    float *copy = float_array(count);
    memcpy(copy, values, count * sizeof *copy);
    return copy;
}

static void fill_uniform(float *values, size_t count, float low, float high, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 11, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform(&stream, low, high);
}

/* ---- PyTorch fixtures ---------------------------------------------------------------------- */

typedef struct torch_case {
    const char *name;
    int batch, height, width, channels; /* height = width = 1 for BatchNorm1d */
    int relu;
} torch_case;

static const torch_case TORCH_CASES[] = {
    {"bn2d_relu", 3, 5, 4, 6, 1},
    {"bn2d", 2, 3, 3, 32, 0},
    {"bn1d", 5, 1, 1, 7, 0},
    {"bn1d_relu", 4, 1, 1, 9, 1},
};

typedef struct torch_tensors {
    size_t count, channels;
    float *input, *gamma, *beta, *running_mean0, *running_var0, *d_output;
    float *output, *d_input, *d_gamma, *d_beta, *running_mean, *running_var, *inference_output;
} torch_tensors;

static float *load(const torch_case *c, const char *tensor, size_t count)
{
    char name[96];
    snprintf(name, sizeof name, "batchnorm_%s_%s.f32", c->name, tensor);
    return test_load_fixture_floats(name, count);
}

static torch_tensors torch_load(const torch_case *c)
{
    torch_tensors t = {.channels = (size_t)c->channels};
    t.count = (size_t)c->batch * c->height * c->width * c->channels;
    t.input = load(c, "input", t.count);
    t.gamma = load(c, "gamma", t.channels);
    t.beta = load(c, "beta", t.channels);
    t.running_mean0 = load(c, "running_mean0", t.channels);
    t.running_var0 = load(c, "running_var0", t.channels);
    t.d_output = load(c, "d_output", t.count);
    t.output = load(c, "output", t.count);
    t.d_input = load(c, "d_input", t.count);
    t.d_gamma = load(c, "d_gamma", t.channels);
    t.d_beta = load(c, "d_beta", t.channels);
    t.running_mean = load(c, "running_mean", t.channels);
    t.running_var = load(c, "running_var", t.channels);
    t.inference_output = load(c, "inference_output", t.count);
    return t;
}

static void torch_free(torch_tensors *t)
{
    free(t->input), free(t->gamma), free(t->beta), free(t->running_mean0), free(t->running_var0);
    free(t->d_output), free(t->output), free(t->d_input), free(t->d_gamma), free(t->d_beta);
    free(t->running_mean), free(t->running_var), free(t->inference_output);
}

/* One training step and one inference pass of case c in `layout`, compared with PyTorch. */
static void run_torch_case(const torch_case *c, simclr_nn_layout layout)
{
    torch_tensors t = torch_load(c);
    simclr_batchnorm_config config = simclr_batchnorm_config_default(c->channels, c->height * c->width);
    config.activation = c->relu ? SIMCLR_NN_ACTIVATION_RELU : SIMCLR_NN_ACTIVATION_NONE;
    config.layout = layout;
    simclr_error err = {0};
    if (simclr_batchnorm_check(&config, &err)) fail_msg("batchnorm_check: %s", err.message);
    float *in = float_array(t.count), *out = float_array(t.count), *d_out = float_array(t.count);
    float *d_in = float_array(t.count), *nhwc = float_array(t.count);
    float *running_mean = copy_of(t.running_mean0, t.channels);
    float *running_var = copy_of(t.running_var0, t.channels);
    float *mean = float_array(t.channels), *invstd = float_array(t.channels);
    float *d_gamma = float_array(t.channels), *d_beta = float_array(t.channels);
    int h = c->height, w = c->width, ch = c->channels;
    simclr_nn_activations_from_nhwc(in, layout, SIMCLR_NN_PRECISION_FP32, t.input, c->batch, h, w, ch);
    if (simclr_batchnorm_forward_training(&config, out, in, t.gamma, t.beta, running_mean, running_var,
                                          mean, invstd, c->batch, &err))
        fail_msg("forward_training: %s", err.message);
    /* The output again from the statistics, as a network's backward recomputes it: bit for bit. */
    if (simclr_batchnorm_recompute_output(&config, d_in, in, t.gamma, t.beta, mean, invstd, c->batch, &err))
        fail_msg("recompute_output: %s", err.message);
    assert_memory_equal(d_in, out, t.count * sizeof(float));
    simclr_nn_activations_from_nhwc(d_out, layout, SIMCLR_NN_PRECISION_FP32, t.d_output, c->batch, h, w, ch);
    if (simclr_batchnorm_backward(&config, d_in, d_gamma, d_beta, d_out, out, in, t.gamma, mean, invstd,
                                  c->batch, &err))
        fail_msg("backward: %s", err.message);

    char label[96];
    const char *layout_name = simclr_nn_layout_name(layout);
    simclr_nn_activations_to_nhwc(nhwc, out, layout, SIMCLR_NN_PRECISION_FP32, c->batch, h, w, ch);
    snprintf(label, sizeof label, "%s %s forward", c->name, layout_name);
    test_assert_close(label, nhwc, t.output, t.count, 1e-5, 1e-5);
    simclr_nn_activations_to_nhwc(nhwc, d_in, layout, SIMCLR_NN_PRECISION_FP32, c->batch, h, w, ch);
    snprintf(label, sizeof label, "%s %s d_input", c->name, layout_name);
    test_assert_close(label, nhwc, t.d_input, t.count, 1e-5, 1e-4);
    snprintf(label, sizeof label, "%s %s d_gamma", c->name, layout_name);
    test_assert_close(label, d_gamma, t.d_gamma, t.channels, 1e-5, 1e-5);
    snprintf(label, sizeof label, "%s %s d_beta", c->name, layout_name);
    test_assert_close(label, d_beta, t.d_beta, t.channels, 1e-5, 1e-5);
    snprintf(label, sizeof label, "%s %s running_mean", c->name, layout_name);
    test_assert_close(label, running_mean, t.running_mean, t.channels, 1e-6, 1e-6);
    snprintf(label, sizeof label, "%s %s running_var", c->name, layout_name);
    test_assert_close(label, running_var, t.running_var, t.channels, 1e-6, 1e-6);

    if (simclr_batchnorm_forward_inference(&config, out, in, t.gamma, t.beta, running_mean, running_var,
                                           c->batch, &err))
        fail_msg("forward_inference: %s", err.message);
    simclr_nn_activations_to_nhwc(nhwc, out, layout, SIMCLR_NN_PRECISION_FP32, c->batch, h, w, ch);
    snprintf(label, sizeof label, "%s %s inference", c->name, layout_name);
    test_assert_close(label, nhwc, t.inference_output, t.count, 1e-5, 1e-5);

    free(in), free(out), free(d_out), free(d_in), free(nhwc), free(running_mean), free(running_var);
    free(mean), free(invstd), free(d_gamma), free(d_beta);
    torch_free(&t);
}

static void test_torch_nhwc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TORCH_CASES / sizeof TORCH_CASES[0]; i++)
        run_torch_case(&TORCH_CASES[i], SIMCLR_NN_LAYOUT_NHWC);
}

static void test_torch_nchw_and_blocked(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TORCH_CASES / sizeof TORCH_CASES[0]; i++) {
        run_torch_case(&TORCH_CASES[i], SIMCLR_NN_LAYOUT_NCHW);
        if (TORCH_CASES[i].channels % 16 == 0) run_torch_case(&TORCH_CASES[i], SIMCLR_NN_LAYOUT_BLOCKED16);
        if (TORCH_CASES[i].channels % 8 == 0) run_torch_case(&TORCH_CASES[i], SIMCLR_NN_LAYOUT_BLOCKED8);
    }
}

/* ---- Finite differences in double ---------------------------------------------------------- */

typedef struct fd_case {
    int batch, spatial, channels, relu;
    double *x, *gamma, *beta, *r; /* NHWC */
} fd_case;

/* sum(act(bn(x)) * r) with the batch's statistics, in double. */
static double fd_objective(const fd_case *c)
{
    size_t rows = (size_t)c->batch * c->spatial, channels = (size_t)c->channels;
    double total = 0.0;
    for (size_t ch = 0; ch < channels; ch++) {
        double sum = 0.0, square = 0.0;
        for (size_t i = 0; i < rows; i++) sum += c->x[i * channels + ch];
        double mean = sum / (double)rows;
        for (size_t i = 0; i < rows; i++) {
            double d = c->x[i * channels + ch] - mean;
            square += d * d;
        }
        double invstd = 1.0 / sqrt(square / (double)rows + 1e-5);
        for (size_t i = 0; i < rows; i++) {
            double y = c->gamma[ch] * (c->x[i * channels + ch] - mean) * invstd + c->beta[ch];
            if (c->relu && y < 0.0) y = 0.0;
            total += y * c->r[i * channels + ch];
        }
    }
    return total;
}

static void check_gradient(const char *label, double *values, size_t count, const float *analytic,
                           const fd_case *c)
{
    size_t samples = count < GRADIENT_SAMPLES ? count : GRADIENT_SAMPLES;
    float *numeric = float_array(samples), *picked = float_array(samples);
    for (size_t s = 0; s < samples; s++) {
        size_t i = samples == count ? s : (s * 7919u) % count;
        double saved = values[i];
        double step = 1e-6 * fmax(1.0, fabs(saved));
        values[i] = saved + step;
        double above = fd_objective(c);
        values[i] = saved - step;
        double below = fd_objective(c);
        values[i] = saved;
        numeric[s] = (float)((above - below) / (2.0 * step));
        picked[s] = analytic[i];
    }
    test_assert_close(label, picked, numeric, samples, 1e-4, 1e-4);
    free(numeric);
    free(picked);
}

static double *as_double(const float *values, size_t count)
{
    double *copy = malloc(count * sizeof *copy);
    assert_non_null(copy);
    for (size_t i = 0; i < count; i++) copy[i] = values[i];
    return copy;
}

static void run_fd_case(const char *name, int batch, int spatial, int channels, int relu, uint64_t key)
{
    size_t count = (size_t)batch * spatial * channels, c_count = (size_t)channels;
    float *x = float_array(count), *gamma = float_array(c_count), *beta = float_array(c_count);
    float *r = float_array(count);
    fill_uniform(x, count, -1.5f, 2.5f, key);
    fill_uniform(gamma, c_count, 0.5f, 1.5f, key + 1);
    fill_uniform(beta, c_count, -0.3f, 0.3f, key + 2);
    fill_uniform(r, count, -1.0f, 1.0f, key + 3);
    simclr_batchnorm_config config = simclr_batchnorm_config_default(channels, spatial);
    config.activation = relu ? SIMCLR_NN_ACTIVATION_RELU : SIMCLR_NN_ACTIVATION_NONE;
    float *out = float_array(count), *d_out = copy_of(r, count), *d_in = float_array(count);
    float *mean = float_array(c_count), *invstd = float_array(c_count);
    float *d_gamma = float_array(c_count), *d_beta = float_array(c_count);
    simclr_error err = {0};
    if (simclr_batchnorm_forward_training(&config, out, x, gamma, beta, NULL, NULL, mean, invstd, batch, &err) ||
        simclr_batchnorm_backward(&config, d_in, d_gamma, d_beta, d_out, out, x, gamma, mean, invstd, batch,
                                  &err))
        fail_msg("%s: %s", name, err.message);
    fd_case c = {batch, spatial, channels, relu, as_double(x, count), as_double(gamma, c_count),
                 as_double(beta, c_count), as_double(r, count)};
    char label[96];
    snprintf(label, sizeof label, "%s d_input", name);
    check_gradient(label, c.x, count, d_in, &c);
    snprintf(label, sizeof label, "%s d_gamma", name);
    check_gradient(label, c.gamma, c_count, d_gamma, &c);
    snprintf(label, sizeof label, "%s d_beta", name);
    check_gradient(label, c.beta, c_count, d_beta, &c);

    /* The input gradient written over the input itself (the network's in-place backward) and a
     * second backward adding the same parameter gradients again. */
    float *in_place = copy_of(x, count);
    memcpy(d_out, r, count * sizeof *d_out);
    if (simclr_batchnorm_backward(&config, in_place, d_gamma, d_beta, d_out, out, in_place, gamma, mean,
                                  invstd, batch, &err))
        fail_msg("%s: %s", name, err.message);
    snprintf(label, sizeof label, "%s d_input in place", name);
    test_assert_close(label, in_place, d_in, count, 0.0, 0.0);
    free(in_place);

    free(c.x), free(c.gamma), free(c.beta), free(c.r);
    free(x), free(gamma), free(beta), free(r), free(out), free(d_out), free(d_in);
    free(mean), free(invstd), free(d_gamma), free(d_beta);
}

static void test_finite_differences(void **state)
{
    (void)state;
    run_fd_case("bn2d 2x(4x3)x5", 2, 12, 5, 0, 100);
    run_fd_case("bn2d relu 3x(3x3)x4", 3, 9, 4, 1, 200);
    run_fd_case("bn1d 6x8", 6, 1, 8, 0, 300);
    /* More than BATCHNORM_PARALLEL_MIN elements: the threaded path. */
    run_fd_case("bn2d relu threaded 4x(10x10)x48", 4, 100, 48, 1, 400);
}

/* ---- bf16 ---------------------------------------------------------------------------------- */

/* bf16 activations against fp32 on bf16-representable inputs and output gradients: the outputs
 * and input gradients differ by bf16's final rounding (2^-8 relative), the parameter gradients
 * (float32 sums of exactly representable products) by summation order. */
static void test_bf16_matches_fp32(void **state)
{
    (void)state;
    enum { N = 4, HW = 25, C = 32 };
    size_t count = (size_t)N * HW * C;
    float *x = float_array(count), *r = float_array(count), *gamma = float_array(C), *beta = float_array(C);
    fill_uniform(x, count, -1.0f, 3.0f, 500);
    fill_uniform(r, count, -1.0f, 1.0f, 501);
    fill_uniform(gamma, C, 0.5f, 1.5f, 502);
    fill_uniform(beta, C, -0.3f, 0.3f, 503);
    uint16_t *x16 = malloc(count * 2), *r16 = malloc(count * 2), *out16 = malloc(count * 2);
    uint16_t *d_in16 = malloc(count * 2);
    assert_true(x16 && r16 && out16 && d_in16);
    simclr_nn_f32_to_bf16(x16, x, count);
    simclr_nn_bf16_to_f32(x, x16, count);
    simclr_nn_f32_to_bf16(r16, r, count);
    simclr_nn_bf16_to_f32(r, r16, count);
    simclr_nn_layout layouts[] = {SIMCLR_NN_LAYOUT_NHWC, SIMCLR_NN_LAYOUT_BLOCKED16, SIMCLR_NN_LAYOUT_BLOCKED8};
    for (int l = 0; l < 3; l++) {
        simclr_batchnorm_config config = simclr_batchnorm_config_default(C, HW);
        config.activation = SIMCLR_NN_ACTIVATION_RELU;
        config.layout = layouts[l];
        float *xl = float_array(count), *rl = float_array(count), *out = float_array(count);
        float *d_in = float_array(count), *mean = float_array(C), *invstd = float_array(C);
        float *d_gamma = float_array(C), *d_beta = float_array(C);
        float *mean16 = float_array(C), *invstd16 = float_array(C);
        float *d_gamma16 = float_array(C), *d_beta16 = float_array(C);
        float *out_from16 = float_array(count), *d_in_from16 = float_array(count);
        simclr_nn_activations_from_nhwc(xl, layouts[l], SIMCLR_NN_PRECISION_FP32, x, N, HW, 1, C);
        simclr_nn_activations_from_nhwc(rl, layouts[l], SIMCLR_NN_PRECISION_FP32, r, N, HW, 1, C);
        simclr_nn_activations_from_nhwc(x16, layouts[l], SIMCLR_NN_PRECISION_BF16, x, N, HW, 1, C);
        simclr_nn_activations_from_nhwc(r16, layouts[l], SIMCLR_NN_PRECISION_BF16, r, N, HW, 1, C);
        simclr_error err = {0};
        if (simclr_batchnorm_forward_training(&config, out, xl, gamma, beta, NULL, NULL, mean, invstd, N, &err) ||
            simclr_batchnorm_backward(&config, d_in, d_gamma, d_beta, rl, out, xl, gamma, mean, invstd, N, &err))
            fail_msg("fp32: %s", err.message);
        config.precision = SIMCLR_NN_PRECISION_BF16;
        if (simclr_batchnorm_forward_training(&config, out16, x16, gamma, beta, NULL, NULL, mean16, invstd16, N,
                                              &err) ||
            simclr_batchnorm_backward(&config, d_in16, d_gamma16, d_beta16, r16, out16, x16, gamma, mean16,
                                      invstd16, N, &err))
            fail_msg("bf16: %s", err.message);
        simclr_nn_activations_to_nhwc(out_from16, out16, layouts[l], SIMCLR_NN_PRECISION_BF16, N, HW, 1, C);
        simclr_nn_activations_to_nhwc(d_in_from16, d_in16, layouts[l], SIMCLR_NN_PRECISION_BF16, N, HW, 1, C);
        simclr_nn_activations_to_nhwc(xl, out, layouts[l], SIMCLR_NN_PRECISION_FP32, N, HW, 1, C);
        simclr_nn_activations_to_nhwc(rl, d_in, layouts[l], SIMCLR_NN_PRECISION_FP32, N, HW, 1, C);
        char label[64];
        snprintf(label, sizeof label, "bf16 %s forward", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, out_from16, xl, count, 1e-3, 1.0 / 128);
        snprintf(label, sizeof label, "bf16 %s d_input", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, d_in_from16, rl, count, 1e-3, 1.0 / 128);
        snprintf(label, sizeof label, "bf16 %s batch mean", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, mean16, mean, C, 1e-6, 1e-6);
        snprintf(label, sizeof label, "bf16 %s d_gamma", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, d_gamma16, d_gamma, C, 1e-3, 1e-3);
        snprintf(label, sizeof label, "bf16 %s d_beta", simclr_nn_layout_name(layouts[l]));
        test_assert_close(label, d_beta16, d_beta, C, 1e-4, 1e-4);
        free(xl), free(rl), free(out), free(d_in), free(mean), free(invstd), free(d_gamma), free(d_beta);
        free(mean16), free(invstd16), free(d_gamma16), free(d_beta16), free(out_from16), free(d_in_from16);
    }
    free(x), free(r), free(gamma), free(beta), free(x16), free(r16), free(out16), free(d_in16);
}

/* ---- Bad input ----------------------------------------------------------------------------- */

static void test_refuses_bad_configs(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_batchnorm_config config = simclr_batchnorm_config_default(24, 4);
    config.layout = SIMCLR_NN_LAYOUT_BLOCKED16;
    assert_int_equal(simclr_batchnorm_check(&config, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, "multiple of 16"));
    config = simclr_batchnorm_config_default(20, 4);
    config.layout = SIMCLR_NN_LAYOUT_BLOCKED8;
    assert_int_equal(simclr_batchnorm_check(&config, &err), -1);
    assert_non_null(strstr(err.message, "nChw8c layout (expected a multiple of 8)"));
    config = simclr_batchnorm_config_default(0, 4);
    assert_int_equal(simclr_batchnorm_check(&config, &err), -1);
    config = simclr_batchnorm_config_default(4, 4);
    config.momentum = 1.5f;
    assert_int_equal(simclr_batchnorm_check(&config, &err), -1);
    config = simclr_batchnorm_config_default(4, 4);
    config.eps = 0.0f;
    assert_int_equal(simclr_batchnorm_check(&config, &err), -1);

    /* One value per channel: PyTorch refuses to train on it, and so do we. */
    config = simclr_batchnorm_config_default(3, 1);
    float x[3] = {1, 2, 3}, out[3], gamma[3] = {1, 1, 1}, beta[3] = {0}, mean[3], invstd[3];
    assert_int_equal(simclr_batchnorm_forward_training(&config, out, x, gamma, beta, NULL, NULL, mean, invstd,
                                                       1, &err),
                     -1);
    assert_non_null(strstr(err.message, "more than one value per channel"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_nhwc),
        cmocka_unit_test(test_torch_nchw_and_blocked),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_bf16_matches_fp32),
        cmocka_unit_test(test_refuses_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
