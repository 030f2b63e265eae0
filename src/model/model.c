#include "simclr/model.h"
#include "network_plan.h"

#include <stdlib.h>
#include <string.h>

static const char *const BACKBONE_NAMES[] = {"seed", "resnet18", "resnet34", "resnet50"};

const char *simclr_model_backbone_name(simclr_model_backbone backbone)
{
    return (unsigned)backbone < 4 ? BACKBONE_NAMES[backbone] : "unknown";
}

int simclr_model_backbone_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, BACKBONE_NAMES[i]) == 0) return i;
    return -1;
}

const char *simclr_model_stem_name(simclr_model_stem stem)
{
    return stem == SIMCLR_MODEL_STEM_IMAGENET ? "imagenet" : stem == SIMCLR_MODEL_STEM_CIFAR ? "cifar" : "auto";
}

static int is_resnet(const simclr_model_config *config)
{
    return config->backbone != SIMCLR_MODEL_BACKBONE_SEED;
}

simclr_model_stem simclr_model_resolved_stem(const simclr_model_config *config)
{
    if (config->stem != SIMCLR_MODEL_STEM_AUTO) return config->stem;
    int side = config->input.height < config->input.width ? config->input.height : config->input.width;
    return side < SIMCLR_MODEL_IMAGENET_STEM_MIN_SIDE ? SIMCLR_MODEL_STEM_CIFAR : SIMCLR_MODEL_STEM_IMAGENET;
}

int simclr_model_feature_width(const simclr_model_config *config)
{
    if (!is_resnet(config)) return config->width;
    return config->backbone == SIMCLR_MODEL_BACKBONE_RESNET50 ? 2048 : 512;
}

static int head_hidden_units(const simclr_model_config *config)
{
    return config->head_hidden ? config->head_hidden : simclr_model_feature_width(config);
}

static int head_out_units(const simclr_model_config *config)
{
    return config->head_out ? config->head_out : config->width;
}

int simclr_model_projection_width(const simclr_model_config *config)
{
    return head_out_units(config);
}

int simclr_model_check(const simclr_model_config *config, simclr_error *err)
{
    if ((unsigned)config->backbone > SIMCLR_MODEL_BACKBONE_RESNET50)
        return simclr_error_input(err, "--backbone: unknown backbone %d (expected seed, resnet18, resnet34 or resnet50)",
                                  (int)config->backbone);
    if (config->head_hidden < 0 || config->head_hidden > SIMCLR_MODEL_MAX_HEAD_UNITS)
        return simclr_error_input(err, "--head-hidden %d: expected 1..%d", config->head_hidden,
                                  SIMCLR_MODEL_MAX_HEAD_UNITS);
    if (config->head_out < 0 || config->head_out > SIMCLR_MODEL_MAX_HEAD_UNITS)
        return simclr_error_input(err, "--head-out %d: expected 1..%d", config->head_out, SIMCLR_MODEL_MAX_HEAD_UNITS);
    if (!is_resnet(config)) {
        if (config->depth < 1 || config->depth > SIMCLR_MODEL_MAX_DEPTH)
            return simclr_error_input(err, "--depth %d: expected 1..%d", config->depth, SIMCLR_MODEL_MAX_DEPTH);
        return 0;
    }
    simclr_model_stem stem = simclr_model_resolved_stem(config);
    int side = config->input.height < config->input.width ? config->input.height : config->input.width;
    int needed = stem == SIMCLR_MODEL_STEM_IMAGENET ? SIMCLR_MODEL_IMAGENET_STEM_MIN_SIDE
                                                    : SIMCLR_MODEL_CIFAR_STEM_MIN_SIDE;
    if (side < needed)
        return simclr_error_input(err,
                                  "--stem %s: a %dx%d image is too small for %s's %s stem (it needs at least "
                                  "%dx%d, so that layer4 sees a 2x2 map)%s",
                                  simclr_model_stem_name(stem), config->input.height, config->input.width,
                                  simclr_model_backbone_name(config->backbone), simclr_model_stem_name(stem), needed,
                                  needed, stem == SIMCLR_MODEL_STEM_IMAGENET ? "; use --stem cifar" : "");
    return 0;
}

simclr_model_config simclr_model_config_default(simclr_tensor_shape input, int num_classes)
{
    simclr_model_config config = {.input = input,
                           .width = 128,
                           .depth = 4,
                           .kernel = 3,
                           .stride = 2,
                           .padding = SIMCLR_MODEL_PADDING_AUTO,
                           .num_classes = num_classes,
                           .precision = SIMCLR_NN_PRECISION_FP32};
    return config;
}

static int fits_with_padding(const simclr_model_config *config, int padding)
{
    int height = config->input.height, width = config->input.width;
    for (int i = 0; i < config->depth; i++) {
        height = simclr_conv2d_output_size(height, config->kernel, config->stride, padding);
        width = simclr_conv2d_output_size(width, config->kernel, config->stride, padding);
        if (height < 1 || width < 1) return 0;
    }
    return 1;
}

int simclr_model_resolved_padding(const simclr_model_config *config)
{
    if (config->padding != SIMCLR_MODEL_PADDING_AUTO) return config->padding;
    return fits_with_padding(config, 0) ? 0 : 1;
}

int simclr_model_encoder_specs(const simclr_model_config *config, simclr_layer_spec *specs)
{
    if (is_resnet(config)) return simclr_model_resnet_specs(config, specs);
    int padding = simclr_model_resolved_padding(config);
    int count = 0;
    for (int i = 0; i < config->depth && count < SIMCLR_MODEL_MAX_DEPTH; i++) {
        specs[count++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_CONV2D,
                                      .units = config->width,
                                      .kernel = config->kernel,
                                      .stride = config->stride,
                                      .padding = padding,
                                      .activation = SIMCLR_NN_ACTIVATION_RELU,
                                      .precision = config->precision};
    }
    specs[count++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE,
                                  .units = config->width,
                                  .activation = SIMCLR_NN_ACTIVATION_RELU};
    return count;
}

int simclr_model_projection_head_specs(const simclr_model_config *config, simclr_layer_spec *specs)
{
    /* The seed's head keeps Keras's initialisation; a ResNet's head takes PyTorch's nn.Linear. */
    simclr_layer_init init = is_resnet(config) ? SIMCLR_LAYER_INIT_TORCH : SIMCLR_LAYER_INIT_GLOROT;
    int count = 0;
    if (config->head_bn) {
        specs[count++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = head_hidden_units(config),
                                             .no_bias = 1, .init = init};
        specs[count++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_BATCHNORM,
                                             .activation = SIMCLR_NN_ACTIVATION_RELU};
    } else {
        specs[count++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = head_hidden_units(config),
                                             .activation = SIMCLR_NN_ACTIVATION_RELU, .init = init};
    }
    specs[count++] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = head_out_units(config),
                                         .activation = SIMCLR_NN_ACTIVATION_NONE, .init = init};
    return count;
}

int simclr_model_classifier_specs(const simclr_model_config *config, simclr_layer_spec *specs)
{
    specs[0] = (simclr_layer_spec){.kind = SIMCLR_LAYER_KIND_DENSE, .units = config->num_classes,
                                   .activation = SIMCLR_NN_ACTIVATION_NONE,
                                   .init = is_resnet(config) ? SIMCLR_LAYER_INIT_TORCH : SIMCLR_LAYER_INIT_GLOROT};
    return 1;
}

int simclr_model_build_encoder(simclr_network *net, const simclr_model_config *config, int max_batch, simclr_error *err)
{
    if (simclr_model_check(config, err) != 0) return -1;
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    int count = simclr_model_encoder_specs(config, specs);
    return simclr_network_init_with(net, "encoder", &config->input, specs, count, max_batch, &config->network, err);
}

int simclr_model_build_projection_head(simclr_network *net, const simclr_model_config *config, int max_batch,
                                simclr_error *err)
{
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    int count = simclr_model_projection_head_specs(config, specs);
    simclr_tensor_shape features = {1, 1, simclr_model_feature_width(config)};
    return simclr_network_init_with(net, "projection_head", &features, specs, count, max_batch, &config->network,
                                    err);
}

int simclr_model_build_classifier(simclr_network *net, const char *name, const simclr_model_config *config,
                           int max_batch, simclr_error *err)
{
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    int count = simclr_model_classifier_specs(config, specs);
    simclr_tensor_shape features = {1, 1, simclr_model_feature_width(config)};
    return simclr_network_init_with(net, name, &features, specs, count, max_batch, &config->network, err);
}

int simclr_model_estimate_bytes(const simclr_model_config *config, int encoder_batch, int head_batch,
                         int classifier_batch, size_t *bytes, simclr_error *err)
{
    if (simclr_model_check(config, err) != 0) return -1;
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    simclr_tensor_shape features = {1, 1, simclr_model_feature_width(config)};
    const simclr_tensor_shape *inputs[3] = {&config->input, &features, &features};
    int batches[3] = {encoder_batch, head_batch, classifier_batch};
    size_t total = 0;
    for (int part = 0; part < 3; part++) {
        if (batches[part] <= 0 || (part == 2 && config->num_classes == 0)) continue; /* issue 25: no classifier */
        int count = part == 0   ? simclr_model_encoder_specs(config, specs)
                    : part == 1 ? simclr_model_projection_head_specs(config, specs)
                                : simclr_model_classifier_specs(config, specs);
        size_t part_bytes = 0, params = 0;
        if (simclr_network_estimate_bytes(inputs[part], specs, count, batches[part], &config->network, &part_bytes,
                                          &params, err) != 0)
            return -1;
        /* Plus the part's Adam moments. */
        total += part_bytes + 2 * params * sizeof(float);
    }
    *bytes = total;
    return 0;
}

int simclr_model_encoder_kernels(const simclr_model_config *config, int batch, simclr_encoder_kernels *kernels,
                                 simclr_error *err)
{
    memset(kernels, 0, sizeof *kernels);
    if (simclr_model_check(config, err) != 0) return -1;
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    int count = simclr_model_encoder_specs(config, specs);
    simclr_network *plan = calloc(1, sizeof *plan);
    if (!plan) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory planning the encoder");
    int status = simclr_network_plan(plan, "encoder", &config->input, specs, count, batch, &config->network, err);
    if (status == 0) {
        kernels->feature_layout = plan->feature_layout;
        kernels->layout_forced = plan->layout_forced;
        kernels->reference_passes = plan->reference_passes;
        for (int i = 0; i < plan->layer_count; i++)
            if (plan->layers[i].spec.kind == SIMCLR_LAYER_KIND_CONV2D)
                kernels->conv_passes += plan->layers[i].input < 0 ? 2 : 3;
    }
    free(plan);
    return status;
}

int simclr_model_feature_layout(const simclr_model_config *config, simclr_nn_layout *layout, simclr_error *err)
{
    simclr_encoder_kernels kernels;
    if (simclr_model_encoder_kernels(config, 1, &kernels, err) != 0) return -1;
    *layout = kernels.feature_layout;
    return 0;
}

/* Forward FLOPs of one image through a planned network: convolutions and dense layers, 2 x
 * multiply-adds (batchnorm, pooling and adds are not counted, as bench_simclr.c does not). */
static double planned_forward_flops(const simclr_tensor_shape *in_shape, const simclr_layer_spec *specs, int count)
{
    simclr_network *net = calloc(1, sizeof *net);
    simclr_error err = {0};
    double flops = 0.0;
    if (net && simclr_network_plan(net, "flops", in_shape, specs, count, 1, NULL, &err) == 0) {
        for (int i = 0; i < net->layer_count; i++) {
            const simclr_network_layer *layer = &net->layers[i];
            if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D)
                flops += 2.0 * layer->out_shape.height * layer->out_shape.width * layer->out_shape.channels *
                         layer->spec.kernel * layer->spec.kernel * layer->in_shape.channels;
            else if (layer->spec.kind == SIMCLR_LAYER_KIND_DENSE)
                flops += 2.0 * (double)layer->in_size * layer->spec.units;
        }
    }
    free(net);
    return flops;
}

void simclr_model_forward_flops(const simclr_model_config *config, double *encoder, double *head,
                                double *classifier)
{
    if (config->backbone != SIMCLR_MODEL_BACKBONE_SEED) { /* a ResNet: from its planned layers */
        simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
        simclr_tensor_shape features = {1, 1, simclr_model_feature_width(config)};
        *encoder = planned_forward_flops(&config->input, specs, simclr_model_encoder_specs(config, specs));
        *head = planned_forward_flops(&features, specs, simclr_model_projection_head_specs(config, specs));
        *classifier = planned_forward_flops(&features, specs, simclr_model_classifier_specs(config, specs));
        return;
    }
    int padding = simclr_model_resolved_padding(config);
    int height = config->input.height, width = config->input.width, channels = config->input.channels;
    double flops = 0.0;
    for (int i = 0; i < config->depth; i++) {
        height = simclr_conv2d_output_size(height, config->kernel, config->stride, padding);
        width = simclr_conv2d_output_size(width, config->kernel, config->stride, padding);
        if (height < 1 || width < 1) break;
        flops += 2.0 * height * width * config->width * config->kernel * config->kernel * channels;
        channels = config->width;
    }
    double features = (double)(height > 0 ? height : 0) * (width > 0 ? width : 0) * channels;
    flops += 2.0 * features * config->width;
    *encoder = flops;
    *head = 2.0 * 2.0 * config->width * config->width;
    *classifier = 2.0 * config->width * config->num_classes;
}
