#include "simclr/network.h"

#include <stdlib.h>
#include <string.h>

#include "simclr/optim.h"
#include "simclr/rng.h"

static size_t shape_size(simclr_tensor_shape shape)
{
    return (size_t)shape.height * (size_t)shape.width * (size_t)shape.channels;
}

/* 1 when a float32 NHWC tensor of this shape is already in `layout` and `precision`. */
static int is_float_nhwc(simclr_nn_layout layout, simclr_nn_precision precision, simclr_tensor_shape shape)
{
    if (precision != SIMCLR_NN_PRECISION_FP32) return 0;
    if (layout == SIMCLR_NN_LAYOUT_NHWC) return 1;
    return layout == SIMCLR_NN_LAYOUT_NCHW && (shape.channels == 1 || shape.height * shape.width == 1);
}

/* Chooses each layer's activation layouts (network.h): the leading conv layers run in nChw16c
 * when all have multiples of 16 output channels, a dense layer follows them, and the input's
 * channels suit a first layer (fewer than 16: NCHW, or a multiple of 16); everything else is
 * NHWC. Then marks the layers that read a converted copy of their input. */
static void plan_layouts(simclr_network *net)
{
    int convs = 0;
    while (convs < net->layer_count && net->layers[convs].spec.kind == SIMCLR_LAYER_KIND_CONV2D) convs++;
    int blocked = convs > 0 && convs < net->layer_count;
    for (int i = 0; i < convs; i++)
        if (net->layers[i].spec.units % SIMCLR_NN_LAYOUT_BLOCK != 0) blocked = 0;
    int in_channels = net->in_shape.channels;
    simclr_nn_layout first_layout = SIMCLR_NN_LAYOUT_NHWC;
    if (in_channels < SIMCLR_NN_LAYOUT_BLOCK)
        first_layout = SIMCLR_NN_LAYOUT_NCHW;
    else if (in_channels % SIMCLR_NN_LAYOUT_BLOCK == 0)
        first_layout = SIMCLR_NN_LAYOUT_BLOCKED16;
    else
        blocked = 0;
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        int in_run = blocked && i < convs;
        layer->in_layout = in_run ? (i == 0 ? first_layout : SIMCLR_NN_LAYOUT_BLOCKED16) : SIMCLR_NN_LAYOUT_NHWC;
        layer->out_layout = in_run ? SIMCLR_NN_LAYOUT_BLOCKED16 : SIMCLR_NN_LAYOUT_NHWC;
        if (i == 0)
            layer->reads_staging = !is_float_nhwc(layer->in_layout, layer->spec.precision,
                                                  layer->in_shape);
        else
            layer->reads_staging = layer->spec.kind == SIMCLR_LAYER_KIND_DENSE &&
                                   !is_float_nhwc(net->layers[i - 1].out_layout,
                                                  net->layers[i - 1].spec.precision,
                                                  net->layers[i - 1].out_shape);
    }
}

/* Fills every layer's shapes, names and parameter offsets without allocating anything. */
static int network_plan(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                        const simclr_layer_spec *specs, int layer_count, int max_batch, simclr_error *err)
{
    memset(net, 0, sizeof *net);
    if (layer_count < 1 || layer_count > SIMCLR_NETWORK_MAX_LAYERS)
        return simclr_error_input(err, "%s: %d layers (expected 1..%d)", name, layer_count,
                           SIMCLR_NETWORK_MAX_LAYERS);
    if (max_batch < 1) return simclr_error_input(err, "%s: batch size %d (expected >= 1)", name, max_batch);
    snprintf(net->name, sizeof net->name, "%s", name);
    net->in_shape = *in_shape;
    net->layer_count = layer_count;
    net->max_batch = max_batch;

    simclr_tensor_shape shape = *in_shape;
    size_t param_count = 0, largest = 0;
    int conv_number = 0, dense_number = 0;
    for (int i = 0; i < layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        layer->spec = specs[i];
        layer->in_shape = shape;
        layer->in_size = shape_size(shape);
        if (specs[i].kind == SIMCLR_LAYER_KIND_CONV2D) {
            snprintf(layer->name, sizeof layer->name, "conv2d_%d", ++conv_number);
            int out_height = simclr_conv2d_output_size(shape.height, specs[i].kernel, specs[i].stride,
                                                specs[i].padding);
            int out_width = simclr_conv2d_output_size(shape.width, specs[i].kernel, specs[i].stride,
                                               specs[i].padding);
            if (out_height < 1 || out_width < 1)
                return simclr_error_input(err,
                                   "%s: %s gets a %dx%d input, too small for a %dx%d kernel with "
                                   "stride %d and padding %d (try --padding 1, fewer --depth "
                                   "layers or a larger image)",
                                   name, layer->name, shape.height, shape.width, specs[i].kernel,
                                   specs[i].kernel, specs[i].stride, specs[i].padding);
            layer->kernel_count = (size_t)specs[i].kernel * (size_t)specs[i].kernel *
                                  (size_t)shape.channels * (size_t)specs[i].units;
            shape = (simclr_tensor_shape){out_height, out_width, specs[i].units};
        } else {
            snprintf(layer->name, sizeof layer->name, "dense_%d", ++dense_number);
            layer->kernel_count = layer->in_size * (size_t)specs[i].units;
            shape = (simclr_tensor_shape){1, 1, specs[i].units};
        }
        if (specs[i].precision != SIMCLR_NN_PRECISION_FP32 && specs[i].precision != SIMCLR_NN_PRECISION_BF16)
            return simclr_error_input(err, "%s: %s has an unknown precision %d", name, layer->name,
                               (int)specs[i].precision);
        if (specs[i].kind == SIMCLR_LAYER_KIND_DENSE && specs[i].precision != SIMCLR_NN_PRECISION_FP32)
            return simclr_error_input(err, "%s: %s: dense layers compute in fp32 only", name,
                               layer->name);
        /* bf16 convs form one run starting at the first layer: the network converts only at its
         * input and where that run meets a dense layer. */
        if (specs[i].kind == SIMCLR_LAYER_KIND_CONV2D && i > 0 &&
            specs[i].precision != specs[i - 1].precision)
            return simclr_error_input(err, "%s: %s computes in %s after a %s layer (a network's conv "
                                    "layers share one precision)",
                               name, layer->name, simclr_nn_precision_name(specs[i].precision),
                               simclr_nn_precision_name(specs[i - 1].precision));
        layer->element_size = simclr_nn_precision_element_size(specs[i].precision);
        layer->bias_count = (size_t)specs[i].units;
        layer->kernel_offset = param_count;
        layer->bias_offset = param_count + layer->kernel_count;
        param_count += layer->kernel_count + layer->bias_count;
        layer->out_shape = shape;
        layer->out_size = shape_size(shape);
        if (layer->out_size > largest) largest = layer->out_size;
    }
    net->param_count = param_count;
    if (net->layers[layer_count - 1].element_size != sizeof(float))
        return simclr_error_input(err, "%s: its last layer must compute in fp32 (the output is float)",
                           name);
    plan_layouts(net);
    for (int i = 0; i < layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        if (!layer->reads_staging) continue;
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            net->input_staging_bytes = (size_t)max_batch * layer->in_size * layer->element_size;
        } else {
            size_t count = (size_t)max_batch * layer->in_size;
            if (count > net->dense_input_count) net->dense_input_count = count;
        }
    }
    /* Backward keeps the ReLU masks of one layer's output as bits while that output's buffer is
     * overwritten by its gradient (see simclr_network_backward). */
    size_t largest_masked = 0;
    for (int i = 0; i + 1 < layer_count; i++)
        if (net->layers[i].spec.activation == SIMCLR_NN_ACTIVATION_RELU &&
            net->layers[i].out_size > largest_masked)
            largest_masked = net->layers[i].out_size;
    net->mask_words = ((size_t)max_batch * largest_masked + 63) / 64;
    (void)largest;
    return 0;
}

int simclr_network_estimate_bytes(const simclr_tensor_shape *in_shape, const simclr_layer_spec *specs, int layer_count,
                           int max_batch, size_t *bytes, size_t *param_count, simclr_error *err)
{
    simclr_network plan;
    if (network_plan(&plan, "network", in_shape, specs, layer_count, max_batch, err) != 0)
        return -1;
    size_t floats = 2 * plan.param_count +
                    (size_t)max_batch * plan.layers[plan.layer_count - 1].out_size +
                    plan.dense_input_count;
    size_t activation_bytes = 0;
    for (int i = 0; i < plan.layer_count; i++)
        activation_bytes += (size_t)max_batch * plan.layers[i].out_size * plan.layers[i].element_size;
    *bytes = floats * sizeof(float) + activation_bytes + plan.input_staging_bytes +
             plan.mask_words * sizeof(uint64_t);
    if (param_count) *param_count = plan.param_count;
    return 0;
}

int simclr_network_init(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                 const simclr_layer_spec *specs, int layer_count, int max_batch, simclr_error *err)
{
    if (network_plan(net, name, in_shape, specs, layer_count, max_batch, err) != 0) return -1;
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            simclr_conv2d_config config = {.in_height = layer->in_shape.height,
                                    .in_width = layer->in_shape.width,
                                    .in_channels = layer->in_shape.channels,
                                    .out_channels = layer->spec.units,
                                    .kernel = layer->spec.kernel,
                                    .stride = layer->spec.stride,
                                    .padding = layer->spec.padding,
                                    .activation = layer->spec.activation,
                                    .precision = layer->spec.precision,
                                    .in_layout = layer->in_layout,
                                    .out_layout = layer->out_layout};
            if (simclr_conv2d_create(&layer->conv, &config, err) != 0) {
                simclr_network_free(net);
                return -1;
            }
        }
        layer->output = simclr_checked_calloc((size_t)max_batch * layer->out_size, layer->element_size,
                                       "layer activations", err);
        if (!layer->output) {
            simclr_network_free(net);
            return -1;
        }
    }
    net->params = simclr_checked_calloc(net->param_count, sizeof(float), "parameters", err);
    net->grads = net->params ? simclr_checked_calloc(net->param_count, sizeof(float), "gradients", err)
                             : NULL;
    net->d_output = simclr_checked_calloc((size_t)max_batch * simclr_network_output_size(net), sizeof(float),
                                   "output gradients", err);
    net->relu_mask = simclr_checked_calloc(net->mask_words, sizeof(uint64_t), "ReLU masks", err);
    if (net->input_staging_bytes)
        net->input_staging = simclr_checked_calloc(net->input_staging_bytes, 1,
                                            "the input in the first conv's layout", err);
    if (net->dense_input_count)
        net->dense_input = simclr_checked_calloc(net->dense_input_count, sizeof(float),
                                          "float copy of bf16 features", err);
    if (!net->params || !net->grads || !net->d_output || !net->relu_mask ||
        (net->input_staging_bytes && !net->input_staging) ||
        (net->dense_input_count && !net->dense_input)) {
        simclr_network_free(net);
        return -1;
    }
    return 0;
}

void simclr_network_free(simclr_network *net)
{
    for (int i = 0; i < SIMCLR_NETWORK_MAX_LAYERS; i++) {
        if (net->layers[i].conv) simclr_conv2d_free(net->layers[i].conv);
        free(net->layers[i].output);
    }
    free(net->params);
    free(net->grads);
    free(net->d_output);
    free(net->relu_mask);
    free(net->input_staging);
    free(net->dense_input);
    memset(net, 0, sizeof *net);
}

void simclr_network_init_weights(simclr_network *net, uint64_t seed)
{
    uint64_t name_key = 0;
    for (const char *c = net->name; *c; c++) name_key = name_key * 131 + (uint8_t)*c;
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        int fan_in, fan_out;
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            int receptive = layer->spec.kernel * layer->spec.kernel;
            fan_in = receptive * layer->in_shape.channels;
            fan_out = receptive * layer->spec.units;
        } else {
            fan_in = (int)layer->in_size;
            fan_out = layer->spec.units;
        }
        simclr_rng_stream stream = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_INIT, name_key, (uint64_t)i, 0, 0);
        simclr_nn_glorot_uniform(net->params + layer->kernel_offset, layer->kernel_count, fan_in, fan_out,
                          &stream);
        memset(net->params + layer->bias_offset, 0, layer->bias_count * sizeof(float));
    }
}

int simclr_network_forward(simclr_network *net, const float *in, int batch, simclr_error *err)
{
    if (batch < 1 || batch > net->max_batch)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: batch of %d images (room for %d)",
                         net->name, batch, net->max_batch);
    const void *current = in;
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        const float *kernel = net->params + layer->kernel_offset;
        const float *bias = net->params + layer->bias_offset;
        if (layer->reads_staging) {
            if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) { /* the first layer */
                simclr_tensor_shape shape = layer->in_shape;
                simclr_nn_activations_from_nhwc(net->input_staging, layer->in_layout,
                                         layer->spec.precision, in, batch, shape.height,
                                         shape.width, shape.channels);
            } else { /* features of bf16 or blocked convs */
                const simclr_network_layer *previous = &net->layers[i - 1];
                simclr_tensor_shape shape = previous->out_shape;
                simclr_nn_activations_to_nhwc(net->dense_input, current, previous->out_layout,
                                       previous->spec.precision, batch, shape.height, shape.width,
                                       shape.channels);
            }
            current = simclr_network_layer_input(net, i, in);
        }
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            if (simclr_conv2d_forward(layer->conv, layer->output, current, kernel, bias, batch, err) != 0)
                return -1;
        } else {
            simclr_dense_forward(layer->output, current, kernel, bias, batch, (int)layer->in_size,
                          layer->spec.units, layer->spec.activation);
        }
        current = layer->output;
    }
    net->last_input = in;
    net->last_batch = batch;
    return 0;
}

const void *simclr_network_layer_input(const simclr_network *net, int layer, const float *in)
{
    const simclr_network_layer *l = &net->layers[layer];
    if (l->reads_staging)
        return l->spec.kind == SIMCLR_LAYER_KIND_CONV2D ? net->input_staging : (const void *)net->dense_input;
    return layer > 0 ? net->layers[layer - 1].output : (const void *)in;
}

const float *simclr_network_output(const simclr_network *net)
{
    return net->layers[net->layer_count - 1].output;
}

simclr_tensor_shape simclr_network_output_shape(const simclr_network *net)
{
    return net->layers[net->layer_count - 1].out_shape;
}

size_t simclr_network_output_size(const simclr_network *net)
{
    return net->layers[net->layer_count - 1].out_size;
}

void simclr_network_zero_grads(simclr_network *net)
{
    memset(net->grads, 0, net->param_count * sizeof(float));
}

/* Bit i of mask = values[i] > 0; values are float (element_size 4) or bf16 (2), where a bf16
 * value is > 0 when it is neither zero, negative nor NaN. */
static void mask_store(uint64_t *mask, const void *values, size_t element_size, size_t count)
{
    size_t words = (count + 63) / 64;
    const float *f32 = values;
    const uint16_t *bf16 = values;
#pragma omp parallel for schedule(static) if (count > 65536)
    for (size_t w = 0; w < words; w++) {
        size_t begin = w * 64, end = begin + 64 < count ? begin + 64 : count;
        uint64_t bits = 0;
        if (element_size == sizeof(float)) {
            for (size_t i = begin; i < end; i++) bits |= (uint64_t)(f32[i] > 0.0f) << (i - begin);
        } else {
            for (size_t i = begin; i < end; i++)
                bits |= (uint64_t)(bf16[i] != 0 && bf16[i] < 0x7f81u) << (i - begin);
        }
        mask[w] = bits;
    }
}

/* values[i] = 0 where bit i of mask is clear. */
static void mask_apply(void *values, size_t element_size, const uint64_t *mask, size_t count)
{
    size_t words = (count + 63) / 64;
    float *f32 = values;
    uint16_t *bf16 = values;
#pragma omp parallel for schedule(static) if (count > 65536)
    for (size_t w = 0; w < words; w++) {
        size_t begin = w * 64, end = begin + 64 < count ? begin + 64 : count;
        uint64_t bits = mask[w];
        for (size_t i = begin; i < end; i++) {
            if ((bits >> (i - begin)) & 1) continue;
            if (element_size == sizeof(float))
                f32[i] = 0.0f;
            else
                bf16[i] = 0;
        }
    }
}

int simclr_network_backward(simclr_network *net, const float *d_output, float *d_input, simclr_error *err)
{
    int batch = net->last_batch;
    if (!net->last_input || batch < 1)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: backward without a forward pass", net->name);
    /* Every layer's output buffer takes over the gradient w.r.t. that output, already masked by
     * its ReLU, so no separate activation-gradient buffers exist: the peak memory of a training
     * step is the activations themselves. First the network's own output. */
    simclr_network_layer *last = &net->layers[net->layer_count - 1];
    size_t count = (size_t)batch * last->out_size;
    float *d_last = last->output; /* the last layer is fp32 (network_plan checks) */
    if (last->spec.activation == SIMCLR_NN_ACTIVATION_RELU) {
        for (size_t i = 0; i < count; i++) d_last[i] = d_last[i] > 0.0f ? d_output[i] : 0.0f;
    } else {
        memmove(d_last, d_output, count * sizeof(float));
    }
    for (int i = net->layer_count - 1; i >= 0; i--) {
        simclr_network_layer *layer = &net->layers[i];
        const float *kernel = net->params + layer->kernel_offset;
        float *d_kernel = net->grads + layer->kernel_offset;
        float *d_bias = net->grads + layer->bias_offset;
        void *d_out = layer->output;
        const void *input = net->last_input;
        void *d_in = d_input;
        simclr_network_layer *previous = i > 0 ? &net->layers[i - 1] : NULL;
        size_t in_count = (size_t)batch * layer->in_size;
        int previous_masked = previous && previous->spec.activation == SIMCLR_NN_ACTIVATION_RELU;
        /* Where formats meet, the layer works on the staging copy the forward pass made, and its
         * input gradient is converted into the real destination afterwards. */
        int converts = layer->reads_staging;
        if (previous) {
            /* The input is the previous layer's output; its gradient overwrites it in place,
             * after its ReLU mask is kept as bits. */
            input = previous->output;
            d_in = previous->output;
            if (previous_masked)
                mask_store(net->relu_mask, previous->output, previous->element_size, in_count);
        }
        void *staging = NULL;
        if (converts) {
            staging = (void *)simclr_network_layer_input(net, i, net->last_input);
            input = staging;
        }
        void *layer_d_in = d_in && converts ? staging : d_in;
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            if (simclr_conv2d_backward(layer->conv, layer_d_in, d_kernel, d_bias, d_out, NULL, input,
                                kernel, batch, err) != 0)
                return -1;
        } else {
            simclr_dense_backward(layer_d_in, d_kernel, d_bias, d_out, NULL, input, kernel, batch,
                           (int)layer->in_size, layer->spec.units, SIMCLR_NN_ACTIVATION_NONE);
        }
        if (d_in && converts) {
            if (previous) { /* a dense layer's float NHWC gradient back into the conv's format */
                simclr_tensor_shape shape = previous->out_shape;
                simclr_nn_activations_from_nhwc(d_in, previous->out_layout, previous->spec.precision,
                                         staging, batch, shape.height, shape.width,
                                         shape.channels);
            } else { /* the first conv's input gradient into the caller's float NHWC */
                simclr_tensor_shape shape = layer->in_shape;
                simclr_nn_activations_to_nhwc(d_in, staging, layer->in_layout, layer->spec.precision,
                                       batch, shape.height, shape.width, shape.channels);
            }
        }
        if (previous_masked)
            mask_apply(previous->output, previous->element_size, net->relu_mask, in_count);
    }
    net->last_batch = 0; /* the activations are gone */
    return 0;
}

void simclr_network_tensor_name(const simclr_network *net, int layer, int is_bias, char *out, size_t size)
{
    snprintf(out, size, "%s.%s.%s", net->name, net->layers[layer].name, is_bias ? "bias" : "kernel");
}

static void format_count(size_t value, char *out, size_t size)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%zu", value);
    size_t length = strlen(digits), j = 0;
    for (size_t i = 0; i < length && j + 1 < size; i++) {
        if (i > 0 && (length - i) % 3 == 0 && j + 1 < size) out[j++] = ',';
        if (j + 1 < size) out[j++] = digits[i];
    }
    out[j] = '\0';
}

void simclr_network_print_summary(const simclr_network *net, FILE *stream)
{
    fprintf(stream, "Model: \"%s\"\n", net->name);
    fprintf(stream, "%-34s %-26s %12s\n", "Layer (type)", "Output Shape", "Param #");
    fprintf(stream, "%.*s\n", 74, "==========================================================================");
    for (int i = 0; i < net->layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        char title[64], shape[64], count[32], extra[64] = "";
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            snprintf(title, sizeof title, "%s (Conv2D)", layer->name);
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", layer->out_shape.height,
                     layer->out_shape.width, layer->out_shape.channels);
            snprintf(extra, sizeof extra, "  %dx%d/%d pad %d%s", layer->spec.kernel,
                     layer->spec.kernel, layer->spec.stride, layer->spec.padding,
                     layer->spec.activation == SIMCLR_NN_ACTIVATION_RELU ? " relu" : "");
        } else {
            snprintf(title, sizeof title, "%s (Dense)", layer->name);
            snprintf(shape, sizeof shape, "(None, %d)", layer->out_shape.channels);
            if (layer->spec.activation == SIMCLR_NN_ACTIVATION_RELU) snprintf(extra, sizeof extra, "  relu");
            if (i > 0 && net->layers[i - 1].spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
                char flat[64];
                snprintf(flat, sizeof flat, "(None, %zu)", layer->in_size);
                fprintf(stream, "%-34s %-26s %12s\n", "flatten (Flatten)", flat, "0");
            }
        }
        format_count(layer->kernel_count + layer->bias_count, count, sizeof count);
        fprintf(stream, "%-34s %-26s %12s%s\n", title, shape, count, extra);
    }
    char total[32], bytes[32];
    format_count(net->param_count, total, sizeof total);
    snprintf(bytes, sizeof bytes, "%.2f KB", (double)net->param_count * 4.0 / 1024.0);
    fprintf(stream, "%.*s\n", 74, "==========================================================================");
    fprintf(stream, "Total params: %s (%s)\n\n", total, bytes);
}

int simclr_network_param_tensors(const simclr_network *net, simclr_param_tensor *tensors, int max)
{
    int count = 0;
    for (int i = 0; i < net->layer_count && count + 2 <= max; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        tensors[count++] = (simclr_param_tensor){.offset = layer->kernel_offset,
                                                 .count = layer->kernel_count,
                                                 .exclude_from_decay_and_adaptation = 0};
        tensors[count++] = (simclr_param_tensor){.offset = layer->bias_offset,
                                                 .count = layer->bias_count,
                                                 .exclude_from_decay_and_adaptation = 1};
    }
    return count;
}
