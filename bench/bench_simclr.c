/*
 * simclr_bench: times simclr's training step, or its inference or augmentation, and prints one
 * JSON line (the last line of stdout) that bench/run.sh collects.
 *
 *   simclr_bench --mode pretrain --shape 96x96x3 --steps 3 --warmup 1 --threads 2 [--breakdown]
 *                [any option of `simclr pretrain`: --method, --optimizer, --loss, --backbone, ...]
 *
 * Issue 24: the training modes take the training commands' own options (the same option table,
 * src/cli/train_cli.c, turned into a run's settings by the same function) and step the run that
 * `simclr pretrain` / `simclr baseline` would run (src/train/train_engine.h's session): the same
 * sampler, reads, augmentation, method, optimizer and schedule, without the epoch's evaluation
 * and checkpoints. Its first step's metrics (JSON "first_step") are the training run's first
 * step's (tests/cli_bench_step.sh checks them against a one-step run's history).
 *
 * Modes (batch sizes from the options, by default the seed's: 500 unlabeled + 25 labeled, test
 * batch 525):
 *   pretrain   one pretraining step: draw, read and augment the batch, forward/backward of both
 *              views through encoder and projection head, the method's loss, the optimizer, the
 *              method's after-step (EMA, queue, predictor), then the linear probe.
 *   baseline   one step of the supervised baseline: read, weak augmentation, encoder +
 *              Dense(classes), cross-entropy, backward, the optimizer.
 *   inference  test-batch images through encoder + Dense(classes) and the cross-entropy, as
 *              evaluation does (random inputs).
 *   augment    the augmentation of one pretraining batch: two views of B images by the policy of
 *              --augment and the probe's weak view of the labeled ones, as pretraining calls it.
 *   read       the data part of pretraining's step alone (issue 25): the batch drawn by the
 *              training sampler, read (decoded and resized when the dataset is streamed) and
 *              augmented into the two views, exactly as the step does first; images/s of the
 *              input pipeline, on a dataset (--dataset folder --data-dir DIR) or random images.
 *
 * Data: the dataset options as the training commands take them (--dataset, --data-dir, ...), or,
 * when neither --dataset nor --data-dir is given, random images of --shape in 10 classes held in
 * memory (enough for two epochs of batches), so that the step is timed without a disk.
 *
 * FLOPs: 2 x multiply-adds of the convolutions and dense layers of the online networks
 * (simclr_model_forward_flops; biases, activations, reorders and a method's target networks and
 * predictor not counted); a training pass counts 3 x its forward FLOPs (forward, gradient w.r.t.
 * the input, gradient w.r.t. the weights), the convention of the PyTorch twin (bench/torch_twin.py).
 * The contrastive loss adds 6 B^2 D (similarity product and its two gradient products).
 *
 * --breakdown (pretrain) prints, as '#' lines before the JSON line, each conv and dense layer of
 * the run's encoder and head alone at 2B views (any backbone; a ResNet's batchnorm, pooling and
 * add layers are left out), through the network's own conv2d objects and the dense calls, on the
 * views of the last step. The peak RSS is read before it.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/options.h"
#include "cli/train_cli.h"
#include "simclr/augment.h"
#include "simclr/augment_policy.h"
#include "simclr/dataset.h"
#include "simclr/loss.h"
#include "simclr/model.h"
#include "simclr/network.h"
#include "simclr/rng.h"
#include "train/train_engine.h"
#include "train/train_internal.h"

/* fp32 FMA peak of the development machine's 2 cores (AMD EPYC, measured with an FMA loop). */
#define BENCH_DEFAULT_PEAK_GFLOPS 234.5
#define BENCH_SYNTHETIC_CLASSES 10

typedef enum bench_mode {
    BENCH_MODE_PRETRAIN,
    BENCH_MODE_BASELINE,
    BENCH_MODE_INFERENCE,
    BENCH_MODE_AUGMENT,
    BENCH_MODE_READ,
} bench_mode;

static const char *const BENCH_MODE_NAMES[] = {"pretrain", "baseline", "inference", "augment", "read"};

/* The bench's own options; the rest are the training commands'. */
typedef struct bench_options {
    const char *mode, *shape;
    long long steps, warmup;
    int breakdown;
    double peak_gflops;
} bench_options;

/* The training options that describe a run's files, resumption or evaluation: nothing the step
 * does, so the bench refuses them rather than ignore them. */
static const char *const BENCH_REFUSED[] = {"out", "resume", "overwrite", "force", "quiet", "checkpoint-every-steps",
                                            "checkpoint-every-minutes", "stop-after-steps",
                                            "knn-k", "knn-temperature"};

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

static void fill_labels(int32_t *labels, size_t count, int classes, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(12345, SIMCLR_RNG_PURPOSE_AUGMENT, key, 2, 0, 0);
    for (size_t i = 0; i < count; i++) labels[i] = (int32_t)simclr_rng_below(&stream, (uint64_t)classes);
}

/* ---- The synthetic dataset ------------------------------------------------------------------ */

static int synthetic_split(simclr_dataset *ds, simclr_dataset_split_id id, size_t count, int labeled,
                           simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    size_t image = simclr_dataset_image_bytes(ds);
    split->owned_pixels = simclr_checked_calloc(count, image, "synthetic images", err);
    if (!split->owned_pixels) return -1;
    fill_bytes(split->owned_pixels, count * image, (uint64_t)id);
    if (labeled) {
        split->owned_labels = simclr_checked_calloc(count, sizeof(int32_t), "synthetic labels", err);
        if (!split->owned_labels) return -1;
        fill_labels(split->owned_labels, count, ds->num_classes, (uint64_t)id);
        split->labels = split->owned_labels;
    }
    split->count = count;
    split->base = split->owned_pixels;
    split->record_stride = image;
    split->layout = SIMCLR_DATASET_PIXELS_HWC;
    return 0;
}

/* Random images of `shape` in 10 classes: two epochs of the options' batches of each split. */
static int synthetic_dataset(simclr_dataset *ds, const char *shape, const train_cli *options, simclr_error *err)
{
    memset(ds, 0, sizeof *ds);
    char tail;
    if (sscanf(shape, "%dx%dx%d%c", &ds->height, &ds->width, &ds->channels, &tail) != 3 || ds->height < 1 ||
        ds->width < 1 || ds->channels < 1 || ds->channels > SIMCLR_AUGMENT_MAX_CHANNELS || ds->height > 4096 ||
        ds->width > 4096)
        return simclr_error_input(err, "--shape '%s': expected HxWxC, H and W in 1..4096, C in 1..%d", shape,
                                  SIMCLR_AUGMENT_MAX_CHANNELS);
    ds->kind = SIMCLR_DATASET_KIND_FOLDER;
    snprintf(ds->name, sizeof ds->name, "synthetic");
    snprintf(ds->path, sizeof ds->path, "(random images in memory)");
    ds->num_classes = BENCH_SYNTHETIC_CLASSES;
    ds->class_names = simclr_checked_calloc((size_t)ds->num_classes, sizeof *ds->class_names, "class names", err);
    if (!ds->class_names) return -1;
    for (int c = 0; c < ds->num_classes; c++) snprintf(ds->class_names[c], sizeof ds->class_names[c], "class%d", c);
    size_t labeled = 2 * (size_t)options->labeled_batch;
    if (labeled < (size_t)(10 * ds->num_classes)) labeled = (size_t)(10 * ds->num_classes);
    if (synthetic_split(ds, SIMCLR_DATASET_SPLIT_UNLABELED, 2 * (size_t)options->unlabeled_batch, 0, err) != 0 ||
        synthetic_split(ds, SIMCLR_DATASET_SPLIT_TRAIN, labeled, 1, err) != 0 ||
        synthetic_split(ds, SIMCLR_DATASET_SPLIT_TEST, (size_t)options->test_batch, 1, err) != 0)
        return -1;
    return 0;
}

/* ---- --breakdown: each layer alone ---------------------------------------------------------- */

/* Forward FLOPs of one layer for one image: 2 x multiply-adds. */
static double layer_forward_flops(const simclr_network_layer *layer)
{
    if (layer->spec.kind == SIMCLR_LAYER_KIND_DENSE) return 2.0 * (double)layer->in_size * layer->spec.units;
    if (layer->spec.kind != SIMCLR_LAYER_KIND_CONV2D) return 0.0;
    return 2.0 * (double)layer->out_size * layer->spec.kernel * layer->spec.kernel * layer->in_shape.channels;
}

enum { BENCH_MAX_PHASES = 160 };
typedef struct phase_table {
    int count;
    char names[BENCH_MAX_PHASES][64];
    double seconds[BENCH_MAX_PHASES];
    double flops[BENCH_MAX_PHASES];
} phase_table;

static void phase_add(phase_table *table, const char *name, double seconds, double flops)
{
    int i = 0;
    while (i < table->count && strcmp(table->names[i], name) != 0) i++;
    if (i == table->count) {
        if (table->count == BENCH_MAX_PHASES) return;
        snprintf(table->names[table->count++], sizeof table->names[0], "%s", name);
    }
    table->seconds[i] += seconds;
    table->flops[i] += flops;
}

/* Each conv and dense layer of encoder and head alone at `views` images, through the networks'
 * own conv2d objects (their cached oneDNN plans) and dense calls, on the activations of a fresh
 * forward pass of `inputs`. Forward recomputes the layer's output in place; backward writes its
 * input gradient to a scratch buffer so the activations stay. Mean of `reps` timed runs. */
static int layer_breakdown(simclr_network *encoder, simclr_network *head, const float *inputs, int views, int reps,
                           phase_table *t, simclr_error *err)
{
    simclr_network *nets[2] = {encoder, head};
    size_t largest = 0;
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < nets[n]->layer_count; i++) {
            if (nets[n]->layers[i].in_size > largest) largest = nets[n]->layers[i].in_size;
            if (nets[n]->layers[i].out_size > largest) largest = nets[n]->layers[i].out_size;
        }
    float *d_out = simclr_checked_calloc((size_t)views * largest, sizeof(float), "breakdown d_out", err);
    float *d_in = simclr_checked_calloc((size_t)views * largest, sizeof(float), "breakdown d_in", err);
    uint16_t *d_out_bf16 =
        simclr_checked_calloc((size_t)views * largest, sizeof(uint16_t), "breakdown bf16 d_out", err);
    int status = -1;
    if (!d_out || !d_in || !d_out_bf16) goto done;
    fill_uniform(d_out, (size_t)views * largest, 3);
    simclr_nn_f32_to_bf16(d_out_bf16, d_out, (size_t)views * largest);
    if (simclr_network_forward(encoder, inputs, views, err) != 0 ||
        simclr_network_forward(head, simclr_network_output(encoder), views, err) != 0)
        goto done;
    char name[64];
    for (int n = 0; n < 2; n++) {
        simclr_network *net = nets[n];
        for (int i = 0; i < net->layer_count; i++) {
            simclr_network_layer *layer = &net->layers[i];
            int conv = layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D;
            if (!conv && layer->spec.kind != SIMCLR_LAYER_KIND_DENSE) continue; /* batchnorm, pool, add */
            /* Where formats meet, the layer reads the copy the forward pass converted. */
            const void *input = simclr_network_layer_input(net, i, n == 0 ? inputs : simclr_network_output(encoder));
            void *layer_d_out = layer->element_size != sizeof(float) ? (void *)d_out_bf16 : (void *)d_out;
            const float *kernel = net->params + layer->kernel_offset;
            const float *bias = net->params + layer->bias_offset;
            float *d_kernel = net->grads + layer->kernel_offset;
            float *d_bias = net->grads + layer->bias_offset;
            float *d_input = n == 0 && i == 0 ? NULL : d_in;
            double flops = views * layer_forward_flops(layer);
            for (int r = 0; r <= reps; r++) { /* r == 0: untimed */
                double start = now_seconds();
                if (conv) {
                    if (simclr_conv2d_forward(layer->conv, layer->output, input, kernel, bias, views, err) != 0)
                        goto done;
                } else {
                    simclr_dense_forward(layer->output, input, kernel, bias, views, (int)layer->in_size,
                                         layer->spec.units, layer->spec.activation);
                }
                double forward = now_seconds() - start;
                start = now_seconds();
                if (conv) {
                    if (simclr_conv2d_backward(layer->conv, d_input, d_kernel, d_bias, layer_d_out, layer->output,
                                               input, kernel, views, err) != 0)
                        goto done;
                } else {
                    simclr_dense_backward(d_input, d_kernel, d_bias, d_out, layer->output, input, kernel, views,
                                          (int)layer->in_size, layer->spec.units, layer->spec.activation);
                }
                double backward = now_seconds() - start;
                if (r == 0) continue;
                snprintf(name, sizeof name, "%s %s %s fwd", net->name, layer->name, conv ? "(conv)" : "(dense)");
                phase_add(t, name, forward / reps, flops / reps);
                snprintf(name, sizeof name, "%s %s %s bwd%s", net->name, layer->name, conv ? "(conv)" : "(dense)",
                         d_input ? "" : " (weights only)");
                phase_add(t, name, backward / reps, (d_input ? 2.0 : 1.0) * flops / reps);
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

/* One '#' line per phase: seconds, share of the measured step, FLOPs and rate. */
static void print_phases(const char *title, const phase_table *t, double step_seconds, double peak)
{
    double total = 0.0;
    for (int i = 0; i < t->count; i++) total += t->seconds[i];
    printf("# %s: %.4f s in these rows, the step measured %.4f s\n", title, total, step_seconds);
    printf("# %-46s %9s %7s %9s %9s %7s\n", "phase", "seconds", "of step", "GFLOP", "GFLOP/s", "peak");
    for (int i = 0; i < t->count; i++) {
        double seconds = t->seconds[i], gflop = t->flops[i] / 1e9;
        double rate = seconds > 0.0 ? gflop / seconds : 0.0;
        printf("# %-46s %9.4f %6.1f%% %9.2f %9.1f %6.1f%%\n", t->names[i], seconds, 100.0 * seconds / step_seconds,
               gflop, rate, 100.0 * rate / peak);
    }
}

/* ---- Inference and augmentation (random inputs) -------------------------------------------- */

typedef struct bench_parts {
    simclr_network encoder, classifier;
    float *inputs;
    uint8_t *pixels;
    int32_t *labels;
} bench_parts;

static void bench_parts_free(bench_parts *p)
{
    simclr_network_free(&p->encoder);
    simclr_network_free(&p->classifier);
    free(p->inputs);
    free(p->pixels);
    free(p->labels);
}

/* One test batch as simclr_evaluate_classifier runs it (after the rescale), in inference mode. */
static int inference_step(bench_parts *p, const simclr_train_config *config, simclr_error *err)
{
    int count = (int)config->test_batch;
    if (simclr_network_forward(&p->encoder, p->inputs, count, err) != 0 ||
        simclr_network_forward(&p->classifier, simclr_network_output(&p->encoder), count, err) != 0)
        return -1;
    int correct = 0;
    volatile float loss = simclr_softmax_cross_entropy(simclr_network_output(&p->classifier), p->labels, count,
                                                       config->model.num_classes, NULL, &correct);
    (void)loss;
    return 0;
}

/* The augmentation of one pretraining step: two views of B images by the run's policy, the weak
 * view of the labeled ones (as pretrain.c calls them). */
static void augment_step(bench_parts *p, const simclr_dataset *ds, const simclr_train_config *config, uint64_t step)
{
    size_t batch = config->unlabeled_batch + config->labeled_batch;
    size_t image = simclr_dataset_image_bytes(ds);
    int h = ds->height, w = ds->width, c = ds->channels;
    simclr_augment_policy_batch(&config->augment, p->pixels, batch, h, w, c, 0, 0, step, 1, p->inputs);
    simclr_augment_policy_batch(&config->augment, p->pixels, batch, h, w, c, 0, 0, step, 2, p->inputs + batch * image);
    simclr_augment_batch(p->pixels + config->unlabeled_batch * image, config->labeled_batch, h, w, c,
                         &SIMCLR_AUGMENT_CLASSIFICATION, 0, 0, step, 3, p->inputs);
}

static int parts_setup(bench_parts *p, bench_mode mode, const simclr_dataset *ds, const simclr_train_config *config,
                       simclr_error *err)
{
    size_t image = simclr_dataset_image_bytes(ds);
    if (mode == BENCH_MODE_AUGMENT) {
        size_t batch = config->unlabeled_batch + config->labeled_batch;
        p->pixels = simclr_checked_calloc(batch, image, "pixels", err);
        p->inputs = simclr_checked_calloc(2 * batch * image, sizeof(float), "views", err);
        if (!p->pixels || !p->inputs) return -1;
        fill_bytes(p->pixels, batch * image, 0);
        return 0;
    }
    int count = (int)config->test_batch;
    if (simclr_model_build_encoder(&p->encoder, &config->model, count, err) != 0 ||
        simclr_model_build_classifier(&p->classifier, "classifier", &config->model, count, err) != 0)
        return -1;
    simclr_network_init_weights(&p->encoder, config->seed);
    simclr_network_init_weights(&p->classifier, config->seed);
    /* Inference mode, as eval, predict and embed run: batchnorm on running statistics, and the
     * layers' outputs in shared buffers (network.h). */
    simclr_network_set_training(&p->encoder, 0);
    simclr_network_set_training(&p->classifier, 0);
    p->inputs = simclr_checked_calloc((size_t)count * image, sizeof(float), "inputs", err);
    p->labels = simclr_checked_calloc((size_t)count, sizeof(int32_t), "labels", err);
    if (!p->inputs || !p->labels) return -1;
    fill_uniform(p->inputs, (size_t)count * image, 1);
    fill_labels(p->labels, (size_t)count, config->model.num_classes, 7);
    return 0;
}

/* ---- Options ------------------------------------------------------------------------------- */

static int parse_options(int argc, char **argv, bench_options *bench, train_cli *options, option_parser *parser,
                         option_spec *specs, simclr_error *err)
{
    *bench = (bench_options){.mode = "pretrain", .shape = "96x96x3", .steps = 3, .warmup = 1,
                             .peak_gflops = BENCH_DEFAULT_PEAK_GFLOPS};
    train_cli_defaults(options);
    size_t count = 0;
    specs[count++] = (option_spec){"mode", OPTION_TYPE_CHOICE, &bench->mode, 0, 0, "pretrain|baseline|inference|augment|read",
                                   NULL, "what to time", "pretrain"};
    specs[count++] = (option_spec){"shape", OPTION_TYPE_STRING, &bench->shape, 0, 0, NULL, "HxWxC",
                                   "random images of this shape when no --dataset or --data-dir is given", "96x96x3"};
    specs[count++] = (option_spec){"steps", OPTION_TYPE_INT, &bench->steps, 1, 100000, NULL, "N", "timed steps", "3"};
    specs[count++] = (option_spec){"warmup", OPTION_TYPE_INT, &bench->warmup, 0, 100000, NULL, "N",
                                   "steps taken first, untimed (the run's first steps)", "1"};
    specs[count++] = (option_spec){"breakdown", OPTION_TYPE_FLAG, &bench->breakdown, 0, 0, NULL, NULL,
                                   "pretrain: time each conv and dense layer alone after the steps", NULL};
    specs[count++] = (option_spec){"peak-gflops", OPTION_TYPE_FLOAT, &bench->peak_gflops, 1e-3, 1e9, NULL, "X",
                                   "the machine's fp32 peak, for the fraction reported", "234.5"};
    train_cli_add_specs(options, specs, &count);
    *parser = (option_parser){.command = "simclr_bench",
                              .usage = "simclr_bench [options] (and any option of simclr pretrain or baseline)",
                              .summary = "Times simclr's training step (the run `simclr pretrain` or `simclr "
                                         "baseline` would take with these options), inference or augmentation, "
                                         "and prints one JSON line.",
                              .specs = specs,
                              .spec_count = count};
    int parsed = options_parse(parser, argc - 1, argv + 1, err);
    if (parsed != 0) return parsed;
    for (size_t i = 0; i < sizeof BENCH_REFUSED / sizeof *BENCH_REFUSED; i++)
        if (options_given(parser, BENCH_REFUSED[i]))
            return simclr_error_input(err, "--%s: describes a training run's files, resumption or evaluation; the "
                                           "bench takes steps alone",
                                      BENCH_REFUSED[i]),
                   -1;
    if (bench->breakdown && strcmp(bench->mode, "pretrain") != 0)
        return simclr_error_input(err, "--breakdown is for --mode pretrain"), -1;
    return 0;
}

static bench_mode mode_of(const char *name)
{
    for (int m = 0; m < 5; m++)
        if (strcmp(name, BENCH_MODE_NAMES[m]) == 0) return (bench_mode)m;
    return BENCH_MODE_PRETRAIN;
}

/* FLOPs of one step and the images it processes (see the top of the file for the convention). */
static void step_work(bench_mode mode, const simclr_train_config *config, double *flops, size_t *images)
{
    double encoder = 0.0, head = 0.0, classifier = 0.0;
    simclr_model_forward_flops(&config->model, &encoder, &head, &classifier);
    double batch = (double)(config->unlabeled_batch + config->labeled_batch);
    double labeled = (double)config->labeled_batch, test = (double)config->test_batch;
    switch (mode) {
    case BENCH_MODE_PRETRAIN:
        *flops = 2.0 * batch * 3.0 * (encoder + head) +
                 6.0 * batch * batch * (double)simclr_model_projection_width(&config->model) +
                 labeled * (encoder + 3.0 * classifier);
        *images = config->unlabeled_batch + config->labeled_batch;
        return;
    case BENCH_MODE_BASELINE:
        *flops = labeled * 3.0 * (encoder + classifier);
        *images = config->labeled_batch;
        return;
    case BENCH_MODE_INFERENCE:
        *flops = test * (encoder + classifier);
        *images = config->test_batch;
        return;
    case BENCH_MODE_AUGMENT:
    case BENCH_MODE_READ:
        *flops = 0.0;
        *images = config->unlabeled_batch + config->labeled_batch;
        return;
    }
}

/* ---- Main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bench_options bench;
    train_cli options;
    option_parser parser;
    option_spec specs[CLI_MAX_SPECS];
    simclr_error err;
    simclr_error_clear(&err);
    int parsed = parse_options(argc, argv, &bench, &options, &parser, specs, &err);
    if (parsed != 0) {
        if (parsed > 0) return 0; /* --help */
        fprintf(stderr, "simclr_bench: %s\n", err.message);
        return 2;
    }
    bench_mode mode = mode_of(bench.mode);
    if (options.threads > 0) omp_set_num_threads((int)options.threads);
    simclr_dataset ds;
    memset(&ds, 0, sizeof ds);
    train_session session;
    memset(&session, 0, sizeof session);
    bench_parts parts;
    memset(&parts, 0, sizeof parts);
    simclr_train_config config;
    int status = 2;
    int from_data = options_given(&parser, "dataset") || options_given(&parser, "data-dir");
    if (from_data && options_given(&parser, "shape")) {
        simclr_error_input(&err, "--shape is for the random images; with --dataset or --data-dir the dataset's "
                                 "images are used");
        goto done;
    }
    options.data.strict = options.strict;
    options.data.defer_pixels = 1; /* then in memory or streamed by --cache-budget, as training chooses */
    if (from_data ? dataset_cli_open(&options.data, &ds, &err) != 0
                  : synthetic_dataset(&ds, bench.shape, &options, &err) != 0)
        goto done;
    train_start start = {.command = mode == BENCH_MODE_BASELINE ? "baseline" : "pretrain",
                         .argc = argc - 1,
                         .argv = argv + 1,
                         .parser = &parser};
    if (train_cli_config(&options, &start, &ds, &config, &err) != 0 ||
        train_cli_choose_storage(&options, &ds, &config, &err) != 0 || simclr_dataset_load_pixels(&ds, &err) != 0)
        goto done;
    config.quiet = 1;
    config.log = stdout;
    status = 1;
    int training = mode == BENCH_MODE_PRETRAIN || mode == BENCH_MODE_BASELINE || mode == BENCH_MODE_READ;
    if (training ? (mode != BENCH_MODE_BASELINE ? simclr_train_pretrain_open(&session, &ds, &config, &err)
                                                : simclr_train_supervised_open(&session, &ds, &config, "baseline",
                                                                               NULL, &err)) != 0
                 : parts_setup(&parts, mode, &ds, &config, &err) != 0) {
        if (err.kind == SIMCLR_ERROR_KIND_INPUT) status = 2;
        goto done;
    }
    const train_run_kind *kind = training ? session.task.kind : NULL;
    double first[TRAIN_TASK_MAX_METRICS] = {0}, values[TRAIN_TASK_MAX_METRICS];
    double total = 0.0, best = INFINITY;
    for (long long i = 0; i < bench.warmup + bench.steps; i++) {
        double start_time = now_seconds();
        int step_status = 0;
        if (mode == BENCH_MODE_READ) step_status = simclr_train_session_views(&session, i, &err);
        else if (training) step_status = simclr_train_session_step(&session, i, values, &err);
        else if (mode == BENCH_MODE_INFERENCE) step_status = inference_step(&parts, &config, &err);
        else augment_step(&parts, &ds, &config, (uint64_t)i);
        if (step_status != 0) goto done;
        double seconds = now_seconds() - start_time;
        if (i == 0 && training && mode != BENCH_MODE_READ) memcpy(first, values, sizeof values);
        if (i < bench.warmup) continue;
        total += seconds;
        if (seconds < best) best = seconds;
    }
    double mean = total / (double)bench.steps, flops = 0.0;
    size_t images = 0;
    step_work(mode, &config, &flops, &images);
    double gflops = flops / mean / 1e9;
    double encoder_flops = 0.0, head_flops = 0.0, classifier_flops = 0.0;
    simclr_model_forward_flops(&config.model, &encoder_flops, &head_flops, &classifier_flops);
    double rss = peak_rss_mib(); /* before the layer breakdown's scratch buffers */
    const simclr_network *encoder = training ? session.task.encoder : &parts.encoder;
    /* The encoder's feature maps as planned (network.h: nChw16c, or NHWC for bf16 on AMX). */
    const char *feature_layout =
        mode == BENCH_MODE_AUGMENT || mode == BENCH_MODE_READ ? "nhwc" : simclr_nn_layout_name(encoder->layers[0].out_layout);
    if (bench.breakdown) {
        phase_table layers;
        memset(&layers, 0, sizeof layers);
        int views = (int)(2 * (config.unlabeled_batch + config.labeled_batch));
        if (layer_breakdown(session.parts[0].net, session.parts[1].net, session.task.eval_inputs, views, 2, &layers,
                            &err) != 0)
            goto done;
        print_phases("each conv and dense layer alone at the pretraining batch (2B views, mean of 2 runs; a "
                     "ResNet's batchnorm, pooling and adds are not timed alone)",
                     &layers, mean, bench.peak_gflops);
    }
    char first_step[512] = "{}";
    if (training && mode != BENCH_MODE_READ) {
        size_t used = (size_t)snprintf(first_step, sizeof first_step, "{");
        for (int m = 0; m < kind->metric_count && used < sizeof first_step; m++)
            used += (size_t)snprintf(first_step + used, sizeof first_step - used, "%s\"%s\": %.17g",
                                     m ? ", " : "", kind->metrics[m].name, first[m]);
        if (used < sizeof first_step) snprintf(first_step + used, sizeof first_step - used, "}");
    }
    char optimizer[160];
    simclr_optimizer_describe(&config.optimizer, optimizer, sizeof optimizer);
    size_t prefetched = 0, decoded_when_read = 0; /* issue 25: the decoder pool's share of the reads */
    simclr_dataset_decode_counts(&ds, &prefetched, &decoded_when_read);
    printf("{\"impl\": \"simclr\", \"version\": \"%s\", \"dataset\": \"%s\", \"shape\": \"%dx%dx%d\", "
           "\"backbone\": \"%s\", \"mode\": \"%s\", \"method\": \"%s\", \"loss\": \"%s\", \"optimizer\": \"%s\", "
           "\"augment\": \"%s\", \"precision\": \"%s\", \"layout\": \"%s\", \"malloc\": \"%s\", \"padding\": %d, "
           "\"threads\": %d, \"images_per_step\": %zu, \"steps\": %lld, \"warmup\": %lld, "
           "\"seconds_per_step\": %.6f, \"best_seconds\": %.6f, \"images_per_s\": %.2f, "
           "\"gflop_per_step\": %.4f, \"gflop_per_image\": %.4f, "
           "\"encoder_fwd_gflop_per_image\": %.5f, \"gflops\": %.2f, \"peak_gflops\": %.1f, "
           "\"peak_fraction\": %.4f, \"peak_rss_mib\": %.1f, \"streamed\": %s, \"decode_threads\": %d, "
           "\"prefetched\": %zu, \"decoded_when_read\": %zu, \"first_step\": %s}\n",
           SIMCLR_VERSION, ds.name, ds.height, ds.width, ds.channels, simclr_model_backbone_name(config.model.backbone),
           bench.mode, simclr_method_name(config.method), simclr_contrastive_kind_name(config.loss_kind),
           optimizer, simclr_augment_policy_kind_name(config.augment.kind),
           simclr_nn_precision_name(config.model.precision), feature_layout, allocator_name(),
           simclr_model_resolved_padding(&config.model), omp_get_max_threads(), images, bench.steps, bench.warmup,
           mean, best, (double)images / mean, flops / 1e9, flops / 1e9 / (double)images, encoder_flops / 1e9, gflops,
           bench.peak_gflops, gflops / bench.peak_gflops, rss, ds.streamed ? "true" : "false",
           simclr_dataset_decode_threads(&ds), prefetched, decoded_when_read, first_step);
    status = 0;
done:
    if (status != 0) fprintf(stderr, "simclr_bench: %s\n", err.message);
    simclr_train_session_close(&session);
    bench_parts_free(&parts);
    simclr_dataset_close(&ds);
    return status;
}
