/*
 * Planning a network (network.h) without allocating anything: every layer's shapes, name,
 * parameter offsets, activation layout and precision, who owns which gradient in backward, and
 * the sizes of the buffers network.c allocates. simclr_network_estimate_bytes is this plan's sum.
 */
#include "network_plan.h"

#include <stdlib.h>
#include <string.h>

static size_t shape_size(simclr_tensor_shape shape)
{
    return (size_t)shape.height * (size_t)shape.width * (size_t)shape.channels;
}

/* Layers that work on feature maps in the conv layers' layout and precision. */
static int is_spatial(simclr_layer_kind kind)
{
    return kind == SIMCLR_LAYER_KIND_CONV2D || kind == SIMCLR_LAYER_KIND_BATCHNORM ||
           kind == SIMCLR_LAYER_KIND_MAX_POOL || kind == SIMCLR_LAYER_KIND_ADD;
}

/* 1 when a float32 NHWC tensor of this shape is already in `layout` and `precision`. */
static int is_float_nhwc(simclr_nn_layout layout, simclr_nn_precision precision, simclr_tensor_shape shape)
{
    if (precision != SIMCLR_NN_PRECISION_FP32) return 0;
    if (layout == SIMCLR_NN_LAYOUT_NHWC) return 1;
    return layout == SIMCLR_NN_LAYOUT_NCHW && (shape.channels == 1 || shape.height * shape.width == 1);
}

int simclr_network_options_parse_layout(simclr_network_options *options, const char *value, const char *what,
                                        simclr_error *err)
{
    options->force_layout = 0;
    if (!value || value[0] == '\0' || strcmp(value, "auto") == 0) return 0;
    if (strcmp(value, "blocked") == 0) options->layout = simclr_conv2d_blocked_layout();
    else if (strcmp(value, "nhwc") == 0) options->layout = SIMCLR_NN_LAYOUT_NHWC;
    else if (strcmp(value, "nChw16c") == 0) options->layout = SIMCLR_NN_LAYOUT_BLOCKED16;
    else if (strcmp(value, "nChw8c") == 0) options->layout = SIMCLR_NN_LAYOUT_BLOCKED8;
    else
        return simclr_error_input(err, "%s '%s': expected auto, blocked, nhwc, nChw16c or nChw8c", what, value);
    options->force_layout = 1;
    return 0;
}

/* The leading run of feature-map layers (conv, batchnorm, max pool, add; starting with a conv)
 * that a dense layer or a global average pool follows: the layers that may keep a blocked layout.
 * 0 when there is none. */
static int feature_run_length(const simclr_network *net)
{
    int run = 0;
    while (run < net->layer_count && is_spatial(net->layers[run].spec.kind)) run++;
    if (run == 0 || run == net->layer_count || net->layers[0].spec.kind != SIMCLR_LAYER_KIND_CONV2D) return 0;
    return run;
}

/* 1 when the run can be laid out in this blocked layout: every output has a multiple of the
 * block's channels, and the input suits a first layer (fewer channels than the block: read as
 * NCHW, or a multiple of it). */
static int run_fits_block(const simclr_network *net, int run, int block)
{
    if (run == 0 || block == 0) return 0;
    for (int i = 0; i < run; i++)
        if (net->layers[i].out_shape.channels % block != 0) return 0;
    int in_channels = net->in_shape.channels;
    return in_channels < block || in_channels % block == 0;
}

/* Gives the run `run_layout` (NHWC or a blocked layout that fits it; NHWC everywhere else) and
 * marks the layers that read a converted copy of their input. */
static void assign_layouts(simclr_network *net, int run, simclr_nn_layout run_layout)
{
    int block = simclr_nn_layout_block(run_layout);
    int blocked = block > 0;
    simclr_nn_layout first_layout = !blocked ? SIMCLR_NN_LAYOUT_NHWC
                                    : net->in_shape.channels < block ? SIMCLR_NN_LAYOUT_NCHW
                                                                     : run_layout;
    net->feature_layout = blocked && run > 0 ? run_layout : SIMCLR_NN_LAYOUT_NHWC;
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        int in_run = blocked && i < run;
        if (layer->input < 0)
            layer->in_layout = in_run ? first_layout : SIMCLR_NN_LAYOUT_NHWC;
        else
            layer->in_layout = net->layers[layer->input].out_layout;
        layer->out_layout = in_run ? run_layout : SIMCLR_NN_LAYOUT_NHWC;
        if (layer->spec.kind == SIMCLR_LAYER_KIND_DENSE) layer->in_layout = SIMCLR_NN_LAYOUT_NHWC;
        if (layer->input < 0)
            layer->reads_staging = !is_float_nhwc(layer->in_layout, layer->precision, layer->in_shape);
        else
            layer->reads_staging = layer->spec.kind == SIMCLR_LAYER_KIND_DENSE &&
                                   !is_float_nhwc(net->layers[layer->input].out_layout,
                                                  net->layers[layer->input].precision,
                                                  net->layers[layer->input].out_shape);
    }
}

/* The convolution passes of the network, as assigned, that oneDNN would run on its reference
 * kernels at this batch (forward and backward-weights of every conv, backward-data of every conv
 * but one reading the network's input, whose input gradient training never asks for). A conv
 * oneDNN cannot plan at all (bf16 without AVX-512) counts nothing here: it fails on its first
 * call, naming the reason. */
static int count_reference_passes(const simclr_network *net, int batch)
{
    int count = 0;
    for (int i = 0; i < net->layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        if (layer->spec.kind != SIMCLR_LAYER_KIND_CONV2D) continue;
        simclr_conv2d_config config = {layer->in_shape.height, layer->in_shape.width, layer->in_shape.channels,
                                       layer->spec.units, layer->spec.kernel, layer->spec.stride,
                                       layer->spec.padding, layer->spec.activation, layer->spec.precision,
                                       layer->in_layout, layer->out_layout};
        unsigned passes = 0;
        simclr_error ignored = {0};
        if (simclr_conv2d_reference_passes(&config, batch, &passes, &ignored) != 0) continue;
        if (layer->input < 0) passes &= ~SIMCLR_CONV2D_PASS_BACKWARD_DATA;
        count += ((passes & SIMCLR_CONV2D_PASS_FORWARD) != 0) + ((passes & SIMCLR_CONV2D_PASS_BACKWARD_DATA) != 0) +
                 ((passes & SIMCLR_CONV2D_PASS_BACKWARD_WEIGHTS) != 0);
    }
    return count;
}

/* Chooses each layer's activation layouts (network.h). The run of feature-map layers takes the
 * first of these that oneDNN runs without a reference kernel: the blocked layout of the CPU's
 * ISA (nChw16c with AVX-512, nChw8c below: simclr_conv2d_blocked_layout) when the run's channels
 * fit it, then NHWC, then the other blocked layout (bf16 on a CPU with AMX tries NHWC first: its
 * fast kernels take NHWC only, simclr_conv2d_bf16_prefers_nhwc). When every candidate has
 * reference kernels, the one with the fewest reference passes; net->reference_passes says how
 * many, for the caller to warn about. SIMCLR_CONV_LAYOUT forces a layout (tests run several);
 * a blocked one that does not fit the run gives NHWC. */
static int plan_layouts(simclr_network *net, int batch, simclr_error *err)
{
    int is_forced = net->options.force_layout;
    simclr_nn_layout forced = net->options.layout;
    int run = feature_run_length(net);
    simclr_nn_layout native = simclr_conv2d_blocked_layout();
    simclr_nn_layout other = native == SIMCLR_NN_LAYOUT_BLOCKED16 ? SIMCLR_NN_LAYOUT_BLOCKED8
                                                                   : SIMCLR_NN_LAYOUT_BLOCKED16;
    int bf16 = 0;
    for (int i = 0; i < run; i++)
        bf16 |= net->layers[i].spec.kind == SIMCLR_LAYER_KIND_CONV2D &&
                net->layers[i].precision == SIMCLR_NN_PRECISION_BF16;
    simclr_nn_layout candidates[3];
    int count = 0;
    if (is_forced) {
        candidates[count++] = forced;
    } else if (bf16 && simclr_conv2d_bf16_prefers_nhwc()) {
        candidates[count++] = SIMCLR_NN_LAYOUT_NHWC;
        candidates[count++] = native;
    } else {
        candidates[count++] = native;
        candidates[count++] = SIMCLR_NN_LAYOUT_NHWC;
        candidates[count++] = other;
    }
    simclr_nn_layout best = SIMCLR_NN_LAYOUT_NHWC;
    int best_passes = -1;
    for (int c = 0; c < count; c++) {
        simclr_nn_layout layout = candidates[c];
        int block = simclr_nn_layout_block(layout);
        if (block > 0 && !run_fits_block(net, run, block)) {
            if (!is_forced) continue;
            layout = SIMCLR_NN_LAYOUT_NHWC;
        }
        assign_layouts(net, run, layout);
        int passes = count_reference_passes(net, batch);
        if (best_passes < 0 || passes < best_passes) {
            best = layout;
            best_passes = passes;
        }
        if (passes == 0) break;
    }
    assign_layouts(net, run, best);
    net->reference_passes = best_passes < 0 ? 0 : best_passes;
    net->layout_forced = is_forced;
    return 0;
}

/* Who writes each output's gradient in backward (network.h, simclr_network_layer.owns_input):
 * the lowest-index reader; the others leave their contributions pending. A pending contribution
 * of a layer other than an add lives in the one side buffer, so two of them must not be alive
 * at once (they are not in a ResNet: one projection shortcut per block). */
static int plan_gradients(simclr_network *net, const char *name, simclr_error *err)
{
    int owner[SIMCLR_NETWORK_MAX_LAYERS];
    for (int i = 0; i < net->layer_count; i++) owner[i] = -1;
    for (int k = 0; k < net->layer_count; k++) {
        const simclr_network_layer *layer = &net->layers[k];
        int inputs[2] = {layer->input, layer->spec.kind == SIMCLR_LAYER_KIND_ADD ? layer->residual : -1};
        for (int j = 0; j < 2; j++)
            if (inputs[j] >= 0 && owner[inputs[j]] < 0) owner[inputs[j]] = k;
    }
    int side_from = -1; /* the side buffer is in use from a second reader's backward to this owner's */
    for (int k = net->layer_count - 1; k >= 0; k--) {
        simclr_network_layer *layer = &net->layers[k];
        if (k + 1 < net->layer_count && owner[k] < 0)
            return simclr_error_input(err, "%s: the output of %s is never read", name, layer->name);
        int inputs[2] = {layer->input, layer->spec.kind == SIMCLR_LAYER_KIND_ADD ? layer->residual : -1};
        int *owns[2] = {&layer->owns_input, &layer->owns_residual};
        for (int j = 0; j < 2; j++) {
            if (j == 1 && layer->spec.kind != SIMCLR_LAYER_KIND_ADD) break;
            int source = inputs[j];
            if (source < 0) {
                *owns[j] = 1;
                continue;
            }
            *owns[j] = owner[source] == k;
            if (*owns[j]) continue;
            simclr_network_layer *target = &net->layers[source];
            if (target->pending_count == SIMCLR_NETWORK_MAX_PENDING)
                return simclr_error_input(err, "%s: the output of %s has more than %d readers", name,
                                          target->name, SIMCLR_NETWORK_MAX_PENDING + 1);
            target->pending[target->pending_count++] = k;
            if (layer->spec.kind == SIMCLR_LAYER_KIND_ADD) continue;
            /* In use from k's backward until the owner's: [owner, k] must not meet the last one. */
            if (side_from >= 0 && k >= side_from)
                return simclr_error_input(err, "%s: %s and another layer both need the side gradient buffer "
                                               "at once (two second readers of outputs overlap)",
                                          name, layer->name);
            side_from = owner[source];
            size_t bytes = (size_t)net->max_batch * target->out_size * target->element_size;
            if (bytes > net->side_bytes) net->side_bytes = bytes;
        }
        if (layer->spec.kind == SIMCLR_LAYER_KIND_ADD && layer->owns_input && layer->owns_residual &&
            net->layers[layer->input].spec.activation == SIMCLR_NN_ACTIVATION_RELU &&
            net->layers[layer->residual].spec.activation == SIMCLR_NN_ACTIVATION_RELU)
            return simclr_error_input(err, "%s: %s is the first reader of two operands with a ReLU", name,
                                      layer->name);
    }
    return 0;
}

/* Which batchnorm outputs backward recomputes instead of keeping (simclr_network_layer.recomputed):
 * those read by the next layer alone, as its input, in the same format (no staging copy), whose
 * own input is kept. The next layer runs at once in forward and its backward comes just before
 * the batchnorm's, so one buffer holds every such output in turn: the output in forward, the
 * recomputed output and then its gradient in backward. In a ResNet these are every block's bn1
 * (read by conv2), and the last batchnorm before each add (bn2, or the projection's), which
 * backward does not even recompute: an add reads no input in backward and they have no ReLU. */
static void plan_recompute(simclr_network *net)
{
    if (net->options.keep_activations) return;
    for (int i = 0; i + 1 < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        const simclr_network_layer *reader = &net->layers[i + 1];
        if (layer->spec.kind != SIMCLR_LAYER_KIND_BATCHNORM || layer->pending_count != 0) continue;
        if (reader->input != i || !reader->owns_input || reader->reads_staging) continue;
        if (reader->spec.kind == SIMCLR_LAYER_KIND_ADD && reader->residual == i) continue;
        if (layer->input >= 0 && net->layers[layer->input].recomputed) continue;
        int read_later = 0; /* by any layer after the next one */
        for (int k = i + 2; k < net->layer_count && !read_later; k++)
            read_later = net->layers[k].input == i ||
                         (net->layers[k].spec.kind == SIMCLR_LAYER_KIND_ADD && net->layers[k].residual == i);
        if (read_later) continue;
        layer->recomputed = 1;
        size_t bytes = (size_t)net->max_batch * layer->out_size * layer->element_size;
        if (bytes > net->recompute_bytes) net->recompute_bytes = bytes;
    }
}

/* Where each layer writes in inference mode (simclr_network_layer.inference_home): the smallest
 * free buffer that fits, a buffer being free once the last reader of the value it holds has run
 * (after that reader's forward: no layer overwrites its own input). The recomputed batchnorms
 * keep the recompute buffer and the last layer its own (the network's output). */
static void plan_inference_buffers(simclr_network *net)
{
    int last_read[SIMCLR_NETWORK_MAX_LAYERS], home[SIMCLR_NETWORK_MAX_LAYERS];
    int free_buffers[SIMCLR_NETWORK_MAX_LAYERS], free_count = 0;
    for (int i = 0; i < net->layer_count; i++) last_read[i] = -1;
    for (int k = 0; k < net->layer_count; k++) {
        const simclr_network_layer *layer = &net->layers[k];
        if (layer->input >= 0) last_read[layer->input] = k;
        if (layer->spec.kind == SIMCLR_LAYER_KIND_ADD) last_read[layer->residual] = k;
    }
    for (int i = 0; i < net->layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        layer->inference_home = -1;
        home[i] = i;
        if (layer->recomputed || i + 1 == net->layer_count) {
            home[i] = -1;
        } else {
            size_t need = layer->out_size * layer->element_size;
            int best = -1;
            for (int f = 0; f < free_count; f++) {
                const simclr_network_layer *owner = &net->layers[free_buffers[f]];
                size_t room = owner->out_size * owner->element_size;
                if (room >= need && (best < 0 || room < net->layers[free_buffers[best]].out_size *
                                                            net->layers[free_buffers[best]].element_size))
                    best = f;
            }
            if (best >= 0) {
                home[i] = free_buffers[best];
                layer->inference_home = home[i];
                free_buffers[best] = free_buffers[--free_count];
            }
        }
        for (int v = 0; v <= i; v++)
            if (last_read[v] == i && home[v] >= 0) free_buffers[free_count++] = home[v];
    }
}

/* Shapes, names, parameter offsets and the checks of one layer (network_plan). */
static int plan_layer(simclr_network *net, int i, const simclr_layer_spec *spec, size_t *param_count,
                      size_t *state_count, size_t *stats_count, int *conv_number, int *dense_number,
                      simclr_error *err)
{
    const char *name = net->name;
    simclr_network_layer *layer = &net->layers[i];
    layer->spec = *spec;
    int from = spec->from == 0 ? -1 : spec->from;
    layer->input = i + from;
    if (from > -1 || layer->input < (i == 0 ? -1 : 0))
        return simclr_error_input(err, "%s: layer %d reads from %d layers back (expected the previous layer or "
                                       "one of the earlier layers, not the network's input)",
                                  name, i + 1, -from);
    const simclr_network_layer *input = layer->input >= 0 ? &net->layers[layer->input] : NULL;
    simclr_tensor_shape shape = input ? input->out_shape : net->in_shape;
    simclr_nn_precision in_precision = input ? input->precision : SIMCLR_NN_PRECISION_FP32;
    layer->in_shape = shape;
    layer->in_size = shape_size(shape);
    layer->precision = SIMCLR_NN_PRECISION_FP32;
    switch (spec->kind) {
    case SIMCLR_LAYER_KIND_CONV2D: {
        snprintf(layer->name, sizeof layer->name, "conv2d_%d", ++*conv_number);
        if (spec->name[0]) snprintf(layer->name, sizeof layer->name, "%s", spec->name);
        int out_height = simclr_conv2d_output_size(shape.height, spec->kernel, spec->stride, spec->padding);
        int out_width = simclr_conv2d_output_size(shape.width, spec->kernel, spec->stride, spec->padding);
        if (out_height < 1 || out_width < 1)
            return simclr_error_input(err,
                                      "%s: %s gets a %dx%d input, too small for a %dx%d kernel with "
                                      "stride %d and padding %d (try --padding 1, fewer --depth "
                                      "layers or a larger image)",
                                      name, layer->name, shape.height, shape.width, spec->kernel,
                                      spec->kernel, spec->stride, spec->padding);
        if (spec->units < 1)
            return simclr_error_input(err, "%s: %s has %d output channels", name, layer->name, spec->units);
        layer->kernel_count = (size_t)spec->kernel * (size_t)spec->kernel * (size_t)shape.channels *
                              (size_t)spec->units;
        if (spec->precision != SIMCLR_NN_PRECISION_FP32 && spec->precision != SIMCLR_NN_PRECISION_BF16)
            return simclr_error_input(err, "%s: %s has an unknown precision %d", name, layer->name,
                                      (int)spec->precision);
        /* bf16 convs form one run starting at the first layer: the network converts only at its
         * input and where that run meets a dense layer or a pool. */
        for (int j = i - 1; j >= 0; j--) {
            if (net->layers[j].spec.kind != SIMCLR_LAYER_KIND_CONV2D) continue;
            if (net->layers[j].spec.precision != spec->precision)
                return simclr_error_input(err,
                                          "%s: %s computes in %s after a %s layer (a network's conv "
                                          "layers share one precision)",
                                          name, layer->name, simclr_nn_precision_name(spec->precision),
                                          simclr_nn_precision_name(net->layers[j].spec.precision));
            break;
        }
        layer->precision = spec->precision;
        shape = (simclr_tensor_shape){out_height, out_width, spec->units};
        layer->bias_count = spec->no_bias ? 0 : (size_t)spec->units;
        break;
    }
    case SIMCLR_LAYER_KIND_DENSE:
        snprintf(layer->name, sizeof layer->name, "dense_%d", ++*dense_number);
        if (spec->name[0]) snprintf(layer->name, sizeof layer->name, "%s", spec->name);
        if (spec->precision != SIMCLR_NN_PRECISION_FP32)
            return simclr_error_input(err, "%s: %s: dense layers compute in fp32 only", name, layer->name);
        if (spec->units < 1)
            return simclr_error_input(err, "%s: %s has %d units", name, layer->name, spec->units);
        layer->kernel_count = layer->in_size * (size_t)spec->units;
        shape = (simclr_tensor_shape){1, 1, spec->units};
        layer->bias_count = spec->no_bias ? 0 : (size_t)spec->units;
        break;
    case SIMCLR_LAYER_KIND_BATCHNORM:
        if (spec->name[0])
            snprintf(layer->name, sizeof layer->name, "%s", spec->name);
        else
            snprintf(layer->name, sizeof layer->name, "batch_normalization_%d", i + 1);
        if (spec->units && spec->units != shape.channels)
            return simclr_error_input(err, "%s: %s expects %d channels, gets %d", name, layer->name, spec->units,
                                      shape.channels);
        layer->precision = in_precision;
        layer->kernel_count = layer->bias_count = (size_t)shape.channels;
        layer->state_offset = *state_count;
        layer->stats_offset = *stats_count;
        *state_count += 2 * (size_t)shape.channels;
        *stats_count += 2 * (size_t)shape.channels;
        break;
    case SIMCLR_LAYER_KIND_MAX_POOL: {
        if (spec->name[0])
            snprintf(layer->name, sizeof layer->name, "%s", spec->name);
        else
            snprintf(layer->name, sizeof layer->name, "max_pooling2d_%d", i + 1);
        simclr_max_pool_config pool = {shape.height, shape.width, shape.channels, spec->kernel, spec->stride,
                                       spec->padding, in_precision, SIMCLR_NN_LAYOUT_NHWC};
        if (simclr_max_pool_check(&pool, err) != 0) {
            return simclr_error_input(err, "%s: %s gets a %dx%d input: %s", name, layer->name, shape.height,
                                      shape.width, simclr_error_message(err));
        }
        layer->precision = in_precision;
        shape.height = simclr_conv2d_output_size(shape.height, spec->kernel, spec->stride, spec->padding);
        shape.width = simclr_conv2d_output_size(shape.width, spec->kernel, spec->stride, spec->padding);
        break;
    }
    case SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL:
        if (spec->name[0])
            snprintf(layer->name, sizeof layer->name, "%s", spec->name);
        else
            snprintf(layer->name, sizeof layer->name, "global_average_pooling2d_%d", i + 1);
        shape = (simclr_tensor_shape){1, 1, shape.channels};
        break;
    case SIMCLR_LAYER_KIND_ADD: {
        if (spec->name[0])
            snprintf(layer->name, sizeof layer->name, "%s", spec->name);
        else
            snprintf(layer->name, sizeof layer->name, "add_%d", i + 1);
        layer->residual = i + spec->residual_from;
        if (spec->residual_from > -2 || layer->residual < 0)
            return simclr_error_input(err, "%s: %s adds the output of %d layers back (expected 2..%d)", name,
                                      layer->name, -spec->residual_from, i);
        const simclr_network_layer *other = &net->layers[layer->residual];
        if (other->out_shape.height != shape.height || other->out_shape.width != shape.width ||
            other->out_shape.channels != shape.channels || other->precision != in_precision)
            return simclr_error_input(err, "%s: %s adds %s (%dx%dx%d) to a %dx%dx%d input", name, layer->name,
                                      other->name, other->out_shape.height, other->out_shape.width,
                                      other->out_shape.channels, shape.height, shape.width, shape.channels);
        layer->precision = in_precision;
        break;
    }
    default:
        return simclr_error_input(err, "%s: layer %d has an unknown kind %d", name, i + 1, (int)spec->kind);
    }
    layer->element_size = simclr_nn_precision_element_size(layer->precision);
    layer->kernel_offset = *param_count;
    layer->bias_offset = *param_count + layer->kernel_count;
    *param_count += layer->kernel_count + layer->bias_count;
    layer->out_shape = shape;
    layer->out_size = shape_size(shape);
    if ((spec->kind == SIMCLR_LAYER_KIND_CONV2D || spec->kind == SIMCLR_LAYER_KIND_DENSE) && spec->no_bias &&
        (size_t)spec->units > net->widest_units)
        net->widest_units = (size_t)spec->units;
    return 0;
}

int simclr_network_plan(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                        const simclr_layer_spec *specs, int layer_count, int max_batch,
                        const simclr_network_options *options, simclr_error *err)
{
    memset(net, 0, sizeof *net);
    if (options) net->options = *options;
    if (layer_count < 1 || layer_count > SIMCLR_NETWORK_MAX_LAYERS)
        return simclr_error_input(err, "%s: %d layers (expected 1..%d)", name, layer_count,
                                  SIMCLR_NETWORK_MAX_LAYERS);
    if (max_batch < 1) return simclr_error_input(err, "%s: batch size %d (expected >= 1)", name, max_batch);
    snprintf(net->name, sizeof net->name, "%s", name);
    net->in_shape = *in_shape;
    net->layer_count = layer_count;
    net->max_batch = max_batch;
    net->training = 1;

    size_t param_count = 0, state_count = 0, stats_count = 0;
    int conv_number = 0, dense_number = 0;
    for (int i = 0; i < layer_count; i++)
        if (plan_layer(net, i, &specs[i], &param_count, &state_count, &stats_count, &conv_number, &dense_number,
                       err) != 0)
            return -1;
    net->param_count = param_count;
    net->state_count = state_count;
    net->stats_count = stats_count;
    if (net->layers[layer_count - 1].element_size != sizeof(float))
        return simclr_error_input(err, "%s: its last layer must compute in fp32 (the output is float)",
                                  name);
    if (plan_layouts(net, max_batch, err) != 0) return -1;
    for (int i = 0; i < layer_count; i++) {
        simclr_network_layer *layer = &net->layers[i];
        if (layer->spec.kind == SIMCLR_LAYER_KIND_BATCHNORM) {
            layer->batchnorm = simclr_batchnorm_config_default(layer->in_shape.channels,
                                                               layer->in_shape.height * layer->in_shape.width);
            layer->batchnorm.activation = layer->spec.activation;
            layer->batchnorm.precision = layer->precision;
            layer->batchnorm.layout = layer->in_layout;
            if (simclr_batchnorm_check(&layer->batchnorm, err) != 0) return -1;
        }
        if (layer->spec.kind == SIMCLR_LAYER_KIND_MAX_POOL) {
            layer->pool = (simclr_max_pool_config){layer->in_shape.height, layer->in_shape.width,
                                                   layer->in_shape.channels, layer->spec.kernel,
                                                   layer->spec.stride, layer->spec.padding,
                                                   layer->precision, layer->in_layout};
            if (simclr_max_pool_check(&layer->pool, err) != 0) return -1;
        }
        if (!layer->reads_staging) continue;
        if (layer->input < 0) {
            net->input_staging_bytes = (size_t)max_batch * layer->in_size * layer->element_size;
        } else {
            size_t count = (size_t)max_batch * layer->in_size;
            if (count > net->dense_input_count) net->dense_input_count = count;
        }
    }
    if (plan_gradients(net, name, err) != 0) return -1;
    plan_recompute(net);
    plan_inference_buffers(net);
    /* Backward keeps the ReLU masks of one layer's output as bits while that output's buffer is
     * overwritten by its gradient (see simclr_network_backward). */
    size_t largest_masked = 0;
    for (int i = 0; i + 1 < layer_count; i++)
        if (net->layers[i].spec.activation == SIMCLR_NN_ACTIVATION_RELU &&
            net->layers[i].out_size > largest_masked)
            largest_masked = net->layers[i].out_size;
    net->mask_words = ((size_t)max_batch * largest_masked + 63) / 64;
    return 0;
}

int simclr_network_estimate_bytes(const simclr_tensor_shape *in_shape, const simclr_layer_spec *specs, int layer_count,
                                  int max_batch, const simclr_network_options *options, size_t *bytes,
                                  size_t *param_count, simclr_error *err)
{
    simclr_network *plan = malloc(sizeof *plan);
    if (!plan) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory planning a network");
    if (simclr_network_plan(plan, "network", in_shape, specs, layer_count, max_batch, options, err) != 0) {
        free(plan);
        return -1;
    }
    size_t floats = 2 * plan->param_count + (size_t)max_batch * plan->layers[plan->layer_count - 1].out_size +
                    plan->dense_input_count + plan->state_count + plan->stats_count + 2 * plan->widest_units;
    size_t activation_bytes = 0;
    for (int i = 0; i < plan->layer_count; i++)
        if (!plan->layers[i].recomputed)
            activation_bytes += (size_t)max_batch * plan->layers[i].out_size * plan->layers[i].element_size;
    *bytes = floats * sizeof(float) + activation_bytes + plan->recompute_bytes + plan->input_staging_bytes +
             plan->side_bytes + plan->mask_words * sizeof(uint64_t);
    if (param_count) *param_count = plan->param_count;
    free(plan);
    return 0;
}
