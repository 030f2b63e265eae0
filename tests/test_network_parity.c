/*
 * The model as training builds it (model.h networks: one parameter block each, backward writing
 * gradients into the activation buffers in place) against the PyTorch twin's fixtures
 * (tools/make_torch_fixtures.py): encoder + projection head + the seed's contrastive loss, every
 * parameter gradient and the input gradient.
 *
 * bf16: networks with bf16 convolutions against the same networks in fp32, on a random output
 * gradient (the contrastive gradient of these small fixtures is ill-conditioned: merely rounding
 * the input to bf16 and computing in fp32 moves the encoder's gradients by 7-16 %).
 *  - Without ReLUs the two differ only by bf16's rounding: every gradient within 3 % (relative
 *    L2). This checks the conversions, the staging buffers and the in-place gradients.
 *  - The model's encoder (ReLU after every layer): a pre-activation within bf16's rounding of zero
 *    can land on the other side of the ReLU, and in tensors this small one such flip moves a
 *    gradient by 10-20 %; so the features must be within 1 % and every gradient point the same
 *    way (cosine similarity >= 0.95), which a wrong mask or layout would break.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/loss.h"
#include "simclr/model.h"
#include "simclr/rng.h"
#include "test_support.h"

#define WIDTH 16

typedef struct case_config {
    const char *key;
    int height, width, channels, padding, batch; /* batch per view */
    simclr_nn_precision precision;
} case_config;

/* bf16 against fp32: largest relative L2 error allowed per tensor, and the smallest cosine
 * similarity of the ReLU encoder's gradients. */
#define BF16_RELATIVE_L2 0.03
#define BF16_RELU_COSINE 0.95

static double cosine_similarity(const float *a, const float *b, size_t count)
{
    double dot = 0.0, norm_a = 0.0, norm_b = 0.0;
    for (size_t i = 0; i < count; i++) {
        dot += (double)a[i] * b[i];
        norm_a += (double)a[i] * a[i];
        norm_b += (double)b[i] * b[i];
    }
    return norm_a > 0 && norm_b > 0 ? dot / sqrt(norm_a * norm_b) : (norm_a == norm_b ? 1.0 : 0.0);
}

static void assert_same_direction(const char *key, const char *name, const float *actual,
                                  const float *expected, size_t count)
{
    double cosine = cosine_similarity(actual, expected, count);
    printf("  %s bf16 %-22s cosine similarity %.4f\n", key, name, cosine);
    if (!(cosine >= BF16_RELU_COSINE))
        fail_msg("%s %s: bf16 gradient's cosine similarity %.4f < %.2f", key, name, cosine,
                 BF16_RELU_COSINE);
}

static double relative_l2(const float *actual, const float *expected, size_t count)
{
    double squared_error = 0.0, norm = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)actual[i] - expected[i];
        squared_error += d * d;
        norm += (double)expected[i] * expected[i];
    }
    return sqrt(squared_error / (norm > 0 ? norm : 1.0));
}

static void assert_bf16_close(const char *key, const char *name, const float *actual,
                              const float *expected, size_t count)
{
    double relative = relative_l2(actual, expected, count);
    printf("  %s bf16 %-22s relative L2 error %.2e\n", key, name, relative);
    if (!(relative <= BF16_RELATIVE_L2))
        fail_msg("%s %s: bf16 relative L2 error %.3g > %.3g", key, name, relative,
                 BF16_RELATIVE_L2);
}

static float *fixture(const case_config *c, const char *name, size_t count)
{
    char file[256];
    snprintf(file, sizeof file, "torch_%s_%s.f32", c->key, name);
    return test_load_fixture_floats(file, count);
}

/* Tolerance at the tensor's scale: |diff| <= 1e-4 * max|expected| + 1e-4 * |expected|. */
static void compare(const case_config *c, const char *name, const float *actual, size_t count)
{
    float *expected = fixture(c, name, count);
    double largest = 0.0;
    for (size_t i = 0; i < count; i++)
        if (fabs(expected[i]) > largest) largest = fabs(expected[i]);
    char label[128];
    snprintf(label, sizeof label, "%s %s", c->key, name);
    test_assert_close(label, actual, expected, count, 1e-4 * largest + 1e-7, 1e-4);
    free(expected);
}

/* Fixture names of the encoder's layers in order, then the head's. */
static const char *const ENCODER_NAMES[] = {"conv1", "conv2", "conv3", "conv4", "encoder_dense"};
static const char *const HEAD_NAMES[] = {"head1", "head2"};

static void load_weights(const case_config *c, simclr_network *net, const char *const *names)
{
    for (int i = 0; i < net->layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        char name[64];
        snprintf(name, sizeof name, "%s_kernel", names[i]);
        float *kernel = fixture(c, name, layer->kernel_count);
        snprintf(name, sizeof name, "%s_bias", names[i]);
        float *bias = fixture(c, name, layer->bias_count);
        memcpy(net->params + layer->kernel_offset, kernel, layer->kernel_count * sizeof(float));
        memcpy(net->params + layer->bias_offset, bias, layer->bias_count * sizeof(float));
        free(kernel);
        free(bias);
    }
}

static void compare_gradients(const case_config *c, const simclr_network *net, const char *const *names)
{
    for (int i = 0; i < net->layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        char name[64];
        snprintf(name, sizeof name, "d_%s_kernel", names[i]);
        compare(c, name, net->grads + layer->kernel_offset, layer->kernel_count);
        snprintf(name, sizeof name, "d_%s_bias", names[i]);
        compare(c, name, net->grads + layer->bias_offset, layer->bias_count);
    }
}

static void run_case(const case_config *c)
{
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){c->height, c->width, c->channels}, 10);
    config.width = WIDTH;
    config.padding = c->padding;
    config.precision = c->precision;
    int views = 2 * c->batch;
    simclr_network encoder, head;
    if (simclr_model_build_encoder(&encoder, &config, views, &err) != 0) fail_msg("%s", err.message);
    if (simclr_model_build_projection_head(&head, &config, views, &err) != 0) fail_msg("%s", err.message);
    load_weights(c, &encoder, ENCODER_NAMES);
    load_weights(c, &head, HEAD_NAMES);
    size_t input_count = (size_t)views * c->height * c->width * c->channels;
    float *input = fixture(c, "input", input_count);

    if (simclr_network_forward(&encoder, input, views, &err) != 0) fail_msg("%s", err.message);
    compare(c, "features", simclr_network_output(&encoder), (size_t)views * WIDTH);
    if (simclr_network_forward(&head, simclr_network_output(&encoder), views, &err) != 0)
        fail_msg("%s", err.message);
    compare(c, "projections", simclr_network_output(&head), (size_t)views * WIDTH);

    float *d_projections = calloc((size_t)views * WIDTH, sizeof(float));
    float *workspace = calloc(simclr_contrastive_workspace_floats(SIMCLR_CONTRASTIVE_KIND_SEED, c->batch, WIDTH),
                              sizeof(float));
    const float *z = simclr_network_output(&head);
    simclr_contrastive_result result;
    simclr_contrastive_loss(SIMCLR_CONTRASTIVE_KIND_SEED, z, z + (size_t)c->batch * WIDTH, c->batch, WIDTH, 0.1f,
                     d_projections, d_projections + (size_t)c->batch * WIDTH, workspace, &result);

    float *d_input = calloc(input_count, sizeof(float));
    simclr_network_zero_grads(&encoder);
    simclr_network_zero_grads(&head);
    if (simclr_network_backward(&head, d_projections, encoder.d_output, &err) != 0)
        fail_msg("%s", err.message);
    if (simclr_network_backward(&encoder, encoder.d_output, d_input, &err) != 0)
        fail_msg("%s", err.message);
    compare_gradients(c, &head, HEAD_NAMES);
    compare_gradients(c, &encoder, ENCODER_NAMES);
    compare(c, "d_input", d_input, input_count);

    /* A second step's gradients double when not zeroed: backward adds. */
    float *first = malloc(encoder.param_count * sizeof(float));
    memcpy(first, encoder.grads, encoder.param_count * sizeof(float));
    simclr_network_forward(&encoder, input, views, &err);
    simclr_network_forward(&head, simclr_network_output(&encoder), views, &err);
    z = simclr_network_output(&head);
    simclr_contrastive_loss(SIMCLR_CONTRASTIVE_KIND_SEED, z, z + (size_t)c->batch * WIDTH, c->batch, WIDTH, 0.1f,
                     d_projections, d_projections + (size_t)c->batch * WIDTH, workspace, &result);
    simclr_network_backward(&head, d_projections, encoder.d_output, &err);
    simclr_network_backward(&encoder, encoder.d_output, NULL, &err);
    for (size_t i = 0; i < encoder.param_count; i++)
        assert_true(fabsf(encoder.grads[i] - 2.0f * first[i]) <= 1e-5f * (1.0f + fabsf(first[i])));

    free(first);
    free(d_input);
    free(workspace);
    free(d_projections);
    free(input);
    simclr_network_free(&encoder);
    simclr_network_free(&head);
}

static void test_network_padded_gray(void **state)
{
    (void)state;
    case_config c = {"a", 28, 28, 1, 1, 6, SIMCLR_NN_PRECISION_FP32};
    run_case(&c);
}

static void test_network_valid_rgb(void **state)
{
    (void)state;
    case_config c = {"b", 48, 40, 3, 0, 4, SIMCLR_NN_PRECISION_FP32};
    run_case(&c);
}

/* Forward and backward of nets[0] (fp32) and nets[1] (bf16) on the same input and a random
 * output gradient. The bf16 output is compared with expected_output (or the fp32 one); the
 * gradients and d_input by direction when the network has ReLUs (relu), else by relative error. */
static void compare_bf16_networks(const char *key, simclr_network *nets, const float *input, int batch,
                                  const float *expected_output, int relu)
{
    simclr_error err = {0};
    size_t input_count = (size_t)batch * nets[0].layers[0].in_size;
    size_t output_count = (size_t)batch * simclr_network_output_size(&nets[0]);
    float *d_output = calloc(output_count, sizeof(float));
    float *outputs[2] = {calloc(output_count, sizeof(float)), calloc(output_count, sizeof(float))};
    float *d_inputs[2] = {calloc(input_count, sizeof(float)), calloc(input_count, sizeof(float))};
    simclr_rng_stream stream = simclr_rng_stream_make(5, SIMCLR_RNG_PURPOSE_INIT, 11, 0, 0, 0);
    for (size_t i = 0; i < output_count; i++) d_output[i] = simclr_rng_uniform(&stream, -1.0f, 1.0f);
    for (int p = 0; p < 2; p++) {
        if (simclr_network_forward(&nets[p], input, batch, &err) != 0) fail_msg("%s", err.message);
        memcpy(outputs[p], simclr_network_output(&nets[p]), output_count * sizeof(float));
        simclr_network_zero_grads(&nets[p]);
        if (simclr_network_backward(&nets[p], d_output, d_inputs[p], &err) != 0)
            fail_msg("%s", err.message);
    }
    assert_bf16_close(key, "output", outputs[1], expected_output ? expected_output : outputs[0],
                      output_count);
    for (int i = 0; i < nets[0].layer_count; i++) {
        const simclr_network_layer *layer = &nets[0].layers[i];
        const float *grads[2] = {nets[0].grads, nets[1].grads};
        char name[64];
        for (int is_bias = 0; is_bias < 2; is_bias++) {
            size_t offset = is_bias ? layer->bias_offset : layer->kernel_offset;
            size_t count = is_bias ? layer->bias_count : layer->kernel_count;
            snprintf(name, sizeof name, "d_%s.%s", layer->name, is_bias ? "bias" : "kernel");
            if (relu)
                assert_same_direction(key, name, grads[1] + offset, grads[0] + offset, count);
            else
                assert_bf16_close(key, name, grads[1] + offset, grads[0] + offset, count);
        }
    }
    if (relu)
        assert_same_direction(key, "d_input", d_inputs[1], d_inputs[0], input_count);
    else
        assert_bf16_close(key, "d_input", d_inputs[1], d_inputs[0], input_count);
    free(d_output);
    for (int p = 0; p < 2; p++) {
        free(outputs[p]);
        free(d_inputs[p]);
    }
}

/* The model's encoder, fixture weights and input; its features against PyTorch's. */
static void run_bf16_encoder_case(const case_config *c)
{
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){c->height, c->width, c->channels}, 10);
    config.width = WIDTH;
    config.padding = c->padding;
    int views = 2 * c->batch;
    simclr_network encoders[2];
    for (int p = 0; p < 2; p++) {
        config.precision = p ? SIMCLR_NN_PRECISION_BF16 : SIMCLR_NN_PRECISION_FP32;
        if (simclr_model_build_encoder(&encoders[p], &config, views, &err) != 0)
            fail_msg("%s", err.message);
        load_weights(c, &encoders[p], ENCODER_NAMES);
    }
    size_t input_count = (size_t)views * c->height * c->width * c->channels;
    float *input = fixture(c, "input", input_count);
    float *expected_features = fixture(c, "features", (size_t)views * WIDTH);
    compare_bf16_networks(c->key, encoders, input, views, expected_features, 1);
    free(input);
    free(expected_features);
    simclr_network_free(&encoders[0]);
    simclr_network_free(&encoders[1]);
}

/* Three linear convs and two dense layers (random weights): only rounding separates bf16. */
static void test_network_bf16_linear(void **state)
{
    (void)state;
    simclr_tensor_shape input_shape = {20, 18, 3};
    simclr_network nets[2];
    simclr_error err = {0};
    for (int p = 0; p < 2; p++) {
        simclr_nn_precision precision = p ? SIMCLR_NN_PRECISION_BF16 : SIMCLR_NN_PRECISION_FP32;
        simclr_layer_spec specs[5];
        for (int i = 0; i < 3; i++)
            specs[i] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_CONV2D, .units = 24, .kernel = 3,
                                    .stride = i == 1 ? 1 : 2, .padding = 1,
                                    .activation = SIMCLR_NN_ACTIVATION_NONE, .precision = precision};
        specs[3] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = 32};
        specs[4] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = 8};
        if (simclr_network_init(&nets[p], "linear", &input_shape, specs, 5, 6, &err) != 0)
            fail_msg("%s", err.message);
        simclr_network_init_weights(&nets[p], 3);
    }
    size_t input_count = (size_t)6 * 20 * 18 * 3;
    float *input = malloc(input_count * sizeof(float));
    simclr_rng_stream stream = simclr_rng_stream_make(9, SIMCLR_RNG_PURPOSE_INIT, 1, 0, 0, 0);
    for (size_t i = 0; i < input_count; i++) input[i] = simclr_rng_uniform(&stream, 0.0f, 1.0f);
    compare_bf16_networks("linear", nets, input, 6, NULL, 0);
    free(input);
    simclr_network_free(&nets[0]);
    simclr_network_free(&nets[1]);
}

static void test_network_bf16(void **state)
{
    (void)state;
    case_config gray = {"a", 28, 28, 1, 1, 6, SIMCLR_NN_PRECISION_BF16};
    run_bf16_encoder_case(&gray);
    case_config rgb = {"b", 48, 40, 3, 0, 4, SIMCLR_NN_PRECISION_BF16};
    run_bf16_encoder_case(&rgb);
}

/* Mixed precisions a network cannot hold are refused when it is built. */
static void test_network_precision_rules(void **state)
{
    (void)state;
    simclr_tensor_shape input = {24, 24, 3};
    simclr_layer_spec conv = {.kind = SIMCLR_LAYER_KIND_CONV2D, .units = 32, .kernel = 3, .stride = 2,
                       .activation = SIMCLR_NN_ACTIVATION_RELU, .precision = SIMCLR_NN_PRECISION_BF16};
    simclr_layer_spec conv32 = conv;
    conv32.precision = SIMCLR_NN_PRECISION_FP32;
    simclr_layer_spec dense = {.kind = SIMCLR_LAYER_KIND_DENSE, .units = 3};
    simclr_layer_spec dense16 = dense;
    dense16.precision = SIMCLR_NN_PRECISION_BF16;
    simclr_network net;
    simclr_error err = {0};
    simclr_layer_spec mixed[3] = {conv, conv32, dense};
    assert_int_equal(simclr_network_init(&net, "n", &input, mixed, 3, 2, &err), -1);
    assert_non_null(strstr(err.message, "precision"));
    simclr_layer_spec bf16_dense[2] = {conv, dense16};
    assert_int_equal(simclr_network_init(&net, "n", &input, bf16_dense, 2, 2, &err), -1);
    assert_non_null(strstr(err.message, "fp32 only"));
    simclr_layer_spec bf16_last[1] = {conv};
    assert_int_equal(simclr_network_init(&net, "n", &input, bf16_last, 1, 2, &err), -1);
    assert_non_null(strstr(err.message, "last layer"));
    /* bf16 activations take half the bytes of fp32 ones in the estimate. */
    simclr_layer_spec good16[3] = {conv, conv, dense}, good32[3] = {conv32, conv32, dense};
    size_t bytes16 = 0, bytes32 = 0;
    assert_int_equal(simclr_network_estimate_bytes(&input, good16, 3, 1000, NULL, &bytes16, NULL, &err), 0);
    assert_int_equal(simclr_network_estimate_bytes(&input, good32, 3, 1000, NULL, &bytes32, NULL, &err), 0);
    assert_true(bytes16 < bytes32);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_padded_gray),
        cmocka_unit_test(test_network_valid_rgb),
        cmocka_unit_test(test_network_precision_rules),
    };
    const struct CMUnitTest bf16_tests[] = {
        cmocka_unit_test(test_network_bf16_linear),
        cmocka_unit_test(test_network_bf16),
    };
    return test_main_with_bf16(argc, argv, tests, bf16_tests, NULL, NULL);
}
