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
 *              probe's weak view of 25 (simclr_augment_policy_batch and simclr_augment_batch, as
 *              pretrain.c calls them; --augment seed|simclr|byol picks the views' policy, issue
 *              12); no FLOPs counted.
 *
 * FLOPs: 2 x multiply-adds of the convolutions and dense layers (biases, activations, reorders
 * not counted); a training pass counts 3 x its forward FLOPs (forward, gradient w.r.t. the input,
 * gradient w.r.t. the weights), the convention of the PyTorch twin (bench/torch_twin.py). The
 * seed's contrastive loss adds 6 B^2 D (similarity product and its two gradient products).
 *
 * --breakdown (pretrain) prints two tables as '#' lines before the JSON line: the step's calls
 * each timed (the clocks run in every mode; only --breakdown prints them), then each conv and
 * dense layer of the encoder and the head alone at 2B views (any backbone; a ResNet's
 * batchnorm, pooling and add layers are left out), through the network's own conv2d objects and
 * the dense calls (public API only, so it follows src/model/network.c whatever that does inside).
 * The peak RSS is read before the layer table, whose scratch buffers it would count.
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
#include "simclr/augment_policy.h"
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
    simclr_tensor_shape shape;
    int padding; /* SIMCLR_MODEL_PADDING_AUTO or explicit */
    bench_mode mode;
    int steps, warmup, threads;
    int unlabeled, labeled, test_batch;
    int breakdown;
    simclr_nn_precision precision;
    simclr_model_backbone backbone; /* issue 11: seed (default) or a ResNet */
    simclr_model_stem stem;
    double peak_gflops;
    simclr_augment_policy augment; /* augment mode: the strong views' policy (seed) */
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

/* The malloc in use: tcmalloc or jemalloc when preloaded, else glibc's (what the JSON reports). */
static const char *allocator_name(void)
{
    const char *name = "glibc";
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return name;
    char line[512];
    while (fgets(line, sizeof line, maps)) {
        if (strstr(line, "tcmalloc")) name = "tcmalloc";
        if (strstr(line, "jemalloc")) name = "jemalloc";
    }
    fclose(maps);
    return name;
}

static void fill_uniform(float *values, size_t count, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(12345, SIMCLR_RNG_PURPOSE_AUGMENT, key, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform01(&stream);
}

static void fill_bytes(uint8_t *values, size_t count, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(12345, SIMCLR_RNG_PURPOSE_AUGMENT, key, 1, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = (uint8_t)simclr_rng_below(&stream, 256);
}

static void fill_labels(int32_t *labels, int count, int classes)
{
    simclr_rng_stream stream = simclr_rng_stream_make(12345, SIMCLR_RNG_PURPOSE_AUGMENT, 7, 2, 0, 0);
    for (int i = 0; i < count; i++) labels[i] = (int32_t)simclr_rng_below(&stream, (uint64_t)classes);
}

/* ---- FLOP counts ---------------------------------------------------------------------------- */

/* Forward FLOPs of one layer for one image: 2 x multiply-adds. */
static double layer_forward_flops(const simclr_network_layer *layer)
{
    if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D)
        return 2.0 * layer->out_shape.height * layer->out_shape.width * layer->out_shape.channels *
               layer->spec.kernel * layer->spec.kernel * layer->in_shape.channels;
    return 2.0 * (double)layer->in_size * layer->spec.units;
}

static double network_forward_flops(const simclr_network *net)
{
    double flops = 0.0;
    for (int i = 0; i < net->layer_count; i++) flops += layer_forward_flops(&net->layers[i]);
    return flops;
}

/* ---- The timed pass: simclr_network_forward / simclr_network_backward with a clock per layer ------------- */

/* Seconds and FLOPs accumulated per phase over the timed steps. */
enum { BENCH_MAX_PHASES = 48 };
typedef struct phase_table {
    int count;
    char names[BENCH_MAX_PHASES][64];
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

/* Times a plain call under a phase name. */
#define TIMED(table, name, flops, statement)                                                       \
    do {                                                                                           \
        double timed_start_ = now_seconds();                                                       \
        statement;                                                                                 \
        phase_add(table, name, now_seconds() - timed_start_, flops);                               \
    } while (0)

/* ---- The state of one configuration ------------------------------------------------------- */

typedef struct bench_state {
    simclr_model_config model;
    simclr_network encoder, head, classifier;
    simclr_adam encoder_optimizer, head_optimizer, classifier_optimizer;
    float *inputs;         /* (max images, image floats) */
    uint8_t *pixels;       /* augment mode: (B, image bytes) */
    float *d_projections;  /* (2B, width) */
    float *d_features;     /* (2B, width): the head's input gradient */
    float *loss_workspace;
    float *d_logits;       /* (labeled or test batch, classes) */
    int32_t *labels;
} bench_state;

static void bench_state_free(bench_state *s)
{
    simclr_network_free(&s->encoder);
    simclr_network_free(&s->head);
    simclr_network_free(&s->classifier);
    simclr_adam_free(&s->encoder_optimizer);
    simclr_adam_free(&s->head_optimizer);
    simclr_adam_free(&s->classifier_optimizer);
    free(s->inputs);
    free(s->pixels);
    free(s->d_projections);
    free(s->d_features);
    free(s->loss_workspace);
    free(s->d_logits);
    free(s->labels);
}

/* Builds the networks as the training loop of the mode does (same max_batch, so the same memory
 * and the same cached oneDNN primitives) and fills the inputs with random values. */
static int bench_setup(bench_state *s, const bench_options *o, simclr_error *err)
{
    s->model = simclr_model_config_default(o->shape, 10);
    s->model.padding = o->padding;
    s->model.precision = o->precision;
    s->model.backbone = o->backbone;
    s->model.stem = o->stem;
    if (simclr_model_check(&s->model, err) != 0) return -1;
    size_t image = (size_t)o->shape.height * o->shape.width * o->shape.channels;
    size_t batch = (size_t)o->unlabeled + (size_t)o->labeled;
    size_t width = (size_t)simclr_model_projection_width(&s->model);
    size_t features = (size_t)simclr_model_feature_width(&s->model);
    int classes = s->model.num_classes;
    simclr_adam_config adam_settings = simclr_adam_config_keras();
    if (o->mode == BENCH_MODE_AUGMENT) {
        s->pixels = simclr_checked_calloc(batch, image, "pixels", err);
        s->inputs = simclr_checked_calloc(2 * batch * image, sizeof(float), "views", err);
        if (!s->pixels || !s->inputs) return -1;
        fill_bytes(s->pixels, batch * image, 1);
        return 0;
    }
    size_t max_batch;
    if (o->mode == BENCH_MODE_PRETRAIN) {
        size_t views = 2 * batch;
        max_batch = views > (size_t)o->test_batch ? views : (size_t)o->test_batch;
        if (simclr_model_build_projection_head(&s->head, &s->model, (int)views, err) != 0) return -1;
        simclr_network_init_weights(&s->head, 0);
        if (simclr_adam_init(&s->head_optimizer, s->head.param_count, &adam_settings, err) != 0)
            return -1;
        s->d_projections = simclr_checked_calloc(views * width, sizeof(float), "projection gradients",
                                          err);
        s->loss_workspace = simclr_checked_calloc(
            simclr_contrastive_workspace_floats(SIMCLR_CONTRASTIVE_KIND_SEED, (int)batch, (int)width),
            sizeof(float), "contrastive workspace", err);
        if (!s->d_projections || !s->loss_workspace) return -1;
    } else {
        max_batch = (size_t)(o->labeled > o->test_batch ? o->labeled : o->test_batch);
    }
    if (simclr_model_build_encoder(&s->encoder, &s->model, (int)max_batch, err) != 0 ||
        simclr_model_build_classifier(&s->classifier,
                               o->mode == BENCH_MODE_PRETRAIN ? "linear_probe" : "classifier",
                               &s->model, (int)max_batch, err) != 0)
        return -1;
    simclr_network_init_weights(&s->encoder, 0);
    simclr_network_init_weights(&s->classifier, 0);
    if (simclr_adam_init(&s->encoder_optimizer, s->encoder.param_count, &adam_settings, err) != 0 ||
        simclr_adam_init(&s->classifier_optimizer, s->classifier.param_count, &adam_settings, err) != 0)
        return -1;
    s->inputs = simclr_checked_calloc(max_batch * image, sizeof(float), "inputs", err);
    s->d_logits = simclr_checked_calloc(max_batch * (size_t)classes, sizeof(float), "logit gradients",
                                 err);
    s->labels = simclr_checked_calloc(max_batch, sizeof(int32_t), "labels", err);
    s->d_features = simclr_checked_calloc(max_batch * features, sizeof(float), "feature gradients", err);
    if (!s->inputs || !s->d_logits || !s->labels || !s->d_features) return -1;
    fill_uniform(s->inputs, max_batch * image, 0);
    fill_labels(s->labels, (int)max_batch, classes);
    return 0;
}

/* ---- One step of each mode ------------------------------------------------------------------ */

/* The step of src/train/pretrain.c from the augmented views on: inputs holds 2B views (view 1
 * then view 2); the probe reads the first `labeled` images, as pretrain.c's weak view lands
 * there. */
static int pretrain_step(bench_state *s, const bench_options *o, phase_table *t, simclr_error *err)
{
    int batch = o->unlabeled + o->labeled, views = 2 * batch, labeled = o->labeled;
    size_t width = (size_t)simclr_model_projection_width(&s->model);
    int classes = s->model.num_classes;
    double encoder_flops = network_forward_flops(&s->encoder);
    double head_flops = network_forward_flops(&s->head);
    /* The first conv computes no input gradient: its backward is the weight gradient alone. */
    double first_layer_flops = layer_forward_flops(&s->encoder.layers[0]);
    int ok = 1;
    TIMED(t, "encoder fwd (2B views)", views * encoder_flops,
          ok = simclr_network_forward(&s->encoder, s->inputs, views, err) == 0);
    if (!ok) return -1;
    TIMED(t, "head fwd", views * head_flops,
          ok = simclr_network_forward(&s->head, simclr_network_output(&s->encoder), views, err) == 0);
    if (!ok) return -1;
    const float *projections = simclr_network_output(&s->head);
    simclr_contrastive_result result;
    TIMED(t, "contrastive loss (fwd + bwd)", 6.0 * batch * batch * (double)width,
          simclr_contrastive_loss(SIMCLR_CONTRASTIVE_KIND_SEED, projections, projections + batch * width, batch,
                           (int)width, 0.1f, s->d_projections, s->d_projections + batch * width,
                           s->loss_workspace, &result));
    if (simclr_check_finite(&result.loss, 1, "contrastive loss", 1, 0, err) != 0) return -1;
    TIMED(t, "zero grads", 0.0, simclr_network_zero_grads(&s->encoder); simclr_network_zero_grads(&s->head));
    TIMED(t, "head bwd", 2.0 * views * head_flops,
          ok = simclr_network_backward(&s->head, s->d_projections, s->d_features, err) == 0);
    if (!ok) return -1;
    TIMED(t, "encoder bwd", views * (2.0 * encoder_flops - first_layer_flops),
          ok = simclr_network_backward(&s->encoder, s->d_features, NULL, err) == 0);
    if (!ok) return -1;
    TIMED(t, "check_finite (gradients)", 0.0,
          ok = simclr_check_finite(s->encoder.grads, s->encoder.param_count, "encoder gradients", 1, 0,
                            err) == 0 &&
               simclr_check_finite(s->head.grads, s->head.param_count, "head gradients", 1, 0, err) == 0);
    if (!ok) return -1;
    TIMED(t, "adam (encoder + head)", 0.0,
          simclr_adam_update(&s->encoder_optimizer, s->encoder.params, s->encoder.grads);
          simclr_adam_update(&s->head_optimizer, s->head.params, s->head.grads));

    /* The probe: encoder in inference mode on the labeled images, Dense(10) trained alone. */
    double start = now_seconds();
    simclr_network_set_training(&s->encoder, 0); /* as the training loop: running statistics */
    int forward_status = simclr_network_forward(&s->encoder, s->inputs, labeled, err);
    simclr_network_set_training(&s->encoder, 1);
    if (forward_status != 0) return -1;
    phase_add(t, "probe: encoder fwd (labeled images)", now_seconds() - start,
              labeled * encoder_flops);
    start = now_seconds();
    if (simclr_network_forward(&s->classifier, simclr_network_output(&s->encoder), labeled, err) != 0) return -1;
    int correct = 0;
    float loss = simclr_softmax_cross_entropy(simclr_network_output(&s->classifier), s->labels, labeled, classes,
                                       s->d_logits, &correct);
    if (simclr_check_finite(&loss, 1, "probe loss", 1, 0, err) != 0) return -1;
    simclr_network_zero_grads(&s->classifier);
    if (simclr_network_backward(&s->classifier, s->d_logits, NULL, err) != 0) return -1;
    if (simclr_check_finite(s->classifier.grads, s->classifier.param_count, "probe gradients", 1, 0,
                     err) != 0)
        return -1;
    simclr_adam_update(&s->classifier_optimizer, s->classifier.params, s->classifier.grads);
    phase_add(t, "probe: dense + CE + bwd + adam", now_seconds() - start,
              3.0 * labeled * network_forward_flops(&s->classifier));
    return 0;
}

/* The step of src/train/supervised.c from the augmented inputs on. */
static int baseline_step(bench_state *s, const bench_options *o, simclr_error *err)
{
    int count = o->labeled, classes = s->model.num_classes;
    if (simclr_network_forward(&s->encoder, s->inputs, count, err) != 0) return -1;
    if (simclr_network_forward(&s->classifier, simclr_network_output(&s->encoder), count, err) != 0) return -1;
    int correct = 0;
    float loss = simclr_softmax_cross_entropy(simclr_network_output(&s->classifier), s->labels, count, classes,
                                       s->d_logits, &correct);
    if (simclr_check_finite(&loss, 1, "loss", 1, 0, err) != 0) return -1;
    simclr_network_zero_grads(&s->encoder);
    simclr_network_zero_grads(&s->classifier);
    if (simclr_network_backward(&s->classifier, s->d_logits, s->d_features, err) != 0) return -1;
    if (simclr_network_backward(&s->encoder, s->d_features, NULL, err) != 0) return -1;
    if (simclr_check_finite(s->encoder.grads, s->encoder.param_count, "encoder gradients", 1, 0, err) !=
            0 ||
        simclr_check_finite(s->classifier.grads, s->classifier.param_count, "classifier gradients", 1, 0,
                     err) != 0)
        return -1;
    simclr_adam_update(&s->encoder_optimizer, s->encoder.params, s->encoder.grads);
    simclr_adam_update(&s->classifier_optimizer, s->classifier.params, s->classifier.grads);
    return 0;
}

/* One test batch as simclr_evaluate_classifier runs it (after the rescale). */
static int inference_step(bench_state *s, const bench_options *o, simclr_error *err)
{
    int count = o->test_batch;
    /* Inference mode, as eval, predict and embed run: batchnorm on running statistics, and the
     * layers' outputs in shared buffers (network.h). */
    simclr_network_set_training(&s->encoder, 0);
    simclr_network_set_training(&s->classifier, 0);
    if (simclr_network_forward(&s->encoder, s->inputs, count, err) != 0) return -1;
    if (simclr_network_forward(&s->classifier, simclr_network_output(&s->encoder), count, err) != 0) return -1;
    int correct = 0;
    volatile float loss = simclr_softmax_cross_entropy(simclr_network_output(&s->classifier), s->labels, count,
                                                s->model.num_classes, NULL, &correct);
    (void)loss;
    return 0;
}

/* The augmentation of one pretraining step: two strong views of B images, the weak view of the
 * labeled ones (pretrain.c's three simclr_augment_batch calls). */
static void augment_step(bench_state *s, const bench_options *o, uint64_t step)
{
    size_t batch = (size_t)o->unlabeled + (size_t)o->labeled;
    size_t image = (size_t)o->shape.height * o->shape.width * o->shape.channels;
    int h = o->shape.height, w = o->shape.width, c = o->shape.channels;
    simclr_augment_policy_batch(&o->augment, s->pixels, batch, h, w, c, 0, 0, step, 1, s->inputs);
    simclr_augment_policy_batch(&o->augment, s->pixels, batch, h, w, c, 0, 0, step, 2,
                                s->inputs + batch * image);
    simclr_augment_batch(s->pixels + (size_t)o->unlabeled * image, (size_t)o->labeled, h, w, c,
                  &SIMCLR_AUGMENT_CLASSIFICATION, 0, 0, step, 3, s->inputs);
}

static int run_step(bench_state *s, const bench_options *o, uint64_t step, phase_table *t,
                    simclr_error *err)
{
    switch (o->mode) {
    case BENCH_MODE_PRETRAIN: return pretrain_step(s, o, t, err);
    case BENCH_MODE_BASELINE: return baseline_step(s, o, err);
    case BENCH_MODE_INFERENCE: return inference_step(s, o, err);
    case BENCH_MODE_AUGMENT: augment_step(s, o, step); return 0;
    }
    return 0;
}


/* FLOPs of one step and the images it processes (see the top of the file for the convention). */
static void step_work(const bench_state *s, const bench_options *o, double *flops, int *images)
{
    int batch = o->unlabeled + o->labeled;
    switch (o->mode) {
    case BENCH_MODE_PRETRAIN: {
        double encoder = network_forward_flops(&s->encoder);
        double head = network_forward_flops(&s->head);
        double probe = network_forward_flops(&s->classifier);
        *flops = 2.0 * batch * 3.0 * (encoder + head) +
                 6.0 * batch * batch * (double)simclr_model_projection_width(&s->model) +
                 o->labeled * (encoder + 3.0 * probe);
        *images = batch;
        return;
    }
    case BENCH_MODE_BASELINE:
        *flops = o->labeled * 3.0 *
                 (network_forward_flops(&s->encoder) + network_forward_flops(&s->classifier));
        *images = o->labeled;
        return;
    case BENCH_MODE_INFERENCE:
        *flops = o->test_batch *
                 (network_forward_flops(&s->encoder) + network_forward_flops(&s->classifier));
        *images = o->test_batch;
        return;
    case BENCH_MODE_AUGMENT:
        *flops = 0.0;
        *images = batch;
        return;
    }
}

/* ---- Options ------------------------------------------------------------------------------- */

static void usage(FILE *stream)
{
    fprintf(stream,
            "usage: simclr_bench [options]\n"
            "  --shape HxWxC        image shape (default 96x96x3; 28x28x1 for Fashion-MNIST)\n"
            "  --mode MODE          pretrain | baseline | inference | augment (default pretrain)\n"
            "  --steps N            timed steps (default 3)\n"
            "  --warmup N           untimed steps first (default 1)\n"
            "  --threads N          OpenMP threads (default 2)\n"
            "  --padding P          conv padding, -1 = the model's auto rule (default -1)\n"
            "  --unlabeled-batch N  (default 500)   --labeled-batch N (default 25)\n"
            "  --test-batch N       (default 525)\n"
            "  --precision P        fp32 | bf16: the convolutions' arithmetic (default fp32)\n"
            "  --backbone B         seed | resnet18 | resnet34 | resnet50 (default seed)\n"
            "  --stem S             auto | imagenet | cifar: a ResNet's stem (default auto)\n"
            "  --peak-gflops X      the machine's fp32 peak for the fraction (default %.1f)\n"
            "  --breakdown          pretrain only: time every layer call and print the phases\n"
            "  --augment POLICY     augment mode: seed | simclr | byol (default seed)\n",
            BENCH_DEFAULT_PEAK_GFLOPS);
}

static int parse_int(const char *flag, const char *text, int low, int high, int *out)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (!*text || *end || value < low || value > high) {
        fprintf(stderr, "simclr_bench: %s '%s': expected an integer in %d..%d\n", flag, text, low,
                high);
        return -1;
    }
    *out = (int)value;
    return 0;
}

static int parse_options(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){.shape = {96, 96, 3}, .padding = SIMCLR_MODEL_PADDING_AUTO,
                         .mode = BENCH_MODE_PRETRAIN, .steps = 3, .warmup = 1, .threads = 2,
                         .unlabeled = 500, .labeled = 25, .test_batch = 525,
                         .peak_gflops = BENCH_DEFAULT_PEAK_GFLOPS,
                         .augment = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SEED, 1.0f)};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(flag, "--breakdown") == 0) {
            o->breakdown = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "simclr_bench: %s needs a value (see --help)\n", flag);
            return -1;
        }
        const char *value = argv[++i];
        int status = 0;
        if (strcmp(flag, "--shape") == 0) {
            simclr_tensor_shape shape;
            char tail;
            if (sscanf(value, "%dx%dx%d%c", &shape.height, &shape.width, &shape.channels, &tail) !=
                    3 ||
                shape.height < 1 || shape.width < 1 || shape.channels < 1 ||
                shape.channels > SIMCLR_AUGMENT_MAX_CHANNELS) {
                fprintf(stderr, "simclr_bench: --shape '%s': expected HxWxC, C in 1..%d\n", value,
                        SIMCLR_AUGMENT_MAX_CHANNELS);
                return -1;
            }
            o->shape = shape;
        } else if (strcmp(flag, "--mode") == 0) {
            int found = -1;
            for (int m = 0; m < 4; m++)
                if (strcmp(value, BENCH_MODE_NAMES[m]) == 0) found = m;
            if (found < 0) {
                fprintf(stderr, "simclr_bench: --mode '%s': expected pretrain, baseline, "
                                "inference or augment\n", value);
                return -1;
            }
            o->mode = (bench_mode)found;
        } else if (strcmp(flag, "--augment") == 0) {
            simclr_augment_policy_kind kind = SIMCLR_AUGMENT_POLICY_KIND_SEED;
            if (strcmp(value, "simclr") == 0) kind = SIMCLR_AUGMENT_POLICY_KIND_SIMCLR;
            else if (strcmp(value, "byol") == 0) kind = SIMCLR_AUGMENT_POLICY_KIND_BYOL;
            else if (strcmp(value, "seed") != 0) {
                fprintf(stderr, "simclr_bench: --augment '%s': expected seed, simclr or byol\n", value);
                return -1;
            }
            o->augment = simclr_augment_policy_make(kind, 1.0f);
        } else if (strcmp(flag, "--steps") == 0) {
            status = parse_int(flag, value, 1, 100000, &o->steps);
        } else if (strcmp(flag, "--warmup") == 0) {
            status = parse_int(flag, value, 0, 100000, &o->warmup);
        } else if (strcmp(flag, "--threads") == 0) {
            status = parse_int(flag, value, 1, 1024, &o->threads);
        } else if (strcmp(flag, "--padding") == 0) {
            status = parse_int(flag, value, -1, 64, &o->padding);
        } else if (strcmp(flag, "--unlabeled-batch") == 0) {
            status = parse_int(flag, value, 1, 100000, &o->unlabeled);
        } else if (strcmp(flag, "--labeled-batch") == 0) {
            status = parse_int(flag, value, 1, 100000, &o->labeled);
        } else if (strcmp(flag, "--test-batch") == 0) {
            status = parse_int(flag, value, 1, 4096, &o->test_batch);
        } else if (strcmp(flag, "--precision") == 0) {
            if (strcmp(value, "fp32") == 0) {
                o->precision = SIMCLR_NN_PRECISION_FP32;
            } else if (strcmp(value, "bf16") == 0) {
                o->precision = SIMCLR_NN_PRECISION_BF16;
            } else {
                fprintf(stderr, "simclr_bench: --precision '%s': expected fp32 or bf16\n", value);
                return -1;
            }
        } else if (strcmp(flag, "--backbone") == 0) {
            int backbone = simclr_model_backbone_from_name(value);
            if (backbone < 0) {
                fprintf(stderr, "simclr_bench: --backbone '%s': expected seed, resnet18, resnet34 or resnet50\n",
                        value);
                return -1;
            }
            o->backbone = (simclr_model_backbone)backbone;
        } else if (strcmp(flag, "--stem") == 0) {
            if (strcmp(value, "imagenet") == 0) {
                o->stem = SIMCLR_MODEL_STEM_IMAGENET;
            } else if (strcmp(value, "cifar") == 0) {
                o->stem = SIMCLR_MODEL_STEM_CIFAR;
            } else if (strcmp(value, "auto") == 0) {
                o->stem = SIMCLR_MODEL_STEM_AUTO;
            } else {
                fprintf(stderr, "simclr_bench: --stem '%s': expected auto, imagenet or cifar\n", value);
                return -1;
            }
        } else if (strcmp(flag, "--peak-gflops") == 0) {
            char *end = NULL;
            o->peak_gflops = strtod(value, &end);
            if (*end || !(o->peak_gflops > 0.0)) {
                fprintf(stderr, "simclr_bench: --peak-gflops '%s': expected a positive number\n",
                        value);
                return -1;
            }
        } else {
            fprintf(stderr, "simclr_bench: unknown option '%s' (see --help)\n", flag);
            return -1;
        }
        if (status != 0) return -1;
    }
    if (o->breakdown && o->mode != BENCH_MODE_PRETRAIN) {
        fprintf(stderr, "simclr_bench: --breakdown is for --mode pretrain\n");
        return -1;
    }
    return 0;
}

/* ---- Main ---------------------------------------------------------------------------------- */

/* --breakdown, second table: each layer of the encoder and the head alone at the pretraining
 * batch (2B views), through the network's own conv2d objects (their cached oneDNN plans) and
 * dense calls, on the activations of a fresh forward pass. Forward recomputes the layer's output
 * in place; backward writes its input gradient to a scratch buffer so the activations stay. */
static int layer_breakdown(bench_state *s, int views, int reps, phase_table *t, simclr_error *err)
{
    simclr_network *nets[2] = {&s->encoder, &s->head};
    size_t largest = 0;
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < nets[n]->layer_count; i++) {
            if (nets[n]->layers[i].in_size > largest) largest = nets[n]->layers[i].in_size;
            if (nets[n]->layers[i].out_size > largest) largest = nets[n]->layers[i].out_size;
        }
    float *d_out = simclr_checked_calloc((size_t)views * largest, sizeof(float), "breakdown d_out", err);
    float *d_in = simclr_checked_calloc((size_t)views * largest, sizeof(float), "breakdown d_in", err);
    uint16_t *d_out_bf16 = simclr_checked_calloc((size_t)views * largest, sizeof(uint16_t),
                                          "breakdown bf16 d_out", err);
    int status = -1;
    if (!d_out || !d_in || !d_out_bf16) goto done;
    fill_uniform(d_out, (size_t)views * largest, 3);
    simclr_nn_f32_to_bf16(d_out_bf16, d_out, (size_t)views * largest);
    if (simclr_network_forward(&s->encoder, s->inputs, views, err) != 0 ||
        simclr_network_forward(&s->head, simclr_network_output(&s->encoder), views, err) != 0)
        goto done;
    char name[64];
    for (int n = 0; n < 2; n++) {
        simclr_network *net = nets[n];
        for (int i = 0; i < net->layer_count; i++) {
            simclr_network_layer *layer = &net->layers[i];
            int conv = layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D;
            if (!conv && layer->spec.kind != SIMCLR_LAYER_KIND_DENSE) continue; /* a ResNet's batchnorm, pool, add */
            /* Where formats meet, the layer reads the copy the forward pass converted. */
            const void *input =
                simclr_network_layer_input(net, i, n == 0 ? s->inputs : simclr_network_output(&s->encoder));
            int layer_bf16 = layer->element_size != sizeof(float);
            void *layer_d_out = layer_bf16 ? (void *)d_out_bf16 : (void *)d_out;
            const float *kernel = net->params + layer->kernel_offset;
            const float *bias = net->params + layer->bias_offset;
            float *d_kernel = net->grads + layer->kernel_offset;
            float *d_bias = net->grads + layer->bias_offset;
            float *d_input = n == 0 && i == 0 ? NULL : d_in;
            double flops = views * layer_forward_flops(layer);
            for (int r = 0; r <= reps; r++) { /* r == 0: untimed */
                t->recording = r > 0;
                double start = now_seconds();
                if (conv) {
                    if (simclr_conv2d_forward(layer->conv, layer->output, input, kernel, bias, views,
                                       err) != 0)
                        goto done;
                } else {
                    simclr_dense_forward(layer->output, input, kernel, bias, views, (int)layer->in_size,
                                  layer->spec.units, layer->spec.activation);
                }
                snprintf(name, sizeof name, "%s %s %s fwd", net->name, layer->name,
                         conv ? "(conv)" : "(dense)");
                phase_add(t, name, (now_seconds() - start) / reps, flops / reps);
                start = now_seconds();
                if (conv) {
                    if (simclr_conv2d_backward(layer->conv, d_input, d_kernel, d_bias, layer_d_out,
                                        layer->output, input, kernel, views, err) != 0)
                        goto done;
                } else {
                    simclr_dense_backward(d_input, d_kernel, d_bias, d_out, layer->output, input, kernel,
                                   views, (int)layer->in_size, layer->spec.units,
                                   layer->spec.activation);
                }
                snprintf(name, sizeof name, "%s %s %s bwd%s", net->name, layer->name,
                         conv ? "(conv)" : "(dense)", d_input ? "" : " (weights only)");
                phase_add(t, name, (now_seconds() - start) / reps,
                          (d_input ? 2.0 : 1.0) * flops / reps);
            }
        }
    }
    status = 0;
done:
    free(d_out);
    free(d_in);
    free(d_out_bf16);
    return status;
}

/* One '#' line per phase: seconds per step (the table's sums over `divisor` steps), share of the
 * measured step, FLOPs and rate. */
static void print_phases(const char *title, const phase_table *t, int divisor,
                         double step_seconds, double peak)
{
    double total = 0.0;
    for (int i = 0; i < t->count; i++) total += t->seconds[i];
    printf("# %s: %.4f s in these rows, the step measured %.4f s\n", title, total / divisor,
           step_seconds);
    printf("# %-46s %9s %7s %9s %9s %7s\n", "phase", "seconds", "of step", "GFLOP", "GFLOP/s",
           "peak");
    for (int i = 0; i < t->count; i++) {
        double seconds = t->seconds[i] / divisor, gflop = t->flops[i] / divisor / 1e9;
        double rate = seconds > 0.0 ? gflop / seconds : 0.0;
        printf("# %-46s %9.4f %6.1f%% %9.2f %9.1f %6.1f%%\n", t->names[i], seconds,
               100.0 * seconds / step_seconds, gflop, rate, 100.0 * rate / peak);
    }
}

int main(int argc, char **argv)
{
    bench_options o;
    if (parse_options(argc, argv, &o) != 0) return 2;
    omp_set_num_threads(o.threads);
    simclr_error err = {0};
    simclr_error_clear(&err);
    bench_state s;
    memset(&s, 0, sizeof s);
    phase_table phases;
    memset(&phases, 0, sizeof phases);
    phase_table *t = o.breakdown ? &phases : NULL;
    int status = 1;
    if (bench_setup(&s, &o, &err) != 0) goto done;
    for (int i = 0; i < o.warmup; i++)
        if (run_step(&s, &o, (uint64_t)i, t, &err) != 0) goto done;
    phases.recording = 1;
    double total = 0.0, best = INFINITY;
    for (int i = 0; i < o.steps; i++) {
        double start = now_seconds();
        if (run_step(&s, &o, (uint64_t)(o.warmup + i), t, &err) != 0) goto done;
        double seconds = now_seconds() - start;
        total += seconds;
        if (seconds < best) best = seconds;
    }
    double mean = total / o.steps, flops = 0.0;
    int images = 0;
    step_work(&s, &o, &flops, &images);
    double gflops = flops / mean / 1e9;
    double forward_per_image =
        o.mode == BENCH_MODE_AUGMENT ? 0.0 : network_forward_flops(&s.encoder) / 1e9;
    double rss = peak_rss_mib(); /* before the layer breakdown's scratch buffers */
    /* The encoder's feature maps as planned (network.h: nChw16c, or NHWC for bf16 on AMX). */
    const char *feature_layout = o.mode == BENCH_MODE_AUGMENT
                                     ? "nhwc"
                                     : simclr_nn_layout_name(s.encoder.layers[0].out_layout);
    if (o.breakdown) {
        print_phases("pretraining step by phase (mean of the timed steps)", &phases, o.steps, mean,
                     o.peak_gflops);
        phase_table layers;
        memset(&layers, 0, sizeof layers);
        int reps = 2;
        if (layer_breakdown(&s, 2 * (o.unlabeled + o.labeled), reps, &layers, &err) != 0)
            goto done;
        print_phases("each conv and dense layer alone at the pretraining batch (2B views, mean of 2 "
                     "runs; a ResNet's batchnorm, pooling and adds are not timed alone)",
                     &layers, 1, mean, o.peak_gflops);
    }
    printf("{\"impl\": \"simclr\", \"version\": \"%s\", \"shape\": \"%dx%dx%d\", \"backbone\": \"%s\", "
           "\"mode\": \"%s\", \"augment\": \"%s\", \"precision\": \"%s\", \"layout\": \"%s\", "
           "\"malloc\": \"%s\", \"padding\": %d, "
           "\"threads\": %d, \"images_per_step\": %d, \"steps\": %d, \"warmup\": %d, "
           "\"seconds_per_step\": %.6f, \"best_seconds\": %.6f, \"images_per_s\": %.2f, "
           "\"gflop_per_step\": %.4f, \"gflop_per_image\": %.4f, "
           "\"encoder_fwd_gflop_per_image\": %.5f, \"gflops\": %.2f, \"peak_gflops\": %.1f, "
           "\"peak_fraction\": %.4f, \"peak_rss_mib\": %.1f}\n",
           SIMCLR_VERSION, o.shape.height, o.shape.width, o.shape.channels, simclr_model_backbone_name(o.backbone),
           BENCH_MODE_NAMES[o.mode], simclr_augment_policy_kind_name(o.augment.kind),
           simclr_nn_precision_name(o.precision), feature_layout, allocator_name(),
           simclr_model_resolved_padding(&s.model), o.threads,
           images, o.steps, o.warmup, mean, best, images / mean, flops / 1e9, flops / 1e9 / images,
           forward_per_image, gflops, o.peak_gflops, gflops / o.peak_gflops, rss);
    status = 0;
done:
    if (status != 0) fprintf(stderr, "simclr_bench: %s\n", err.message);
    bench_state_free(&s);
    return status;
}
