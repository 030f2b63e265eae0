/*
 * Dense layers, ReLU and Glorot initialisation. Gradients are checked against central differences
 * of the objective sum(out * R) computed in double, so only the float32 layer's error shows.
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

typedef struct dense_case {
    int batch, in_features, out_features;
    simclr_nn_activation activation;
    double *in, *weight, *bias, *seed; /* double copies read by the objective */
} dense_case;

static void fill_uniform(float *values, size_t count, float low, float high, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 11, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform(&stream, low, high);
}

static float *float_array(size_t count)
{
    float *values = calloc(count ? count : 1, sizeof *values);
    assert_non_null(values);
    return values;
}

static double *to_double(const float *values, size_t count)
{
    double *copy = malloc(count * sizeof *copy);
    assert_non_null(copy);
    for (size_t i = 0; i < count; i++) copy[i] = values[i];
    return copy;
}

/* out (N, O) = act(in @ weight + bias) in double. */
static void reference_forward(double *out, const dense_case *c)
{
    for (int n = 0; n < c->batch; n++)
        for (int o = 0; o < c->out_features; o++) {
            double sum = c->bias[o];
            for (int i = 0; i < c->in_features; i++)
                sum += c->in[(size_t)n * c->in_features + i] *
                       c->weight[(size_t)i * c->out_features + o];
            if (c->activation == SIMCLR_NN_ACTIVATION_RELU && sum < 0.0) sum = 0.0;
            out[(size_t)n * c->out_features + o] = sum;
        }
}

static double objective(const dense_case *c)
{
    size_t count = (size_t)c->batch * c->out_features;
    double *out = malloc(count * sizeof *out);
    assert_non_null(out);
    reference_forward(out, c);
    double total = 0.0;
    for (size_t i = 0; i < count; i++) total += out[i] * c->seed[i];
    free(out);
    return total;
}

static void check_gradient(const char *label, double *values, size_t count, const float *analytic,
                           const dense_case *c)
{
    float *numeric = float_array(count);
    for (size_t i = 0; i < count; i++) {
        double saved = values[i];
        double step = 1e-6 * fmax(1.0, fabs(saved));
        values[i] = saved + step;
        double above = objective(c);
        values[i] = saved - step;
        double below = objective(c);
        values[i] = saved;
        numeric[i] = (float)((above - below) / (2.0 * step));
    }
    test_assert_close(label, analytic, numeric, count, 2e-5, 2e-5);
    free(numeric);
}

static void run_case(int batch, int in_features, int out_features, simclr_nn_activation activation,
                     uint64_t key)
{
    size_t in_count = (size_t)batch * in_features, out_count = (size_t)batch * out_features;
    size_t weight_count = (size_t)in_features * out_features;
    float *in = float_array(in_count), *weight = float_array(weight_count);
    float *bias = float_array((size_t)out_features), *out = float_array(out_count);
    float *seed = float_array(out_count), *d_out = float_array(out_count);
    float *d_in = float_array(in_count), *d_weight = float_array(weight_count);
    float *d_bias = float_array((size_t)out_features);
    fill_uniform(in, in_count, -1.0f, 1.0f, key);
    fill_uniform(weight, weight_count, -0.5f, 0.5f, key + 1);
    fill_uniform(bias, (size_t)out_features, -0.3f, 0.3f, key + 2);
    fill_uniform(seed, out_count, -1.0f, 1.0f, key + 3);
    dense_case c = {batch, in_features, out_features, activation, to_double(in, in_count),
                    to_double(weight, weight_count), to_double(bias, (size_t)out_features),
                    to_double(seed, out_count)};

    simclr_dense_forward(out, in, weight, bias, batch, in_features, out_features, activation);
    double *expected64 = malloc(out_count * sizeof *expected64);
    assert_non_null(expected64);
    reference_forward(expected64, &c);
    float *expected = float_array(out_count);
    for (size_t i = 0; i < out_count; i++) expected[i] = (float)expected64[i];
    char label[80];
    const char *name = activation == SIMCLR_NN_ACTIVATION_RELU ? "relu" : "linear";
    snprintf(label, sizeof label, "dense %s forward", name);
    test_assert_close(label, out, expected, out_count, 1e-5, 1e-5);

    memcpy(d_out, seed, out_count * sizeof *d_out);
    simclr_dense_backward(d_in, d_weight, d_bias, d_out, out, in, weight, batch, in_features,
                   out_features, activation);
    snprintf(label, sizeof label, "dense %s d_in", name);
    check_gradient(label, c.in, in_count, d_in, &c);
    snprintf(label, sizeof label, "dense %s d_weight", name);
    check_gradient(label, c.weight, weight_count, d_weight, &c);
    snprintf(label, sizeof label, "dense %s d_bias", name);
    check_gradient(label, c.bias, (size_t)out_features, d_bias, &c);

    /* Again with d_in NULL: the parameter gradients double. */
    float *twice_weight = float_array(weight_count), *twice_bias = float_array((size_t)out_features);
    for (size_t i = 0; i < weight_count; i++) twice_weight[i] = 2.0f * d_weight[i];
    for (int o = 0; o < out_features; o++) twice_bias[o] = 2.0f * d_bias[o];
    memcpy(d_out, seed, out_count * sizeof *d_out);
    simclr_dense_backward(NULL, d_weight, d_bias, d_out, out, in, weight, batch, in_features,
                   out_features, activation);
    test_assert_close("d_weight accumulates", d_weight, twice_weight, weight_count, 1e-6, 1e-6);
    test_assert_close("d_bias accumulates", d_bias, twice_bias, (size_t)out_features, 1e-6, 1e-6);

    free(twice_weight), free(twice_bias), free(expected), free(expected64);
    free(c.in), free(c.weight), free(c.bias), free(c.seed);
    free(in), free(weight), free(bias), free(out), free(seed), free(d_out), free(d_in);
    free(d_weight), free(d_bias);
}

static void test_dense_relu(void **state)
{
    (void)state;
    run_case(5, 7, 6, SIMCLR_NN_ACTIVATION_RELU, 10);
}

static void test_dense_linear(void **state)
{
    (void)state;
    run_case(3, 9, 4, SIMCLR_NN_ACTIVATION_NONE, 20);
}

static void test_dense_single_row(void **state)
{
    (void)state;
    run_case(1, 4, 10, SIMCLR_NN_ACTIVATION_NONE, 30);
}

static void test_relu(void **state)
{
    (void)state;
    float in[] = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f};
    float expected[] = {0.0f, 0.0f, 0.0f, 1e-30f, 3.5f};
    float out[5];
    simclr_relu_forward(out, in, 5);
    test_assert_close("relu forward", out, expected, 5, 0.0, 0.0);
    float d_y[] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    float d_expected[] = {0.0f, 0.0f, 0.0f, 4.0f, 5.0f};
    simclr_relu_backward(d_y, d_y, out, 5); /* in place */
    test_assert_close("relu backward", d_y, d_expected, 5, 0.0, 0.0);
    /* A large tensor takes the parallel path. */
    size_t count = 200000;
    float *big = float_array(count), *big_out = float_array(count);
    fill_uniform(big, count, -1.0f, 1.0f, 40);
    simclr_relu_forward(big_out, big, count);
    for (size_t i = 0; i < count; i++) assert_true(big_out[i] == (big[i] > 0.0f ? big[i] : 0.0f));
    free(big), free(big_out);
}

static void test_glorot_uniform(void **state)
{
    (void)state;
    /* conv1 of the seed: fan_in 3*3*3, fan_out 3*3*128 -> limit sqrt(6 / 1179) = 0.0713 */
    size_t count = 3 * 3 * 3 * 128;
    float *weights = float_array(count);
    simclr_rng_stream stream = simclr_rng_stream_make(1, SIMCLR_RNG_PURPOSE_INIT, 0, 0, 0, 0);
    simclr_nn_glorot_uniform(weights, count, 27, 1152, &stream);
    double limit = sqrt(6.0 / 1179.0), sum = 0.0, squares = 0.0;
    for (size_t i = 0; i < count; i++) {
        assert_true(fabs(weights[i]) <= limit);
        sum += weights[i];
        squares += (double)weights[i] * weights[i];
    }
    double mean = sum / count, variance = squares / count - mean * mean;
    assert_true(fabs(mean) < 0.05 * limit);
    /* U(-l, l) has variance l^2 / 3 */
    assert_true(fabs(variance / (limit * limit / 3.0) - 1.0) < 0.1);
    /* The same stream key gives the same weights. */
    float again[16];
    simclr_rng_stream replay = simclr_rng_stream_make(1, SIMCLR_RNG_PURPOSE_INIT, 0, 0, 0, 0);
    simclr_nn_glorot_uniform(again, 16, 27, 1152, &replay);
    assert_memory_equal(again, weights, sizeof again);
    free(weights);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_relu),      cmocka_unit_test(test_dense_linear),
        cmocka_unit_test(test_dense_single_row), cmocka_unit_test(test_relu),
        cmocka_unit_test(test_glorot_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
