/*
 * Issue 13: the methods' losses (src/loss/infonce_queue.c, cosine.c, barlow.c, vicreg.c) against
 * PyTorch (tools/make_torch_method_fixtures.py) and against central differences of themselves;
 * then three training steps of a tiny model per method through the method interface
 * (src/method/), against the same steps in PyTorch: the losses, the online weights, and the EMA
 * target networks, predictor and MoCo queue after the steps. Also BYOL's momentum schedule and
 * the queue's ring position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method/method_internal.h"
#include "simclr/ssl_loss.h"
#include "test_support.h"

enum { B = 6, D = 5, K = 7 };

typedef struct loss_case {
    const char *name;
    int two_gradients; /* the loss has a gradient w.r.t. z2 too */
} loss_case;

static const float *fixture_z1, *fixture_z2, *fixture_queue;
static float workspace[4096];

/* The loss of case `which` at (z1, z2); d1, d2 receive its gradients. */
static float evaluate(int which, const float *z1, const float *z2, float *d1, float *d2, float parts[3])
{
    static const float weights[3] = {25.0f, 25.0f, 1.0f};
    switch (which) {
    case 0: return simclr_infonce_queue_loss(z1, z2, fixture_queue, B, K, D, 0.2f, 1.0f, d1, NULL, workspace, NULL);
    case 1: return simclr_negative_cosine_loss(z1, z2, B, D, 1.0f, d1);
    case 2: return simclr_barlow_twins_loss(z1, z2, B, D, 0.05f, 1.0f, d1, d2, workspace);
    default: return simclr_vicreg_loss(z1, z2, B, D, weights, 1.0f, d1, d2, workspace, parts);
    }
}

static const loss_case CASES[4] = {{"method_loss_infonce.f32", 0},
                                   {"method_loss_cosine.f32", 0},
                                   {"method_loss_barlow.f32", 1},
                                   {"method_loss_vicreg.f32", 1}};

static void load_inputs(void)
{
    static float *inputs = NULL;
    if (!inputs) inputs = test_load_fixture_floats("method_loss_inputs.f32", 2 * B * D + K * D);
    fixture_z1 = inputs;
    fixture_z2 = inputs + B * D;
    fixture_queue = inputs + 2 * B * D;
}

static void test_losses_match_torch(void **unused)
{
    (void)unused;
    load_inputs();
    for (int which = 0; which < 4; which++) {
        int extra = which == 3 ? 3 : 0;
        size_t count = 1 + (size_t)extra + (size_t)(CASES[which].two_gradients ? 2 : 1) * B * D;
        float *expected = test_load_fixture_floats(CASES[which].name, count);
        float d1[B * D], d2[B * D], parts[3];
        float loss = evaluate(which, fixture_z1, fixture_z2, d1, d2, parts);
        char label[96];
        snprintf(label, sizeof label, "%s loss", CASES[which].name);
        test_assert_close(label, &loss, expected, 1, 1e-5, 1e-5);
        if (extra) test_assert_close("vicreg terms", parts, expected + 1, 3, 1e-5, 1e-5);
        snprintf(label, sizeof label, "%s d z1", CASES[which].name);
        test_assert_close(label, d1, expected + 1 + extra, B * D, 1e-6, 1e-4);
        if (CASES[which].two_gradients) {
            snprintf(label, sizeof label, "%s d z2", CASES[which].name);
            test_assert_close(label, d2, expected + 1 + extra + B * D, B * D, 1e-6, 1e-4);
        }
        free(expected);
    }
}

/* Central differences of the loss itself, in float (h 1e-3), for every input element. */
static void test_losses_finite_differences(void **unused)
{
    (void)unused;
    load_inputs();
    for (int which = 0; which < 4; which++) {
        float z[2][B * D], analytic[2][B * D], numeric[2][B * D], scratch1[B * D], scratch2[B * D];
        memcpy(z[0], fixture_z1, sizeof z[0]);
        memcpy(z[1], fixture_z2, sizeof z[1]);
        evaluate(which, z[0], z[1], analytic[0], analytic[1], NULL);
        int tensors = CASES[which].two_gradients ? 2 : 1;
        for (int t = 0; t < tensors; t++)
            for (int i = 0; i < B * D; i++) {
                float saved = z[t][i], h = 1e-3f;
                z[t][i] = saved + h;
                double plus = evaluate(which, z[0], z[1], scratch1, scratch2, NULL);
                z[t][i] = saved - h;
                double minus = evaluate(which, z[0], z[1], scratch1, scratch2, NULL);
                z[t][i] = saved;
                numeric[t][i] = (float)((plus - minus) / (2.0 * h));
            }
        for (int t = 0; t < tensors; t++) {
            char label[96];
            snprintf(label, sizeof label, "%s d z%d vs central differences", CASES[which].name, t + 1);
            test_assert_close(label, analytic[t], numeric[t], B * D, 3e-3, 3e-2);
        }
    }
}

/* ---- three steps of a tiny model ------------------------------------------------------------ */

enum { STEP_B = 4, ENCODER_PARAMS = 30, HEAD_PARAMS = 63, PREDICTOR_PARAMS = 43, QUEUE = 10, WIDTH = 3 };

/* Writes the trainable tensors of net from flat (simclr's order), or reads them into flat. */
static void copy_trainable(simclr_network *net, float *flat, int into_network)
{
    size_t at = 0;
    for (int t = 0; t < simclr_network_tensor_count(net); t++) {
        simclr_network_tensor tensor;
        simclr_network_tensor_at(net, t, &tensor);
        if (!tensor.grads) continue;
        if (into_network)
            memcpy(tensor.values, flat + at, tensor.count * sizeof(float));
        else
            memcpy(flat + at, tensor.values, tensor.count * sizeof(float));
        at += tensor.count;
    }
}

static void check_network(const char *label, simclr_network *net, const float *expected, size_t count)
{
    float *actual = calloc(count, sizeof *actual);
    assert_non_null(actual);
    assert_int_equal(net->param_count, count);
    copy_trainable(net, actual, 0);
    test_assert_close(label, actual, expected, count, 2e-5, 2e-4);
    free(actual);
}

static void run_steps(simclr_method_kind kind, size_t expected_count)
{
    simclr_error err = {0};
    float *init = test_load_fixture_floats("method_steps_init.f32",
                                           ENCODER_PARAMS + HEAD_PARAMS + PREDICTOR_PARAMS + QUEUE * WIDTH);
    float *views = test_load_fixture_floats("method_steps_views.f32", 3 * 2 * STEP_B * 4);
    char name[64];
    snprintf(name, sizeof name, "method_steps_%s.f32", simclr_method_name(kind));
    float *expected = test_load_fixture_floats(name, expected_count);
    simclr_method_settings config;
    memset(&config, 0, sizeof config);
    config.method = kind;
    config.unlabeled_batch = STEP_B - 1;
    config.labeled_batch = 1;
    config.seed = 3;
    config.temperature = 0.2f;
    config.queue_size = QUEUE;
    config.ema_momentum = 0.9f;
    config.predictor_hidden = 5;
    config.barlow_lambda = 0.05f;
    config.vicreg_weights[0] = config.vicreg_weights[1] = 25.0f;
    config.vicreg_weights[2] = 1.0f;
    config.model.input = (simclr_tensor_shape){1, 1, 4};
    config.model.width = 6;
    config.model.head_out = WIDTH;
    config.optimizer = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_SGD);
    config.optimizer.momentum = 0.0f;
    float lr = kind == SIMCLR_METHOD_VICREG ? 0.002f : 0.1f;

    simclr_layer_spec encoder_specs[1] = {
        {.kind = SIMCLR_LAYER_KIND_DENSE, .units = 6, .activation = SIMCLR_NN_ACTIVATION_RELU}};
    simclr_layer_spec head_specs[2] = {
        {.kind = SIMCLR_LAYER_KIND_DENSE, .units = 6, .activation = SIMCLR_NN_ACTIVATION_RELU},
        {.kind = SIMCLR_LAYER_KIND_DENSE, .units = WIDTH}};
    simclr_network encoder, head;
    simclr_tensor_shape input = {1, 1, 4}, features = {1, 1, 6};
    assert_int_equal(simclr_network_init(&encoder, "encoder", &input, encoder_specs, 1, 2 * STEP_B, &err), 0);
    assert_int_equal(simclr_network_init(&head, "projection_head", &features, head_specs, 2, 2 * STEP_B, &err), 0);
    copy_trainable(&encoder, init, 1);
    copy_trainable(&head, init + ENCODER_PARAMS, 1);
    simclr_method method;
    if (simclr_method_create(&method, &config, &encoder, &head, STEP_B, 3, &err) != 0) fail_msg("%s", err.message);
    /* The fixture's predictor and queue replace the method's own initialisation. */
    for (int p = 0; p < method.part_count; p++) {
        simclr_checkpoint_part *part = &method.parts[p];
        if (part->net && strcmp(part->net->name, "predictor") == 0)
            copy_trainable(part->net, init + ENCODER_PARAMS + HEAD_PARAMS, 1);
        if (part->tensor_name) {
            assert_string_equal(part->tensor_name, "moco.queue");
            assert_int_equal(part->rows, QUEUE);
            memcpy(part->values, init + ENCODER_PARAMS + HEAD_PARAMS + PREDICTOR_PARAMS, QUEUE * WIDTH * sizeof(float));
        }
    }
    float losses[3];
    for (int step = 0; step < 3; step++) {
        simclr_method_result result;
        if (simclr_method_step(&method, views + step * 2 * STEP_B * 4, STEP_B, &result, &err) != 0)
            fail_msg("%s", err.message);
        losses[step] = result.loss;
        assert_int_equal(result.total, 2 * STEP_B);
        assert_true(result.correct >= 0 && result.correct <= 2 * STEP_B);
        for (size_t i = 0; i < encoder.param_count; i++) encoder.params[i] -= lr * encoder.grads[i];
        for (size_t i = 0; i < head.param_count; i++) head.params[i] -= lr * head.grads[i];
        if (simclr_method_after_step(&method, lr, step, &err) != 0) fail_msg("%s", err.message);
    }
    char label[96];
    snprintf(label, sizeof label, "%s: the 3 losses", simclr_method_name(kind));
    test_assert_close(label, losses, expected, 3, 1e-5, 1e-4);
    const float *at = expected + 3;
    snprintf(label, sizeof label, "%s: online encoder after 3 steps", simclr_method_name(kind));
    check_network(label, &encoder, at, ENCODER_PARAMS);
    at += ENCODER_PARAMS;
    snprintf(label, sizeof label, "%s: online head after 3 steps", simclr_method_name(kind));
    check_network(label, &head, at, HEAD_PARAMS);
    at += HEAD_PARAMS;
    for (int p = 0; p < method.part_count; p++) {
        simclr_checkpoint_part *part = &method.parts[p];
        if (part->net) {
            snprintf(label, sizeof label, "%s: %s after 3 steps", simclr_method_name(kind), part->net->name);
            check_network(label, part->net, at, part->net->param_count);
            at += part->net->param_count;
        } else {
            snprintf(label, sizeof label, "%s: queue after 3 steps", simclr_method_name(kind));
            test_assert_close(label, part->values, at, QUEUE * WIDTH, 1e-5, 1e-4);
            at += QUEUE * WIDTH;
            /* 3 steps of 2B = 8 keys through a ring of 10: position 24 mod 10. */
            assert_int_equal(*part->counter, (3 * 2 * STEP_B) % QUEUE);
        }
    }
    assert_int_equal((size_t)(at - expected), expected_count);
    simclr_method_free(&method);
    simclr_network_free(&encoder);
    simclr_network_free(&head);
    free(init);
    free(views);
    free(expected);
}

static void test_moco_steps(void **unused)
{
    (void)unused;
    run_steps(SIMCLR_METHOD_MOCO, 3 + 2 * (ENCODER_PARAMS + HEAD_PARAMS) + QUEUE * WIDTH);
}
static void test_byol_steps(void **unused)
{
    (void)unused;
    run_steps(SIMCLR_METHOD_BYOL, 3 + 2 * (ENCODER_PARAMS + HEAD_PARAMS) + PREDICTOR_PARAMS);
}
static void test_simsiam_steps(void **unused)
{
    (void)unused;
    run_steps(SIMCLR_METHOD_SIMSIAM, 3 + ENCODER_PARAMS + HEAD_PARAMS + PREDICTOR_PARAMS);
}
static void test_barlow_steps(void **unused)
{
    (void)unused;
    run_steps(SIMCLR_METHOD_BARLOW, 3 + ENCODER_PARAMS + HEAD_PARAMS);
}
static void test_vicreg_steps(void **unused)
{
    (void)unused;
    run_steps(SIMCLR_METHOD_VICREG, 3 + ENCODER_PARAMS + HEAD_PARAMS);
}

static void test_byol_momentum_schedule(void **unused)
{
    (void)unused;
    assert_float_equal(simclr_method_cosine_momentum(0.996f, 0, 100), 0.996f, 1e-7);
    assert_float_equal(simclr_method_cosine_momentum(0.996f, 50, 100), 0.998f, 1e-6);
    assert_float_equal(simclr_method_cosine_momentum(0.996f, 100, 100), 1.0f, 1e-7);
    assert_int_equal(simclr_method_from_name("vicreg"), SIMCLR_METHOD_VICREG);
    assert_int_equal(simclr_method_from_name("dino"), -1);
    assert_float_equal(simclr_method_default_ema_momentum(SIMCLR_METHOD_MOCO), 0.99f, 1e-7);
    assert_int_equal(simclr_method_default_predictor_hidden(SIMCLR_METHOD_SIMSIAM, 512, 128), 32);
    assert_int_equal(simclr_method_default_predictor_hidden(SIMCLR_METHOD_BYOL, 512, 128), 512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_losses_match_torch),  cmocka_unit_test(test_losses_finite_differences),
        cmocka_unit_test(test_moco_steps),          cmocka_unit_test(test_byol_steps),
        cmocka_unit_test(test_simsiam_steps),       cmocka_unit_test(test_barlow_steps),
        cmocka_unit_test(test_vicreg_steps),        cmocka_unit_test(test_byol_momentum_schedule),
    };
    return test_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
