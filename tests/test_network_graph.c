/*
 * Networks with skip connections (network.c): a small residual network in NHWC (6 channels: not
 * the blocked layout) with an identity block, a projection block (a second reader of one output:
 * the side buffer), max pool, global average pool, BatchNorm1d and a dense head; every parameter
 * gradient and the input gradient against central differences of sum(out * R) through the
 * network's own float32 forward (steps of 1e-3, coordinates whose step switches a ReLU or a max
 * pool's argmax left out and counted); the
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

/* Where the objective is not smooth: the ReLU on/off pattern of every layer with a fused ReLU and
 * the argmax of every max pool window, read from `probe`, a copy of the network keeping every
 * activation (SIMCLR_KEEP_ACTIVATIONS=1: the same forward, bit for bit), run with net's
 * parameters on `images`. Returns the bytes written into `state`. */
static size_t kink_state(simclr_network *probe, const simclr_network *net, const float *images, unsigned char *state)
{
    memcpy(probe->params, net->params, net->param_count * sizeof(float));
    simclr_error err = {0};
    if (simclr_network_forward(probe, images, BATCH, &err)) fail_msg("forward: %s", err.message);
    size_t n = 0;
    for (int l = 0; l < probe->layer_count; l++) {
        const simclr_network_layer *layer = &probe->layers[l];
        assert_int_equal(layer->element_size, sizeof(float)); /* float32 throughout */
        if (layer->spec.activation == SIMCLR_NN_ACTIVATION_RELU) { /* element-wise: any layout */
            const float *out = layer->output;
            for (size_t e = 0; e < (size_t)BATCH * layer->out_size; e++) state[n++] = out[e] > 0.0f;
        }
        if (layer->spec.kind != SIMCLR_LAYER_KIND_MAX_POOL) continue;
        int height = layer->in_shape.height, width = layer->in_shape.width, channels = layer->in_shape.channels;
        float *in = malloc((size_t)BATCH * layer->in_size * sizeof *in);
        assert_non_null(in);
        simclr_nn_activations_to_nhwc(in, probe->layers[layer->input].output, layer->in_layout,
                                      SIMCLR_NN_PRECISION_FP32, BATCH, height, width, channels);
        int kernel = layer->spec.kernel, stride = layer->spec.stride, padding = layer->spec.padding;
        for (int b = 0; b < BATCH; b++)
            for (int oy = 0; oy < layer->out_shape.height; oy++)
                for (int ox = 0; ox < layer->out_shape.width; ox++)
                    for (int c = 0; c < channels; c++) {
                        int argmax = -1;
                        float max = 0.0f;
                        for (int ky = 0; ky < kernel; ky++)
                            for (int kx = 0; kx < kernel; kx++) {
                                int y = oy * stride - padding + ky, x = ox * stride - padding + kx;
                                if (y < 0 || y >= height || x < 0 || x >= width) continue;
                                float value = in[(((size_t)b * height + y) * width + x) * channels + c];
                                if (argmax < 0 || value > max) argmax = ky * kernel + kx, max = value;
                            }
                        state[n++] = (unsigned char)argmax;
                    }
        free(in);
    }
    return n;
}

typedef struct difference_check {
    simclr_network *net, *probe;
    const float *images, *r;
    unsigned char *kinks[3]; /* kink_state at x - step, x, x + step */
    size_t kink_bytes;
    size_t checked, skipped;
    double worst;
} difference_check;

/* The gradient `analytic` of the coordinate `*value` against the central difference of the objective.
 *
 * Step 1e-3. The float32 forward rounds differently for every input, so the objective carries
 * rounding noise of ~1e-7 and a central difference ~1.4e-7 / step: the rms of (differences -
 * backward) over the sampled coordinates is 4.3e-4 natively and 5.4e-4 with oneDNN capped to AVX2
 * at a step of 3e-4, 1.5e-4 and 1.3e-4 at 1e-3, 6e-5 and 7e-5 at 2e-3 (noise, not curvature, which
 * would grow with the step). At 3e-4 the 1.5e-3 floor of the tolerance below was 3 of those, and
 * under AVX2 d input[1] (backward 0.00408; 0.00403 at a step of 1e-3) came out 0.00578 with no
 * ReLU or max pool switched within the step. At 1e-3 the floor is 10 of them; the larger step
 * switches more ReLUs and max pools, so a coordinate whose kink_state differs between x - step, x
 * and x + step (a kink within the step: the difference averages two slopes) is left out and
 * counted, not compared.
 *
 * Tolerance: |differences - backward| <= 3e-2 * (5e-2 + |differences|): 1.5e-3 absolute (10 sigma
 * of that noise) for small gradients, 3 % relative for large ones (float32 accumulation in the
 * backward pass, the step's O(step^2) curvature). The worst relative error seen is 0.0055 natively,
 * 0.0065 / 0.0073 / 0.0076 with oneDNN capped to AVX2 / AVX / SSE4.1. A wrong backward is off by more:
 * 5 % too much d_gamma or d_beta in batchnorm, 5 % too little max pool gradient, 10 % off in one term
 * of batchnorm's input gradient, each fails here. */
static void check_difference(difference_check *check, float *value, double analytic, const char *name, size_t index)
{
    const float step = 1e-3f, saved = *value;
    *value = saved + step;
    double above = objective(check->net, check->images, check->r);
    kink_state(check->probe, check->net, check->images, check->kinks[2]);
    *value = saved - step;
    double below = objective(check->net, check->images, check->r);
    kink_state(check->probe, check->net, check->images, check->kinks[0]);
    *value = saved;
    if (memcmp(check->kinks[0], check->kinks[1], check->kink_bytes) ||
        memcmp(check->kinks[1], check->kinks[2], check->kink_bytes)) {
        check->skipped++;
        return;
    }
    double numeric = (above - below) / (double)((saved + step) - (saved - step));
    double error = fabs(numeric - analytic) / (5e-2 + fabs(numeric));
    if (error > check->worst) check->worst = error;
    if (error > 3e-2) fail_msg("d %s[%zu]: backward %.6g, differences %.6g", name, index, analytic, numeric);
    check->checked++;
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
    simclr_network *probe = calloc(1, sizeof *probe);
    assert_non_null(probe);
    const simclr_network_options keep = {.keep_activations = 1};
    int status = simclr_network_init_with(probe, "graph", &shape, specs, count, BATCH, &keep, &err);
    if (status) fail_msg("init: %s", err.message);
    size_t state_bytes = 0;
    for (int l = 0; l < net.layer_count; l++) state_bytes += (size_t)BATCH * net.layers[l].out_size;
    difference_check check = {.net = &net, .probe = probe, .images = images, .r = r};
    for (int k = 0; k < 3; k++) check.kinks[k] = malloc(state_bytes);
    assert_true(check.kinks[0] && check.kinks[1] && check.kinks[2]);
    check.kink_bytes = kink_state(probe, &net, images, check.kinks[1]); /* at x: the same for every coordinate */
    for (int t = 0; t < simclr_network_tensor_count(&net); t++) {
        simclr_network_tensor tensor;
        simclr_network_tensor_at(&net, t, &tensor);
        if (!tensor.grads) continue;
        size_t samples = tensor.count < 6 ? tensor.count : 6, checked = check.checked;
        for (size_t s = 0; s < samples; s++) {
            size_t i = (s * 7919u + 3) % tensor.count;
            check_difference(&check, &tensor.values[i], grads[tensor.grads - net.grads + i], tensor.name, i);
        }
        /* Every tensor's gradient is compared somewhere. */
        if (check.checked == checked) fail_msg("%s: every sampled coordinate switches a ReLU or max pool", tensor.name);
    }
    size_t checked = check.checked;
    for (size_t s = 0; s < 12; s++) {
        size_t i = (s * 7919u + 1) % image_count;
        check_difference(&check, &images[i], d_images[i], "input", i);
    }
    if (check.checked == checked) fail_msg("input: every sampled coordinate switches a ReLU or max pool");
    printf("  %zu gradient entries against central differences, worst relative error %.3g; %zu left out, their "
           "step switching a ReLU or max pool\n", check.checked, check.worst, check.skipped);
    /* The step (1e-3) switches a ReLU or max pool for 14 of the 148 sampled coordinates, natively and capped to
     * AVX2 (through the batch statistics one coordinate moves every pre-activation of a channel, or all);
     * more than a fifth would leave too little compared. */
    assert_true(check.skipped * 5 <= check.checked + check.skipped);
    for (int k = 0; k < 3; k++) free(check.kinks[k]);
    simclr_network_free(probe);
    free(probe);

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
                                simclr_nn_precision precision, const simclr_network_options *options)
{
    simclr_network *nets = calloc(2, sizeof *nets);
    assert_non_null(nets);
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default(shape, CLASSES);
    config.backbone = SIMCLR_MODEL_BACKBONE_RESNET18;
    config.precision = precision;
    simclr_network_options kept_options = *options;
    kept_options.keep_activations = 1;
    for (int k = 0; k < 2; k++) {
        config.network = k == 1 ? kept_options : *options;
        int status = specs ? simclr_network_init_with(&nets[k], "graph", &shape, specs, count, batch, &config.network,
                                                      &err)
                           : simclr_model_build_encoder(&nets[k], &config, batch, &err);
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
        assert_int_equal(
            simclr_network_estimate_bytes(&shape, specs, count, batch, options, &planned_bytes, NULL, &err), 0);
        assert_int_equal(
            simclr_network_estimate_bytes(&shape, specs, count, batch, &kept_options, &kept_bytes, NULL, &err), 0);
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
    const simclr_network_options planned = {0};
    assert_int_equal(compare_memory_plans(specs, count, shape, BATCH, SIMCLR_NN_PRECISION_FP32, &planned), 6);
    /* ResNet-18, CIFAR stem: every block's bn1 and its batchnorm before the add (16 of 20). */
    simclr_tensor_shape cifar = {16, 16, 3};
    assert_int_equal(compare_memory_plans(NULL, 0, cifar, 2, SIMCLR_NN_PRECISION_FP32, &planned), 16);
    /* In every layout a ResNet may run in (nChw16c, nChw8c, NHWC). */
    const char *layouts[] = {"nChw16c", "nChw8c", "nhwc"};
    for (int l = 0; l < 3; l++) {
        simclr_network_options forced = {0};
        assert_int_equal(simclr_network_options_parse_layout(&forced, layouts[l], "layout", NULL), 0);
        printf("  layout %s\n", layouts[l]);
        int recomputed = compare_memory_plans(NULL, 0, cifar, 2, SIMCLR_NN_PRECISION_FP32, &forced);
        assert_int_equal(recomputed, 16);
    }
}

/* The same in bf16, in both layouts bf16 may run in (nChw16c; NHWC on AMX CPUs). */
static void test_memory_plans_change_no_result_bf16(void **state)
{
    (void)state;
    simclr_tensor_shape cifar = {16, 16, 3};
    const char *layouts[] = {"nChw16c", "nhwc"};
    for (int l = 0; l < 2; l++) {
        simclr_network_options forced = {0};
        assert_int_equal(simclr_network_options_parse_layout(&forced, layouts[l], "layout", NULL), 0);
        printf("  layout %s\n", layouts[l]);
        int recomputed = compare_memory_plans(NULL, 0, cifar, 2, SIMCLR_NN_PRECISION_BF16, &forced);
        assert_int_equal(recomputed, 16);
    }
}

/* The layout of a 32x32 ResNet-18's feature maps (its first conv's output): in fp32 the CPU's
 * blocked layout (nChw16c on AVX-512, nChw8c on AVX2) or NHWC where that has no jit kernels (AVX,
 * SSE4.1; and at 16x16 on AVX2, whose 2x2 layer4 has none); in bf16 NHWC where oneDNN's bf16
 * convolutions are AMX ones, else nChw16c; SIMCLR_CONV_LAYOUT=blocked, nhwc, nChw16c or nChw8c
 * overrides both; another value is refused, naming the variable. */
static simclr_nn_layout resnet_layout(simclr_nn_precision precision, const char *choice, simclr_error *err)
{
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){32, 32, 3}, CLASSES);
    config.backbone = SIMCLR_MODEL_BACKBONE_RESNET18;
    config.precision = precision;
    if (simclr_network_options_parse_layout(&config.network, choice, "SIMCLR_CONV_LAYOUT", err) != 0)
        return (simclr_nn_layout)-1;
    simclr_network *net = calloc(1, sizeof *net);
    assert_non_null(net);
    int status = simclr_model_build_encoder(net, &config, 2, err);
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
    /* The ISA's blocked layout where it has jit kernels for every pass (AVX2 and up), else NHWC. */
    simclr_nn_layout native = simclr_conv2d_blocked_layout();
    const char *isa = simclr_conv2d_cpu_isa_name();
    simclr_nn_layout expected = strcmp(isa, "sse41") == 0 || strcmp(isa, "avx") == 0 ? SIMCLR_NN_LAYOUT_NHWC : native;
    printf("  oneDNN ISA %s: fp32 %s\n", isa, simclr_nn_layout_name(expected));
    assert_int_equal(resnet_layout(fp32, NULL, &err), expected);
    assert_int_equal(resnet_layout(fp32, "auto", &err), expected);
    if (simclr_conv2d_bf16_available()) {
        assert_int_equal(resnet_layout(bf16, NULL, &err),
                         simclr_conv2d_bf16_prefers_nhwc() ? SIMCLR_NN_LAYOUT_NHWC : SIMCLR_NN_LAYOUT_BLOCKED16);
        printf("  bf16 here: %s\n", simclr_conv2d_bf16_prefers_nhwc() ? "AMX, NHWC" : "no AMX, nChw16c");
    }
    for (int p = 0; p < 2; p++) {
        simclr_nn_precision precision = p ? bf16 : fp32;
        assert_int_equal(resnet_layout(precision, "nhwc", &err), SIMCLR_NN_LAYOUT_NHWC);
        assert_int_equal(resnet_layout(precision, "blocked", &err), native);
        assert_int_equal(resnet_layout(precision, "nChw16c", &err), SIMCLR_NN_LAYOUT_BLOCKED16);
        assert_int_equal(resnet_layout(precision, "nChw8c", &err), SIMCLR_NN_LAYOUT_BLOCKED8);
    }
    assert_int_equal((int)resnet_layout(fp32, "nchw16c", &err), -1);
    assert_non_null(strstr(err.message, "SIMCLR_CONV_LAYOUT 'nchw16c'"));
    assert_non_null(strstr(err.message, "auto, blocked, nhwc, nChw16c or nChw8c"));
}

static void expect_refused(const simclr_layer_spec *specs, int count, const char *text)
{
    simclr_tensor_shape shape = {SIDE, SIDE, CHANNELS};
    simclr_error err = {0};
    size_t bytes = 0;
    assert_int_equal(simclr_network_estimate_bytes(&shape, specs, count, 2, NULL, &bytes, NULL, &err), -1);
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_residual_graph_gradients),
        cmocka_unit_test(test_memory_plans_change_no_result),
        cmocka_unit_test(test_layout_choice),
        cmocka_unit_test(test_refuses_bad_graphs),
    };
    const struct CMUnitTest bf16_tests[] = {
        cmocka_unit_test(test_memory_plans_change_no_result_bf16),
    };
    return test_main_with_bf16(argc, argv, tests, bf16_tests, NULL, NULL);
}
