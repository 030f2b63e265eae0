/*
 * The ResNet encoders (src/model/resnet.c on network.c) against the real torchvision ResNet-18
 * (CIFAR and ImageNet stems) and ResNet-50 (CIFAR stem), fixtures of
 * tools/make_resnet_fixtures.py: one training-mode forward of 2 images, the gradient of
 * sum(features * r) w.r.t. every parameter (norm, a +-1 projection and 8 entries of each
 * tensor), the running statistics after that step, and the inference-mode features with them.
 * Weights, images and r come from an integer hash both sides compute (no 45 MB fixtures).
 * Then the same in bf16 against fp32, and the refusals of a config that cannot be built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/model.h"
#include "simclr/network.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 8

/* The generator of tools/make_resnet_fixtures.py (hash_uniform): FNV-1a of the name, lowbias32
 * of (index * 0x9E3779B1 + key), the top 24 bits as a float in [-1, 1). */
static uint32_t name_key(const char *name)
{
    uint32_t value = 2166136261u;
    for (const char *c = name; *c; c++) value = (value ^ (uint8_t)*c) * 16777619u;
    return value;
}

static float hash_uniform(uint32_t key, size_t index)
{
    uint32_t x = (uint32_t)index * 0x9E3779B1u + key;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    float unit = (float)(x >> 8) * (1.0f / 16777216.0f);
    return unit * 2.0f - 1.0f;
}

static void hash_fill(float *values, size_t count, const char *name)
{
    uint32_t key = name_key(name);
    for (size_t i = 0; i < count; i++) values[i] = hash_uniform(key, i);
}

/* The torchvision name of one of our tensors: without the "encoder." prefix. */
static const char *torch_name(const simclr_network_tensor *tensor)
{
    const char *dot = strchr(tensor->name, '.');
    return dot ? dot + 1 : tensor->name;
}

/* Parameters as make_resnet_fixtures.py sets them (kernels He-uniform, gamma 1 + 0.2 u, a
 * bottleneck's bn3 gamma 0.25 + 0.05 u, beta 0.1 u); running statistics stay at 0 and 1. */
static void fill_parameters(simclr_network *net)
{
    for (int t = 0; t < simclr_network_tensor_count(net); t++) {
        simclr_network_tensor tensor;
        simclr_network_tensor_at(net, t, &tensor);
        if (!tensor.grads) continue;
        const char *name = torch_name(&tensor);
        hash_fill(tensor.values, tensor.count, name);
        if (tensor.ndim == 4) {
            float scale = (float)sqrt(6.0 / (double)(tensor.shape[0] * tensor.shape[1] * tensor.shape[2]));
            for (size_t i = 0; i < tensor.count; i++) tensor.values[i] *= scale;
        } else if (strstr(name, "bn3.weight")) {
            for (size_t i = 0; i < tensor.count; i++) tensor.values[i] = 0.25f + 0.05f * tensor.values[i];
        } else if (strstr(name, ".weight")) {
            for (size_t i = 0; i < tensor.count; i++) tensor.values[i] = 1.0f + 0.2f * tensor.values[i];
        } else {
            for (size_t i = 0; i < tensor.count; i++) tensor.values[i] = 0.1f * tensor.values[i];
        }
    }
}

static const simclr_network_tensor *find_tensor(simclr_network_tensor *all, int count, const char *name)
{
    for (int t = 0; t < count; t++)
        if (strcmp(torch_name(&all[t]), name) == 0) return &all[t];
    fail_msg("no tensor named %s in the encoder", name);
    return NULL;
}

typedef struct resnet_case {
    const char *name;
    simclr_model_backbone backbone;
    simclr_model_stem stem;
    const char *layout; /* a forced feature-map layout (NULL: auto) */
} resnet_case;

/* Builds the case's encoder (fp32 or bf16) with the fixture's parameters, runs the training
 * step on the hashed images; *features receives the training-mode features (caller frees). */
static void run_step(const resnet_case *c, simclr_nn_precision precision, int batch, int height, int width,
                     simclr_network *net, float **features)
{
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){height, width, 3}, 10);
    config.backbone = c->backbone;
    config.stem = c->stem;
    config.precision = precision;
    simclr_error err = {0};
    if (simclr_network_options_parse_layout(&config.network, c->layout, "layout", &err) != 0)
        fail_msg("%s", err.message);
    if (simclr_model_build_encoder(net, &config, batch, &err)) fail_msg("build_encoder: %s", err.message);
    simclr_network_init_weights(net, 0);
    fill_parameters(net);
    size_t image_count = (size_t)batch * height * width * 3;
    size_t feature_count = (size_t)batch * simclr_network_output_size(net);
    float *images = malloc(image_count * sizeof *images), *r = malloc(feature_count * sizeof *r);
    *features = malloc(feature_count * sizeof **features);
    assert_true(images && r && *features);
    hash_fill(images, image_count, "input");
    hash_fill(r, feature_count, "d_features");
    if (simclr_network_forward(net, images, batch, &err)) fail_msg("forward: %s", err.message);
    memcpy(*features, simclr_network_output(net), feature_count * sizeof(float));
    simclr_network_zero_grads(net);
    if (simclr_network_backward(net, r, NULL, &err)) fail_msg("backward: %s", err.message);
    simclr_network_set_training(net, 0);
    if (simclr_network_forward(net, images, batch, &err)) fail_msg("inference forward: %s", err.message);
    free(images);
    free(r);
}

static void run_case(const resnet_case *c)
{
    char path[128];
    snprintf(path, sizeof path, "resnet_%s_manifest.txt", c->name);
    size_t manifest_size = 0;
    char *manifest = (char *)test_load_fixture_bytes(path, &manifest_size);
    manifest = realloc(manifest, manifest_size + 1);
    manifest[manifest_size] = '\0';
    int batch = 0, height = 0, width = 0, feature_width = 0;
    const char *shape_line = strstr(manifest, "\nshape ");
    assert_non_null(shape_line);
    assert_int_equal(sscanf(shape_line, "\nshape %d %d %d %d", &batch, &height, &width, &feature_width), 4);

    simclr_network *net = calloc(1, sizeof *net);
    assert_non_null(net);
    float *features = NULL;
    run_step(c, SIMCLR_NN_PRECISION_FP32, batch, height, width, net, &features);
    assert_int_equal((int)simclr_network_output_size(net), feature_width);
    size_t feature_count = (size_t)batch * feature_width;
    char label[160];
    snprintf(path, sizeof path, "resnet_%s_features.f32", c->name);
    float *expected = test_load_fixture_floats(path, feature_count);
    snprintf(label, sizeof label, "%s features", c->name);
    test_assert_close(label, features, expected, feature_count, 1e-4, 1e-4);
    free(expected);
    snprintf(path, sizeof path, "resnet_%s_inference.f32", c->name);
    expected = test_load_fixture_floats(path, feature_count);
    snprintf(label, sizeof label, "%s inference features", c->name);
    test_assert_close(label, simclr_network_output(net), expected, feature_count, 1e-4, 1e-4);
    free(expected);

    int tensor_count = simclr_network_tensor_count(net);
    simclr_network_tensor *tensors = calloc((size_t)tensor_count, sizeof *tensors);
    assert_non_null(tensors);
    for (int t = 0; t < tensor_count; t++) simclr_network_tensor_at(net, t, &tensors[t]);

    /* The summary file, in manifest order. */
    size_t summary_count = 0;
    for (const char *line = strchr(manifest, '\n'); line; line = strchr(line + 1, '\n')) {
        char kind[16], name[96];
        size_t count;
        if (sscanf(line + 1, "%15s %95s %zu", kind, name, &count) != 3 || strcmp(kind, "shape") == 0) continue;
        summary_count += strcmp(kind, "grad") == 0 ? 2 * (2 + SAMPLES) : count;
    }
    snprintf(path, sizeof path, "resnet_%s_summary.f32", c->name);
    float *summary = test_load_fixture_floats(path, summary_count);
    const float *cursor = summary;
    int grads_checked = 0, stats_checked = 0;
    double worst_norm = 0.0, worst_projection = 0.0, worst_sample = 0.0;
    for (const char *line = strchr(manifest, '\n'); line; line = strchr(line + 1, '\n')) {
        char kind[16], name[96];
        size_t count;
        if (sscanf(line + 1, "%15s %95s %zu", kind, name, &count) != 3 || strcmp(kind, "shape") == 0) continue;
        const simclr_network_tensor *tensor = NULL;
        if (strcmp(kind, "grad") == 0) {
            tensor = find_tensor(tensors, tensor_count, name);
            assert_int_equal(tensor->count, count);
            assert_true(tensor->bias_or_norm == (tensor->ndim == 1));
            double ours[2 + SAMPLES] = {0};
            char sign_name[128];
            snprintf(sign_name, sizeof sign_name, "%s#sign", name);
            uint32_t key = name_key(sign_name);
            for (size_t i = 0; i < count; i++) {
                double g = tensor->grads[i];
                ours[0] += g * g;
                ours[1] += hash_uniform(key, i) >= 0.0f ? g : -g;
            }
            ours[0] = sqrt(ours[0]);
            for (int k = 0; k < SAMPLES; k++) ours[2 + k] = tensor->grads[((size_t)k * 7919 + 13) % count];
            /* Each number's distance from float64, relative to the gradient's norm, may be 4x
             * that of torch's own float32 run, or 1e-4. */
            const float *exact = cursor, *torch_fp32 = cursor + 2 + SAMPLES;
            double scale = (double)exact[0] + 1e-30;
            for (int k = 0; k < 2 + SAMPLES; k++) {
                double error = fabs(ours[k] - exact[k]) / scale;
                double yardstick = fabs((double)torch_fp32[k] - exact[k]) / scale;
                double allowed = fmax(4.0 * yardstick, 1e-4);
                double *worst = k == 0 ? &worst_norm : k == 1 ? &worst_projection : &worst_sample;
                if (error > *worst) *worst = error;
                if (error > allowed)
                    fail_msg("%s: d %s: %s %.8g, expected %.8g (error %.3g of the norm; torch's float32 "
                             "%.3g)",
                             c->name, name, k == 0 ? "norm" : k == 1 ? "projection" : "entry", ours[k],
                             (double)exact[k], error, yardstick);
            }
            cursor += 2 * (2 + SAMPLES);
            grads_checked++;
        } else {
            tensor = find_tensor(tensors, tensor_count, name);
            assert_int_equal(tensor->count, count);
            assert_null(tensor->grads);
            snprintf(label, sizeof label, "%s %s", c->name, name);
            if (strstr(name, "layer") == NULL || strstr(name, "layer1.0.bn1") || strstr(name, "layer4.1.bn2"))
                test_assert_close(label, tensor->values, cursor, count, 1e-5, 1e-4);
            else
                for (size_t i = 0; i < count; i++)
                    if (!(fabs((double)tensor->values[i] - cursor[i]) <= 1e-5 + 1e-4 * fabs((double)cursor[i])))
                        fail_msg("%s[%zu] = %.8g, expected %.8g", label, i, (double)tensor->values[i],
                                 (double)cursor[i]);
            cursor += count;
            stats_checked++;
        }
    }
    printf("  %s: %d parameter gradients (worst error / norm: norm %.2g, projection %.2g, entry %.2g), %d running "
           "statistics\n",
           c->name, grads_checked, worst_norm, worst_projection, worst_sample, stats_checked);
    assert_int_equal(grads_checked + stats_checked, tensor_count);
    free(summary);
    free(tensors);
    free(features);
    free(manifest);
    simclr_network_free(net);
    free(net);
}

static void test_resnet18_cifar(void **state)
{
    (void)state;
    resnet_case c = {"resnet18_cifar", SIMCLR_MODEL_BACKBONE_RESNET18, SIMCLR_MODEL_STEM_CIFAR, NULL};
    run_case(&c);
}

static void test_resnet18_imagenet(void **state)
{
    (void)state;
    resnet_case c = {"resnet18_imagenet", SIMCLR_MODEL_BACKBONE_RESNET18, SIMCLR_MODEL_STEM_IMAGENET, NULL};
    run_case(&c);
}

/* The same fixtures through NHWC activations, the layout bf16 takes on AMX CPUs (the default
 * fp32 plan is nChw16c): conv, batchnorm, max pool and add in NHWC must give torchvision's
 * numbers too. */
static void test_resnet18_imagenet_nhwc(void **state)
{
    (void)state;
    resnet_case c = {"resnet18_imagenet", SIMCLR_MODEL_BACKBONE_RESNET18, SIMCLR_MODEL_STEM_IMAGENET, "nhwc"};
    run_case(&c);
}

/* The same through nChw8c, the layout of AVX2 CPUs (oneDNN's AVX-512 kernels take it too): the
 * hand-written batchnorm, pooling and add loops with 8-channel blocks at parity. */
static void test_resnet18_imagenet_nchw8c(void **state)
{
    (void)state;
    resnet_case c = {"resnet18_imagenet", SIMCLR_MODEL_BACKBONE_RESNET18, SIMCLR_MODEL_STEM_IMAGENET, "nChw8c"};
    run_case(&c);
}

static void test_resnet50_cifar(void **state)
{
    (void)state;
    resnet_case c = {"resnet50_cifar", SIMCLR_MODEL_BACKBONE_RESNET50, SIMCLR_MODEL_STEM_CIFAR, NULL};
    run_case(&c);
}

/* ResNet-18 with bf16 activations against fp32 on the same weights and images. The features of
 * the training-mode forward agree to bf16's precision (about 1%); the gradients of the random
 * objective sum(features * r) do not agree entry by entry (ReLU masks flip where bf16 moves a
 * value across zero, and each batchnorm's gradient cancels over only 32 values in layer4: a
 * 20-40% relative difference per tensor here), so the whole
 * gradient's direction is compared: cosine > 0.9. The layers' own bf16 tests (test_conv2d,
 * test_batchnorm, test_pool) check bf16 against fp32 element by element. */
static void test_resnet18_bf16_matches_fp32(void **state)
{
    (void)state;
    resnet_case c = {"resnet18_cifar", SIMCLR_MODEL_BACKBONE_RESNET18, SIMCLR_MODEL_STEM_CIFAR, NULL};
    simclr_network *fp32 = calloc(1, sizeof *fp32), *bf16 = calloc(1, sizeof *bf16);
    assert_true(fp32 && bf16);
    float *features32 = NULL;
    run_step(&c, SIMCLR_NN_PRECISION_FP32, 2, 32, 32, fp32, &features32);
    /* Both activation layouts bf16 may take (auto picks NHWC on AMX CPUs, nChw16c elsewhere). */
    const char *layouts[] = {"blocked", "nhwc"};
    for (int l = 0; l < 2; l++) {
        float *features16 = NULL;
        resnet_case forced = c;
        forced.layout = layouts[l];
        run_step(&forced, SIMCLR_NN_PRECISION_BF16, 2, 32, 32, bf16, &features16);
        size_t feature_count = 2 * simclr_network_output_size(fp32);
        double norm = 0.0, difference = 0.0;
        for (size_t i = 0; i < feature_count; i++) {
            norm += (double)features32[i] * features32[i];
            difference += ((double)features16[i] - features32[i]) * ((double)features16[i] - features32[i]);
        }
        double feature_error = sqrt(difference / norm);
        double dot = 0.0, norm32 = 0.0, norm16 = 0.0;
        for (size_t i = 0; i < fp32->param_count; i++) {
            dot += (double)fp32->grads[i] * bf16->grads[i];
            norm32 += (double)fp32->grads[i] * fp32->grads[i];
            norm16 += (double)bf16->grads[i] * bf16->grads[i];
        }
        double cosine = dot / sqrt(norm32 * norm16);
        printf("  bf16 (%s) against fp32: features %.3g of their norm apart, gradient cosine %.4f\n", layouts[l],
               feature_error, cosine);
        assert_true(feature_error < 0.03);
        assert_true(cosine > 0.9);
        free(features16);
        simclr_network_free(bf16);
    }
    free(features32);
    simclr_network_free(fp32);
    free(fp32);
    free(bf16);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet18_cifar),
        cmocka_unit_test(test_resnet18_imagenet),
        cmocka_unit_test(test_resnet18_imagenet_nhwc),
        cmocka_unit_test(test_resnet18_imagenet_nchw8c),
        cmocka_unit_test(test_resnet50_cifar),
    };
    const struct CMUnitTest bf16_tests[] = {
        cmocka_unit_test(test_resnet18_bf16_matches_fp32),
    };
    return test_main_with_bf16(argc, argv, tests, bf16_tests, NULL, NULL);
}
