/* Contrastive pretraining as in the seed: each step takes unlabeled_batch + labeled_batch images,
 * augments each twice (strong), runs both views through encoder and projection head as one batch
 * of 2B, and trains both by the contrastive loss; then the linear probe is trained on the labeled
 * images (weak augmentation) over encoder features in inference mode, with no gradient into the
 * encoder. After every epoch the probe is evaluated on the test split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/checkpoint.h"
#include "simclr/loss.h"
#include "simclr/sampler.h"
#include "method/method_internal.h"
#include "train_engine.h"
#include "train_internal.h"
#include "util/plural.h"

/* The running sums of an epoch and the metrics computed from them (issue 24: by name). */
enum { SUM_C_LOSS, SUM_C_CORRECT, SUM_C_TOTAL, SUM_P_LOSS, SUM_P_CORRECT, SUM_P_TOTAL, PRETRAIN_SUM_COUNT };
static const char *const PRETRAIN_SUMS[PRETRAIN_SUM_COUNT] = {"c_loss",  "c_correct", "c_total",
                                                              "p_loss",  "p_correct", "p_total"};
/* Accuracies per image, losses per step (the seed's Keras metrics). */
static const train_metric PRETRAIN_METRICS[] = {{"c_acc", SUM_C_CORRECT, SUM_C_TOTAL},
                                                {"c_loss", SUM_C_LOSS, TRAIN_METRIC_PER_STEP},
                                                {"p_acc", SUM_P_CORRECT, SUM_P_TOTAL},
                                                {"p_loss", SUM_P_LOSS, TRAIN_METRIC_PER_STEP}};
static const train_run_kind PRETRAIN_KIND = {"linear_probe", PRETRAIN_SUMS, PRETRAIN_SUM_COUNT, PRETRAIN_METRICS, 4,
                                             "val_p_acc", "val_p_loss"};
/* Issue 25: pretraining without labeled images (labeled_batch 0): the method's metrics alone, no
 * probe, no evaluation, no classifier in the checkpoint. */
static const train_run_kind PRETRAIN_UNLABELED_KIND = {"", PRETRAIN_SUMS, 3, PRETRAIN_METRICS, 2, NULL, NULL};

typedef struct pretrain_state {
    train_base base;          /* encoder, linear probe (base.classifier), stream, buffers (base.inputs:
                                 the two views of B = unlabeled + labeled images, view 1 then 2) */
    simclr_network head;
    simclr_optimizer head_optimizer;
    simclr_lr_schedule schedule;  /* of encoder and head; the probe's rate is constant */
    size_t *unlabeled_batch_indices, *labeled_batch_indices;
    size_t *next_unlabeled_indices, *next_labeled_indices; /* the next step's, for the decoder pool */
    simclr_method method;   /* the self-supervised method: loss, target networks, queue */
    /* Issue 14: this rank's share of every batch (the whole batch in one process). */
    simclr_communicator *comm;
    simclr_batch_share share;
    const simclr_dataset *ds;
    const simclr_train_config *config;
} pretrain_state;

static void pretrain_state_free(pretrain_state *state)
{
    simclr_train_base_free(&state->base);
    simclr_network_free(&state->head);
    simclr_optimizer_free(&state->head_optimizer);
    free(state->unlabeled_batch_indices);
    free(state->labeled_batch_indices);
    free(state->next_unlabeled_indices);
    free(state->next_labeled_indices);
    simclr_method_free(&state->method);
}

static int pretrain_setup(pretrain_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                          simclr_error *err)
{
    if (simclr_train_base_open_stream(&state->base, ds, config, err) != 0) return -1;
    size_t batch = config->unlabeled_batch + config->labeled_batch;
    size_t views = 2 * batch;
    size_t max_batch = views > config->test_batch ? views : config->test_batch;
    size_t needed = 0;
    /* Issue 14: data-parallel over the communicator's ranks (one process: the whole batch). */
    state->comm = config->communicator;
    int ranks = simclr_communicator_size(state->comm);
    state->share = simclr_batch_share_of(config->unlabeled_batch, config->labeled_batch,
                                         simclr_communicator_rank(state->comm), ranks);
    if (simclr_train_memory_bytes(ds, config, 1, &needed, err) != 0) return -1;
    if (simclr_train_check_memory("pretraining", needed, config->memory_limit,
                           "lower --unlabeled-batch, --labeled-batch or --width", err) != 0)
        return -1;
    int probe = config->labeled_batch > 0; /* issue 25: none without labeled images */
    if (simclr_model_build_encoder(&state->base.encoder, &config->model, (int)max_batch, err) != 0 ||
        simclr_model_build_projection_head(&state->head, &config->model, (int)views, err) != 0 ||
        (probe && simclr_model_build_classifier(&state->base.classifier, "linear_probe", &config->model,
                                                (int)max_batch, err) != 0))
        return -1;
    simclr_network_init_weights(&state->base.encoder, config->seed);
    simclr_network_init_weights(&state->head, config->seed);
    if (probe) simclr_network_init_weights(&state->base.classifier, config->seed);
    simclr_optimizer_config probe_optimizer = simclr_train_probe_optimizer(config);
    if (simclr_network_optimizer_init(&state->base.encoder_optimizer, &state->base.encoder, &config->optimizer, err) != 0 ||
        simclr_network_optimizer_init(&state->head_optimizer, &state->head, &config->optimizer, err) != 0 ||
        (probe && simclr_network_optimizer_init(&state->base.classifier_optimizer, &state->base.classifier,
                                                &probe_optimizer, err) != 0))
        return -1;
    if (simclr_train_schedule(config, batch, state->base.stream.steps_per_epoch, &state->schedule, err) != 0)
        return -1;
    state->unlabeled_batch_indices = simclr_checked_calloc(config->unlabeled_batch, sizeof(size_t),
                                                    "batch indices", err);
    state->labeled_batch_indices = simclr_checked_calloc(config->labeled_batch, sizeof(size_t),
                                                  "batch indices", err);
    state->next_unlabeled_indices = simclr_checked_calloc(config->unlabeled_batch, sizeof(size_t),
                                                          "batch indices", err);
    state->next_labeled_indices = simclr_checked_calloc(config->labeled_batch, sizeof(size_t),
                                                        "batch indices", err);
    if (!state->unlabeled_batch_indices || !state->labeled_batch_indices || !state->next_unlabeled_indices ||
        !state->next_labeled_indices)
        return -1;
    simclr_method_settings settings = simclr_train_method_settings(config);
    if (simclr_method_create(&state->method, &settings, &state->base.encoder, &state->head, (int)batch,
                             (long long)state->schedule.total_steps, err) != 0)
        return -1;
    simclr_network_set_communicator(&state->head, state->comm); /* global BatchNorm */
    return simclr_train_base_finish(&state->base, ds, config, max_batch, config->labeled_batch, err);
}

typedef struct step_metrics {
    simclr_method_result method; /* c_loss, c_acc */
    float probe_loss;
    int probe_correct;
} step_metrics;

/* Issue 25: a streamed dataset's decoder pool decodes the next step's share while this one
 * computes (not across an epoch's end: the evaluation's reads come first and would drop it). */
static void pretrain_prefetch_next(pretrain_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                                   int epoch, size_t step)
{
    (void)config;
    if (simclr_dataset_decode_threads(ds) == 0 || step + 1 >= state->base.stream.steps_per_epoch) return;
    simclr_sampler_batch(&state->base.stream, epoch, (int64_t)step + 1, state->next_unlabeled_indices,
                         state->next_labeled_indices);
    const simclr_batch_share *share = &state->share;
    simclr_dataset_images next[2] = {
        {state->base.stream.unlabeled_split, state->next_unlabeled_indices + share->unlabeled_first,
         share->unlabeled_count},
        {SIMCLR_DATASET_SPLIT_TRAIN, state->next_labeled_indices + share->labeled_first, share->labeled_count}};
    simclr_dataset_prefetch(ds, next, 2);
}

/* The step's batch: drawn, read (decoded when streamed) and augmented into the two views. */
static int pretrain_views(pretrain_state *state, const simclr_dataset *ds, const simclr_train_config *config, int epoch,
                          size_t step, simclr_error *err)
{
    /* This rank's share of the global batch (one process: all of it): `unlabeled` images from
     * unlabeled_first, `labeled` from labeled_first, drawn as those images of the whole batch. */
    const simclr_batch_share *share = &state->share;
    size_t unlabeled = share->unlabeled_count, labeled = share->labeled_count;
    size_t batch = unlabeled + labeled;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    simclr_sampler_batch(&state->base.stream, epoch, (int64_t)step, state->unlabeled_batch_indices,
                  state->labeled_batch_indices);
    /* Both labeled and unlabeled images are used, without labels: unlabeled first, as the seed
     * concatenates them. */
    if (simclr_batch_read_images(ds, state->base.stream.unlabeled_split,
                                 state->unlabeled_batch_indices + share->unlabeled_first, unlabeled, state->base.pixels,
                                 err) != 0 ||
        simclr_batch_read_images(ds, SIMCLR_DATASET_SPLIT_TRAIN, state->labeled_batch_indices + share->labeled_first,
                                 labeled, state->base.pixels + unlabeled * image_bytes, err) != 0)
        return -1;
    pretrain_prefetch_next(state, ds, config, epoch, step);
    /* The seed policy is simclr_augment_batch with SIMCLR_AUGMENT_CONTRASTIVE, as before; the
     * labeled images are images unlabeled_batch + i of the global batch. */
    for (uint64_t view = 1; view <= 2; view++) {
        float *out = state->base.inputs + (view - 1) * batch * image_bytes;
        simclr_augment_policy_batch_from(&config->augment, state->base.pixels, unlabeled, ds->height, ds->width,
                                         ds->channels, config->seed, (uint64_t)epoch, step,
                                         share->unlabeled_first, view, out);
        simclr_augment_policy_batch_from(&config->augment, state->base.pixels + unlabeled * image_bytes, labeled,
                                         ds->height, ds->width, ds->channels, config->seed, (uint64_t)epoch,
                                         step, config->unlabeled_batch + share->labeled_first, view,
                                         out + unlabeled * image_bytes);
    }
    return 0;
}

static int pretrain_task_views(void *context, int epoch, size_t step, simclr_error *err)
{
    pretrain_state *state = context;
    return pretrain_views(state, state->ds, state->config, epoch, step, err);
}

static int pretrain_step(pretrain_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                         int epoch, size_t step, float learning_rate, int inject_nan, step_metrics *metrics,
                         simclr_error *err)
{
    if (pretrain_views(state, ds, config, epoch, step, err) != 0) return -1;
    const simclr_batch_share *share = &state->share;
    size_t unlabeled = share->unlabeled_count, labeled = share->labeled_count;
    size_t batch = unlabeled + labeled;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    int ranks = simclr_communicator_size(state->comm);

    /* The method: loss and gradients into encoder and head (src/method/; over MPI the simclr
     * method's loss is the global one, issue 14). */
    simclr_network *const interruptible[2] = {&state->base.encoder, &state->head};
    simclr_train_set_interruptible(config, interruptible, 2, 1);
    int stepped = simclr_method_step(&state->method, state->base.inputs, (int)batch, &metrics->method, err);
    /* From here on the step changes the weights: it runs to its end. */
    simclr_train_set_interruptible(config, interruptible, 2, 0);
    if (stepped != 0) return -1;
    if (inject_nan) metrics->method.loss = NAN;
    if (simclr_check_finite(&metrics->method.loss, 1, "the method's loss (c_loss)", epoch + 1, step, err) != 0)
        return -1;
    simclr_network_allreduce_grads(state->comm, &state->base.encoder); /* issue 14; one process: nothing */
    simclr_network_allreduce_grads(state->comm, &state->head);
    simclr_train_debug_dump_gradients(config, "contrastive", epoch, step, &state->base.encoder, &state->head);
    if (simclr_check_finite(state->base.encoder.grads, state->base.encoder.param_count, "encoder gradients",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->head.grads, state->head.param_count, "projection_head gradients",
                     epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->base.encoder_optimizer, learning_rate, state->base.encoder.params, state->base.encoder.grads);
    simclr_optimizer_update(&state->head_optimizer, learning_rate, state->head.params, state->head.grads);
    if (simclr_check_finite(state->base.encoder.params, state->base.encoder.param_count, "encoder weights",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->head.params, state->head.param_count, "projection_head weights",
                     epoch + 1, step, err) != 0)
        return -1;
    long long global_step = (long long)epoch * (long long)state->base.stream.steps_per_epoch + (long long)step;
    if (simclr_method_after_step(&state->method, learning_rate, global_step, err) != 0) return -1;

    metrics->probe_loss = 0.0f;
    metrics->probe_correct = 0;
    if (config->labeled_batch == 0) return 0; /* issue 25: no labeled images, no probe */
    /* The probe: weak augmentation of the labeled images, encoder in inference mode (no gradient
     * reaches it), Dense(num_classes) trained by cross-entropy. */
    simclr_batch_read_labels(ds, SIMCLR_DATASET_SPLIT_TRAIN, state->labeled_batch_indices + share->labeled_first,
                      labeled, state->base.labels);
    simclr_network_zero_grads(&state->base.classifier);
    metrics->probe_loss = 0.0f;
    metrics->probe_correct = 0;
    if (labeled > 0) { /* a rank's labeled share may be empty */
        simclr_augment_batch_from(state->base.pixels + unlabeled * image_bytes, labeled, ds->height, ds->width,
                                  ds->channels, &SIMCLR_AUGMENT_CLASSIFICATION, config->seed, (uint64_t)epoch,
                                  step, share->labeled_first, 3, state->base.inputs);
        simclr_network_set_training(&state->base.encoder, 0); /* batchnorm on running statistics */
        int status = simclr_network_forward(&state->base.encoder, state->base.inputs, (int)labeled, err);
        simclr_network_set_training(&state->base.encoder, 1);
        if (status != 0) return -1;
        if (simclr_network_forward(&state->base.classifier, simclr_network_output(&state->base.encoder), (int)labeled, err) != 0)
            return -1;
        metrics->probe_loss = simclr_softmax_cross_entropy(simclr_network_output(&state->base.classifier), state->base.labels,
                                                    (int)labeled, config->model.num_classes,
                                                    state->base.d_logits, &metrics->probe_correct);
        if (ranks > 1) /* issue 14: the gradient of the global batch's mean */
            simclr_train_rescale(state->base.d_logits, labeled * (size_t)config->model.num_classes,
                                 (float)labeled / (float)config->labeled_batch);
        if (simclr_network_backward(&state->base.classifier, state->base.d_logits, NULL, err) != 0) return -1;
    }
    if (ranks > 1) {
        simclr_network_allreduce_grads(state->comm, &state->base.classifier);
        double probe[2] = {(double)metrics->probe_loss * (double)labeled, (double)metrics->probe_correct};
        simclr_communicator_allreduce_doubles(state->comm, probe, 2);
        metrics->probe_loss = (float)(probe[0] / (double)config->labeled_batch);
        metrics->probe_correct = (int)probe[1];
    }
    simclr_train_debug_dump_gradients(config, "probe", epoch, step, &state->base.classifier, NULL);
    if (simclr_check_finite(state->base.classifier.grads, state->base.classifier.param_count, "linear_probe gradients",
                     epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->base.classifier_optimizer, simclr_train_probe_learning_rate(config),
                            state->base.classifier.params, state->base.classifier.grads);
    if (simclr_check_finite(state->base.classifier.params, state->base.classifier.param_count, "linear_probe weights",
                     epoch + 1, step, err) != 0)
        return -1;
    return 0;
}

/* The engine's step: one pretraining step, its metrics added to the epoch's sums. */
static int pretrain_task_step(void *context, int epoch, size_t step, float learning_rate, int inject_nan, double *sums,
                              simclr_error *err)
{
    pretrain_state *state = context;
    step_metrics result;
    if (pretrain_step(state, state->ds, state->config, epoch, step, learning_rate, inject_nan, &result, err) != 0)
        return -1;
    sums[SUM_C_LOSS] += result.method.loss;
    sums[SUM_C_CORRECT] += result.method.correct;
    sums[SUM_C_TOTAL] += result.method.total;
    if (state->config->labeled_batch == 0) return 0; /* no probe (PRETRAIN_UNLABELED_KIND) */
    sums[SUM_P_LOSS] += result.probe_loss;
    sums[SUM_P_CORRECT] += result.probe_correct;
    sums[SUM_P_TOTAL] += (double)state->config->labeled_batch;
    return 0;
}

static void pretrain_describe(void *context, FILE *log)
{
    pretrain_state *state = context;
    simclr_network_print_summary(&state->base.encoder, log);
    simclr_network_print_summary(&state->head, log);
    if (state->config->labeled_batch > 0) simclr_network_print_summary(&state->base.classifier, log);
    fprintf(log, "batch size is %zu (unlabeled) + %zu (labeled), %zu step%s per epoch\n",
            state->config->unlabeled_batch, state->config->labeled_batch, state->base.stream.steps_per_epoch,
            simclr_plural((long long)state->base.stream.steps_per_epoch));
}

static void pretrain_state_release(void *state)
{
    pretrain_state_free(state);
    free(state);
}

int simclr_train_pretrain_open(train_session *session, const simclr_dataset *ds, const simclr_train_config *config,
                               simclr_error *err)
{
    memset(session, 0, sizeof *session);
    if (simclr_train_check_run(ds, config, 1, err) != 0) return -1;
    pretrain_state *state = simclr_checked_calloc(1, sizeof *state, "pretraining state", err);
    if (!state) return -1;
    state->ds = ds;
    state->config = config;
    session->state = state;
    session->free_state = pretrain_state_release;
    if (pretrain_setup(state, ds, config, err) != 0) {
        simclr_train_session_close(session);
        return -1;
    }
    session->parts[0] = (simclr_checkpoint_part){.net = &state->base.encoder, .optimizer = &state->base.encoder_optimizer};
    session->parts[1] = (simclr_checkpoint_part){.net = &state->head, .optimizer = &state->head_optimizer};
    int probe = config->labeled_batch > 0, part_count = 2;
    if (probe)
        session->parts[part_count++] =
            (simclr_checkpoint_part){.net = &state->base.classifier, .optimizer = &state->base.classifier_optimizer};
    for (int p = 0; p < state->method.part_count; p++) session->parts[part_count++] = state->method.parts[p];
    train_task task = simclr_train_base_task(&state->base, config, "pretrain",
                                             probe ? &PRETRAIN_KIND : &PRETRAIN_UNLABELED_KIND, state,
                                             pretrain_task_step, pretrain_describe);
    if (!probe) task.evaluated = NULL; /* no classifier: nothing to evaluate */
    task.steps_per_epoch = state->base.stream.steps_per_epoch;
    task.schedule = &state->schedule;
    task.parts = session->parts;
    task.part_count = part_count;
    task.interruptible[task.interruptible_count++] = &state->head; /* and the encoder */
    task.views = pretrain_task_views;
    session->task = task;
    return 0;
}

int simclr_train_pretrain(const simclr_dataset *ds, const simclr_train_config *config, simclr_history *hist,
                          simclr_error *err)
{
    simclr_train_engine_history_init(hist, config->labeled_batch > 0 ? &PRETRAIN_KIND : &PRETRAIN_UNLABELED_KIND,
                                     config->knn_k > 0);
    train_session session;
    if (simclr_train_pretrain_open(&session, ds, config, err) != 0) return -1;
    int status = simclr_train_engine_run(ds, config, &session.task, hist, err);
    simclr_train_session_close(&session);
    return status;
}
