#include "train_cli.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_distributed.h"
#include "dataset_fingerprint.h"
#include "run_directory.h"
#include "signals.h"
#include "train_estimate.h"

void train_cli_defaults(train_cli *options)
{
    memset(options, 0, sizeof *options);
    dataset_cli_defaults(&options->data);
    options->epochs = 20;
    options->steps_per_epoch = 0;
    options->labeled_per_class = 0;
    options->unlabeled_batch = 500;
    options->labeled_batch = 25;
    options->test_batch = 525;
    options->seed = 0;
    options->threads = 0;
    options->width = 128;
    options->depth = 4;
    options->padding = -1;
    options->temperature = -1.0;   /* the recipe's: 0.1 (seed) */
    options->learning_rate = -1.0; /* the recipe's: 0.001 (seed) */
    options->loss = NULL;          /* the recipe's: seed */
    options->precision = "fp32";
    options->out = NULL;
    options->knn_k = SIMCLR_KNN_DEFAULT_K;
    options->knn_temperature = SIMCLR_KNN_DEFAULT_TEMPERATURE;
    options->checkpoint_every_minutes = 10.0;
    options->cache_budget = "auto";
    options->decode_threads = "auto";
    /* Issue 12, the paper's recipe: */
    augment_cli_defaults(&options->augment);
    options->recipe = "seed";
    options->weight_decay = -1.0;
    options->warmup_epochs = -1.0;
    options->momentum = -1.0;
    options->probe_learning_rate = -1.0;
    options->backbone = NULL; /* the seed's, or a finetuned checkpoint's */
    options->stem = "auto";
    options->method = "simclr";
    options->ema_momentum = -1.0;
    options->queue_size = SIMCLR_METHOD_DEFAULT_QUEUE_SIZE;
    options->predictor_hidden = 0;
    options->barlow_lambda = SIMCLR_METHOD_BARLOW_LAMBDA;
    options->vicreg_weights = "25,25,1";
}

void train_cli_add_specs(train_cli *o, option_spec *specs, size_t *count)
{
    dataset_cli_add_specs(&o->data, specs, count);
    option_spec shared[] = {
        {"epochs", OPTION_TYPE_INT, &o->epochs, 1, 100000, NULL, "N", "training epochs", "20"},
        {"steps-per-epoch", OPTION_TYPE_INT, &o->steps_per_epoch, 0, 1e9, NULL, "N",
         "steps per epoch (0: pretraining (unlabeled + labeled) // (batch sizes), supervised "
         "runs one pass over the labeled images)",
         "0"},
        {"labeled-per-class", OPTION_TYPE_INT, &o->labeled_per_class, 0, 1e9, NULL, "K",
         "class-balanced labeled subset of K images per class (0: the whole labeled split)", "0"},
        {"unlabeled-batch", OPTION_TYPE_INT, &o->unlabeled_batch, 1, 100000, NULL, "N",
         "unlabeled images per pretraining step", "500"},
        {"labeled-batch", OPTION_TYPE_INT, &o->labeled_batch, 1, 4096, NULL, "N",
         "labeled images per step", "25"},
        {"test-batch", OPTION_TYPE_INT, &o->test_batch, 1, 4096, NULL, "N",
         "images per evaluation batch", "525"},
        {"seed", OPTION_TYPE_INT, &o->seed, 0, 9.2e18, NULL, "S",
         "seed of every random choice (subset, shuffles, augmentation, initialisation)", "0"},
        {"threads", OPTION_TYPE_INT, &o->threads, 0, 1024, NULL, "N",
         "worker threads (0: OMP_NUM_THREADS or all cores)", "0"},
        {"temperature", OPTION_TYPE_FLOAT, &o->temperature, 1e-4, 100, NULL, "T",
         "contrastive loss temperature", "0.1; simclr recipe 0.5 for <= 32 px images, else 0.1"},
        {"precision", OPTION_TYPE_CHOICE, &o->precision, 0, 0, "fp32|bf16", NULL,
         "convolution arithmetic: fp32, or bf16 with fp32 master weights and optimizer state "
         "(needs AVX-512)",
         "fp32"},
        {"loss", OPTION_TYPE_CHOICE, &o->loss, 0, 0, "seed|nt-xent", NULL,
         "contrastive loss: the example's B x B (seed) or the paper's NT-Xent (2B-2 negatives)",
         "seed; simclr recipe nt-xent"},
        {"learning-rate", OPTION_TYPE_FLOAT, &o->learning_rate, 1e-9, 10, NULL, "LR",
         "base learning rate of the optimizer (before --lr-scaling)", "0.001; simclr recipe 0.3"},
        {"width", OPTION_TYPE_INT, &o->width, 1, 4096, NULL, "N",
         "encoder width (conv channels and dense units)", "128"},
        {"depth", OPTION_TYPE_INT, &o->depth, 1, 15, NULL, "N", "convolution layers", "4"},
        {"padding", OPTION_TYPE_INT, &o->padding, -1, 15, NULL, "P",
         "convolution zero padding (-1: 0 = 'valid' when the image is large enough, else 1)",
         "-1"},
        {"backbone", OPTION_TYPE_CHOICE, &o->backbone, 0, 0, "seed|resnet18|resnet34|resnet50", NULL,
         "encoder: the seed's convolutions, or torchvision's ResNet-18/34/50 (512 or 2048 features)", "seed"},
        {"stem", OPTION_TYPE_CHOICE, &o->stem, 0, 0, "auto|imagenet|cifar", NULL,
         "ResNet stem: 7x7/2 conv + max pool (imagenet) or 3x3/1 conv (cifar); auto: cifar below 64 pixels",
         "auto"},
        {"zero-init-residual", OPTION_TYPE_FLAG, &o->zero_init_residual, 0, 0, NULL, NULL,
         "ResNet: start the last batchnorm of every block at gamma 0", NULL},
        {"head-hidden", OPTION_TYPE_INT, &o->head_hidden, 0, 8192, NULL, "N",
         "projection head hidden units (0: the encoder's feature width)", "0"},
        {"head-out", OPTION_TYPE_INT, &o->head_out, 0, 8192, NULL, "N",
         "projection head output units (0: --width, 128 by default)", "0"},
        {"head-bn", OPTION_TYPE_FLAG, &o->head_bn, 0, 0, NULL, NULL,
         "BatchNorm1d after the projection head's hidden layer (SimCLR's head; set by --recipe simclr "
         "on a ResNet)", NULL},
        {"no-head-bn", OPTION_TYPE_FLAG, &o->no_head_bn, 0, 0, NULL, NULL,
         "no BatchNorm1d in the projection head, even where --recipe simclr would add it", NULL},
        {"out", OPTION_TYPE_STRING, &o->out, 0, 0, NULL, "DIR",
         "where history, checkpoints, plots and the configuration go; a directory that holds a "
         "run is refused unless --overwrite or --resume",
         "a fresh runs/<command>-<UTC time>"},
        {"resume", OPTION_TYPE_STRING, &o->resume, 0, 0, NULL, "DIR",
         "continue the run(s) saved in DIR (implies --out DIR) from the last checkpoint, with the "
         "options the run recorded; an option given that shapes the run must be the one it was "
         "started with (--epochs, --threads, --data-dir and --quiet may change)",
         NULL},
        {"knn-k", OPTION_TYPE_INT, &o->knn_k, 0, 1e9, NULL, "K",
         "kNN monitor after every epoch (val_knn_acc): K nearest labeled training images by "
         "cosine similarity of encoder features (0: off; the default is clamped to the labeled "
         "images, a K given above their count is an error)",
         "200"},
        {"knn-temperature", OPTION_TYPE_FLOAT, &o->knn_temperature, 0.002, 100, NULL, "T",
         "kNN vote weight exp(similarity / T)", "0.1"},
        {"overwrite", OPTION_TYPE_FLAG, &o->overwrite, 0, 0, NULL, NULL,
         "replace the run in --out (its files only) instead of refusing", NULL},
        {"force", OPTION_TYPE_FLAG, &o->force, 0, 0, NULL, NULL,
         "start even when the estimate exceeds 600 s per step or 48 hours for the run", NULL},
        {"cache-budget", OPTION_TYPE_STRING, &o->cache_budget, 0, 0, NULL, "SIZE",
         "folder datasets: decode the images into memory when they take at most SIZE bytes (K, M, G "
         "suffixes; 0: always stream), otherwise stream them from disk, decoded batch by batch on "
         "every core (the same pixels either way)",
         "auto: half the memory available"},
        {"decode-threads", OPTION_TYPE_STRING, &o->decode_threads, 0, 0, NULL, "N",
         "streamed folder datasets: N background threads decode the next batch while a step computes, "
         "at the lowest priority (0: each batch decoded when the step reads it; the same pixels either "
         "way)",
         "auto: one per core"},
        {"strict", OPTION_TYPE_FLAG, &o->strict, 0, 0, NULL, NULL,
         "refuse what is otherwise a warning: a contrastive batch larger than the images it is "
         "drawn from (images would repeat in a batch); a folder image that cannot be read (skipped "
         "otherwise)",
         NULL},
        {"quiet", OPTION_TYPE_FLAG, &o->quiet, 0, 0, NULL, NULL,
         "no model summaries or progress lines", NULL},
        {"checkpoint-every-steps", OPTION_TYPE_INT, &o->checkpoint_every_steps, 0, 1000000000, NULL, "N",
         "also write a resumable checkpoint after every N steps inside an epoch, so that a killed run "
         "(kill -9, out of memory) loses at most N steps (0: off; may differ on --resume)",
         "0"},
        {"checkpoint-every-minutes", OPTION_TYPE_FLOAT, &o->checkpoint_every_minutes, 0, 1e6, NULL, "M",
         "also write one when M minutes have passed since the last checkpoint (0: off; may differ on "
         "--resume)",
         "10"},
        {"stop-after-steps", OPTION_TYPE_INT, &o->stop_after_steps, 0, 1000000000, NULL, "N",
         "stop after N steps of this process as an interruption does: a resumable checkpoint, exit 130 "
         "(0: run to the end; like --threads it may differ on --resume)",
         "0"},
    };
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) specs[(*count)++] = shared[i];
    /* Issue 12, the paper's recipe: */
    augment_cli_add_specs(&o->augment, specs, count);
    option_spec recipe[] = {
        {"recipe", OPTION_TYPE_CHOICE, &o->recipe, 0, 0, "seed|simclr", NULL,
         "defaults set together; any flag given overrides them. seed: the Keras example (loss "
         "seed, temperature 0.1, Keras Adam at 0.001, constant rate, seed augmentation). simclr: "
         "the SimCLR paper: loss nt-xent, temperature 0.5 for <= 32 px images (CIFAR) else 0.1, "
         "lars at 0.3 with --lr-scaling linear (0.3 x B/256), weight decay 1e-6, cosine with 10 "
         "warm-up epochs (10% of runs under 100 epochs), --augment simclr with colour strength 0.5 "
         "for <= 32 px images else 1.0",
         "seed"},
        {"optimizer", OPTION_TYPE_CHOICE, &o->optimizer, 0, 0, "adam|adamw|sgd|lars", NULL,
         "optimizer of the trained parts: the seed's Keras Adam, PyTorch's AdamW or SGD, the SimCLR "
         "reference's LARS (biases excluded from weight decay and adaptation)",
         "adam; simclr recipe lars"},
        {"weight-decay", OPTION_TYPE_FLOAT, &o->weight_decay, 0, 1, NULL, "WD",
         "weight decay (adamw: decoupled; sgd, lars: added to the gradient); not with adam", "0; simclr recipe 1e-6"},
        {"momentum", OPTION_TYPE_FLOAT, &o->momentum, 0, 0.9999, NULL, "MU", "sgd/lars momentum", "0.9"},
        {"nesterov", OPTION_TYPE_FLAG, &o->nesterov, 0, 0, NULL, NULL, "Nesterov momentum (sgd, lars)", NULL},
        {"lr-schedule", OPTION_TYPE_CHOICE, &o->lr_schedule, 0, 0, "constant|cosine", NULL,
         "learning rate after the warm-up: constant, or cosine decay to 0 at the last step",
         "constant; simclr recipe cosine"},
        {"warmup-epochs", OPTION_TYPE_FLOAT, &o->warmup_epochs, 0, 100000, NULL, "E",
         "linear warm-up from 0 over E epochs, per step (at most --epochs)", "0; simclr recipe 10"},
        {"lr-scaling", OPTION_TYPE_CHOICE, &o->lr_scaling, 0, 0, "none|linear|sqrt", NULL,
         "base rate = lr, lr x B/256 or lr x sqrt(B); B = images per step (pretraining: "
         "--unlabeled-batch + --labeled-batch; supervised runs: --labeled-batch)",
         "none; simclr recipe linear"},
        {"probe-learning-rate", OPTION_TYPE_FLOAT, &o->probe_learning_rate, 1e-9, 10, NULL, "LR",
         "Keras Adam rate of the online linear probe (constant)",
         "--learning-rate with adam, else 0.001"},
    };
    for (size_t i = 0; i < sizeof recipe / sizeof recipe[0]; i++) specs[(*count)++] = recipe[i];
    /* Issue 13, the other self-supervised methods: */
    option_spec methods[] = {
        {"method", OPTION_TYPE_CHOICE, &o->method, 0, 0, "simclr|moco|byol|simsiam|barlow|vicreg", NULL,
         "self-supervised method of pretrain/experiment: simclr (--loss), moco (MoCo v2: key encoder by EMA, "
         "queue, InfoNCE), byol (predictor, EMA target, normalised MSE), simsiam (predictor, stop-gradient, "
         "negative cosine), barlow (Barlow Twins), vicreg (VICReg)",
         "simclr"},
        {"ema-momentum", OPTION_TYPE_FLOAT, &o->ema_momentum, 0, 0.999999, NULL, "M",
         "moco, byol: momentum of the target networks' EMA (moco: constant; byol: the base, cosine-increased "
         "to 1 over the run's steps); not --momentum, which is sgd/lars's",
         "moco 0.99, byol 0.996"},
        {"queue-size", OPTION_TYPE_INT, &o->queue_size, 1, 1e9, NULL, "N",
         "moco: negative keys in the queue (FIFO, checkpointed)", "4096"},
        {"predictor-hidden", OPTION_TYPE_INT, &o->predictor_hidden, 1, SIMCLR_MODEL_MAX_HEAD_UNITS, NULL, "N",
         "byol, simsiam: hidden units of the predictor (Dense + BatchNorm1d + ReLU -> Dense)",
         "byol the head's hidden width, simsiam a quarter of the projection width"},
        {"barlow-lambda", OPTION_TYPE_FLOAT, &o->barlow_lambda, 0, 1000, NULL, "L",
         "barlow: weight of the off-diagonal cross-correlation terms (used as given, not rescaled by "
         "the projection width)",
         "0.0051"},
        {"vicreg-weights", OPTION_TYPE_STRING, &o->vicreg_weights, 0, 0, NULL, "INV,VAR,COV",
         "vicreg: weights of the invariance, variance and covariance terms", "25,25,1"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) specs[(*count)++] = methods[i];
}

/* "INV,VAR,COV": three finite non-negative numbers. */
static int parse_vicreg_weights(const char *text, float weights[3], simclr_error *err)
{
    const char *at = text;
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        double value = strtod(at, &end);
        if (end == at || !isfinite(value) || value < 0.0 || value > 1e6 || *end != (i < 2 ? ',' : '\0'))
            return simclr_error_input(err, "--vicreg-weights '%s': expected three non-negative numbers INV,VAR,COV "
                                           "(e.g. 25,25,1)",
                                      text);
        weights[i] = (float)value;
        at = end + 1;
    }
    return 0;
}

/* Issue 13: --method and the flags of one method only (given with another: an error naming both). */
static int apply_method(const train_cli *options, const train_start *start, simclr_train_config *config,
                        simclr_error *err)
{
    const option_parser *parser = start->parser;
    int pretrains = strcmp(start->command, "pretrain") == 0 || strcmp(start->command, "experiment") == 0;
    if (!pretrains && options_given(parser, "method"))
        return simclr_error_input(err, "--method applies to pretrain and experiment, not %s", start->command);
    config->method = (simclr_method_kind)simclr_method_from_name(options->method);
    const char *method = simclr_method_name(config->method);
    static const struct {
        const char *flag;
        unsigned methods; /* bit per simclr_method_kind */
        const char *which;
    } SPECIFIC[] = {
        {"loss", 1u << SIMCLR_METHOD_SIMCLR, "--method simclr"},
        {"temperature", 1u << SIMCLR_METHOD_SIMCLR | 1u << SIMCLR_METHOD_MOCO, "--method simclr or moco"},
        {"ema-momentum", 1u << SIMCLR_METHOD_MOCO | 1u << SIMCLR_METHOD_BYOL, "--method moco or byol"},
        {"queue-size", 1u << SIMCLR_METHOD_MOCO, "--method moco"},
        {"predictor-hidden", 1u << SIMCLR_METHOD_BYOL | 1u << SIMCLR_METHOD_SIMSIAM, "--method byol or simsiam"},
        {"barlow-lambda", 1u << SIMCLR_METHOD_BARLOW, "--method barlow"},
        {"vicreg-weights", 1u << SIMCLR_METHOD_VICREG, "--method vicreg"},
    };
    /* Flags given now: a resumed run's recorded ones applied to its method, which a --method given
     * now contradicts; the run record's comparison names that. */
    for (size_t i = 0; i < sizeof SPECIFIC / sizeof SPECIFIC[0]; i++)
        if (options_given_now(parser, SPECIFIC[i].flag) && !(SPECIFIC[i].methods & (1u << config->method)))
            return simclr_error_input(err, "--%s applies to %s, not --method %s", SPECIFIC[i].flag, SPECIFIC[i].which,
                                      method);
    /* MoCo v2's temperature unless --temperature is given. */
    if (config->method == SIMCLR_METHOD_MOCO && !options_given(parser, "temperature"))
        config->temperature = SIMCLR_METHOD_MOCO_TEMPERATURE;
    if (options->ema_momentum >= 0.0) config->ema_momentum = (float)options->ema_momentum;
    config->queue_size = (int)options->queue_size;
    config->predictor_hidden = (int)options->predictor_hidden;
    config->barlow_lambda = (float)options->barlow_lambda;
    if (parse_vicreg_weights(options->vicreg_weights, config->vicreg_weights, err) != 0) return -1;
    return 0;
}

static int contradicts(const option_parser *parser, const char *name, long long given, long long stored,
                       const char *from, simclr_error *err)
{
    if (!options_given(parser, name) || given == stored) return 0;
    return simclr_error_input(err, "--%s %lld: --from %s has %s %lld; finetune takes the architecture "
                                   "from its checkpoint (drop --%s)",
                              name, given, from, name, stored, name);
}

/* The architecture of finetune's --from checkpoint; --width/--depth/--padding may only repeat it,
 * --precision chooses the arithmetic (the checkpoint's when not given). */
static int take_architecture(const train_cli *options, const train_start *start, const simclr_dataset *ds,
                             simclr_train_config *config, simclr_error *err)
{
    const simclr_checkpoint_info *from = start->from_info;
    const simclr_tensor_shape *input = &from->model.input;
    if (input->height != ds->height || input->width != ds->width || input->channels != ds->channels)
        return simclr_error_input(err, "--from %s was trained on %dx%dx%d images; dataset %s has %dx%dx%d",
                                  start->from, input->height, input->width, input->channels, ds->name,
                                  ds->height, ds->width, ds->channels);
    if (contradicts(start->parser, "width", options->width, from->model.width, start->from, err) != 0 ||
        contradicts(start->parser, "depth", options->depth, from->model.depth, start->from, err) != 0)
        return -1;
    if (options_given(start->parser, "padding") && options->padding >= 0 &&
        options->padding != simclr_model_resolved_padding(&from->model))
        return simclr_error_input(err, "--padding %lld: --from %s has padding %d; finetune takes the "
                                       "architecture from its checkpoint (drop --padding)",
                                  options->padding, start->from, simclr_model_resolved_padding(&from->model));
    /* Issue 24: the other architecture flags are refused alike, not replaced without a word. */
    const option_parser *parser = start->parser;
    if (options_given(parser, "stem") && strcmp(options->stem, "auto") != 0) {
        simclr_model_stem given = strcmp(options->stem, "imagenet") == 0 ? SIMCLR_MODEL_STEM_IMAGENET
                                                                         : SIMCLR_MODEL_STEM_CIFAR;
        simclr_model_stem stored = simclr_model_resolved_stem(&from->model);
        if (from->model.backbone == SIMCLR_MODEL_BACKBONE_SEED || given != stored)
            return simclr_error_input(err, "--stem %s: --from %s has %s; finetune takes the architecture from its "
                                           "checkpoint (drop --stem)",
                                      options->stem, start->from,
                                      from->model.backbone == SIMCLR_MODEL_BACKBONE_SEED
                                          ? "the seed's encoder, which has no ResNet stem"
                                          : simclr_model_stem_name(stored));
    }
    if ((options_given(parser, "head-bn") && !from->model.head_bn) ||
        (options_given(parser, "no-head-bn") && from->model.head_bn))
        return simclr_error_input(err, "--%s: --from %s has %s BatchNorm in its projection head; finetune takes the "
                                       "architecture from its checkpoint (drop --%s)",
                                  from->model.head_bn ? "no-head-bn" : "head-bn", start->from,
                                  from->model.head_bn ? "a" : "no", from->model.head_bn ? "no-head-bn" : "head-bn");
    if (options_given(parser, "zero-init-residual") && !from->model.zero_init_residual)
        return simclr_error_input(err, "--zero-init-residual: --from %s was not built with it; finetune takes the "
                                       "architecture from its checkpoint (drop --zero-init-residual)",
                                  start->from);
    simclr_nn_precision precision = config->model.precision;
    config->model = from->model;
    config->model.num_classes = ds->num_classes;
    if (options_given(start->parser, "precision")) config->model.precision = precision;
    return 0;
}

/* "auto" (half the memory available, or of SIMCLR_MEMORY_LIMIT) or bytes with a K, M or G suffix. */
static int parse_cache_budget(const char *text, size_t memory_limit, size_t *bytes, simclr_error *err)
{
    if (strcmp(text, "auto") == 0) {
        size_t available = memory_limit ? memory_limit : simclr_train_available_memory();
        *bytes = available ? available / 2 : (size_t)1 << 30;
        return 0;
    }
    char *end = NULL;
    double value = strtod(text, &end);
    double scale = 1.0;
    if (end && (*end == 'K' || *end == 'k')) scale = 1024.0;
    else if (end && (*end == 'M' || *end == 'm')) scale = 1024.0 * 1024.0;
    else if (end && (*end == 'G' || *end == 'g')) scale = 1024.0 * 1024.0 * 1024.0;
    if (end == text || value < 0 || (scale > 1.0 ? end[1] != '\0' : *end != '\0'))
        return simclr_error_input(err, "--cache-budget '%s': expected auto, or a size in bytes (K, M or G suffix)",
                                  text);
    *bytes = (size_t)(value * scale);
    return 0;
}

static int parse_decode_threads(const char *text, int *threads, simclr_error *err)
{
    if (strcmp(text, "auto") == 0) {
        *threads = omp_get_num_procs();
        return 0;
    }
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < 0 || value > 1024)
        return simclr_error_input(err, "--decode-threads '%s': expected auto or a number of threads from 0 to 1024",
                                  text);
    *threads = (int)value;
    return 0;
}

/* Issue 25: a folder dataset decoded into memory when it fits --cache-budget, streamed otherwise;
 * said either way. */
int train_cli_choose_storage(const train_cli *options, simclr_dataset *ds, const simclr_train_config *config,
                             simclr_error *err)
{
    int decode_threads = 0;
    if (parse_decode_threads(options->decode_threads, &decode_threads, err) != 0) return -1;
    size_t pending = simclr_dataset_pending_bytes(ds);
    if (pending == 0) return 0;
    size_t budget = 0;
    if (parse_cache_budget(options->cache_budget, config->memory_limit, &budget, err) != 0) return -1;
    const double mib = 1024.0 * 1024.0;
    if (simclr_dataset_choose_storage(ds, budget)) {
        simclr_dataset_set_decode_threads(ds, decode_threads);
        char how[160];
        if (decode_threads > 0)
            snprintf(how, sizeof how, "%d decoder thread%s prepare%s the next batch while a step computes "
                     "(--decode-threads)", decode_threads, decode_threads == 1 ? "" : "s",
                     decode_threads == 1 ? "s" : "");
        else
            snprintf(how, sizeof how, "each batch decoded when the step reads it (--decode-threads 0)");
        fprintf(stderr, "simclr: note: the images of %s take %.1f MiB decoded, over the cache budget of %.1f MiB "
                        "(--cache-budget): streamed from disk, %s\n",
                ds->path, (double)pending / mib, (double)budget / mib, how);
    }
    else if (!options->quiet)
        fprintf(stderr, "simclr: note: the images of %s take %.1f MiB decoded, within the cache budget of %.1f MiB "
                        "(--cache-budget): decoded into memory once\n",
                ds->path, (double)pending / mib, (double)budget / mib);
    return 0;
}

/* Issue 27: a contrastive batch larger than the images it is drawn from repeats images within a
 * batch (false negatives for the loss): a warning naming the option and the count, or with
 * --strict a refusal. Supervised epochs take each labeled image once, whatever the batch. */
static int check_batches_fit(const train_cli *options, const train_start *start, const simclr_dataset *ds,
                             const simclr_train_config *config, simclr_error *err)
{
    if (strcmp(start->command, "pretrain") != 0 && strcmp(start->command, "experiment") != 0) return 0;
    simclr_dataset_split_id source = simclr_dataset_unlabeled_source(ds);
    size_t unlabeled = ds->splits[source].count;
    const char *pool = source == SIMCLR_DATASET_SPLIT_UNLABELED ? "unlabeled"
                                                                 : "training (the dataset has no unlabeled split)";
    if (config->unlabeled_batch <= unlabeled) return 0;
    if (options->strict)
        return simclr_error_input(err, "--unlabeled-batch %zu: larger than the %zu %s images of %s, so images would "
                                       "repeat within a batch (false negatives for the contrastive loss); give "
                                       "--unlabeled-batch %zu or less",
                                  config->unlabeled_batch, unlabeled, pool, ds->path, unlabeled);
    fprintf(stderr,
            "simclr: warning: --unlabeled-batch %zu is larger than the %zu %s images of %s: images repeat within "
            "a batch, which gives the contrastive loss false negatives; give --unlabeled-batch %zu or less (--strict "
            "refuses this)\n",
            config->unlabeled_batch, unlabeled, pool, ds->path, unlabeled);
    return 0;
}

static int estimate_runs(const train_cli *options, const train_start *start, const simclr_dataset *ds,
                         const simclr_train_config *config, simclr_error *err)
{
    const char *runs[3];
    int count = run_directory_runs(start->command, runs);
    int warned = 0;
    for (int r = 0; r < count; r++) {
        train_estimate estimate;
        int contrastive = strcmp(runs[r], "pretrain") == 0;
        if (train_estimate_run(ds, config, contrastive, options->force, &estimate, err) != 0) return -1;
        if (!warned && estimate.kernels.reference_passes > 0) {
            train_estimate_print_kernel_warning(&estimate, stderr);
            warned = 1;
        }
        /* Said even with --quiet when the run will take more than ten minutes. */
        if (!options->quiet || estimate.seconds_per_epoch * config->epochs > 600.0)
            train_estimate_print(&estimate, runs[r], stdout);
    }
    return 0;
}

/* The first write of an --overwrite run: the old run's files go, the new record is written. */
static int replace_old_run(void *context, simclr_error *err)
{
    train_run *run = context;
    if (run->old_run_replaced) return 0;
    if (run_directory_clear(run->command, run->out_dir, err) != 0 ||
        run_record_write_json(&run->record, run->config_path, err) != 0)
        return -1;
    run->old_run_replaced = 1;
    return 0;
}

/* Issue 25: a dataset of unlabeled images only (a folder without train/ and test/ and no
 * --labeled-dir): pretraining runs on it without the linear probe, the kNN monitor and the
 * evaluation. */
static int unlabeled_only(const simclr_dataset *ds)
{
    return ds->num_classes == 0 && ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count == 0 &&
           ds->splits[SIMCLR_DATASET_SPLIT_TEST].count == 0 && ds->splits[SIMCLR_DATASET_SPLIT_UNLABELED].count > 0;
}

int train_cli_config(const train_cli *options, const train_start *start, const simclr_dataset *ds,
                     simclr_train_config *config, simclr_error *err)
{
    *config = simclr_train_config_default(ds);
    config->epochs = (int)options->epochs;
    config->steps_per_epoch = (size_t)options->steps_per_epoch;
    config->labeled_per_class = (int)options->labeled_per_class;
    config->unlabeled_batch = (size_t)options->unlabeled_batch;
    config->labeled_batch = (size_t)options->labeled_batch;
    config->test_batch = (size_t)options->test_batch;
    config->seed = (uint64_t)options->seed;
    /* Issue 12: the recipe first, then every flag given. */
    int warmup_clamped = 0;
    simclr_train_recipe_apply(config, strcmp(options->recipe, "simclr") == 0 ? SIMCLR_TRAIN_RECIPE_SIMCLR
                                                                             : SIMCLR_TRAIN_RECIPE_SEED,
                              ds, &warmup_clamped);
    if (options->temperature > 0.0) config->temperature = (float)options->temperature;
    if (options->loss)
        config->loss_kind = strcmp(options->loss, "nt-xent") == 0 ? SIMCLR_CONTRASTIVE_KIND_NT_XENT
                                                                  : SIMCLR_CONTRASTIVE_KIND_SEED;
    if (options->optimizer) {
        simclr_optimizer_kind kind = strcmp(options->optimizer, "adamw") == 0 ? SIMCLR_OPTIMIZER_KIND_ADAMW
                                     : strcmp(options->optimizer, "sgd") == 0 ? SIMCLR_OPTIMIZER_KIND_SGD
                                     : strcmp(options->optimizer, "lars") == 0 ? SIMCLR_OPTIMIZER_KIND_LARS
                                                                                : SIMCLR_OPTIMIZER_KIND_ADAM;
        float decay = config->optimizer.weight_decay, rate = config->optimizer.learning_rate;
        config->optimizer = simclr_optimizer_config_default(kind);
        config->optimizer.learning_rate = rate; /* the recipe's rate carries over */
        /* The recipe's decay carries over to another decaying optimizer, not to Adam. */
        config->optimizer.weight_decay = kind == SIMCLR_OPTIMIZER_KIND_ADAM ? 0.0f : decay;
    }
    if (options->learning_rate > 0.0) config->optimizer.learning_rate = (float)options->learning_rate;
    if (options->weight_decay >= 0.0) config->optimizer.weight_decay = (float)options->weight_decay;
    if (options->momentum >= 0.0) config->optimizer.momentum = (float)options->momentum;
    if (options->nesterov) config->optimizer.nesterov = 1;
    if (options->lr_schedule)
        config->lr_schedule = strcmp(options->lr_schedule, "cosine") == 0 ? SIMCLR_LR_SCHEDULE_KIND_COSINE
                                                                          : SIMCLR_LR_SCHEDULE_KIND_CONSTANT;
    if (options->lr_scaling)
        config->lr_scaling = strcmp(options->lr_scaling, "linear") == 0 ? SIMCLR_LR_SCALING_LINEAR
                             : strcmp(options->lr_scaling, "sqrt") == 0 ? SIMCLR_LR_SCALING_SQRT
                                                                        : SIMCLR_LR_SCALING_NONE;
    if (options->warmup_epochs >= 0.0) {
        config->warmup_epochs = options->warmup_epochs;
        warmup_clamped = 0;
    }
    if (options->probe_learning_rate > 0.0) config->probe_learning_rate = (float)options->probe_learning_rate;
    if (config->warmup_epochs > (double)config->epochs)
        return simclr_error_input(err, "--warmup-epochs %g is longer than the run (--epochs %d)",
                                  config->warmup_epochs, config->epochs);
    if (config->optimizer.kind == SIMCLR_OPTIMIZER_KIND_ADAM && config->optimizer.weight_decay != 0.0f)
        return simclr_error_input(err, "--weight-decay %g: the seed's Keras Adam has no weight decay; use "
                                  "--optimizer adamw (decoupled decay), sgd or lars",
                                  (double)config->optimizer.weight_decay);
    int momentum_kind = config->optimizer.kind == SIMCLR_OPTIMIZER_KIND_SGD ||
                        config->optimizer.kind == SIMCLR_OPTIMIZER_KIND_LARS;
    if (!momentum_kind && (options->nesterov || options->momentum >= 0.0))
        return simclr_error_input(err, "%s applies to --optimizer sgd or lars, not %s",
                                  options->nesterov ? "--nesterov" : "--momentum",
                                  simclr_optimizer_kind_name(config->optimizer.kind));
    if (warmup_clamped) /* a notice about the settings, so even with --quiet, on stderr */
        fprintf(stderr, "simclr: --recipe simclr: %d epochs is shorter than the paper's 100, so the warm-up is 10%% of the "
               "run (%g epochs) instead of 10; --warmup-epochs sets it\n",
               config->epochs, config->warmup_epochs);
    config->model.width = (int)options->width;
    config->model.depth = (int)options->depth;
    config->model.padding = (int)options->padding;
    config->model.precision = strcmp(options->precision, "bf16") == 0 ? SIMCLR_NN_PRECISION_BF16
                                                                      : SIMCLR_NN_PRECISION_FP32;
    config->model.backbone = options->backbone
                                 ? (simclr_model_backbone)simclr_model_backbone_from_name(options->backbone)
                                 : SIMCLR_MODEL_BACKBONE_SEED;
    config->model.stem = strcmp(options->stem, "imagenet") == 0 ? SIMCLR_MODEL_STEM_IMAGENET
                         : strcmp(options->stem, "cifar") == 0  ? SIMCLR_MODEL_STEM_CIFAR
                                                                : SIMCLR_MODEL_STEM_AUTO;
    if (apply_method(options, start, config, err) != 0) return -1;
    config->model.zero_init_residual = options->zero_init_residual;
    config->model.head_hidden = (int)options->head_hidden;
    config->model.head_out = (int)options->head_out;
    if (options->head_bn && options->no_head_bn)
        return simclr_error_input(err, "--head-bn and --no-head-bn: give one of them");
    int recipe_simclr = strcmp(options->recipe, "simclr") == 0;
    /* The paper's head has BatchNorm when the encoder has it (a ResNet), as the recipe promises. */
    config->model.head_bn = options->head_bn || (recipe_simclr && !options->no_head_bn &&
                                                 config->model.backbone != SIMCLR_MODEL_BACKBONE_SEED);
    if (start->from_info && take_architecture(options, start, ds, config, err) != 0) return -1;
    if (config->optimizer.kind == SIMCLR_OPTIMIZER_KIND_LARS && config->model.backbone == SIMCLR_MODEL_BACKBONE_SEED)
        fprintf(stderr, "simclr: notice: LARS on the seed's encoder, which has no BatchNorm: its biases are "
                        "excluded from adaptation as in the SimCLR reference, so they train at the full rate, "
                        "and on this unnormalised network they grow to tens or hundreds in the first steps and "
                        "hold the encoder back (measured on CIFAR-10: docs/RESULTS.md); with this backbone prefer "
                        "--optimizer adam --learning-rate 0.001 --weight-decay 0, or use a ResNet\n");
    if (cli_network_options(&config->model.network, err) != 0) return -1; /* issue 24: the environment, here */
    if (simclr_model_check(&config->model, err) != 0) return -1;
    if (config->model.precision == SIMCLR_NN_PRECISION_BF16 && !simclr_conv2d_bf16_available())
        return simclr_error_input(err, "--precision bf16: oneDNN has no bf16 convolution on this CPU "
                                       "(it needs AVX-512); use --precision fp32");
    /* Issue 12, the paper's recipe: */
    if (augment_cli_policy(&options->augment, config->augment.kind, config->augment.color_strength,
                           ds->channels, &config->augment, err) != 0)
        return -1;
    config->knn_k = (int)options->knn_k;
    config->knn_temperature = (float)options->knn_temperature;
    if (unlabeled_only(ds)) {
        static const char *const probe_options[] = {"labeled-batch", "labeled-per-class", "knn-k", "knn-temperature",
                                                    "probe-learning-rate", "test-batch"};
        for (size_t i = 0; i < sizeof probe_options / sizeof *probe_options; i++)
            if (start->parser && options_given(start->parser, probe_options[i]))
                return simclr_error_input(err, "--%s: %s has no labeled images, so pretraining runs without the "
                                               "linear probe, the kNN monitor and the evaluation; give --labeled-dir "
                                               "DIR (train/<class>/ and test/<class>/ images) for them",
                                          probe_options[i], ds->path);
        config->labeled_batch = 0;
        config->knn_k = 0;
    }
    return 0;
}

int train_cli_prepare(const train_cli *options, const train_start *start, simclr_dataset *ds,
                      train_run *run, simclr_error *err)
{
    memset(run, 0, sizeof *run);
    if (unlabeled_only(ds) && strcmp(start->command, "pretrain") != 0)
        return simclr_error_input(err, "dataset %s at %s has no labeled images (unlabeled images only): %s trains "
                                       "and evaluates a classifier; give --labeled-dir DIR (train/<class>/ and "
                                       "test/<class>/ images), or run simclr pretrain, which trains without them",
                                  ds->name, ds->path, start->command);
    if (unlabeled_only(ds))
        fprintf(stderr, "simclr: note: %s has no labeled images: pretraining without the linear probe, the kNN "
                        "monitor and the evaluation after each epoch (the history has c_acc, c_loss and lr); give "
                        "--labeled-dir DIR for them\n",
                ds->path);
    else if (ds->num_classes < 2)
        return simclr_error_input(err, "dataset %s at %s has %d class%s (%s); training and evaluating a "
                                       "classifier needs at least 2 classes",
                                  ds->name, ds->path, ds->num_classes, ds->num_classes == 1 ? "" : "es",
                                  ds->num_classes == 1 ? ds->class_names[0] : "none");
    if (!unlabeled_only(ds) && ds->splits[SIMCLR_DATASET_SPLIT_TEST].count == 0)
        return simclr_error_input(err, "dataset %s at %s has no test split (expected for evaluation "
                                       "after every epoch)%s",
                                  ds->name, ds->path,
                                  options->data.file_list ? "; give some rows of the --file-list the split test" : "");
    simclr_train_config *config = &run->config;
    if (train_cli_config(options, start, ds, config, err) != 0) return -1;
    int defaulted = 0;
    if (run_directory_resolve(start->command, options->out, options->resume, options->overwrite,
                              run->out_dir, sizeof run->out_dir, &defaulted, err) != 0)
        return -1;
    /* Issue 14: one directory for the job: rank 0's (a default one is named by the clock). */
    simclr_communicator *comm = cli_communicator();
    config->communicator = comm;
    simclr_communicator_broadcast(comm, run->out_dir, sizeof run->out_dir, 0);
    /* Issue 24: the runs' preconditions, the library's own check, once per run of the command. */
    const char *checked_runs[3];
    int checked_count = run_directory_runs(start->command, checked_runs);
    for (int r = 0; r < checked_count; r++)
        if (simclr_train_check_run(ds, config, strcmp(checked_runs[r], "pretrain") == 0, err) != 0) return -1;
    config->out_dir = run->out_dir;
    config->resume = options->resume != NULL;
    config->quiet = options->quiet;
    config->progress_lines = !cli_progress_redraw();
    config->stop_after_steps = options->stop_after_steps;
    config->checkpoint_every_steps = options->checkpoint_every_steps;
    /* Issue 24: the environment is read here, not in the library. */
    const char *memory_limit = getenv("SIMCLR_MEMORY_LIMIT");
    if (memory_limit && *memory_limit) {
        char *end = NULL;
        unsigned long long bytes = strtoull(memory_limit, &end, 10);
        if (*end != '\0' || bytes == 0)
            return simclr_error_input(err, "SIMCLR_MEMORY_LIMIT '%s': expected a number of bytes", memory_limit);
        config->memory_limit = (size_t)bytes;
    }
    config->debug_gradients_dir = getenv("SIMCLR_DEBUG_DUMP_GRADIENTS");
    config->checkpoint_every_seconds = options->checkpoint_every_minutes * 60.0;
    if (options->knn_k_given && options->knn_k > 0) {
        size_t *bank = NULL, bank_count = 0;
        if (simclr_train_labeled_subset(ds, config, &bank, &bank_count, err) != 0) return -1;
        free(bank);
        if ((size_t)options->knn_k > bank_count)
            return simclr_error_input(err, "--knn-k %lld: larger than the kNN memory bank (%zu labeled "
                                           "training images); use at most %zu, or 0 to turn the "
                                           "monitor off",
                                      options->knn_k, bank_count, bank_count);
    }
    if (check_batches_fit(options, start, ds, config, err) != 0) return -1;
    if (train_cli_choose_storage(options, ds, config, err) != 0) return -1;
    config->stop_requested = cli_stop_flag();
    if (options->threads > 0) omp_set_num_threads((int)options->threads);

    dataset_fingerprint fingerprint;
    char from_sha256[SIMCLR_DIGEST_HEX_MAX] = "";
    if (dataset_fingerprint_compute(ds->path, &fingerprint, err) != 0) return -1;
    dataset_fingerprint labeled_fingerprint = {0};
    if (options->data.labeled_dir &&
        dataset_fingerprint_compute(options->data.labeled_dir, &labeled_fingerprint, err) != 0)
        return -1;
    if (start->from && simclr_digest_file(start->from, SIMCLR_DIGEST_SHA256, from_sha256, err) != 0) return -1;
    run_record_source source = {.command = start->command,
                                .argc = start->argc,
                                .argv = start->argv,
                                .ds = ds,
                                .stl10_fold = (int)options->data.stl10_fold,
                                .cifar100_coarse = options->data.cifar100_coarse,
                                .labeled_dir = options->data.labeled_dir,
                                .file_list = options->data.file_list,
                                .dataset_fingerprint_sha256 = fingerprint.sha256,
                                .dataset_file_count = fingerprint.file_count,
                                .dataset_file_bytes = fingerprint.total_bytes,
                                .labeled_dir_sha256 = labeled_fingerprint.sha256,
                                .from = start->from,
                                .from_sha256 = from_sha256,
                                .threads = omp_get_max_threads(),
                                .ranks = simclr_communicator_size(comm),
                                .quiet = options->quiet,
                                .force = options->force};
    if (run_record_build(&run->record, &source, config, err) != 0) return -1;
    config->checkpoint_metadata = run->record.metadata;
    config->checkpoint_metadata_count = run->record.count;
    if (options->resume) {
        char checkpoint[4096];
        if (run_directory_resume_checkpoint(start->command, run->out_dir, checkpoint, sizeof checkpoint,
                                            err) != 0 ||
            simclr_train_check_resume(config, checkpoint, err) != 0) /* issue 24: the library's rule */
            goto fail;
    } else if (!options->overwrite && run_directory_check_fresh(start->command, run->out_dir, err) != 0) {
        goto fail;
    }
    /* Issue 14: rank 0 alone measures and prints the estimate (its refusal ends the job). */
    if (simclr_communicator_is_root(comm) && estimate_runs(options, start, ds, config, err) != 0) goto fail;
    /* Issue 27: a folder dataset's pixels only now, after every check that depends on sizes. */
    if (simclr_dataset_load_pixels(ds, err) != 0) goto fail;

    /* Issue 14: every rank has checked before rank 0 writes (a rank that failed ends the job). */
    simclr_communicator_barrier(comm);
    if (comm)
        comm->threads = omp_get_max_threads();
    /* Everything is checked: from here on the run writes (rank 0 alone). */
    if (!simclr_communicator_is_root(comm)) return 0;
    if (defaulted) printf("Output directory: %s\n", run->out_dir);
    if (cli_make_directory("--out", run->out_dir, err) != 0) goto fail;
    snprintf(run->command, sizeof run->command, "%s", start->command);
    snprintf(run->config_path, sizeof run->config_path, "%s/%s_config.json", run->out_dir, start->command);
    /* Issue 24: --overwrite keeps the old run until the new one writes its first file. */
    if (options->overwrite) {
        config->before_first_write = replace_old_run;
        config->before_first_write_context = run;
        return 0;
    }
    if (run_record_write_json(&run->record, run->config_path, err) != 0) goto fail;
    return 0;
fail:
    run_record_free(&run->record);
    return -1;
}

void train_run_free(train_run *run) { run_record_free(&run->record); }

void train_cli_print_maximum(const simclr_history *hist, const char *metric)
{
    printf("Maximal validation accuracy: %.2f%%\n", simclr_history_max(hist, metric) * 100.0);
}
