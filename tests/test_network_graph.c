/*
 * Networks with skip connections (network.c): a small residual network in NHWC (6 channels: not
 * the blocked layout) with an identity block, a projection block (a second reader of one output:
 * the side buffer), max pool, global average pool, BatchNorm1d and a dense head; every parameter
 * gradient and the input gradient against central differences of sum(out * R) through the
 * network's own float32 forward (steps of 3e-4: well above float32's noise, small enough to
 * cross few ReLU and max-pool switches); the
 * training/inference switch; the memory plans (batchnorm outputs recomputed in backward, inference
 * outputs in shared buffers) against keeping everything, bit for bit, here and on a ResNet-18 in
 * both feature-map layouts (nChw16c, NHWC); the layout choice (SIMCLR_CONV_LAYOUT, AMX); and the
 * refusals of graphs the planner cannot run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/model.h"
#include "simclr/network.h"
#include "simclr/rng.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 3, SIDE = 7, CHANNELS = 3, WIDTH = 6, CLASSES = 4 };

static simclr_layer_spec conv(int units, int kernel, int stride, int from)
{
    return (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_CONV2D, .units = units, .kernel = kernel, .stride = stride,
                               .padding = kernel / 2, .from = from, .no_bias = 1};
}

static simclr_layer_spec bn(simclr_nn_activation activation)
{
    return (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_BATCHNORM, .activation = activation};
}

/* stem conv-bn-relu, max pool, identity block, projection block, avg pool, dense, bn1d, dense. */
static int graph_specs(simclr_layer_spec *specs)
{
    int n = 0;
    specs[n++] = conv(WIDTH, 3, 1, 0);                                        /* 0 */
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_RELU);                               /* 1 */
    specs[n++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_MAX_POOL, .kernel = 3, .stride = 1, .padding = 1};
    specs[n++] = conv(WIDTH, 3, 1, 0);                                        /* 3 */
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_RELU);                               /* 4 */
    specs[n++] = conv(WIDTH, 3, 1, 0);                                        /* 5 */
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_NONE);                               /* 6 */
    specs[n++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_ADD, .activation = SIMCLR_NN_ACTIVATION_RELU,
                                     .residual_from = -5};                    /* 7: 6 + 2 */
    specs[n++] = conv(2 * WIDTH, 3, 2, 0);                                    /* 8 */
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_RELU);                               /* 9 */
    specs[n++] = conv(2 * WIDTH, 3, 1, 0);                                    /* 10 */
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_NONE);                               /* 11 */
    specs[n++] = conv(2 * WIDTH, 1, 2, -5);                                   /* 12: reads 7 */
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_NONE);                               /* 13 */
    specs[n++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_ADD, .activation = SIMCLR_NN_ACTIVATION_RELU,
                                     .residual_from = -3};                    /* 14: 13 + 11 */
    specs[n++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL};
    specs[n++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = 8, .no_bias = 1};
    specs[n++] = bn(SIMCLR_NN_ACTIVATION_RELU);                               /* BatchNorm1d */
    specs[n++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = CLASSES};
    return n;
}

static float *images_and_seed(size_t image_count, size_t out_count, float **r)
{
    float *images = malloc(image_count * sizeof *images);
    *r = malloc(out_count * sizeof **r);
    assert_true(images && *r);
    simclr_rng_stream stream = simclr_rng_stream_make(5, SIMCLR_RNG_PURPOSE_INIT, 1, 2, 3, 4);
    for (size_t i = 0; i < image_count; i++) images[i] = simclr_rng_uniform(&stream, -1.0f, 1.0f);
    for (size_t i = 0; i < out_count; i++) (*r)[i] = simclr_rng_uniform(&stream, -1.0f, 1.0f);
    return images;
}

/* sum(out * r) of a training-mode forward, in double; running statistics restored after. */
static double objective(simclr_network *net, const float *images, const float *r)
{
    float *saved = malloc(net->state_count * sizeof *saved);
    assert_non_null(saved);
    memcpy(saved, net->state, net->state_count * sizeof *saved);
    simclr_error err = {0};
    if (simclr_network_forward(net, images, BATCH, &err)) fail_msg("forward: %s", err.message);
    const float *out = simclr_network_output(net);
    double total = 0.0;
    for (size_t i = 0; i < (size_t)BATCH * CLASSES; i++) total += (double)out[i] * r[i];
    memcpy(net->state, saved, net->state_count * sizeof *saved);
    free(saved);
    return total;
}

/* Weights from seed 3, with non-trivial batchnorm gammas and betas. */
static void init_weights(simclr_network *net)
{
    simclr_network_init_weights(net, 3);
    for (int i = 0; i < net->layer_count; i++)
        if (net->layers[i].spec.kind == SIMCLR_LAYER_KIND_BATCHNORM)
            for (size_t c = 0; c < net->layers[i].kernel_count; c++) {
                net->params[net->layers[i].kernel_offset + c] = 0.8f + 0.05f * (float)(c % 7);
                net->params[net->layers[i].bias_offset + c] = 0.02f * (float)((int)(c % 5) - 2);
            }
}

static void test_residual_graph_gradients(void **state)
{
    (void)state;
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    int count = graph_specs(specs);
    simclr_tensor_shape shape = {SIDE, SIDE, CHANNELS};
    simclr_network net;
    simclr_error err = {0};
    if (simclr_network_init(&net, "graph", &shape, specs, count, BATCH, &err)) fail_msg("init: %s", err.message);
    assert_int_equal(net.layers[12].input, 7);
    assert_false(net.layers[12].owns_input); /* layer 8 reads 7 first: the projection waits */
    assert_true(net.side_bytes > 0);
    init_weights(&net);
    size_t image_count = (size_t)BATCH * SIDE * SIDE * CHANNELS, out_count = (size_t)BATCH * CLASSES;
    float *r = NULL, *images = images_and_seed(image_count, out_count, &r);
    float *d_images = calloc(image_count, sizeof *d_images);
    assert_non_null(d_images);
    objective(&net, images, r);
    simclr_network_zero_grads(&net);
    if (simclr_network_backward(&net, r, d_images, &err)) fail_msg("backward: %s", err.message);
    float *grads = malloc(net.param_count * sizeof *grads);
    assert_non_null(grads);
    memcpy(grads, net.grads, net.param_count * sizeof *grads);

    /* Central differences over sampled parameters of every tensor, and sampled inputs. */
    size_t checked = 0;
    double worst = 0.0;
    for (int t = 0; t < simclr_network_tensor_count(&net); t++) {
        simclr_network_tensor tensor;
        simclr_network_tensor_at(&net, t, &tensor);
        if (!tensor.grads) continue;
        size_t samples = tensor.count < 6 ? tensor.count : 6;
        for (size_t s = 0; s < samples; s++) {
            size_t i = (s * 7919u + 3) % tensor.count;
            float saved = tensor.values[i];
            /* Small enough that few ReLU or max-pool switches fall inside the step (1e-3 crosses some),
             * large enough for a float32 objective. */
            float step = 3e-4f;
            tensor.values[i] = saved + step;
            double above = objective(&net, images, r);
            tensor.values[i] = saved - step;
            double below = objective(&net, images, r);
            tensor.values[i] = saved;
            double numeric = (above - below) / (double)((saved + step) - (saved - step));
            double analytic = grads[tensor.grads - net.grads + i];
            double error = fabs(numeric - analytic) / (5e-2 + fabs(numeric)); /* float32 forward: ~1e-3 absolute noise */
            if (error > worst) worst = error;
            if (error > 3e-2) fail_msg("d %s[%zu]: backward %.6g, differences %.6g", tensor.name, i, analytic, numeric);
            checked++;
        }
    }
    for (size_t s = 0; s < 12; s++) {
        size_t i = (s * 7919u + 1) % image_count;
        float saved = images[i];
        images[i] = saved + 3e-4f;
        double above = objective(&net, images, r);
        images[i] = saved - 3e-4f;
        double below = objective(&net, images, r);
        images[i] = saved;
        double numeric = (above - below) / (double)((saved + 3e-4f) - (saved - 3e-4f));
        double error = fabs(numeric - d_images[i]) / (5e-2 + fabs(numeric)); /* float32 forward: ~1e-3 absolute noise */
        if (error > worst) worst = error;
        if (error > 3e-2) fail_msg("d input[%zu]: backward %.6g, differences %.6g", i, (double)d_images[i], numeric);
        checked++;
    }
    printf("  %zu gradient entries against central differences, worst relative error %.3g\n", checked, worst);

    /* Inference mode: the running statistics normalise, and backward is refused. */
    simclr_network_set_training(&net, 0);
    if (simclr_network_forward(&net, images, 1, &err)) fail_msg("inference forward of one image: %s", err.message);
    assert_int_equal(simclr_network_backward(&net, r, NULL, &err), -1);
    simclr_network_set_training(&net, 1);
    /* One image per channel in BatchNorm1d is refused in training, naming the layer. */
    assert_int_equal(simclr_network_forward(&net, images, 1, &err), -1);
    assert_non_null(strstr(err.message, "more than one value per channel"));

    free(grads), free(images), free(r), free(d_images);
    simclr_network_free(&net);
}

/* Builds `specs` (or, with specs NULL, a ResNet-18 encoder of `precision`) as it is planned and,
 * with SIMCLR_KEEP_ACTIVATIONS=1, keeping every activation, with the same weights; a training
 * step and an inference forward must agree bit for bit, and the inference forward must also match
 * one that writes every layer's own buffer. Returns how many batchnorm outputs were recomputed. */
static int compare_memory_plans(const simclr_layer_spec *specs, int count, simclr_tensor_shape shape, int batch,
                                simclr_nn_precision precision)
{
    simclr_network *nets = calloc(2, sizeof *nets);
    assert_non_null(nets);
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default(shape, CLASSES);
    config.backbone = SIMCLR_MODEL_BACKBONE_RESNET18;
    config.precision = precision;
    for (int k = 0; k < 2; k++) {
        if (k == 1) setenv("SIMCLR_KEEP_ACTIVATIONS", "1", 1);
        int status = specs ? simclr_network_init(&nets[k], "graph", &shape, specs, count, batch, &err)
                           : simclr_model_build_encoder(&nets[k], &config, batch, &err);
        unsetenv("SIMCLR_KEEP_ACTIVATIONS");
        if (status) fail_msg("init: %s", err.message);
    }
    simclr_network *planned = &nets[0], *kept = &nets[1];
    init_weights(planned);
    memcpy(kept->params, planned->params, planned->param_count * sizeof(float));
    memcpy(kept->state, planned->state, planned->state_count * sizeof(float));

    int recomputed = 0;
    size_t saved_bytes = 0;
    for (int i = 0; i < planned->layer_count; i++) {
        assert_false(kept->layers[i].recomputed);
        if (!planned->layers[i].recomputed) continue;
        recomputed++;
        assert_int_equal(planned->layers[i].spec.kind, SIMCLR_LAYER_KIND_BATCHNORM);
        saved_bytes += (size_t)batch * planned->layers[i].out_size * planned->layers[i].element_size;
    }
    size_t planned_bytes = 0, kept_bytes = 0;
    if (specs) {
        assert_int_equal(simclr_network_estimate_bytes(&shape, specs, count, batch, &planned_bytes, NULL, &err), 0);
        setenv("SIMCLR_KEEP_ACTIVATIONS", "1", 1);
        assert_int_equal(simclr_network_estimate_bytes(&shape, specs, count, batch, &kept_bytes, NULL, &err), 0);
        unsetenv("SIMCLR_KEEP_ACTIVATIONS");
        assert_true(kept_bytes - planned_bytes == saved_bytes - planned->recompute_bytes);
    }

    size_t image_count = (size_t)batch * shape.height * shape.width * shape.channels;
    size_t out_count = (size_t)batch * simclr_network_output_size(planned);
    float *r = NULL, *images = images_and_seed(image_count, out_count, &r);
    float *d_images[2] = {calloc(image_count, sizeof(float)), calloc(image_count, sizeof(float))};
    float *outputs[2] = {malloc(out_count * sizeof(float)), malloc(out_count * sizeof(float))};
    assert_true(d_images[0] && d_images[1] && outputs[0] && outputs[1]);
    for (int k = 0; k < 2; k++) {
        if (simclr_network_forward(&nets[k], images, batch, &err)) fail_msg("forward: %s", err.message);
        memcpy(outputs[k], simclr_network_output(&nets[k]), out_count * sizeof(float));
        simclr_network_zero_grads(&nets[k]);
        if (simclr_network_backward(&nets[k], r, d_images[k], &err)) fail_msg("backward: %s", err.message);
    }
    assert_memory_equal(outputs[0], outputs[1], out_count * sizeof(float));
    assert_memory_equal(planned->grads, kept->grads, planned->param_count * sizeof(float));
    assert_memory_equal(d_images[0], d_images[1], image_count * sizeof(float));
    assert_memory_equal(planned->state, kept->state, planned->state_count * sizeof(float));

    /* Inference: shared buffers (fewer than the layers) against every layer's own. */
    int shared = 0;
    for (int i = 0; i < planned->layer_count; i++) shared += planned->layers[i].inference_home >= 0;
    assert_true(shared > 0);
    for (int i = 0; i < kept->layer_count; i++) kept->layers[i].inference_output = kept->layers[i].output;
    for (int k = 0; k < 2; k++) {
        simclr_network_set_training(&nets[k], 0);
        if (simclr_network_forward(&nets[k], images, batch, &err)) fail_msg("inference: %s", err.message);
        memcpy(outputs[k], simclr_network_output(&nets[k]), out_count * sizeof(float));
    }
    assert_memory_equal(outputs[0], outputs[1], out_count * sizeof(float));
    printf("  %s: %d batchnorm outputs recomputed (%zu bytes fewer at batch %d), %d of %d layers write a "
           "shared buffer in inference\n",
           specs ? "graph" : precision == SIMCLR_NN_PRECISION_BF16 ? "resnet18 bf16" : "resnet18", recomputed,
           saved_bytes - planned->recompute_bytes, batch, shared, planned->layer_count);
    for (int k = 0; k < 2; k++) free(d_images[k]), free(outputs[k]), simclr_network_free(&nets[k]);
    free(images), free(r), free(nets);
    return recomputed;
}

static void test_memory_plans_change_no_result(void **state)
{
    (void)state;
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    int count = graph_specs(specs);
    simclr_tensor_shape shape = {SIDE, SIDE, CHANNELS};
    /* Recomputed: 1 (read by the max pool), 4, 6, 9, 13 (the projection, read by the add) and the
     * BatchNorm1d; not 11 (the add's residual operand, read two layers on). */
    assert_int_equal(compare_memory_plans(specs, count, shape, BATCH, SIMCLR_NN_PRECISION_FP32), 6);
    /* ResNet-18, CIFAR stem: every block's bn1 and its batchnorm before the add (16 of 20). */
    simclr_tensor_shape cifar = {16, 16, 3};
    assert_int_equal(compare_memory_plans(NULL, 0, cifar, 2, SIMCLR_NN_PRECISION_FP32), 16);
    /* In both layouts a ResNet may run in (nChw16c; NHWC, bf16's on AMX CPUs). */
    const char *layouts[] = {"blocked", "nhwc"};
    for (int l = 0; l < 2; l++) {
        setenv("SIMCLR_CONV_LAYOUT", layouts[l], 1);
        printf("  SIMCLR_CONV_LAYOUT=%s\n", layouts[l]);
        assert_int_equal(compare_memory_plans(NULL, 0, cifar, 2, SIMCLR_NN_PRECISION_BF16), 16);
        if (l == 1) assert_int_equal(compare_memory_plans(NULL, 0, cifar, 2, SIMCLR_NN_PRECISION_FP32), 16);
        unsetenv("SIMCLR_CONV_LAYOUT");
    }
}

/* The layout of a ResNet-18's feature maps (its first conv's output): nChw16c in fp32; in bf16
 * NHWC where oneDNN's bf16 convolutions are AMX ones, else nChw16c; SIMCLR_CONV_LAYOUT=blocked or
 * nhwc overrides both; another value is refused, naming the variable. */
static simclr_nn_layout resnet_layout(simclr_nn_precision precision, const char *choice, simclr_error *err)
{
    if (choice) setenv("SIMCLR_CONV_LAYOUT", choice, 1);
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){16, 16, 3}, CLASSES);
    config.backbone = SIMCLR_MODEL_BACKBONE_RESNET18;
    config.precision = precision;
    simclr_network *net = calloc(1, sizeof *net);
    assert_non_null(net);
    int status = simclr_model_build_encoder(net, &config, 2, err);
    unsetenv("SIMCLR_CONV_LAYOUT");
    simclr_nn_layout layout = (simclr_nn_layout)-1;
    if (status == 0) {
        layout = net->layers[0].out_layout;
        assert_int_equal(net->layers[net->layer_count - 1].out_layout, SIMCLR_NN_LAYOUT_NHWC);
        simclr_network_free(net);
    }
    free(net);
    return layout;
}

static void test_layout_choice(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_nn_precision fp32 = SIMCLR_NN_PRECISION_FP32, bf16 = SIMCLR_NN_PRECISION_BF16;
    assert_int_equal(resnet_layout(fp32, NULL, &err), SIMCLR_NN_LAYOUT_BLOCKED16);
    assert_int_equal(resnet_layout(fp32, "auto", &err), SIMCLR_NN_LAYOUT_BLOCKED16);
    assert_int_equal(resnet_layout(bf16, NULL, &err),
                     simclr_conv2d_bf16_prefers_nhwc() ? SIMCLR_NN_LAYOUT_NHWC : SIMCLR_NN_LAYOUT_BLOCKED16);
    printf("  bf16 here: %s\n", simclr_conv2d_bf16_prefers_nhwc() ? "AMX, NHWC" : "no AMX, nChw16c");
    for (int p = 0; p < 2; p++) {
        simclr_nn_precision precision = p ? bf16 : fp32;
        assert_int_equal(resnet_layout(precision, "nhwc", &err), SIMCLR_NN_LAYOUT_NHWC);
        assert_int_equal(resnet_layout(precision, "blocked", &err), SIMCLR_NN_LAYOUT_BLOCKED16);
    }
    assert_int_equal((int)resnet_layout(fp32, "nchw16c", &err), -1);
    assert_non_null(strstr(err.message, "SIMCLR_CONV_LAYOUT 'nchw16c'"));
    assert_non_null(strstr(err.message, "auto, blocked or nhwc"));
}

static void expect_refused(const simclr_layer_spec *specs, int count, const char *text)
{
    simclr_tensor_shape shape = {SIDE, SIDE, CHANNELS};
    simclr_error err = {0};
    size_t bytes = 0;
    assert_int_equal(simclr_network_estimate_bytes(&shape, specs, count, 2, &bytes, NULL, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, text)) fail_msg("expected '%s' in: %s", text, err.message);
}

static void test_refuses_bad_graphs(void **state)
{
    (void)state;
    simclr_layer_spec specs[8];
    /* An add of shapes that differ. */
    specs[0] = conv(WIDTH, 3, 1, 0);
    specs[1] = conv(WIDTH, 3, 2, 0);
    specs[2] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_ADD, .residual_from = -2};
    expect_refused(specs, 3, "adds conv2d_1");
    /* An add whose residual is not an earlier layer. */
    specs[2] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_ADD, .residual_from = -1};
    expect_refused(specs, 3, "layers back");
    /* A layer reading the network's input from the middle. */
    specs[1] = conv(WIDTH, 3, 1, -2);
    expect_refused(specs, 2, "not the network's input");
    /* An output nobody reads. */
    specs[1] = conv(WIDTH, 3, 1, 0);
    specs[2] = conv(WIDTH, 3, 1, -2);
    expect_refused(specs, 3, "never read");
    /* A max pool window padded beyond its half. */
    specs[1] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_MAX_POOL, .kernel = 3, .stride = 2, .padding = 2};
    expect_refused(specs, 2, "padding 2");
    /* A batchnorm told another channel count. */
    specs[1] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_BATCHNORM, .units = WIDTH + 1};
    expect_refused(specs, 2, "expects 7 channels");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_residual_graph_gradients),
        cmocka_unit_test(test_memory_plans_change_no_result),
        cmocka_unit_test(test_layout_choice),
        cmocka_unit_test(test_refuses_bad_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
