/*
 * The layers composed as the seed's model (4 x conv + Dense encoder, projection head, contrastive
 * loss; linear probe + CE; NT-Xent) against the PyTorch twin, tools/make_torch_fixtures.py,
 * which computed the same model in float64 from the same float32 inputs and weights. Every
 * forward output, loss, accuracy count and gradient is compared; the worst differences are
 * printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/loss.h"
#include "simclr/nn.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYERS 4
#define WIDTH 16
#define CLASSES 10
#define TEMPERATURE 0.1f
/* Relative tolerance; the absolute one is this fraction of the tensor's largest magnitude, so
 * that near-zero entries of a gradient (sums that cancel) are judged at the tensor's scale. */
#define PARITY_TOLERANCE 1e-4

typedef struct parity_config {
    const char *key;
    int height, width, channels, padding, batch; /* batch per view; 2 * batch images in all */
} parity_config;

/* Loads torch_<key>_<name>.f32 holding count floats. */
static float *load(const parity_config *p, const char *name, size_t count)
{
    char file[128];
    snprintf(file, sizeof file, "torch_%s_%s.f32", p->key, name);
    return test_load_fixture_floats(file, count);
}

static float *zeros(size_t count)
{
    float *values = calloc(count ? count : 1, sizeof *values);
    assert_non_null(values);
    return values;
}

/* Compares actual with the fixture torch_<key>_<name>.f32; returns the worst relative error
 * (worst |diff| over the tensor's largest magnitude). */
static double compare(const parity_config *p, const char *name, const float *actual, size_t count)
{
    float *expected = load(p, name, count);
    double scale = 0.0;
    for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(expected[i]));
    char label[96];
    snprintf(label, sizeof label, "%s %s", p->key, name);
    double worst = test_assert_close(label, actual, expected, count,
                                     PARITY_TOLERANCE * fmax(scale, 1e-30), PARITY_TOLERANCE);
    free(expected);
    return scale > 0.0 ? worst / scale : worst;
}

typedef struct dense_params {
    const char *name;
    int in, out;
    simclr_nn_activation activation;
    float *kernel, *bias, *d_kernel, *d_bias;
} dense_params;

static void dense_params_load(const parity_config *p, dense_params *d)
{
    char name[64];
    snprintf(name, sizeof name, "%s_kernel", d->name);
    d->kernel = load(p, name, (size_t)d->in * d->out);
    snprintf(name, sizeof name, "%s_bias", d->name);
    d->bias = load(p, name, (size_t)d->out);
    d->d_kernel = zeros((size_t)d->in * d->out);
    d->d_bias = zeros((size_t)d->out);
}

static double dense_params_compare(const parity_config *p, const dense_params *d)
{
    char name[64];
    snprintf(name, sizeof name, "d_%s_kernel", d->name);
    double worst = compare(p, name, d->d_kernel, (size_t)d->in * d->out);
    snprintf(name, sizeof name, "d_%s_bias", d->name);
    return fmax(worst, compare(p, name, d->d_bias, (size_t)d->out));
}

static void dense_params_free(dense_params *d)
{
    free(d->kernel), free(d->bias), free(d->d_kernel), free(d->d_bias);
}

static void metric_check(const char *label, float actual, float expected, double tolerance)
{
    printf("  %-32s %.8g (torch %.8g)\n", label, (double)actual, (double)expected);
    if (!(fabs(actual - expected) <= tolerance * fmax(1.0, fabs(expected))))
        fail_msg("%s: %.8g, torch %.8g", label, (double)actual, (double)expected);
}

static void run_parity(const parity_config *p)
{
    const int views = 2 * p->batch;
    simclr_error err = {0};

    /* ---- encoder: convolutions ---- */
    simclr_conv2d *convs[LAYERS] = {NULL};
    float *kernels[LAYERS], *biases[LAYERS], *d_kernels[LAYERS], *d_biases[LAYERS];
    float *outs[LAYERS], *d_outs[LAYERS];
    size_t out_counts[LAYERS], kernel_counts[LAYERS];
    int height = p->height, width = p->width, channels = p->channels;
    size_t input_count = (size_t)views * height * width * channels;
    float *input = load(p, "input", input_count);
    for (int l = 0; l < LAYERS; l++) {
        simclr_conv2d_config config = {height, width, channels, WIDTH, 3, 2, p->padding,
                                SIMCLR_NN_ACTIVATION_RELU, SIMCLR_NN_PRECISION_FP32, SIMCLR_NN_LAYOUT_NHWC,
                                SIMCLR_NN_LAYOUT_NHWC};
        if (simclr_conv2d_create(&convs[l], &config, &err)) fail_msg("conv2d_create: %s", err.message);
        char name[64];
        kernel_counts[l] = (size_t)9 * channels * WIDTH;
        snprintf(name, sizeof name, "conv%d_kernel", l + 1);
        kernels[l] = load(p, name, kernel_counts[l]);
        snprintf(name, sizeof name, "conv%d_bias", l + 1);
        biases[l] = load(p, name, WIDTH);
        d_kernels[l] = zeros(kernel_counts[l]);
        d_biases[l] = zeros(WIDTH);
        height = simclr_conv2d_out_height(convs[l]);
        width = simclr_conv2d_out_width(convs[l]);
        channels = WIDTH;
        out_counts[l] = (size_t)views * height * width * channels;
        outs[l] = zeros(out_counts[l]);
        d_outs[l] = zeros(out_counts[l]);
    }
    const int flat = height * width * channels; /* NHWC flatten: no copy */

    for (int l = 0; l < LAYERS; l++) {
        const float *layer_in = l == 0 ? input : outs[l - 1];
        if (simclr_conv2d_forward(convs[l], outs[l], layer_in, kernels[l], biases[l], views, &err))
            fail_msg("conv2d_forward: %s", err.message);
        char name[64];
        snprintf(name, sizeof name, "conv%d_out", l + 1);
        compare(p, name, outs[l], out_counts[l]);
    }

    /* ---- encoder dense, projection head ---- */
    dense_params encoder = {.name = "encoder_dense", .in = flat, .out = WIDTH, .activation = SIMCLR_NN_ACTIVATION_RELU};
    dense_params head1 = {.name = "head1", .in = WIDTH, .out = WIDTH, .activation = SIMCLR_NN_ACTIVATION_RELU};
    dense_params head2 = {.name = "head2", .in = WIDTH, .out = WIDTH, .activation = SIMCLR_NN_ACTIVATION_NONE};
    dense_params probe = {.name = "probe", .in = WIDTH, .out = CLASSES, .activation = SIMCLR_NN_ACTIVATION_NONE};
    dense_params *denses[] = {&encoder, &head1, &head2, &probe};
    for (int i = 0; i < 4; i++) dense_params_load(p, denses[i]);
    size_t row_count = (size_t)views * WIDTH;
    float *features = zeros(row_count), *hidden = zeros(row_count), *z = zeros(row_count);
    simclr_dense_forward(features, outs[LAYERS - 1], encoder.kernel, encoder.bias, views, flat, WIDTH,
                  encoder.activation);
    simclr_dense_forward(hidden, features, head1.kernel, head1.bias, views, WIDTH, WIDTH,
                  head1.activation);
    simclr_dense_forward(z, hidden, head2.kernel, head2.bias, views, WIDTH, WIDTH, head2.activation);
    compare(p, "features", features, row_count);
    compare(p, "head_hidden", hidden, row_count);
    compare(p, "projections", z, row_count);

    /* ---- the seed's contrastive loss between view 1 (first B rows) and view 2 ---- */
    float *metrics = load(p, "metrics", 7);
    float *d_z = zeros(row_count), *d_hidden = zeros(row_count), *d_features = zeros(row_count);
    float *d_flat = zeros(out_counts[LAYERS - 1]);
    size_t half = (size_t)p->batch * WIDTH;
    size_t workspace_floats = simclr_contrastive_workspace_floats(SIMCLR_CONTRASTIVE_KIND_NT_XENT, p->batch, WIDTH);
    float *workspace = zeros(workspace_floats);
    simclr_contrastive_result contrastive = {0};
    simclr_contrastive_loss(SIMCLR_CONTRASTIVE_KIND_SEED, z, z + half, p->batch, WIDTH, TEMPERATURE, d_z,
                     d_z + half, workspace, &contrastive);
    metric_check("c_loss", contrastive.loss, metrics[0], 1e-5);
    metric_check("c correct", (float)contrastive.correct, metrics[1], 0.0);
    metric_check("c total", (float)contrastive.total, metrics[2], 0.0);

    /* ---- backward through head, encoder dense and the convolutions ---- */
    simclr_dense_backward(d_hidden, head2.d_kernel, head2.d_bias, d_z, z, hidden, head2.kernel, views,
                   WIDTH, WIDTH, head2.activation);
    simclr_dense_backward(d_features, head1.d_kernel, head1.d_bias, d_hidden, hidden, features,
                   head1.kernel, views, WIDTH, WIDTH, head1.activation);
    simclr_dense_backward(d_flat, encoder.d_kernel, encoder.d_bias, d_features, features,
                   outs[LAYERS - 1], encoder.kernel, views, flat, WIDTH, encoder.activation);
    memcpy(d_outs[LAYERS - 1], d_flat, out_counts[LAYERS - 1] * sizeof(float));
    float *d_input = zeros(input_count);
    for (int l = LAYERS - 1; l >= 0; l--) {
        const float *layer_in = l == 0 ? input : outs[l - 1];
        float *d_layer_in = l == 0 ? d_input : d_outs[l - 1];
        if (simclr_conv2d_backward(convs[l], d_layer_in, d_kernels[l], d_biases[l], d_outs[l], outs[l],
                            layer_in, kernels[l], views, &err))
            fail_msg("conv2d_backward: %s", err.message);
    }
    double worst = 0.0;
    for (int i = 0; i < 3; i++) worst = fmax(worst, dense_params_compare(p, denses[i]));
    for (int l = 0; l < LAYERS; l++) {
        char name[64];
        snprintf(name, sizeof name, "d_conv%d_kernel", l + 1);
        worst = fmax(worst, compare(p, name, d_kernels[l], kernel_counts[l]));
        snprintf(name, sizeof name, "d_conv%d_bias", l + 1);
        worst = fmax(worst, compare(p, name, d_biases[l], WIDTH));
    }
    worst = fmax(worst, compare(p, "d_input", d_input, input_count));
    printf("  %s: worst gradient difference %.3g of the tensor's scale\n", p->key, worst);

    /* ---- linear probe on view 1's features (the encoder's gradient stops there) ---- */
    float *label_values = load(p, "labels", (size_t)p->batch);
    int32_t labels[64];
    assert_true(p->batch <= 64);
    for (int n = 0; n < p->batch; n++) labels[n] = (int32_t)label_values[n];
    float *logits = zeros((size_t)p->batch * CLASSES), *d_logits = zeros((size_t)p->batch * CLASSES);
    simclr_dense_forward(logits, features, probe.kernel, probe.bias, p->batch, WIDTH, CLASSES,
                  probe.activation);
    compare(p, "logits", logits, (size_t)p->batch * CLASSES);
    int probe_correct = -1;
    float probe_loss = simclr_softmax_cross_entropy(logits, labels, p->batch, CLASSES, d_logits,
                                             &probe_correct);
    metric_check("p_loss", probe_loss, metrics[3], 1e-5);
    metric_check("p correct", (float)probe_correct, metrics[4], 0.0);
    simclr_dense_backward(NULL, probe.d_kernel, probe.d_bias, d_logits, logits, features, probe.kernel,
                   p->batch, WIDTH, CLASSES, probe.activation);
    dense_params_compare(p, &probe);

    /* ---- NT-Xent on the same projections ---- */
    float *nt_d_z = zeros(row_count);
    simclr_contrastive_result nt = {0};
    simclr_contrastive_loss(SIMCLR_CONTRASTIVE_KIND_NT_XENT, z, z + half, p->batch, WIDTH, TEMPERATURE, nt_d_z,
                     nt_d_z + half, workspace, &nt);
    metric_check("nt-xent loss", nt.loss, metrics[5], 1e-5);
    metric_check("nt-xent correct", (float)nt.correct, metrics[6], 0.0);
    compare(p, "nt_d_z1", nt_d_z, half);
    compare(p, "nt_d_z2", nt_d_z + half, half);

    free(nt_d_z), free(logits), free(d_logits), free(label_values), free(d_input);
    free(metrics), free(d_z), free(d_hidden), free(d_features), free(d_flat), free(workspace);
    free(features), free(hidden), free(z);
    for (int i = 0; i < 4; i++) dense_params_free(denses[i]);
    for (int l = 0; l < LAYERS; l++) {
        simclr_conv2d_free(convs[l]);
        free(kernels[l]), free(biases[l]), free(d_kernels[l]), free(d_biases[l]);
        free(outs[l]), free(d_outs[l]);
    }
    free(input);
}

static void test_parity_padded_gray(void **state)
{
    (void)state;
    parity_config p = {"a", 28, 28, 1, 1, 6};
    run_parity(&p);
}

static void test_parity_valid_rgb(void **state)
{
    (void)state;
    parity_config p = {"b", 48, 40, 3, 0, 4};
    run_parity(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_padded_gray),
        cmocka_unit_test(test_parity_valid_rgb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
