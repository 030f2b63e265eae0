/*
 * Keras Adam: hand-computed steps, and three steps against the float32 numpy transcription of
 * Keras's update in tools/make_torch_fixtures.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/optim.h"
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_keras_defaults(void **state)
{
    (void)state;
    simclr_adam_config config = simclr_adam_config_keras();
    assert_true(config.learning_rate == 1e-3f);
    assert_true(config.beta1 == 0.9f);
    assert_true(config.beta2 == 0.999f);
    assert_true(config.epsilon == 1e-7f);
}

static void test_two_hand_computed_steps(void **state)
{
    (void)state;
    simclr_adam_config config = simclr_adam_config_keras();
    config.learning_rate = 0.1f; /* large enough for the steps to show */
    simclr_adam opt;
    simclr_error err = {0};
    assert_int_equal(simclr_adam_init(&opt, 3, &config, &err), 0);
    float weights[3] = {1.0f, -2.0f, 0.5f};

    /* As in Keras, beta^t is float32 (0.9f = 0.90000004, 0.999f = 0.99900001) while the moment
     * rates (1 - beta) are 0.1 and 0.001 (Python doubles rounded to float32).
     * Step 1, t = 1, g = (0.5, -1, 2):
     *   alpha = 0.1 * sqrt(1 - 0.999f) / (1 - 0.9f) = 0.1 * sqrt(0.00099998713) / 0.10000002
     *         = 0.0316225660
     *   m = 0.1 g = (0.05, -0.1, 0.2);  v = 0.001 g^2 = (0.00025, 0.001, 0.004)
     *   sqrt(v) = (0.0158113883, 0.0316227766, 0.0632455532)
     *   w -= alpha m / (sqrt(v) + 1e-7): |step| = 0.0316225660 * 3.16227766 * sqrt(v) /
     *   (sqrt(v) + 1e-7) = 0.0999993 * (0.99999368, 0.99999684, 0.99999842)
     *   w = (0.90000130, -1.90000098, 0.40000082) */
    float grads1[3] = {0.5f, -1.0f, 2.0f};
    simclr_adam_update(&opt, weights, grads1);
    assert_int_equal(opt.step, 1);
    float expected1[3] = {0.90000130f, -1.90000098f, 0.40000082f};
    test_assert_close("adam step 1 weights", weights, expected1, 3, 0.0, 2e-7);
    float moments1[3] = {0.05f, -0.1f, 0.2f};
    test_assert_close("adam step 1 m", opt.m, moments1, 3, 0.0, 2e-7);

    /* Step 2, t = 2, g = (0.25, 1, -2):
     *   alpha = 0.1 * sqrt(1 - 0.999f^2) / (1 - 0.9f^2) = 0.1 * sqrt(0.00199897428) / 0.19000004
     *         = 0.0235315162
     *   m = 0.9 m + 0.1 g = (0.07, 0.01, -0.02)
     *   v = 0.999 v + 0.001 g^2 = (0.00031225, 0.001999, 0.007996)
     *   w0 = 0.90000130 - 0.0235315162 * 0.07 / (0.0176705970 + 1e-7) = 0.80678448
     *   w1 = -1.90000098 - 0.0235315162 * 0.01 / (0.0447101778 + 1e-7) = -1.90526409
     *   w2 = 0.40000082 + 0.0235315162 * 0.02 / (0.0894203556 + 1e-7) = 0.40526394 */
    float grads2[3] = {0.25f, 1.0f, -2.0f};
    simclr_adam_update(&opt, weights, grads2);
    assert_int_equal(opt.step, 2);
    float expected2[3] = {0.80678448f, -1.90526409f, 0.40526394f};
    test_assert_close("adam step 2 weights", weights, expected2, 3, 0.0, 1e-6);
    float moments2[3] = {0.07f, 0.01f, -0.02f};
    float second2[3] = {0.00031225f, 0.001999f, 0.007996f};
    test_assert_close("adam step 2 m", opt.m, moments2, 3, 0.0, 1e-6);
    test_assert_close("adam step 2 v", opt.v, second2, 3, 0.0, 1e-6);
    simclr_adam_free(&opt);
}

/* The fixture: 64 weights (the first four with gradients ~1e-4, where epsilon's placement
 * matters), three steps with Keras's defaults. */
static void test_against_fixture(void **state)
{
    (void)state;
    enum { COUNT = 64, STEPS = 3 };
    float *weights = test_load_fixture_floats("torch_adam_weights0.f32", COUNT);
    float *grads = test_load_fixture_floats("torch_adam_grads.f32", (size_t)STEPS * COUNT);
    float *expected = test_load_fixture_floats("torch_adam_weights.f32", (size_t)STEPS * COUNT);
    simclr_adam_config config = simclr_adam_config_keras();
    simclr_adam opt;
    simclr_error err = {0};
    assert_int_equal(simclr_adam_init(&opt, COUNT, &config, &err), 0);
    for (int step = 0; step < STEPS; step++) {
        simclr_adam_update(&opt, weights, grads + (size_t)step * COUNT);
        test_assert_close("adam fixture step", weights, expected + (size_t)step * COUNT, COUNT,
                          1e-7, 1e-6);
    }
    simclr_adam_free(&opt);
    free(weights), free(grads), free(expected);
}

/* A parameter block large enough for the parallel loop gives the same result per element. */
static void test_parallel_matches_serial(void **state)
{
    (void)state;
    size_t count = 100003;
    float *big = calloc(count, sizeof *big), *grads = calloc(count, sizeof *grads);
    assert_non_null(big);
    assert_non_null(grads);
    for (size_t i = 0; i < count; i++) {
        big[i] = (float)(i % 7) - 3.0f;
        grads[i] = (float)(i % 5) * 0.25f - 0.5f;
    }
    simclr_adam_config config = simclr_adam_config_keras();
    simclr_adam large, small;
    simclr_error err = {0};
    assert_int_equal(simclr_adam_init(&large, count, &config, &err), 0);
    assert_int_equal(simclr_adam_init(&small, 35, &config, &err), 0);
    float reference[35];
    memcpy(reference, big, sizeof reference);
    for (int step = 0; step < 3; step++) {
        simclr_adam_update(&large, big, grads);
        simclr_adam_update(&small, reference, grads);
    }
    assert_memory_equal(big, reference, sizeof reference);
    assert_memory_equal(big + 35, reference, 35 * sizeof(float)); /* period 35 = lcm(7, 5) */
    simclr_adam_free(&large);
    simclr_adam_free(&small);
    free(big), free(grads);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keras_defaults),
        cmocka_unit_test(test_two_hand_computed_steps),
        cmocka_unit_test(test_against_fixture),
        cmocka_unit_test(test_parallel_matches_serial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
