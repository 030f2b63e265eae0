/*
 * The model as training builds it (model.h networks: one parameter block each, backward writing
 * gradients into the activation buffers in place) against the PyTorch twin's fixtures
 * (tools/make_torch_fixtures.py): encoder + projection head + the seed's contrastive loss, every
 * parameter gradient and the input gradient.
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
#include "test_support.h"

#define WIDTH 16

typedef struct case_config {
    const char *key;
    int height, width, channels, padding, batch; /* batch per view */
} case_config;

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

static void load_weights(const case_config *c, network *net, const char *const *names)
{
    for (int i = 0; i < net->layer_count; i++) {
        const network_layer *layer = &net->layers[i];
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

static void compare_gradients(const case_config *c, const network *net, const char *const *names)
{
    for (int i = 0; i < net->layer_count; i++) {
        const network_layer *layer = &net->layers[i];
        char name[64];
        snprintf(name, sizeof name, "d_%s_kernel", names[i]);
        compare(c, name, net->grads + layer->kernel_offset, layer->kernel_count);
        snprintf(name, sizeof name, "d_%s_bias", names[i]);
        compare(c, name, net->grads + layer->bias_offset, layer->bias_count);
    }
}

static void run_case(const case_config *c)
{
    error err;
    model_config config = model_config_default((tensor_shape){c->height, c->width, c->channels}, 10);
    config.width = WIDTH;
    config.padding = c->padding;
    int views = 2 * c->batch;
    network encoder, head;
    if (model_build_encoder(&encoder, &config, views, &err) != 0) fail_msg("%s", err.message);
    if (model_build_projection_head(&head, &config, views, &err) != 0) fail_msg("%s", err.message);
    load_weights(c, &encoder, ENCODER_NAMES);
    load_weights(c, &head, HEAD_NAMES);
    size_t input_count = (size_t)views * c->height * c->width * c->channels;
    float *input = fixture(c, "input", input_count);

    if (network_forward(&encoder, input, views, &err) != 0) fail_msg("%s", err.message);
    compare(c, "features", network_output(&encoder), (size_t)views * WIDTH);
    if (network_forward(&head, network_output(&encoder), views, &err) != 0)
        fail_msg("%s", err.message);
    compare(c, "projections", network_output(&head), (size_t)views * WIDTH);

    float *d_projections = calloc((size_t)views * WIDTH, sizeof(float));
    float *workspace = calloc(contrastive_workspace_floats(CONTRASTIVE_KIND_SEED, c->batch, WIDTH),
                              sizeof(float));
    const float *z = network_output(&head);
    contrastive_result result;
    contrastive_loss(CONTRASTIVE_KIND_SEED, z, z + (size_t)c->batch * WIDTH, c->batch, WIDTH, 0.1f,
                     d_projections, d_projections + (size_t)c->batch * WIDTH, workspace, &result);

    float *d_input = calloc(input_count, sizeof(float));
    network_zero_grads(&encoder);
    network_zero_grads(&head);
    if (network_backward(&head, d_projections, encoder.d_output, &err) != 0)
        fail_msg("%s", err.message);
    if (network_backward(&encoder, encoder.d_output, d_input, &err) != 0)
        fail_msg("%s", err.message);
    compare_gradients(c, &head, HEAD_NAMES);
    compare_gradients(c, &encoder, ENCODER_NAMES);
    compare(c, "d_input", d_input, input_count);

    /* A second step's gradients double when not zeroed: backward adds. */
    float *first = malloc(encoder.param_count * sizeof(float));
    memcpy(first, encoder.grads, encoder.param_count * sizeof(float));
    network_forward(&encoder, input, views, &err);
    network_forward(&head, network_output(&encoder), views, &err);
    z = network_output(&head);
    contrastive_loss(CONTRASTIVE_KIND_SEED, z, z + (size_t)c->batch * WIDTH, c->batch, WIDTH, 0.1f,
                     d_projections, d_projections + (size_t)c->batch * WIDTH, workspace, &result);
    network_backward(&head, d_projections, encoder.d_output, &err);
    network_backward(&encoder, encoder.d_output, NULL, &err);
    for (size_t i = 0; i < encoder.param_count; i++)
        assert_true(fabsf(encoder.grads[i] - 2.0f * first[i]) <= 1e-5f * (1.0f + fabsf(first[i])));

    free(first);
    free(d_input);
    free(workspace);
    free(d_projections);
    free(input);
    network_free(&encoder);
    network_free(&head);
}

static void test_network_padded_gray(void **state)
{
    (void)state;
    case_config c = {"a", 28, 28, 1, 1, 6};
    run_case(&c);
}

static void test_network_valid_rgb(void **state)
{
    (void)state;
    case_config c = {"b", 48, 40, 3, 0, 4};
    run_case(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_padded_gray),
        cmocka_unit_test(test_network_valid_rgb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
