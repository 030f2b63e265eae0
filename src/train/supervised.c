/* The supervised runs: the baseline (fresh encoder) and finetuning (pretrained encoder), each
 * with weak augmentation and a fresh Dense(num_classes), over the labeled subset in batches of
 * labeled_batch, evaluated on the test split after every epoch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/checkpoint.h"
#include "simclr/loss.h"
#include "simclr/sampler.h"
#include "train_engine.h"
#include "train_internal.h"

/* The running sums of an epoch and the metrics computed from them (issue 24: by name). */
enum { SUM_LOSS, SUM_CORRECT, SUM_IMAGES, SUPERVISED_SUM_COUNT };
static const char *const SUPERVISED_SUMS[SUPERVISED_SUM_COUNT] = {"loss_x_images", "correct", "images"};
/* Both per image (the last batch of an epoch may be partial). */
static const train_metric SUPERVISED_METRICS[] = {{"acc", SUM_CORRECT, SUM_IMAGES}, {"loss", SUM_LOSS, SUM_IMAGES}};
static const train_run_kind SUPERVISED_KIND = {"classifier", SUPERVISED_SUMS, SUPERVISED_SUM_COUNT, SUPERVISED_METRICS,
                                               2, "val_acc", "val_loss"};

typedef struct supervised_state {
    train_base base; /* encoder, classifier, stream, buffers */
    size_t *batch_indices;
    size_t *next_indices;  /* the next step's, for a streamed dataset's decoder pool */
    size_t natural_steps; /* of one pass over the labeled subset */
    size_t steps;         /* per epoch */
    const simclr_dataset *ds;
    const simclr_train_config *config;
} supervised_state;

static void supervised_state_free(supervised_state *state)
{
    simclr_train_base_free(&state->base);
    free(state->batch_indices);
    free(state->next_indices);
}

static int supervised_setup(supervised_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                            const char *from, simclr_error *err)
{
    if (simclr_train_base_open_stream(&state->base, ds, config, err) != 0) return -1;
    size_t max_batch = config->labeled_batch > config->test_batch ? config->labeled_batch
                                                                   : config->test_batch;
    size_t needed = 0;
    if (simclr_train_memory_bytes(ds, config, 0, &needed, err) != 0) return -1;
    if (simclr_train_check_memory("training", needed, config->memory_limit, "lower --labeled-batch, --test-batch or --width",
                           err) != 0)
        return -1;
    if (simclr_model_build_encoder(&state->base.encoder, &config->model, (int)max_batch, err) != 0) return -1;
    if (simclr_model_build_classifier(&state->base.classifier, "classifier", &config->model, (int)max_batch,
                               err) != 0)
        return -1;
    if (from) {
        if (simclr_checkpoint_check_model(from, &config->model, "--from", err) != 0 ||
            simclr_checkpoint_load_part(from, &state->base.encoder, NULL, err) != 0)
            return -1;
    } else {
        simclr_network_init_weights(&state->base.encoder, config->seed);
    }
    simclr_network_init_weights(&state->base.classifier, config->seed);
    if (simclr_network_optimizer_init(&state->base.encoder_optimizer, &state->base.encoder, &config->optimizer, err) != 0 ||
        simclr_network_optimizer_init(&state->base.classifier_optimizer, &state->base.classifier, &config->optimizer,
                                    err) != 0)
        return -1;
    return simclr_train_base_finish(&state->base, ds, config, max_batch, max_batch, err);
}

/* One optimisation step on a batch of `count` labeled images, of which this rank read its share's
 * pixels and labels (one process: all of them): the gradients of the batch's mean loss (issue 14:
 * the global batch's, summed over the ranks); *loss is the batch mean. */
static int supervised_step(supervised_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                           int epoch, size_t step, size_t count, float learning_rate, int inject_nan,
                           float *loss, int *correct, simclr_error *err)
{
    simclr_communicator *comm = config->communicator;
    int ranks = simclr_communicator_size(comm), classes = config->model.num_classes;
    simclr_batch_share share = simclr_batch_share_of(0, count, simclr_communicator_rank(comm), ranks);
    size_t own = share.labeled_count;
    if (count < (size_t)ranks)
        return simclr_error_input(err, "a batch of %zu labeled images (epoch %d, step %zu) for %d ranks: every "
                                  "rank needs one; use fewer ranks or a --labeled-batch / --labeled-per-class "
                                  "whose last batch is at least %d images", count, epoch + 1, step + 1, ranks,
                                  ranks);
    simclr_network *const interruptible[2] = {&state->base.encoder, &state->base.classifier};
    simclr_train_set_interruptible(config, interruptible, 2, 1); /* until the optimizer */
    simclr_augment_batch_from(state->base.pixels, own, ds->height, ds->width, ds->channels,
                              &SIMCLR_AUGMENT_CLASSIFICATION, config->seed, (uint64_t)epoch, step,
                              share.labeled_first, 0, state->base.inputs);
    if (simclr_network_forward(&state->base.encoder, state->base.inputs, (int)own, err) != 0) return -1;
    if (simclr_network_forward(&state->base.classifier, simclr_network_output(&state->base.encoder), (int)own, err) != 0)
        return -1;
    *loss = simclr_softmax_cross_entropy(simclr_network_output(&state->base.classifier), state->base.labels, (int)own,
                                         classes, state->base.d_logits, correct);
    if (ranks > 1) { /* issue 14: the gradient of the global batch's mean, its loss and hits */
        simclr_train_rescale(state->base.d_logits, own * (size_t)classes, (float)own / (float)count);
        double sums[2] = {(double)*loss * (double)own, (double)*correct};
        simclr_communicator_allreduce_doubles(comm, sums, 2);
        *loss = (float)(sums[0] / (double)count);
        *correct = (int)sums[1];
    }
    if (inject_nan) *loss = NAN;
    if (simclr_check_finite(loss, 1, "loss", epoch + 1, step, err) != 0) return -1;
    simclr_network_zero_grads(&state->base.encoder);
    simclr_network_zero_grads(&state->base.classifier);
    /* The classifier's input gradient is the gradient w.r.t. the encoder's output. */
    float *d_features = state->base.encoder.d_output;
    if (simclr_network_backward(&state->base.classifier, state->base.d_logits, d_features, err) != 0) return -1;
    if (simclr_network_backward(&state->base.encoder, d_features, NULL, err) != 0) return -1;
    /* From here on the step changes the weights: it runs to its end. */
    simclr_train_set_interruptible(config, interruptible, 2, 0);
    simclr_network_allreduce_grads(comm, &state->base.encoder); /* one process: nothing */
    simclr_network_allreduce_grads(comm, &state->base.classifier);
    simclr_train_debug_dump_gradients(config, "supervised", epoch, step, &state->base.encoder, &state->base.classifier);
    if (simclr_check_finite(state->base.encoder.grads, state->base.encoder.param_count, "encoder gradients",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->base.classifier.grads, state->base.classifier.param_count,
                     "classifier gradients", epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->base.encoder_optimizer, learning_rate, state->base.encoder.params,
                            state->base.encoder.grads);
    simclr_optimizer_update(&state->base.classifier_optimizer, learning_rate, state->base.classifier.params,
                            state->base.classifier.grads);
    if (simclr_check_finite(state->base.encoder.params, state->base.encoder.param_count, "encoder weights",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->base.classifier.params, state->base.classifier.param_count,
                     "classifier weights", epoch + 1, step, err) != 0)
        return -1;
    return 0;
}

/* Step `step` of epoch `epoch`'s indices into out (past the natural end of the labeled set,
 * further passes reshuffle); returns how many. */
static size_t supervised_batch(supervised_state *state, int epoch, size_t step, size_t *out)
{
    size_t natural_steps = state->natural_steps;
    int64_t pass_epoch = step < natural_steps ? epoch : (int64_t)epoch * 1000003 + (int64_t)(step / natural_steps);
    return simclr_sampler_labeled_batch(&state->base.stream, pass_epoch, (int64_t)(step % natural_steps),
                                        state->config->labeled_batch, out);
}

/* Issue 25: a streamed dataset's decoder pool decodes this rank's share of the next step while
 * this one computes (not across an epoch's end: the evaluation's reads come first). */
static void supervised_prefetch_next(supervised_state *state, int epoch, size_t step)
{
    if (simclr_dataset_decode_threads(state->ds) == 0 || step + 1 >= state->steps) return;
    size_t count = supervised_batch(state, epoch, step + 1, state->next_indices);
    simclr_communicator *comm = state->config->communicator;
    simclr_batch_share share =
        simclr_batch_share_of(0, count, simclr_communicator_rank(comm), simclr_communicator_size(comm));
    simclr_dataset_images next = {SIMCLR_DATASET_SPLIT_TRAIN, state->next_indices + share.labeled_first,
                                  share.labeled_count};
    simclr_dataset_prefetch(state->ds, &next, 1);
}

/* The engine's step: draws the step's batch, reads this rank's share and trains on it. */
static int supervised_task_step(void *context, int epoch, size_t step, float learning_rate, int inject_nan,
                                double *sums, simclr_error *err)
{
    supervised_state *state = context;
    const simclr_dataset *ds = state->ds;
    const simclr_train_config *config = state->config;
    size_t count = supervised_batch(state, epoch, step, state->batch_indices);
    /* Issue 14: each rank reads its share of the batch (one process: all of it). */
    simclr_batch_share share = simclr_batch_share_of(0, count, simclr_communicator_rank(config->communicator),
                                                     simclr_communicator_size(config->communicator));
    if (simclr_batch_read_images(ds, SIMCLR_DATASET_SPLIT_TRAIN, state->batch_indices + share.labeled_first,
                                 share.labeled_count, state->base.pixels, err) != 0)
        return -1;
    simclr_batch_read_labels(ds, SIMCLR_DATASET_SPLIT_TRAIN, state->batch_indices + share.labeled_first,
                             share.labeled_count, state->base.labels);
    supervised_prefetch_next(state, epoch, step);
    float loss = 0.0f;
    int correct = 0;
    if (supervised_step(state, ds, config, epoch, step, count, learning_rate, inject_nan, &loss, &correct, err) != 0)
        return -1;
    sums[SUM_LOSS] += (double)loss * (double)count;
    sums[SUM_CORRECT] += (double)correct;
    sums[SUM_IMAGES] += (double)count;
    return 0;
}

static void supervised_describe(void *context, FILE *log)
{
    supervised_state *state = context;
    simclr_network_print_summary(&state->base.encoder, log);
    simclr_network_print_summary(&state->base.classifier, log);
}

static void supervised_state_release(void *state)
{
    supervised_state_free(state);
    free(state);
}

int simclr_train_supervised_open(train_session *session, const simclr_dataset *ds, const simclr_train_config *config,
                                 const char *run, const char *from, simclr_error *err)
{
    memset(session, 0, sizeof *session);
    if (simclr_train_check_run(ds, config, 0, err) != 0) return -1;
    supervised_state *state = simclr_checked_calloc(1, sizeof *state, "training state", err);
    if (!state) return -1;
    state->ds = ds;
    state->config = config;
    session->state = state;
    session->free_state = supervised_state_release;
    if (supervised_setup(state, ds, config, from, err) != 0) goto fail;
    state->natural_steps = simclr_sampler_labeled_steps(&state->base.stream, config->labeled_batch);
    size_t steps = config->steps_per_epoch ? config->steps_per_epoch : state->natural_steps;
    state->steps = steps;
    state->batch_indices = simclr_checked_calloc(config->labeled_batch, sizeof(size_t), "batch indices", err);
    state->next_indices = simclr_checked_calloc(config->labeled_batch, sizeof(size_t), "batch indices", err);
    if (!state->batch_indices || !state->next_indices) goto fail;
    if (simclr_train_schedule(config, config->labeled_batch, steps, &session->schedule, err) != 0) goto fail;
    session->parts[0] = (simclr_checkpoint_part){.net = &state->base.encoder, .optimizer = &state->base.encoder_optimizer};
    session->parts[1] =
        (simclr_checkpoint_part){.net = &state->base.classifier, .optimizer = &state->base.classifier_optimizer};
    train_task task = simclr_train_base_task(&state->base, config, run, &SUPERVISED_KIND, state, supervised_task_step,
                                             supervised_describe);
    task.interruptible[task.interruptible_count++] = &state->base.classifier; /* and the encoder */
    task.steps_per_epoch = steps;
    task.schedule = &session->schedule;
    task.parts = session->parts;
    task.part_count = 2;
    session->task = task;
    return 0;
fail:
    simclr_train_session_close(session);
    return -1;
}

static int train_supervised(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                            const char *from, simclr_history *hist, simclr_error *err)
{
    simclr_train_engine_history_init(hist, &SUPERVISED_KIND, config->knn_k > 0);
    train_session session;
    if (simclr_train_supervised_open(&session, ds, config, run, from, err) != 0) return -1;
    int status = simclr_train_engine_run(ds, config, &session.task, hist, err);
    simclr_train_session_close(&session);
    return status;
}

int simclr_train_baseline(const simclr_dataset *ds, const simclr_train_config *config, simclr_history *hist, simclr_error *err)
{
    return train_supervised(ds, config, "baseline", NULL, hist, err);
}

int simclr_train_finetune(const simclr_dataset *ds, const simclr_train_config *config, const char *from, simclr_history *hist,
                   simclr_error *err)
{
    return train_supervised(ds, config, "finetune", from, hist, err);
}
