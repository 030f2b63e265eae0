#include "simclr/model.h"

model_config model_config_default(tensor_shape input, int num_classes)
{
    model_config config = {.input = input,
                           .width = 128,
                           .depth = 4,
                           .kernel = 3,
                           .stride = 2,
                           .padding = MODEL_PADDING_AUTO,
                           .num_classes = num_classes,
                           .precision = NN_PRECISION_FP32};
    return config;
}

static int fits_with_padding(const model_config *config, int padding)
{
    int height = config->input.height, width = config->input.width;
    for (int i = 0; i < config->depth; i++) {
        height = conv2d_output_size(height, config->kernel, config->stride, padding);
        width = conv2d_output_size(width, config->kernel, config->stride, padding);
        if (height < 1 || width < 1) return 0;
    }
    return 1;
}

int model_resolved_padding(const model_config *config)
{
    if (config->padding != MODEL_PADDING_AUTO) return config->padding;
    return fits_with_padding(config, 0) ? 0 : 1;
}

int model_encoder_specs(const model_config *config, layer_spec *specs)
{
    int padding = model_resolved_padding(config);
    int count = 0;
    for (int i = 0; i < config->depth && count < NETWORK_MAX_LAYERS - 1; i++) {
        specs[count++] = (layer_spec){.kind = LAYER_KIND_CONV2D,
                                      .units = config->width,
                                      .kernel = config->kernel,
                                      .stride = config->stride,
                                      .padding = padding,
                                      .activation = NN_ACTIVATION_RELU,
                                      .precision = config->precision};
    }
    specs[count++] = (layer_spec){.kind = LAYER_KIND_DENSE,
                                  .units = config->width,
                                  .activation = NN_ACTIVATION_RELU};
    return count;
}

int model_projection_head_specs(const model_config *config, layer_spec *specs)
{
    specs[0] = (layer_spec){.kind = LAYER_KIND_DENSE, .units = config->width,
                            .activation = NN_ACTIVATION_RELU};
    specs[1] = (layer_spec){.kind = LAYER_KIND_DENSE, .units = config->width,
                            .activation = NN_ACTIVATION_NONE};
    return 2;
}

int model_classifier_specs(const model_config *config, layer_spec *specs)
{
    specs[0] = (layer_spec){.kind = LAYER_KIND_DENSE, .units = config->num_classes,
                            .activation = NN_ACTIVATION_NONE};
    return 1;
}

int model_build_encoder(network *net, const model_config *config, int max_batch, error *err)
{
    if (config->depth < 1 || config->depth > NETWORK_MAX_LAYERS - 1)
        return error_input(err, "--depth %d: expected 1..%d", config->depth,
                           NETWORK_MAX_LAYERS - 1);
    layer_spec specs[NETWORK_MAX_LAYERS];
    int count = model_encoder_specs(config, specs);
    return network_init(net, "encoder", &config->input, specs, count, max_batch, err);
}

int model_build_projection_head(network *net, const model_config *config, int max_batch,
                                error *err)
{
    layer_spec specs[NETWORK_MAX_LAYERS];
    int count = model_projection_head_specs(config, specs);
    tensor_shape features = {1, 1, config->width};
    return network_init(net, "projection_head", &features, specs, count, max_batch, err);
}

int model_build_classifier(network *net, const char *name, const model_config *config,
                           int max_batch, error *err)
{
    layer_spec specs[NETWORK_MAX_LAYERS];
    int count = model_classifier_specs(config, specs);
    tensor_shape features = {1, 1, config->width};
    return network_init(net, name, &features, specs, count, max_batch, err);
}

int model_estimate_bytes(const model_config *config, int encoder_batch, int head_batch,
                         int classifier_batch, size_t *bytes, error *err)
{
    layer_spec specs[NETWORK_MAX_LAYERS];
    tensor_shape features = {1, 1, config->width};
    const tensor_shape *inputs[3] = {&config->input, &features, &features};
    int batches[3] = {encoder_batch, head_batch, classifier_batch};
    size_t total = 0;
    for (int part = 0; part < 3; part++) {
        if (batches[part] <= 0) continue;
        int count = part == 0   ? model_encoder_specs(config, specs)
                    : part == 1 ? model_projection_head_specs(config, specs)
                                : model_classifier_specs(config, specs);
        size_t part_bytes = 0, params = 0;
        if (network_estimate_bytes(inputs[part], specs, count, batches[part], &part_bytes, &params,
                                   err) != 0)
            return -1;
        /* Plus the part's Adam moments. */
        total += part_bytes + 2 * params * sizeof(float);
    }
    *bytes = total;
    return 0;
}
