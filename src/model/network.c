/*
 * Running a network (network.h): allocation from the plan (network_plan.c), initialisation,
 * forward and backward passes over the layer list, the tensor list and the summary.
 */
#include "network_plan.h"
#include "util/multiversion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/optim.h"
#include "simclr/rng.h"

int simclr_network_init(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                        const simclr_layer_spec *specs, int layer_count, int max_batch, simclr_error *err)
{
    return simclr_network_init_with(net, name, in_shape, specs, layer_count, max_batch, NULL, err);
}

int simclr_network_init_with(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                             const simclr_layer_spec *specs, int layer_count, int max_batch,
                             const simclr_network_options *options, simclr_error *err)
{
    if (simclr_network_plan(net, name, in_shape, specs, layer_count, max_batch, options, err) != 0) return -1;
    if (net->recompute_bytes) {
        net->recompute_buffer = simclr_checked_calloc(net->recompute_bytes, 1, "recomputed batchnorm outputs", err);
        if (!net->recompute_buffer) return -1;
    }
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
        layer->output = layer->recomputed ? net->recompute_buffer
                                          : simclr_checked_calloc((size_t)max_batch * layer->out_size,
                                                                  layer->element_size, "layer activations", err);
        if (!layer->output) {
            simclr_network_free(net);
            return -1;
        }
    }
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        layer->inference_output = layer->inference_home >= 0 ? net->layers[layer->inference_home].output
                                                             : layer->output;
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
    if (net->state_count) {
        net->state = simclr_checked_calloc(net->state_count, sizeof(float), "batchnorm running statistics", err);
        net->batch_stats = simclr_checked_calloc(net->stats_count, sizeof(float), "batchnorm batch statistics",
                                                 err);
    }
    if (net->widest_units) {
        net->bias_zeros = simclr_checked_calloc(net->widest_units, sizeof(float), "zero biases", err);
        net->bias_scratch = simclr_checked_calloc(net->widest_units, sizeof(float), "bias scratch", err);
    }
    if (net->side_bytes)
        net->side_gradient = simclr_checked_calloc(net->side_bytes, 1, "shortcut gradients", err);
    if (!net->params || !net->grads || !net->d_output || !net->relu_mask ||
        (net->input_staging_bytes && !net->input_staging) ||
        (net->dense_input_count && !net->dense_input) ||
        (net->state_count && (!net->state || !net->batch_stats)) ||
        (net->widest_units && (!net->bias_zeros || !net->bias_scratch)) ||
        (net->side_bytes && !net->side_gradient)) {
        simclr_network_free(net);
        return -1;
    }
    return 0;
}

void simclr_network_free(simclr_network *net)
{
    for (int i = 0; i < SIMCLR_NETWORK_MAX_LAYERS; i++) {
        if (net->layers[i].conv) simclr_conv2d_free(net->layers[i].conv);
        if (!net->layers[i].recomputed) free(net->layers[i].output);
    }
    free(net->params);
    free(net->grads);
    free(net->d_output);
    free(net->relu_mask);
    free(net->input_staging);
    free(net->dense_input);
    free(net->state);
    free(net->batch_stats);
    free(net->bias_zeros);
    free(net->bias_scratch);
    free(net->side_gradient);
    free(net->recompute_buffer);
    memset(net, 0, sizeof *net);
}

void simclr_network_set_training(simclr_network *net, int training)
{
    net->training = training ? 1 : 0;
}

/* N(0, 1) by Box-Muller from two uniform draws. */
static float standard_normal(simclr_rng_stream *stream)
{
    float u1 = simclr_rng_uniform01(stream), u2 = simclr_rng_uniform01(stream);
    return sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.28318530718f * u2);
}

void simclr_network_init_weights(simclr_network *net, uint64_t seed)
{
    uint64_t name_key = 0;
    for (const char *c = net->name; *c; c++) name_key = name_key * 131 + (uint8_t)*c;
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        float *kernel = net->params + layer->kernel_offset, *bias = net->params + layer->bias_offset;
        simclr_rng_stream stream = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_INIT, name_key, (uint64_t)i, 0, 0);
        if (layer->spec.kind == SIMCLR_LAYER_KIND_BATCHNORM) {
            float *running = net->state + layer->state_offset;
            for (size_t c = 0; c < layer->kernel_count; c++) {
                kernel[c] = layer->spec.zero_init ? 0.0f : 1.0f;
                bias[c] = 0.0f;
                running[c] = 0.0f;
                running[layer->kernel_count + c] = 1.0f;
            }
            continue;
        }
        if (layer->spec.kind != SIMCLR_LAYER_KIND_CONV2D && layer->spec.kind != SIMCLR_LAYER_KIND_DENSE) continue;
        int fan_in, fan_out;
        if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            int receptive = layer->spec.kernel * layer->spec.kernel;
            fan_in = receptive * layer->in_shape.channels;
            fan_out = receptive * layer->spec.units;
        } else {
            fan_in = (int)layer->in_size;
            fan_out = layer->spec.units;
        }
        if (layer->spec.init == SIMCLR_LAYER_INIT_GLOROT) {
            simclr_nn_glorot_uniform(kernel, layer->kernel_count, fan_in, fan_out, &stream);
            memset(bias, 0, layer->bias_count * sizeof(float));
        } else if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            /* kaiming_normal_(mode="fan_out", nonlinearity="relu"): std sqrt(2 / fan_out). */
            float deviation = sqrtf(2.0f / (float)fan_out);
            for (size_t k = 0; k < layer->kernel_count; k++) kernel[k] = deviation * standard_normal(&stream);
            memset(bias, 0, layer->bias_count * sizeof(float));
        } else {
            float limit = 1.0f / sqrtf((float)fan_in);
            for (size_t k = 0; k < layer->kernel_count; k++) kernel[k] = simclr_rng_uniform(&stream, -limit, limit);
            for (size_t k = 0; k < layer->bias_count; k++) bias[k] = simclr_rng_uniform(&stream, -limit, limit);
        }
    }
}

/* The precision of what layer `index` reads (the network's input is float32). */
static simclr_nn_precision input_precision(const simclr_network *net, int index)
{
    const simclr_network_layer *layer = &net->layers[index];
    return layer->input >= 0 ? net->layers[layer->input].precision : SIMCLR_NN_PRECISION_FP32;
}

/* Where layer `index` writes its output in the network's current mode: its own buffer in
 * training, a shared one in inference (simclr_network_layer.inference_output). */
static void *mode_output(const simclr_network *net, int index)
{
    const simclr_network_layer *layer = &net->layers[index];
    return net->training ? layer->output : layer->inference_output;
}

/* The buffer holding the output of layer `index` (-1: the network's input `in`). */
static const void *output_of(const simclr_network *net, int index, const float *in)
{
    return index >= 0 ? mode_output(net, index) : (const void *)in;
}

/* 1 (err set) when the network's stop flag was raised: checked before every layer. */
static int stopping(const simclr_network *net, simclr_error *err)
{
    if (!net->stop_requested || !*net->stop_requested) return 0;
    simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED, "%s: interrupted between two layers", net->name);
    return 1;
}

int simclr_network_forward(simclr_network *net, const float *in, int batch, simclr_error *err)
{
    if (batch < 1 || batch > net->max_batch)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: batch of %d images (room for %d)",
                                net->name, batch, net->max_batch);
    for (int i = 0; i < net->layer_count; i++) {
        if (stopping(net, err)) return -1;
        simclr_network_layer *layer = &net->layers[i];
        const float *kernel = net->params + layer->kernel_offset;
        const float *bias = layer->bias_count ? net->params + layer->bias_offset : net->bias_zeros;
        const void *current = output_of(net, layer->input, in);
        void *out = mode_output(net, i);
        if (layer->reads_staging) {
            if (layer->input < 0) { /* the first layer */
                simclr_tensor_shape shape = layer->in_shape;
                simclr_nn_activations_from_nhwc(net->input_staging, layer->in_layout, layer->precision, in, batch,
                                                shape.height, shape.width, shape.channels);
            } else { /* features of bf16 or blocked convs */
                const simclr_network_layer *source = &net->layers[layer->input];
                simclr_tensor_shape shape = source->out_shape;
                simclr_nn_activations_to_nhwc(net->dense_input, current, source->out_layout, source->precision,
                                              batch, shape.height, shape.width, shape.channels);
            }
            current = simclr_network_layer_input(net, i, in);
        }
        switch (layer->spec.kind) {
        case SIMCLR_LAYER_KIND_CONV2D:
            if (simclr_conv2d_forward(layer->conv, out, current, kernel, bias, batch, err) != 0)
                return -1;
            break;
        case SIMCLR_LAYER_KIND_DENSE:
            simclr_dense_forward(out, current, kernel, bias, batch, (int)layer->in_size,
                                 layer->spec.units, layer->spec.activation);
            break;
        case SIMCLR_LAYER_KIND_BATCHNORM: {
            float *running = net->state + layer->state_offset;
            float *stats = net->batch_stats + layer->stats_offset;
            size_t channels = layer->kernel_count;
            int status = net->training
                             ? simclr_batchnorm_forward_training(&layer->batchnorm, out, current, kernel,
                                                                 bias, running, running + channels, stats,
                                                                 stats + channels, batch, err)
                             : simclr_batchnorm_forward_inference(&layer->batchnorm, out, current,
                                                                  kernel, bias, running, running + channels,
                                                                  batch, err);
            if (status != 0) {
                return simclr_error_set(err, err->kind, "%s: %s: %s", net->name, layer->name,
                                        simclr_error_message(err));
            }
            break;
        }
        case SIMCLR_LAYER_KIND_MAX_POOL:
            simclr_max_pool_forward(&layer->pool, out, current, batch);
            break;
        case SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL:
            simclr_global_avg_pool_forward(out, current, layer->in_layout, input_precision(net, i),
                                           batch, layer->in_shape.height,
                                           layer->in_shape.width, layer->in_shape.channels);
            break;
        case SIMCLR_LAYER_KIND_ADD:
            simclr_add_forward(out, current, mode_output(net, layer->residual),
                               (size_t)batch * layer->out_size, layer->precision, layer->spec.activation);
            break;
        }
    }
    net->last_input = in;
    net->last_batch = batch;
    return 0;
}

const void *simclr_network_layer_input(const simclr_network *net, int layer, const float *in)
{
    const simclr_network_layer *l = &net->layers[layer];
    if (l->reads_staging) return l->input < 0 ? net->input_staging : (const void *)net->dense_input;
    return output_of(net, l->input, in);
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
/* Words [first_word, last_word) of mask_store (a thread's share), multiversioned
 * (util/multiversion.h), as is mask_apply's: together 6% of a ResNet-18 bf16 step. */
SIMCLR_MULTIVERSIONED static void mask_store_words(uint64_t *mask, const void *values, size_t element_size,
                                                   size_t count, size_t first_word, size_t last_word)
{
    const float *f32 = values;
    const uint16_t *bf16 = values;
    for (size_t w = first_word; w < last_word; w++) {
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

static void mask_store(uint64_t *mask, const void *values, size_t element_size, size_t count)
{
    size_t words = (count + 63) / 64;
#pragma omp parallel if (count > 65536)
    {
        size_t first, last;
        simclr_thread_share(words, &first, &last);
        mask_store_words(mask, values, element_size, count, first, last);
    }
}

/* values[i] = 0 where bit i of mask is clear. */
SIMCLR_MULTIVERSIONED static void mask_apply_words(void *values, size_t element_size, const uint64_t *mask,
                                                   size_t count, size_t first_word, size_t last_word)
{
    float *f32 = values;
    uint16_t *bf16 = values;
    for (size_t w = first_word; w < last_word; w++) {
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

static void mask_apply(void *values, size_t element_size, const uint64_t *mask, size_t count)
{
    size_t words = (count + 63) / 64;
#pragma omp parallel if (count > 65536)
    {
        size_t first, last;
        simclr_thread_share(words, &first, &last);
        mask_apply_words(values, element_size, mask, count, first, last);
    }
}

/* target += source, element-wise over float or bf16 values (a pending gradient joining the
 * owner's). */
static void accumulate(void *target, const void *source, size_t element_size, size_t count)
{
    if (element_size == sizeof(float)) {
        float *t = target;
        const float *s = source;
#pragma omp parallel for simd schedule(static) if (count > 65536)
        for (size_t i = 0; i < count; i++) t[i] += s[i];
    } else {
        uint16_t *t = target;
        const uint16_t *s = source;
        simclr_nn_precision bf16 = SIMCLR_NN_PRECISION_BF16;
        /* An add of the two into the first: simclr_add_forward rounds once, as a bf16 sum. */
        simclr_add_forward(t, t, s, count, bf16, SIMCLR_NN_ACTIVATION_NONE);
    }
}

/* The backward of one layer, given its output gradient in its own buffer (already masked by its
 * ReLU): parameter gradients added, the input gradient written to d_in (NULL: not needed). */
static int layer_backward(simclr_network *net, int i, const void *input, void *d_in, int batch, simclr_error *err)
{
    simclr_network_layer *layer = &net->layers[i];
    const float *kernel = net->params + layer->kernel_offset;
    float *d_kernel = net->grads + layer->kernel_offset;
    float *d_bias = layer->bias_count ? net->grads + layer->bias_offset : net->bias_scratch;
    void *d_out = layer->output;
    switch (layer->spec.kind) {
    case SIMCLR_LAYER_KIND_CONV2D:
        return simclr_conv2d_backward(layer->conv, d_in, d_kernel, d_bias, d_out, NULL, input, kernel, batch, err);
    case SIMCLR_LAYER_KIND_DENSE:
        simclr_dense_backward(d_in, d_kernel, d_bias, d_out, NULL, input, kernel, batch, (int)layer->in_size,
                              layer->spec.units, SIMCLR_NN_ACTIVATION_NONE);
        return 0;
    case SIMCLR_LAYER_KIND_BATCHNORM: {
        const float *stats = net->batch_stats + layer->stats_offset;
        return simclr_batchnorm_backward(&layer->batchnorm, d_in, d_kernel, net->grads + layer->bias_offset, d_out,
                                         NULL, input, kernel, stats, stats + layer->kernel_count, batch, err);
    }
    case SIMCLR_LAYER_KIND_MAX_POOL:
        return d_in ? simclr_max_pool_backward(&layer->pool, d_in, d_out, input, batch, err) : 0;
    case SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL:
        if (d_in)
            simclr_global_avg_pool_backward(d_in, d_out, layer->in_layout, input_precision(net, i),
                                            batch, layer->in_shape.height, layer->in_shape.width,
                                            layer->in_shape.channels);
        return 0;
    case SIMCLR_LAYER_KIND_ADD:
        /* d(input) = d(residual) = d_out: the owned operands get a copy, the others read the add's
         * own buffer as a pending contribution. */
        if (d_in) memcpy(d_in, d_out, (size_t)batch * layer->out_size * layer->element_size);
        if (layer->owns_residual)
            memcpy(net->layers[layer->residual].output, d_out, (size_t)batch * layer->out_size * layer->element_size);
        return 0;
    }
    return 0;
}

/* 1 for the layers whose backward reads their input's values (not only its shape). */
static int reads_input_in_backward(simclr_layer_kind kind)
{
    return kind != SIMCLR_LAYER_KIND_ADD && kind != SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL;
}

/* The output of recomputed batchnorm i (network.h) back in the recompute buffer, as its training
 * forward wrote it. */
static int recompute_output(simclr_network *net, int i, simclr_error *err)
{
    simclr_network_layer *layer = &net->layers[i];
    const float *gamma = net->params + layer->kernel_offset, *beta = net->params + layer->bias_offset;
    const float *stats = net->batch_stats + layer->stats_offset;
    return simclr_batchnorm_recompute_output(&layer->batchnorm, layer->output,
                                             simclr_network_layer_input(net, i, net->last_input), gamma, beta, stats,
                                             stats + layer->kernel_count, net->last_batch, err);
}

int simclr_network_backward(simclr_network *net, const float *d_output, float *d_input, simclr_error *err)
{
    int batch = net->last_batch;
    if (!net->last_input || batch < 1)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: backward without a forward pass", net->name);
    if (!net->training)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: backward after an inference-mode forward",
                                net->name);
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
        if (stopping(net, err)) return -1;
        simclr_network_layer *layer = &net->layers[i];
        const void *input = net->last_input;
        void *d_in = d_input;
        simclr_network_layer *source = layer->input >= 0 ? &net->layers[layer->input] : NULL;
        /* The outputs whose gradient this layer owns (its input, and an add's residual operand):
         * it writes them, the pending contributions of their other readers join, and the ReLU
         * mask of the one that has a ReLU (network_plan allows one) is kept as bits before and
         * applied after. */
        int owned[2] = {source && layer->owns_input ? layer->input : -1,
                        layer->spec.kind == SIMCLR_LAYER_KIND_ADD && layer->owns_residual ? layer->residual : -1};
        if (source && source->recomputed && (reads_input_in_backward(layer->spec.kind) ||
                                             source->spec.activation == SIMCLR_NN_ACTIVATION_RELU)) {
            if (recompute_output(net, layer->input, err) != 0) return -1;
        }
        simclr_network_layer *masked = NULL;
        for (int j = 0; j < 2; j++)
            if (owned[j] >= 0 && net->layers[owned[j]].spec.activation == SIMCLR_NN_ACTIVATION_RELU)
                masked = &net->layers[owned[j]];
        size_t masked_count = masked ? (size_t)batch * masked->out_size : 0;
        if (masked) mask_store(net->relu_mask, masked->output, masked->element_size, masked_count);
        /* Where formats meet, the layer works on the staging copy the forward pass made, and its
         * input gradient is converted into the real destination afterwards. */
        int converts = layer->reads_staging;
        if (source) {
            /* The input is an earlier layer's output; its gradient overwrites it in place (the
             * owner) or waits in the side buffer (an add's waits in its own output). */
            input = source->output;
            d_in = layer->owns_input ? source->output
                   : layer->spec.kind == SIMCLR_LAYER_KIND_ADD ? NULL
                                                               : net->side_gradient;
        }
        void *staging = NULL;
        if (converts) {
            staging = (void *)simclr_network_layer_input(net, i, net->last_input);
            input = staging;
        }
        void *layer_d_in = d_in && converts ? staging : d_in;
        if (layer_backward(net, i, input, layer_d_in, batch, err) != 0) return -1;
        if (d_in && converts) {
            if (source) { /* a dense layer's float NHWC gradient back into the conv's format */
                simclr_tensor_shape shape = source->out_shape;
                simclr_nn_activations_from_nhwc(d_in, source->out_layout, source->precision, staging, batch,
                                                shape.height, shape.width, shape.channels);
            } else { /* the first conv's input gradient into the caller's float NHWC */
                simclr_tensor_shape shape = layer->in_shape;
                simclr_nn_activations_to_nhwc(d_in, staging, layer->in_layout, layer->precision, batch,
                                              shape.height, shape.width, shape.channels);
            }
        }
        for (int j = 0; j < 2; j++) {
            if (owned[j] < 0) continue;
            simclr_network_layer *target = &net->layers[owned[j]];
            for (int p = 0; p < target->pending_count; p++) {
                const simclr_network_layer *reader = &net->layers[target->pending[p]];
                accumulate(target->output,
                           reader->spec.kind == SIMCLR_LAYER_KIND_ADD ? reader->output : net->side_gradient,
                           target->element_size, (size_t)batch * target->out_size);
            }
        }
        if (masked) mask_apply(masked->output, masked->element_size, net->relu_mask, masked_count);
    }
    net->last_batch = 0; /* the activations are gone */
    return 0;
}

void simclr_network_tensor_name(const simclr_network *net, int layer, int is_bias, char *out, size_t size)
{
    const simclr_network_layer *l = &net->layers[layer];
    if (l->spec.name[0])
        snprintf(out, size, "%s.%s.%s", net->name, l->name, is_bias ? "bias" : "weight");
    else if (l->spec.kind == SIMCLR_LAYER_KIND_BATCHNORM)
        snprintf(out, size, "%s.%s.%s", net->name, l->name, is_bias ? "beta" : "gamma");
    else
        snprintf(out, size, "%s.%s.%s", net->name, l->name, is_bias ? "bias" : "kernel");
}

/* Tensors per layer: kernel/gamma, bias/beta (if any), and a batchnorm's two running statistics. */
static int layer_tensor_count(const simclr_network_layer *layer)
{
    if (layer->spec.kind == SIMCLR_LAYER_KIND_BATCHNORM) return 4;
    if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D || layer->spec.kind == SIMCLR_LAYER_KIND_DENSE)
        return layer->bias_count ? 2 : 1;
    return 0;
}

int simclr_network_tensor_count(const simclr_network *net)
{
    int count = 0;
    for (int i = 0; i < net->layer_count; i++) count += layer_tensor_count(&net->layers[i]);
    return count;
}

void simclr_network_tensor_at(const simclr_network *net, int index, simclr_network_tensor *tensor)
{
    memset(tensor, 0, sizeof *tensor);
    int i = 0;
    while (i < net->layer_count && index >= layer_tensor_count(&net->layers[i])) index -= layer_tensor_count(&net->layers[i++]);
    if (i == net->layer_count) return;
    const simclr_network_layer *layer = &net->layers[i];
    if (index < 2) {
        int is_bias = index == 1;
        simclr_network_tensor_name(net, i, is_bias, tensor->name, sizeof tensor->name);
        size_t offset = is_bias ? layer->bias_offset : layer->kernel_offset;
        tensor->values = net->params + offset;
        tensor->grads = net->grads + offset;
        tensor->count = is_bias ? layer->bias_count : layer->kernel_count;
        tensor->bias_or_norm = is_bias || layer->spec.kind == SIMCLR_LAYER_KIND_BATCHNORM;
        if (!is_bias && layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            tensor->ndim = 4;
            tensor->shape[0] = tensor->shape[1] = layer->spec.kernel;
            tensor->shape[2] = layer->in_shape.channels;
            tensor->shape[3] = layer->spec.units;
        } else if (!is_bias && layer->spec.kind == SIMCLR_LAYER_KIND_DENSE) {
            tensor->ndim = 2;
            tensor->shape[0] = (int64_t)layer->in_size;
            tensor->shape[1] = layer->spec.units;
        } else {
            tensor->ndim = 1;
            tensor->shape[0] = (int64_t)tensor->count;
        }
        return;
    }
    int is_var = index == 3;
    const char *statistic = layer->spec.name[0] ? (is_var ? "running_var" : "running_mean")
                                                : (is_var ? "moving_variance" : "moving_mean");
    snprintf(tensor->name, sizeof tensor->name, "%s.%s.%s", net->name, layer->name, statistic);
    tensor->values = net->state + layer->state_offset + (is_var ? layer->kernel_count : 0);
    tensor->count = layer->kernel_count;
    tensor->ndim = 1;
    tensor->shape[0] = (int64_t)tensor->count;
    tensor->bias_or_norm = 1;
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

static const char *kind_title(simclr_layer_kind kind)
{
    switch (kind) {
    case SIMCLR_LAYER_KIND_CONV2D: return "Conv2D";
    case SIMCLR_LAYER_KIND_DENSE: return "Dense";
    case SIMCLR_LAYER_KIND_BATCHNORM: return "BatchNorm";
    case SIMCLR_LAYER_KIND_MAX_POOL: return "MaxPool2D";
    case SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL: return "GlobalAvgPool";
    case SIMCLR_LAYER_KIND_ADD: return "Add";
    }
    return "?";
}

void simclr_network_print_summary(const simclr_network *net, FILE *stream)
{
    fprintf(stream, "Model: \"%s\"\n", net->name);
    fprintf(stream, "%-34s %-26s %12s\n", "Layer (type)", "Output Shape", "Param #");
    fprintf(stream, "%.*s\n", 74, "==========================================================================");
    for (int i = 0; i < net->layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        char title[96], shape[64], count[32], extra[96] = "";
        const char *relu = layer->spec.activation == SIMCLR_NN_ACTIVATION_RELU ? " relu" : "";
        snprintf(title, sizeof title, "%s (%s)", layer->name, kind_title(layer->spec.kind));
        if (layer->out_shape.height * layer->out_shape.width == 1 && layer->spec.kind != SIMCLR_LAYER_KIND_CONV2D)
            snprintf(shape, sizeof shape, "(None, %d)", layer->out_shape.channels);
        else
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", layer->out_shape.height, layer->out_shape.width,
                     layer->out_shape.channels);
        switch (layer->spec.kind) {
        case SIMCLR_LAYER_KIND_CONV2D:
        case SIMCLR_LAYER_KIND_MAX_POOL:
            snprintf(extra, sizeof extra, "  %dx%d/%d pad %d%s", layer->spec.kernel, layer->spec.kernel,
                     layer->spec.stride, layer->spec.padding, relu);
            break;
        case SIMCLR_LAYER_KIND_ADD:
            snprintf(extra, sizeof extra, "  + %s%s", net->layers[layer->residual].name, relu);
            break;
        default:
            snprintf(extra, sizeof extra, "%s%s", *relu ? " " : "", relu);
            break;
        }
        if (layer->input >= 0 && layer->input != i - 1 && layer->spec.kind != SIMCLR_LAYER_KIND_ADD) {
            size_t used = strlen(extra);
            snprintf(extra + used, sizeof extra - used, "  from %s", net->layers[layer->input].name);
        }
        if (layer->spec.kind == SIMCLR_LAYER_KIND_DENSE && i > 0 &&
            net->layers[i - 1].spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
            char flat[64];
            snprintf(flat, sizeof flat, "(None, %zu)", layer->in_size);
            fprintf(stream, "%-34s %-26s %12s\n", "flatten (Flatten)", flat, "0");
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
    /* The trained tensors of the tensor list, in their order (which tiles the parameter block):
     * biases and batchnorm scales and shifts are the ones excluded. */
    int count = 0;
    int total = simclr_network_tensor_count(net);
    for (int t = 0; t < total; t++) {
        simclr_network_tensor tensor;
        simclr_network_tensor_at(net, t, &tensor);
        if (!tensor.grads || tensor.count == 0) continue;
        if (count < max)
            tensors[count] = (simclr_param_tensor){.offset = (size_t)(tensor.values - net->params),
                                                   .count = tensor.count,
                                                   .exclude_from_decay_and_adaptation = tensor.bias_or_norm};
        count++;
    }
    return count;
}

int simclr_network_optimizer_init(simclr_optimizer *opt, const simclr_network *net, const simclr_optimizer_config *config,
                                  simclr_error *err)
{
    simclr_param_tensor tensors[SIMCLR_OPTIMIZER_MAX_TENSORS];
    int count = simclr_network_param_tensors(net, tensors, SIMCLR_OPTIMIZER_MAX_TENSORS);
    return simclr_optimizer_init(opt, config, tensors, count, err);
}
