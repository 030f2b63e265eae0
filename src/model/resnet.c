/*
 * The ResNet encoders: torchvision.models.resnet18 / resnet34 / resnet50 up to the global average
 * pool (no fc: the encoder ends at the 512 or 2048 features), as one layer list (network.h),
 * with torchvision's tensor names, so "encoder.layer1.0.conv1.weight" here is
 * "layer1.0.conv1.weight" there (kernels HWIO here, OIHW there).
 *
 *   stem (ImageNet)  conv1 7x7/2 (64) -> bn1 + ReLU -> maxpool 3x3/2
 *   stem (CIFAR)     conv1 3x3/1 (64) -> bn1 + ReLU
 *   layer1..layer4   blocks of 64, 128, 256, 512 planes; the first block of layer2..4 has stride 2
 *   avgpool          global average -> 512 (basic blocks) or 2048 (bottlenecks) features
 *
 *   basic block      conv1 3x3/s -> bn1 + ReLU -> conv2 3x3 -> bn2 -+-> add + ReLU
 *                    x ----------- [downsample: conv 1x1/s -> bn] --+
 *   bottleneck       conv1 1x1 -> bn1 + ReLU -> conv2 3x3/s -> bn2 + ReLU -> conv3 1x1 (4x) -> bn3
 *                    + the same shortcut (torchvision's "v1.5": the stride on the 3x3)
 *
 * Every conv is bias-free (a batchnorm follows) and initialised as torchvision does
 * (kaiming_normal, fan_out); --zero-init-residual starts each block's last batchnorm at gamma 0.
 */
#include "simclr/model.h"

#include <stdio.h>
#include <string.h>

typedef struct resnet_builder {
    simclr_layer_spec *specs;
    int count;
    simclr_nn_precision precision;
} resnet_builder;

/* Appends a layer and returns its index. */
static int append(resnet_builder *b, simclr_layer_spec spec, const char *name)
{
    snprintf(spec.name, sizeof spec.name, "%s", name);
    b->specs[b->count] = spec;
    return b->count++;
}

/* A bias-free conv reading layer `input` (its index; the previous layer when it is count - 1). */
static int conv(resnet_builder *b, const char *name, int input, int channels, int kernel, int stride)
{
    simclr_layer_spec spec = {.kind = SIMCLR_LAYER_KIND_CONV2D,
                              .units = channels,
                              .kernel = kernel,
                              .stride = stride,
                              .padding = kernel / 2,
                              .precision = b->precision,
                              .from = input - b->count,
                              .no_bias = 1,
                              .init = SIMCLR_LAYER_INIT_TORCH};
    return append(b, spec, name);
}

static int batchnorm(resnet_builder *b, const char *name, simclr_nn_activation activation, int zero_init)
{
    simclr_layer_spec spec = {.kind = SIMCLR_LAYER_KIND_BATCHNORM, .activation = activation, .zero_init = zero_init};
    return append(b, spec, name);
}

/* out = ReLU(previous layer + layer `shortcut`). */
static int add_relu(resnet_builder *b, const char *name, int shortcut)
{
    simclr_layer_spec spec = {.kind = SIMCLR_LAYER_KIND_ADD,
                              .activation = SIMCLR_NN_ACTIVATION_RELU,
                              .residual_from = shortcut - b->count};
    return append(b, spec, name);
}

static const simclr_nn_activation RELU = SIMCLR_NN_ACTIVATION_RELU;
static const simclr_nn_activation NONE = SIMCLR_NN_ACTIVATION_NONE;

/* One block of `planes` reading layer x (in_channels wide); returns the block's output channels. */
static int block(resnet_builder *b, const char *prefix, int x, int in_channels, int planes, int stride,
                 int bottleneck, int zero_init)
{
    char name[40];
#define NAMED(suffix) (snprintf(name, sizeof name, "%s.%s", prefix, suffix), name)
    int out_channels = bottleneck ? planes * 4 : planes;
    int main_path;
    if (bottleneck) {
        conv(b, NAMED("conv1"), x, planes, 1, 1);
        batchnorm(b, NAMED("bn1"), RELU, 0);
        conv(b, NAMED("conv2"), b->count - 1, planes, 3, stride);
        batchnorm(b, NAMED("bn2"), RELU, 0);
        conv(b, NAMED("conv3"), b->count - 1, out_channels, 1, 1);
        main_path = batchnorm(b, NAMED("bn3"), NONE, zero_init);
    } else {
        conv(b, NAMED("conv1"), x, planes, 3, stride);
        batchnorm(b, NAMED("bn1"), RELU, 0);
        conv(b, NAMED("conv2"), b->count - 1, planes, 3, 1);
        main_path = batchnorm(b, NAMED("bn2"), NONE, zero_init);
    }
    if (stride != 1 || in_channels != out_channels) {
        conv(b, NAMED("downsample.0"), x, out_channels, 1, stride);
        batchnorm(b, NAMED("downsample.1"), NONE, 0);
        /* The add reads the projection (the previous layer) and the main path. */
        add_relu(b, NAMED("add"), main_path);
    } else {
        add_relu(b, NAMED("add"), x);
    }
#undef NAMED
    return out_channels;
}

int simclr_model_resnet_specs(const simclr_model_config *config, simclr_layer_spec *specs)
{
    static const int blocks[][4] = {{2, 2, 2, 2}, {3, 4, 6, 3}, {3, 4, 6, 3}};
    int depth = config->backbone == SIMCLR_MODEL_BACKBONE_RESNET18 ? 0
                : config->backbone == SIMCLR_MODEL_BACKBONE_RESNET34 ? 1
                                                                     : 2;
    int bottleneck = config->backbone == SIMCLR_MODEL_BACKBONE_RESNET50;
    resnet_builder b = {specs, 0, config->precision};
    memset(specs, 0, sizeof *specs * SIMCLR_NETWORK_MAX_LAYERS);

    if (simclr_model_resolved_stem(config) == SIMCLR_MODEL_STEM_IMAGENET) {
        conv(&b, "conv1", -1, 64, 7, 2);
        batchnorm(&b, "bn1", RELU, 0);
        append(&b, (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_MAX_POOL, .kernel = 3, .stride = 2, .padding = 1},
               "maxpool");
    } else {
        conv(&b, "conv1", -1, 64, 3, 1);
        batchnorm(&b, "bn1", RELU, 0);
    }
    int channels = 64;
    for (int stage = 0; stage < 4; stage++) {
        for (int i = 0; i < blocks[depth][stage]; i++) {
            char prefix[24];
            snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, i);
            int stride = stage > 0 && i == 0 ? 2 : 1;
            channels = block(&b, prefix, b.count - 1, channels, 64 << stage, stride, bottleneck,
                             config->zero_init_residual);
        }
    }
    append(&b, (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL}, "avgpool");
    return b.count;
}
