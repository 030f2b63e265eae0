/*
 * The optimiser interface (optim.h) and the learning-rate schedule:
 *   - adamw, sgd and sgd + nesterov over 6 steps with per-step learning rates against PyTorch's
 *     AdamW / SGD (tools/make_torch_optimizer_fixtures.py; the bias tensor in a weight-decay-0
 *     group, as simclr excludes biases), every step's weights within 1e-6 + 1e-5 relative;
 *   - LARS against the SimCLR reference's formula written out below (double precision);
 *   - adam through the interface is simclr_adam_update bit for bit (the seed's path);
 *   - the schedule's per-step values (warm-up, cosine, constant) and the scaling rules;
 *   - bad configurations (weight decay with adam, negative decay) are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/optim.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COUNT = 24, STEPS = 6 };
static const simclr_param_tensor TENSORS[3] = {{0, 12, 0}, {12, 4, 1}, {16, 8, 0}};

static void check_against_torch(simclr_optimizer_kind kind, int nesterov, float decay, const char *fixture)
{
    float *w0 = test_load_fixture_floats("torch_optim_w0.f32", COUNT);
    float *grads = test_load_fixture_floats("torch_optim_grads.f32", STEPS * COUNT);
    float *lrs = test_load_fixture_floats("torch_optim_lrs.f32", STEPS);
    float *expected = test_load_fixture_floats(fixture, STEPS * COUNT);
    simclr_optimizer_config config = simclr_optimizer_config_default(kind);
    config.nesterov = nesterov;
    config.weight_decay = decay;
    simclr_optimizer opt;
    simclr_error err = {0};
    assert_int_equal(simclr_optimizer_init(&opt, &config, TENSORS, 3, &err), 0);
    float weights[COUNT];
    memcpy(weights, w0, sizeof weights);
    for (int step = 0; step < STEPS; step++) {
        simclr_optimizer_update(&opt, lrs[step], weights, grads + step * COUNT);
        char label[64];
        snprintf(label, sizeof label, "%s step %d", fixture, step + 1);
        test_assert_close(label, weights, expected + step * COUNT, COUNT, 1e-6, 1e-5);
    }
    assert_int_equal(opt.step, STEPS);
    simclr_optimizer_free(&opt);
    free(w0);
    free(grads);
    free(lrs);
    free(expected);
}

static void test_adamw_matches_torch(void **state)
{
    (void)state;
    check_against_torch(SIMCLR_OPTIMIZER_KIND_ADAMW, 0, 0.1f, "torch_optim_adamw.f32");
}

static void test_sgd_matches_torch(void **state)
{
    (void)state;
    check_against_torch(SIMCLR_OPTIMIZER_KIND_SGD, 0, 0.01f, "torch_optim_sgd.f32");
    check_against_torch(SIMCLR_OPTIMIZER_KIND_SGD, 1, 0.05f, "torch_optim_sgd_nesterov.f32");
}

/* google-research/simclr lars_optimizer.py, classic momentum, written out in double:
 *   for each tensor: if decayed: g += wd * w
 *                    trust = adapted and |w| > 0 and |g| > 0 ? eta |w| / |g| : 1
 *                    v = mu v + lr trust g;  w -= nesterov ? mu v + lr trust g : v */
static void lars_reference(double *w, double *v, const float *grads, double lr, double wd, double eta,
                           double mu, int nesterov)
{
    for (int t = 0; t < 3; t++) {
        const simclr_param_tensor *tensor = &TENSORS[t];
        int excluded = tensor->exclude_from_decay_and_adaptation;
        double g[COUNT], w_norm = 0, g_norm = 0;
        for (size_t i = 0; i < tensor->count; i++) {
            size_t k = tensor->offset + i;
            g[i] = grads[k] + (excluded ? 0.0 : wd * w[k]);
            w_norm += w[k] * w[k];
            g_norm += g[i] * g[i];
        }
        w_norm = sqrt(w_norm);
        g_norm = sqrt(g_norm);
        double trust = (!excluded && w_norm > 0 && g_norm > 0) ? eta * w_norm / g_norm : 1.0;
        for (size_t i = 0; i < tensor->count; i++) {
            size_t k = tensor->offset + i;
            v[k] = mu * v[k] + lr * trust * g[i];
            w[k] -= nesterov ? mu * v[k] + lr * trust * g[i] : v[k];
        }
    }
}

static void test_lars_follows_reference_formula(void **state)
{
    (void)state;
    float *w0 = test_load_fixture_floats("torch_optim_w0.f32", COUNT);
    float *grads = test_load_fixture_floats("torch_optim_grads.f32", STEPS * COUNT);
    float *lrs = test_load_fixture_floats("torch_optim_lrs.f32", STEPS);
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        simclr_optimizer_config config = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_LARS);
        assert_true(config.trust_coefficient == 0.001f && config.momentum == 0.9f);
        config.weight_decay = 0.05f;
        config.nesterov = nesterov;
        config.trust_coefficient = 0.02f; /* large enough for the adaptation to move the weights */
        simclr_optimizer opt;
        simclr_error err = {0};
        assert_int_equal(simclr_optimizer_init(&opt, &config, TENSORS, 3, &err), 0);
        assert_null(opt.v); /* one buffer: momentum */
        float weights[COUNT], expected[COUNT];
        double w[COUNT], v[COUNT] = {0};
        memcpy(weights, w0, sizeof weights);
        for (int i = 0; i < COUNT; i++) w[i] = w0[i];
        for (int step = 0; step < STEPS; step++) {
            simclr_optimizer_update(&opt, lrs[step] * 10.0f, weights, grads + step * COUNT);
            lars_reference(w, v, grads + step * COUNT, (double)(lrs[step] * 10.0f), 0.05, 0.02, 0.9, nesterov);
            for (int i = 0; i < COUNT; i++) expected[i] = (float)w[i];
            test_assert_close("lars", weights, expected, COUNT, 1e-6, 1e-5);
        }
        /* The bias (excluded) moved by plain momentum SGD: lr * g on the first step. */
        simclr_optimizer_free(&opt);
    }
    /* Excluded tensors: first step of the bias is exactly -lr * g (no decay, trust 1). */
    simclr_optimizer_config config = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_LARS);
    config.weight_decay = 0.5f;
    simclr_optimizer opt;
    simclr_error err = {0};
    assert_int_equal(simclr_optimizer_init(&opt, &config, TENSORS, 3, &err), 0);
    float weights[COUNT];
    memcpy(weights, w0, sizeof weights);
    simclr_optimizer_update(&opt, 0.5f, weights, grads);
    for (int i = 12; i < 16; i++) assert_float_equal(weights[i], w0[i] - 0.5f * grads[i], 1e-6);
    /* A kernel moves by lr * eta * |w| / |d| * d: relative step eta * lr. */
    double step_norm = 0, w_norm = 0;
    for (int i = 0; i < 12; i++) {
        step_norm += (double)(weights[i] - w0[i]) * (weights[i] - w0[i]);
        w_norm += (double)w0[i] * w0[i];
    }
    assert_float_equal(sqrt(step_norm) / sqrt(w_norm), 0.5 * 0.001, 1e-6);
    simclr_optimizer_free(&opt);
    free(w0);
    free(grads);
    free(lrs);
}

static void test_adam_interface_is_the_seed_adam(void **state)
{
    (void)state;
    float *w0 = test_load_fixture_floats("torch_optim_w0.f32", COUNT);
    float *grads = test_load_fixture_floats("torch_optim_grads.f32", STEPS * COUNT);
    simclr_optimizer_config config = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_ADAM);
    simclr_adam_config keras = simclr_adam_config_keras();
    simclr_optimizer opt;
    simclr_adam adam;
    simclr_error err = {0};
    assert_int_equal(simclr_optimizer_init(&opt, &config, TENSORS, 3, &err), 0);
    assert_int_equal(simclr_adam_init(&adam, COUNT, &keras, &err), 0);
    float a[COUNT], b[COUNT];
    memcpy(a, w0, sizeof a);
    memcpy(b, w0, sizeof b);
    for (int step = 0; step < STEPS; step++) {
        simclr_optimizer_update(&opt, keras.learning_rate, a, grads + step * COUNT);
        simclr_adam_update(&adam, b, grads + step * COUNT);
    }
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(opt.m, adam.m, sizeof a);
    assert_memory_equal(opt.v, adam.v, sizeof a);
    simclr_adam_free(&adam);
    simclr_optimizer_free(&opt);
    free(w0);
    free(grads);
}

static void test_schedule_values(void **state)
{
    (void)state;
    /* Warm-up 4 steps, 12 in all, base 0.8: 0, 0.2, 0.4, 0.6, then 0.8 * 0.5 (1 + cos(pi k / 8)). */
    simclr_lr_schedule cosine = {SIMCLR_LR_SCHEDULE_KIND_COSINE, 0.8, 4, 12};
    const double expected[7] = {0.0, 0.2, 0.4, 0.6, 0.8, 0.76955181, 0.68284271};
    for (int t = 0; t < 12; t++) {
        double want = t < 4 ? expected[t] : 0.8 * 0.5 * (1.0 + cos(3.14159265358979 * (t - 4) / 8.0));
        assert_float_equal(simclr_lr_schedule_at(&cosine, t), want, 1e-12);
        if (t <= 6) assert_float_equal(simclr_lr_schedule_at(&cosine, t), expected[t], 1e-7);
    }
    assert_float_equal(simclr_lr_schedule_at(&cosine, 8), 0.4, 1e-12);   /* half way: base / 2 */
    assert_float_equal(simclr_lr_schedule_at(&cosine, 12), 0.0, 1e-12);  /* the end */
    assert_float_equal(simclr_lr_schedule_at(&cosine, 40), 0.0, 1e-12);  /* past it: stays 0 */
    simclr_lr_schedule constant = {SIMCLR_LR_SCHEDULE_KIND_CONSTANT, 0.5, 2, 10};
    assert_float_equal(simclr_lr_schedule_at(&constant, 0), 0.0, 1e-12);
    assert_float_equal(simclr_lr_schedule_at(&constant, 1), 0.25, 1e-12);
    for (int t = 2; t < 10; t++) assert_float_equal(simclr_lr_schedule_at(&constant, t), 0.5, 1e-12);
    /* No warm-up, constant: the rate itself, bit for bit (the seed's Adam). */
    simclr_lr_schedule seed = {SIMCLR_LR_SCHEDULE_KIND_CONSTANT, (double)1e-3f, 0, 100};
    assert_true((float)simclr_lr_schedule_at(&seed, 0) == 1e-3f);
    assert_true((float)simclr_lr_schedule_at(&seed, 99) == 1e-3f);
    /* Scaling: 0.3 x 512 / 256 = 0.6; 0.075 x sqrt(1024) = 2.4. */
    assert_float_equal(simclr_lr_scaled(0.3, SIMCLR_LR_SCALING_LINEAR, 512), 0.6, 1e-12);
    assert_float_equal(simclr_lr_scaled(0.075, SIMCLR_LR_SCALING_SQRT, 1024), 2.4, 1e-12);
    assert_float_equal(simclr_lr_scaled(0.3, SIMCLR_LR_SCALING_NONE, 512), 0.3, 1e-12);
}

static void test_bad_configurations(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_optimizer opt;
    simclr_optimizer_config config = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_ADAM);
    config.weight_decay = 1e-4f;
    assert_int_equal(simclr_optimizer_init(&opt, &config, TENSORS, 3, &err), -1);
    assert_non_null(strstr(err.message, "--weight-decay"));
    simclr_optimizer_free(&opt);
    config = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_SGD);
    config.weight_decay = -1.0f;
    assert_int_equal(simclr_optimizer_init(&opt, &config, TENSORS, 3, &err), -1);
    assert_non_null(strstr(err.message, "--weight-decay"));
    simclr_optimizer_free(&opt);
    /* Tensors must tile the block. */
    simclr_param_tensor gap[2] = {{0, 4, 0}, {5, 3, 1}};
    config.weight_decay = 0.0f;
    assert_int_equal(simclr_optimizer_init(&opt, &config, gap, 2, &err), -1);
    simclr_optimizer_free(&opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_matches_torch),
        cmocka_unit_test(test_sgd_matches_torch),
        cmocka_unit_test(test_lars_follows_reference_formula),
        cmocka_unit_test(test_adam_interface_is_the_seed_adam),
        cmocka_unit_test(test_schedule_values),
        cmocka_unit_test(test_bad_configurations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
