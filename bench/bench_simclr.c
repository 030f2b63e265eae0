/*
 * simclr_bench: times one configuration of simclr's training or inference step on random inputs
 * and prints one JSON line (the last line of stdout) that bench/run.sh collects.
 *
 *   simclr_bench --shape 96x96x3 --mode pretrain --steps 3 --warmup 1 --threads 2 [--breakdown]
 *
 * Modes (batch sizes are the seed's: 500 unlabeled + 25 labeled, test batch 525):
 *   pretrain   encoder + projection head forward/backward on 2B = 1050 views, the seed's
 *              contrastive loss, Adam on both; then the linear probe on the 25 labeled images
 *              (encoder forward in inference mode, Dense(10), cross-entropy, Adam): the step of
 *              src/train/pretrain.c without reading and augmenting images.
 *   baseline   25 images through encoder + Dense(10), cross-entropy, backward, Adam on both: the
 *              step of src/train/supervised.c without augmentation.
 *   inference  525 images through encoder + Dense(10) and the cross-entropy, as evaluation does.
 *   augment    the augmentation of one pretraining batch: two strong views of 525 images and the
 *              probe's weak view of 25 (augment_batch, as pretrain.c calls it); no FLOPs counted.
 *
 * FLOPs: 2 x multiply-adds of the convolutions and dense layers (biases, activations, reorders
 * not counted); a training pass counts 3 x its forward FLOPs (forward, gradient w.r.t. the input,
 * gradient w.r.t. the weights), the convention of the PyTorch twin (bench/torch_twin.py). The
 * seed's contrastive loss adds 6 B^2 D (similarity product and its two gradient products).
 *
 * --breakdown runs the pretraining step with every layer call timed: the per-layer loop of
 * src/model/network.c (network_forward / network_backward) written out here with a clock around
 * each conv2d / dense call, checked against network_forward once. It prints one line per phase
 * ('#' lines) before the JSON line.
 *
 * Nothing here changes the library: every call is one the training loops make.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "simclr/augment.h"
#include "simclr/loss.h"
#include "simclr/model.h"
#include "simclr/network.h"
#include "simclr/optim.h"
#include "simclr/rng.h"
#include "train/train_internal.h"

/* fp32 FMA peak of the development machine's 2 cores (AMD EPYC, measured with an FMA loop). */
#define BENCH_DEFAULT_PEAK_GFLOPS 234.5

typedef enum bench_mode {
    BENCH_MODE_PRETRAIN,
    BENCH_MODE_BASELINE,
    BENCH_MODE_INFERENCE,
    BENCH_MODE_AUGMENT,
} bench_mode;

static const char *const BENCH_MODE_NAMES[] = {"pretrain", "baseline", "inference", "augment"};

typedef struct bench_options {
    tensor_shape shape;
    int padding; /* MODEL_PADDING_AUTO or explicit */
    bench_mode mode;
    int steps, warmup, threads;
    int unlabeled, labeled, test_batch;
    int breakdown;
    double peak_gflops;
} bench_options;

/* ---- Clock, memory, random inputs ---------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static void fill_uniform(float *values, size_t count, uint64_t key)
{
    rng_stream stream = rng_stream_make(12345, RNG_PURPOSE_AUGMENT, key, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = rng_uniform01(&stream);
}

static void fill_bytes(uint8_t *values, size_t count, uint64_t key)
{
    rng_stream stream = rng_stream_make(12345, RNG_PURPOSE_AUGMENT, key, 1, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = (uint8_t)rng_below(&stream, 256);
}

static void fill_labels(int32_t *labels, int count, int classes)
{
    rng_stream stream = rng_stream_make(12345, RNG_PURPOSE_AUGMENT, 7, 2, 0, 0);
    for (int i = 0; i < count; i++) labels[i] = (int32_t)rng_below(&stream, (uint64_t)classes);
}

/* ---- FLOP counts ---------------------------------------------------------------------------- */

/* Forward FLOPs of one layer for one image: 2 x multiply-adds. */
static double layer_forward_flops(const network_layer *layer)
{
    if (layer->spec.kind == LAYER_KIND_CONV2D)
        return 2.0 * layer->out_shape.height * layer->out_shape.width * layer->out_shape.channels *
               layer->spec.kernel * layer->spec.kernel * layer->in_shape.channels;
    return 2.0 * (double)layer->in_size * layer->spec.units;
}

static double network_forward_flops(const network *net)
{
    double flops = 0.0;
    for (int i = 0; i < net->layer_count; i++) flops += layer_forward_flops(&net->layers[i]);
    return flops;
}

/* ---- The timed pass: network_forward / network_backward with a clock per layer ------------- */

/* Seconds and FLOPs accumulated per phase over the timed steps. */
enum { BENCH_MAX_PHASES = 48 };
typedef struct phase_table {
    int count;
    char names[BENCH_MAX_PHASES][48];
    double seconds[BENCH_MAX_PHASES];
    double flops[BENCH_MAX_PHASES];
    int recording; /* 0 during warmup */
} phase_table;

static int phase_index(phase_table *table, const char *name)
{
    for (int i = 0; i < table->count; i++)
        if (strcmp(table->names[i], name) == 0) return i;
    if (table->count == BENCH_MAX_PHASES) return BENCH_MAX_PHASES - 1;
    snprintf(table->names[table->count], sizeof table->names[0], "%s", name);
    return table->count++;
}

static void phase_add(phase_table *table, const char *name, double seconds, double flops)
{
    if (!table || !table->recording) return;
    int i = phase_index(table, name);
    table->seconds[i] += seconds;
    table->flops[i] += flops;
}

/* network_forward, layer by layer as src/model/network.c does it, each call timed under
 * "<label> <layer> fwd". Without a table it is network_forward itself. */
static int bench_forward(network *net, const char *label, const float *in, int batch,
                         phase_table *table, error *err)
{
    if (!table) return network_forward(net, in, batch, err);
    if (batch < 1 || batch > net->max_batch)
        return error_set(err, ERROR_KIND_RESOURCE, "%s: batch of %d images (room for %d)",
                         net->name, batch, net->max_batch);
    const float *current = in;
    char name[48];
    for (int i = 0; i < net->layer_count; i++) {
        network_layer *layer = &net->layers[i];
        const float *kernel = net->params + layer->kernel_offset;
        const float *bias = net->params + layer->bias_offset;
        double start = now_seconds();
        if (layer->spec.kind == LAYER_KIND_CONV2D) {
            if (conv2d_forward(layer->conv, layer->output, current, kernel, bias, batch, err) != 0)
                return -1;
        } else {
            dense_forward(layer->output, current, kernel, bias, batch, (int)layer->in_size,
                          layer->spec.units, layer->spec.activation);
        }
        snprintf(name, sizeof name, "%s %s fwd", label, layer->name);
        phase_add(table, name, now_seconds() - start, batch * layer_forward_flops(layer));
        current = layer->output;
    }
    net->last_input = in;
    net->last_batch = batch;
    return 0;
}

/* network_backward likewise, each call timed under "<label> <layer> bwd". The FLOPs count what
 * the call computes: the weight gradient, plus the input gradient unless it is not wanted. */
static int bench_backward(network *net, const char *label, const float *d_output, float *d_input,
                          phase_table *table, error *err)
{
    if (!table) return network_backward(net, d_output, d_input, err);
    int batch = net->last_batch;
    if (!net->last_input || batch < 1)
        return error_set(err, ERROR_KIND_RESOURCE, "%s: backward without a forward pass", net->name);
    int current = 0;
    const network_layer *last = &net->layers[net->layer_count - 1];
    memcpy(net->grad_buffers[current], d_output, (size_t)batch * last->out_size * sizeof(float));
    char name[48];
    for (int i = net->layer_count - 1; i >= 0; i--) {
        network_layer *layer = &net->layers[i];
        const float *input = i > 0 ? net->layers[i - 1].output : net->last_input;
        float *d_out = net->grad_buffers[current];
        float *d_in = i > 0 ? net->grad_buffers[1 - current] : d_input;
        const float *kernel = net->params + layer->kernel_offset;
        float *d_kernel = net->grads + layer->kernel_offset;
        float *d_bias = net->grads + layer->bias_offset;
        double start = now_seconds();
        if (layer->spec.kind == LAYER_KIND_CONV2D) {
            if (conv2d_backward(layer->conv, d_in, d_kernel, d_bias, d_out, layer->output, input,
                                kernel, batch, err) != 0)
                return -1;
        } else {
            dense_backward(d_in, d_kernel, d_bias, d_out, layer->output, input, kernel, batch,
                           (int)layer->in_size, layer->spec.units, layer->spec.activation);
        }
        snprintf(name, sizeof name, "%s %s bwd%s", label, layer->name, d_in ? "" : " (weights only)");
        phase_add(table, name, now_seconds() - start,
                  (d_in ? 2.0 : 1.0) * batch * layer_forward_flops(layer));
        current = 1 - current;
    }
    return 0;
}

/* Times a plain call under a phase name. */
#define TIMED(table, name, flops, statement)                                                       \
    do {                                                                                           \
        double timed_start_ = now_seconds();                                                       \
        statement;                                                                                 \
        phase_add(table, name, now_seconds() - timed_start_, flops);                               \
    } while (0)

/* ---- The state of one configuration ------------------------------------------------------- */

typedef struct bench_state {
    model_config model;
    network encoder, head, classifier;
    adam encoder_optimizer, head_optimizer, classifier_optimizer;
    float *inputs;         /* (max images, image floats) */
    uint8_t *pixels;       /* augment mode: (B, image bytes) */
    float *d_projections;  /* (2B, width) */
    float *loss_workspace;
    float *d_logits;       /* (labeled or test batch, classes) */
    int32_t *labels;
} bench_state;

static void bench_state_free(bench_state *s)
{
    network_free(&s->encoder);
    network_free(&s->head);
    network_free(&s->classifier);
    adam_free(&s->encoder_optimizer);
    adam_free(&s->head_optimizer);
    adam_free(&s->classifier_optimizer);
    free(s->inputs);
    free(s->pixels);
    free(s->d_projections);
    free(s->loss_workspace);
    free(s->d_logits);
    free(s->labels);
}

/* Builds the networks as the training loop of the mode does (same max_batch, so the same memory
 * and the same cached oneDNN primitives) and fills the inputs with random values. */
static int bench_setup(bench_state *s, const bench_options *o, error *err)
{
    s->model = model_config_default(o->shape, 10);
    s->model.padding = o->padding;
    size_t image = (size_t)o->shape.height * o->shape.width * o->shape.channels;
    size_t batch = (size_t)o->unlabeled + (size_t)o->labeled;
    size_t width = (size_t)s->model.width;
    int classes = s->model.num_classes;
    adam_config adam_settings = adam_config_keras();
    if (o->mode == BENCH_MODE_AUGMENT) {
        s->pixels = checked_calloc(batch, image, "pixels", err);
        s->inputs = checked_calloc(2 * batch * image, sizeof(float), "views", err);
        if (!s->pixels || !s->inputs) return -1;
        fill_bytes(s->pixels, batch * image, 1);
        return 0;
    }
    size_t max_batch;
    if (o->mode == BENCH_MODE_PRETRAIN) {
        size_t views = 2 * batch;
        max_batch = views > (size_t)o->test_batch ? views : (size_t)o->test_batch;
        if (model_build_projection_head(&s->head, &s->model, (int)views, err) != 0) return -1;
        network_init_weights(&s->head, 0);
        if (adam_init(&s->head_optimizer, s->head.param_count, &adam_settings, err) != 0)
            return -1;
        s->d_projections = checked_calloc(views * width, sizeof(float), "projection gradients",
                                          err);
        s->loss_workspace = checked_calloc(
            contrastive_workspace_floats(CONTRASTIVE_KIND_SEED, (int)batch, (int)width),
            sizeof(float), "contrastive workspace", err);
        if (!s->d_projections || !s->loss_workspace) return -1;
    } else {
        max_batch = (size_t)(o->labeled > o->test_batch ? o->labeled : o->test_batch);
    }
    if (model_build_encoder(&s->encoder, &s->model, (int)max_batch, err) != 0 ||
        model_build_classifier(&s->classifier,
                               o->mode == BENCH_MODE_PRETRAIN ? "linear_probe" : "classifier",
                               &s->model, (int)max_batch, err) != 0)
        return -1;
    network_init_weights(&s->encoder, 0);
    network_init_weights(&s->classifier, 0);
    if (adam_init(&s->encoder_optimizer, s->encoder.param_count, &adam_settings, err) != 0 ||
        adam_init(&s->classifier_optimizer, s->classifier.param_count, &adam_settings, err) != 0)
        return -1;
    s->inputs = checked_calloc(max_batch * image, sizeof(float), "inputs", err);
    s->d_logits = checked_calloc(max_batch * (size_t)classes, sizeof(float), "logit gradients",
                                 err);
    s->labels = checked_calloc(max_batch, sizeof(int32_t), "labels", err);
    if (!s->inputs || !s->d_logits || !s->labels) return -1;
    fill_uniform(s->inputs, max_batch * image, 0);
    fill_labels(s->labels, (int)max_batch, classes);
    return 0;
}

/* ---- One step of each mode ------------------------------------------------------------------ */

/* The step of src/train/pretrain.c from the augmented views on: inputs holds 2B views (view 1
 * then view 2); the probe reads the first `labeled` images, as pretrain.c's weak view lands
 * there. */
static int pretrain_step(bench_state *s, const bench_options *o, phase_table *t, error *err)
{
    int batch = o->unlabeled + o->labeled, views = 2 * batch, labeled = o->labeled;
    size_t width = (size_t)s->model.width;
    int classes = s->model.num_classes;
    if (bench_forward(&s->encoder, "encoder", s->inputs, views, t, err) != 0) return -1;
    if (bench_forward(&s->head, "head", network_output(&s->encoder), views, t, err) != 0) return -1;
    const float *projections = network_output(&s->head);
    contrastive_result result;
    TIMED(t, "contrastive loss (fwd+bwd)", 6.0 * batch * batch * (double)width,
          contrastive_loss(CONTRASTIVE_KIND_SEED, projections, projections + batch * width, batch,
                           (int)width, 0.1f, s->d_projections, s->d_projections + batch * width,
                           s->loss_workspace, &result));
    if (check_finite(&result.loss, 1, "contrastive loss", 1, 0, err) != 0) return -1;
    TIMED(t, "zero grads", 0.0, network_zero_grads(&s->encoder); network_zero_grads(&s->head));
    float *d_features = s->encoder.grad_buffers[1];
    if (bench_backward(&s->head, "head", s->d_projections, d_features, t, err) != 0) return -1;
    if (bench_backward(&s->encoder, "encoder", d_features, NULL, t, err) != 0) return -1;
    int finite;
    TIMED(t, "check_finite (grads)", 0.0,
          finite = check_finite(s->encoder.grads, s->encoder.param_count, "encoder gradients", 1,
                                0, err) == 0 &&
                   check_finite(s->head.grads, s->head.param_count, "head gradients", 1, 0,
                                err) == 0);
    if (!finite) return -1;
    TIMED(t, "adam (encoder + head)", 0.0,
          adam_update(&s->encoder_optimizer, s->encoder.params, s->encoder.grads);
          adam_update(&s->head_optimizer, s->head.params, s->head.grads));

    /* The probe: encoder in inference mode on the labeled images, Dense(10) trained alone. */
    double start = now_seconds();
    if (network_forward(&s->encoder, s->inputs, labeled, err) != 0) return -1;
    phase_add(t, "probe: encoder fwd (25 images)", now_seconds() - start,
              labeled * network_forward_flops(&s->encoder));
    start = now_seconds();
    if (network_forward(&s->classifier, network_output(&s->encoder), labeled, err) != 0) return -1;
    int correct = 0;
    float loss = softmax_cross_entropy(network_output(&s->classifier), s->labels, labeled, classes,
                                       s->d_logits, &correct);
    if (check_finite(&loss, 1, "probe loss", 1, 0, err) != 0) return -1;
    network_zero_grads(&s->classifier);
    if (network_backward(&s->classifier, s->d_logits, NULL, err) != 0) return -1;
    if (check_finite(s->classifier.grads, s->classifier.param_count, "probe gradients", 1, 0,
                     err) != 0)
        return -1;
    adam_update(&s->classifier_optimizer, s->classifier.params, s->classifier.grads);
    phase_add(t, "probe: dense + CE + bwd + adam", now_seconds() - start,
              3.0 * labeled * network_forward_flops(&s->classifier));
    return 0;
}

/* The step of src/train/supervised.c from the augmented inputs on. */
static int baseline_step(bench_state *s, const bench_options *o, error *err)
{
    int count = o->labeled, classes = s->model.num_classes;
    if (network_forward(&s->encoder, s->inputs, count, err) != 0) return -1;
    if (network_forward(&s->classifier, network_output(&s->encoder), count, err) != 0) return -1;
    int correct = 0;
    float loss = softmax_cross_entropy(network_output(&s->classifier), s->labels, count, classes,
                                       s->d_logits, &correct);
    if (check_finite(&loss, 1, "loss", 1, 0, err) != 0) return -1;
    network_zero_grads(&s->encoder);
    network_zero_grads(&s->classifier);
    float *d_features = s->encoder.grad_buffers[1];
    if (network_backward(&s->classifier, s->d_logits, d_features, err) != 0) return -1;
    if (network_backward(&s->encoder, d_features, NULL, err) != 0) return -1;
    if (check_finite(s->encoder.grads, s->encoder.param_count, "encoder gradients", 1, 0, err) !=
            0 ||
        check_finite(s->classifier.grads, s->classifier.param_count, "classifier gradients", 1, 0,
                     err) != 0)
        return -1;
    adam_update(&s->encoder_optimizer, s->encoder.params, s->encoder.grads);
    adam_update(&s->classifier_optimizer, s->classifier.params, s->classifier.grads);
    return 0;
}

/* One test batch as evaluate_classifier runs it (after the rescale). */
static int inference_step(bench_state *s, const bench_options *o, error *err)
{
    int count = o->test_batch;
    if (network_forward(&s->encoder, s->inputs, count, err) != 0) return -1;
    if (network_forward(&s->classifier, network_output(&s->encoder), count, err) != 0) return -1;
    int correct = 0;
    volatile float loss = softmax_cross_entropy(network_output(&s->classifier), s->labels, count,
                                                s->model.num_classes, NULL, &correct);
    (void)loss;
    return 0;
}

/* The augmentation of one pretraining step: two strong views of B images, the weak view of the
 * labeled ones (pretrain.c's three augment_batch calls). */
static void augment_step(bench_state *s, const bench_options *o, uint64_t step)
{
    size_t batch = (size_t)o->unlabeled + (size_t)o->labeled;
    size_t image = (size_t)o->shape.height * o->shape.width * o->shape.channels;
    int h = o->shape.height, w = o->shape.width, c = o->shape.channels;
    augment_batch(s->pixels, batch, h, w, c, &AUGMENT_CONTRASTIVE, 0, 0, step, 1, s->inputs);
    augment_batch(s->pixels, batch, h, w, c, &AUGMENT_CONTRASTIVE, 0, 0, step, 2,
                  s->inputs + batch * image);
    augment_batch(s->pixels + (size_t)o->unlabeled * image, (size_t)o->labeled, h, w, c,
                  &AUGMENT_CLASSIFICATION, 0, 0, step, 3, s->inputs);
}

static int run_step(bench_state *s, const bench_options *o, uint64_t step, phase_table *t,
                    error *err)
{
    switch (o->mode) {
    case BENCH_MODE_PRETRAIN: return pretrain_step(s, o, t, err);
    case BENCH_MODE_BASELINE: return baseline_step(s, o, err);
    case BENCH_MODE_INFERENCE: return inference_step(s, o, err);
    case BENCH_MODE_AUGMENT: augment_step(s, o, step); return 0;
    }
    return 0;
}

