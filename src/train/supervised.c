/* The supervised runs: the baseline (fresh encoder) and finetuning (pretrained encoder), each
 * with weak augmentation and a fresh Dense(num_classes), over the labeled subset in batches of
 * labeled_batch, evaluated on the test split after every epoch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/checkpoint.h"
#include "simclr/loss.h"
#include "simclr/progress.h"
#include "simclr/sampler.h"
#include "train_internal.h"
#include "util/plural.h"

static const char *const SUPERVISED_METRICS[] = {"acc", "loss", "val_acc", "val_loss", "lr", "val_knn_acc"};
/* Without the kNN monitor (knn_k 0) the history has no val_knn_acc column (its last). */
enum { SUPERVISED_METRIC_COUNT = 6 };

typedef struct supervised_state {
    simclr_network encoder, classifier;
    simclr_optimizer encoder_optimizer, classifier_optimizer;
    simclr_sampler stream;
    simclr_knn_monitor knn;
    size_t *labeled_indices;
    size_t labeled_count;
    uint8_t *pixels;
    float *inputs;
    float *d_logits;
    int32_t *labels;
} supervised_state;

static void supervised_state_free(supervised_state *state)
{
    simclr_network_free(&state->encoder);
    simclr_network_free(&state->classifier);
    simclr_optimizer_free(&state->encoder_optimizer);
    simclr_optimizer_free(&state->classifier_optimizer);
    simclr_sampler_free(&state->stream);
    simclr_knn_monitor_free(&state->knn);
    free(state->labeled_indices);
    free(state->pixels);
    free(state->inputs);
    free(state->d_logits);
    free(state->labels);
}

static int supervised_setup(supervised_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                            const char *from, simclr_error *err)
{
    if (simclr_train_labeled_subset(ds, config, &state->labeled_indices, &state->labeled_count, err) != 0)
        return -1;
    simclr_sampler_config stream_config = {.unlabeled_batch = config->unlabeled_batch,
                                    .labeled_batch = config->labeled_batch,
                                    .steps_per_epoch = config->steps_per_epoch,
                                    .seed = config->seed};
    if (simclr_sampler_init(&state->stream, ds, state->labeled_indices, state->labeled_count,
                     &stream_config, err) != 0)
        return -1;
    size_t max_batch = config->labeled_batch > config->test_batch ? config->labeled_batch
                                                                   : config->test_batch;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    size_t needed = 0;
    if (simclr_train_memory_bytes(ds, config, 0, &needed, err) != 0) return -1;
    if (simclr_train_check_memory("training", needed, "lower --labeled-batch, --test-batch or --width",
                           err) != 0)
        return -1;
    if (simclr_model_build_encoder(&state->encoder, &config->model, (int)max_batch, err) != 0) return -1;
    if (simclr_model_build_classifier(&state->classifier, "classifier", &config->model, (int)max_batch,
                               err) != 0)
        return -1;
    if (from) {
        if (simclr_checkpoint_check_model(from, &config->model, "--from", err) != 0 ||
            simclr_checkpoint_load_part(from, &state->encoder, NULL, err) != 0)
            return -1;
    } else {
        simclr_network_init_weights(&state->encoder, config->seed);
    }
    simclr_network_init_weights(&state->classifier, config->seed);
    if (simclr_train_optimizer_init(&state->encoder_optimizer, &state->encoder, &config->optimizer, err) != 0 ||
        simclr_train_optimizer_init(&state->classifier_optimizer, &state->classifier, &config->optimizer,
                                    err) != 0)
        return -1;
    int classes = config->model.num_classes;
    state->pixels = simclr_checked_calloc(max_batch, image_bytes, "image batch", err);
    state->inputs = simclr_checked_calloc(max_batch * image_bytes, sizeof(float), "input batch", err);
    state->d_logits = simclr_checked_calloc(max_batch * (size_t)classes, sizeof(float), "logit gradients",
                                     err);
    state->labels = simclr_checked_calloc(max_batch, sizeof(int32_t), "labels", err);
    if (!state->pixels || !state->inputs || !state->d_logits || !state->labels) return -1;
    simclr_network_set_communicator(&state->encoder, config->communicator); /* issue 14: global BN */
    simclr_network_set_communicator(&state->classifier, config->communicator);
    if (config->knn_k > 0 &&
        simclr_knn_monitor_init(&state->knn, config, ds, state->labeled_indices, state->labeled_count,
                                (int)simclr_network_output_size(&state->encoder), err) != 0)
        return -1;
    return 0;
}

/* Issue 14: the step of one rank over its share of a batch of `count` images, whose pixels and
 * labels alone the caller read: the gradients of the global mean loss, summed over the ranks. */
static int supervised_step_share(supervised_state *state, const simclr_dataset *ds,
                                 const simclr_train_config *config, int epoch, size_t step, size_t count,
                                 float learning_rate, int inject_nan, float *loss, int *correct, simclr_error *err)
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
    simclr_augment_batch_from(state->pixels, own, ds->height, ds->width, ds->channels,
                              &SIMCLR_AUGMENT_CLASSIFICATION, config->seed, (uint64_t)epoch, step,
                              share.labeled_first, 0, state->inputs);
    if (simclr_network_forward(&state->encoder, state->inputs, (int)own, err) != 0) return -1;
    if (simclr_network_forward(&state->classifier, simclr_network_output(&state->encoder), (int)own, err) != 0)
        return -1;
    float local = simclr_softmax_cross_entropy(simclr_network_output(&state->classifier), state->labels,
                                               (int)own, classes, state->d_logits, correct);
    simclr_train_rescale(state->d_logits, own * (size_t)classes, (float)own / (float)count);
    double sums[2] = {(double)local * (double)own, (double)*correct};
    simclr_communicator_allreduce_doubles(comm, sums, 2);
    *loss = (float)(sums[0] / (double)count);
    *correct = (int)sums[1];
    if (inject_nan) *loss = NAN;
    if (simclr_check_finite(loss, 1, "loss", epoch + 1, step, err) != 0) return -1;
    simclr_network_zero_grads(&state->encoder);
    simclr_network_zero_grads(&state->classifier);
    float *d_features = state->encoder.d_output;
    if (simclr_network_backward(&state->classifier, state->d_logits, d_features, err) != 0) return -1;
    if (simclr_network_backward(&state->encoder, d_features, NULL, err) != 0) return -1;
    simclr_network_allreduce_grads(comm, &state->encoder);
    simclr_network_allreduce_grads(comm, &state->classifier);
    simclr_train_debug_dump_gradients(config, "supervised", epoch, step, &state->encoder, &state->classifier);
    if (simclr_check_finite(state->encoder.grads, state->encoder.param_count, "encoder gradients", epoch + 1,
                            step, err) != 0 ||
        simclr_check_finite(state->classifier.grads, state->classifier.param_count, "classifier gradients",
                            epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->encoder_optimizer, learning_rate, state->encoder.params, state->encoder.grads);
    simclr_optimizer_update(&state->classifier_optimizer, learning_rate, state->classifier.params,
                            state->classifier.grads);
    if (simclr_check_finite(state->encoder.params, state->encoder.param_count, "encoder weights", epoch + 1,
                            step, err) != 0 ||
        simclr_check_finite(state->classifier.params, state->classifier.param_count, "classifier weights",
                            epoch + 1, step, err) != 0)
        return -1;
    return 0;
}

/* One optimisation step on `count` labeled images; returns the batch mean loss via *loss. */
static int supervised_step(supervised_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                           int epoch, size_t step, size_t count, float learning_rate, int inject_nan,
                           float *loss, int *correct, simclr_error *err)
{
    int classes = config->model.num_classes;
    int ranks = simclr_communicator_size(config->communicator);
    if (ranks > 1) /* issue 14: this rank's share of the batch (the pixels hold only it) */
        return supervised_step_share(state, ds, config, epoch, step, count, learning_rate, inject_nan, loss,
                                     correct, err);
    simclr_augment_batch(state->pixels, count, ds->height, ds->width, ds->channels,
                  &SIMCLR_AUGMENT_CLASSIFICATION, config->seed, (uint64_t)epoch, step, 0, state->inputs);
    if (simclr_network_forward(&state->encoder, state->inputs, (int)count, err) != 0) return -1;
    if (simclr_network_forward(&state->classifier, simclr_network_output(&state->encoder), (int)count, err) != 0)
        return -1;
    *loss = simclr_softmax_cross_entropy(simclr_network_output(&state->classifier), state->labels, (int)count,
                                  classes, state->d_logits, correct);
    if (inject_nan) *loss = NAN;
    if (simclr_check_finite(loss, 1, "loss", epoch + 1, step, err) != 0) return -1;
    simclr_network_zero_grads(&state->encoder);
    simclr_network_zero_grads(&state->classifier);
    /* The classifier's input gradient is the gradient w.r.t. the encoder's output. */
    float *d_features = state->encoder.d_output;
    if (simclr_network_backward(&state->classifier, state->d_logits, d_features, err) != 0) return -1;
    if (simclr_network_backward(&state->encoder, d_features, NULL, err) != 0) return -1;
    /* From here on the step changes the weights: it runs to its end. */
    simclr_network *const interruptible[2] = {&state->encoder, &state->classifier};
    simclr_train_set_interruptible(config, interruptible, 2, 0);
    if (simclr_check_finite(state->encoder.grads, state->encoder.param_count, "encoder gradients",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->classifier.grads, state->classifier.param_count,
                     "classifier gradients", epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->encoder_optimizer, learning_rate, state->encoder.params,
                            state->encoder.grads);
    simclr_optimizer_update(&state->classifier_optimizer, learning_rate, state->classifier.params,
                            state->classifier.grads);
    if (simclr_check_finite(state->encoder.params, state->encoder.param_count, "encoder weights",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->classifier.params, state->classifier.param_count,
                     "classifier weights", epoch + 1, step, err) != 0)
        return -1;
    return 0;
}

static int train_supervised(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                            const char *from, simclr_history *hist, simclr_error *err)
{
    int metric_count = config->knn_k > 0 ? SUPERVISED_METRIC_COUNT : SUPERVISED_METRIC_COUNT - 1;
    simclr_history_init(hist, SUPERVISED_METRICS, metric_count);
    supervised_state state;
    memset(&state, 0, sizeof state);
    int status = -1;
    size_t *batch_indices = NULL;
    float *kept_states = NULL;
    if (supervised_setup(&state, ds, config, from, err) != 0) goto done;
    simclr_checkpoint_part parts[2] = {{.net = &state.encoder, .optimizer = &state.encoder_optimizer},
                                {.net = &state.classifier, .optimizer = &state.classifier_optimizer}};
    simclr_run_position start;
    int finished = 0;
    if (simclr_train_resume_begin(config, run, parts, 2, hist, &start, &finished, err) != 0) goto done;
    kept_states = simclr_checked_calloc(simclr_train_state_floats(parts, 2) + 1, sizeof(float),
                                        "a copy of the batchnorm running statistics", err);
    if (!kept_states) goto done;
    if (finished) {
        status = 0;
        goto done;
    }
    if (!config->quiet) {
        simclr_network_print_summary(&state.encoder, config->log);
        simclr_network_print_summary(&state.classifier, config->log);
        simclr_train_print_ranks(config);
    }
    size_t natural_steps = simclr_sampler_labeled_steps(&state.stream, config->labeled_batch);
    size_t steps = config->steps_per_epoch ? config->steps_per_epoch : natural_steps;
    batch_indices = simclr_checked_calloc(config->labeled_batch, sizeof(size_t), "batch indices", err);
    if (!batch_indices) goto done;
    simclr_lr_schedule schedule;
    if (simclr_train_schedule(config, config->labeled_batch, steps, &schedule, err) != 0) goto done;
    simclr_progress bar;
    simclr_progress_init(&bar, config->log, !config->progress_lines);
    char path[4096], metrics[512];
    long long steps_this_process = 0;
    for (int epoch = start.epoch; epoch < config->epochs; epoch++) {
        int resumed = epoch == start.epoch && start.step > 0;
        /* Running sums: loss * images, correct, images. */
        double sums[3] = {0.0, 0.0, 0.0};
        if (resumed) memcpy(sums, start.accumulators, sizeof sums);
        double epoch_start = simclr_progress_now() - (resumed ? start.seconds : 0.0);
        if (!config->quiet) simclr_progress_begin_epoch(&bar, epoch + 1, config->epochs, (int)steps);
        if (resumed) simclr_progress_resume_at(&bar, (int)start.step, start.seconds);
        /* The epoch's last step's rate, what the history records: also when a resume starts after
         * the last step (an interruption during the evaluation) and no step runs here. */
        float learning_rate = (float)simclr_lr_schedule_at(
            &schedule, (long long)epoch * (long long)steps + (long long)steps - 1);
        for (size_t step = resumed ? start.step : 0; step < steps; step++) {
            /* Past the natural end of the labeled set, further passes reshuffle. */
            int64_t pass_epoch = step < natural_steps
                                     ? epoch
                                     : (int64_t)epoch * 1000003 + (int64_t)(step / natural_steps);
            size_t count = simclr_sampler_labeled_batch(&state.stream, pass_epoch,
                                                 (int64_t)(step % natural_steps),
                                                 config->labeled_batch, batch_indices);
            /* Issue 14: each rank reads its share of the batch (one process: all of it). */
            simclr_batch_share share = simclr_batch_share_of(0, count, simclr_communicator_rank(config->communicator),
                                                             simclr_communicator_size(config->communicator));
            simclr_batch_read_images(ds, SIMCLR_DATASET_SPLIT_TRAIN, batch_indices + share.labeled_first,
                                     share.labeled_count, state.pixels);
            simclr_batch_read_labels(ds, SIMCLR_DATASET_SPLIT_TRAIN, batch_indices + share.labeled_first,
                                     share.labeled_count, state.labels);
            float loss = 0.0f;
            int correct = 0;
            long long global_step = (long long)epoch * (long long)steps + (long long)step;
            int inject_nan = config->inject_nan_at_step == global_step;
            learning_rate = (float)simclr_lr_schedule_at(&schedule, global_step);
            simclr_train_keep_states(parts, 2, kept_states);
            simclr_network *const interruptible[2] = {&state.encoder, &state.classifier};
            simclr_train_set_interruptible(config, interruptible, 2, 1); /* until the optimizer (inside) */
            if (supervised_step(&state, ds, config, epoch, step, count, learning_rate, inject_nan, &loss,
                                &correct, err) != 0) {
                simclr_train_set_interruptible(config, interruptible, 2, 0);
                /* Cut within the step: the step's start is saved. */
                simclr_train_save_if_interrupted(ds, config, run, "classifier", parts, 2, kept_states, epoch, step,
                                                 sums, 3, simclr_progress_now() - epoch_start, err);
                goto done;
            }
            sums[0] += (double)loss * (double)count;
            sums[1] += (double)correct;
            sums[2] += (double)count;
            steps_this_process++;
            if (!config->quiet && bar.is_terminal) {
                metrics[0] = '\0';
                simclr_progress_append_metric(metrics, sizeof metrics, "acc", sums[1] / sums[2]);
                simclr_progress_append_metric(metrics, sizeof metrics, "loss", sums[0] / sums[2]);
                simclr_progress_append_metric(metrics, sizeof metrics, "lr", learning_rate);
                simclr_progress_update(&bar, (int)step + 1, metrics);
            }
            if (step + 1 < steps && simclr_train_stop_requested(config, steps_this_process)) {
                if (!config->quiet) fprintf(config->log, "\n");
                simclr_train_save_interrupted(ds, config, run, "classifier", parts, 2, epoch, step + 1,
                                       sums, 3, simclr_progress_now() - epoch_start, err);
                goto done;
            }
        }
        simclr_evaluation test;
        simclr_network *const evaluated[1] = {&state.encoder};
        simclr_train_set_interruptible(config, evaluated, 1, 1); /* inference only: nothing changes */
        int evaluation = simclr_evaluate_classifier_sharded(config->communicator, ds, &state.encoder,
                                                            &state.classifier, config->test_batch, state.pixels,
                                                            state.inputs, config->knn_k > 0 ? &state.knn : NULL,
                                                            &test, err);
        simclr_train_set_interruptible(config, evaluated, 1, 0);
        if (evaluation != 0) { /* cut in the evaluation: every step is done, the resumed run evaluates */
            simclr_train_save_if_interrupted(ds, config, run, "classifier", parts, 2, NULL, epoch, steps, sums, 3,
                                             simclr_progress_now() - epoch_start, err);
            goto done;
        }
        simclr_network *const checked[2] = {&state.encoder, &state.classifier};
        if (simclr_networks_check_identical(config->communicator, checked, 2, err) != 0) goto done;
        double values[SUPERVISED_METRIC_COUNT] = {sums[1] / sums[2], sums[0] / sums[2], test.accuracy,
                                                  test.loss, learning_rate, test.knn_accuracy};
        int writes = simclr_communicator_is_root(config->communicator); /* issue 14: rank 0 alone */
        if (simclr_history_append(hist, values, simclr_progress_now() - epoch_start, err) != 0 ||
            (writes && simclr_history_write(hist, config->out_dir, run, err) != 0))
            goto done;
        simclr_checkpoint_info info;
        simclr_train_fill_checkpoint_info(&info, ds, config, run, "classifier", epoch + 1);
        snprintf(path, sizeof path, "%s/%s.safetensors", config->out_dir, run);
        if (writes && simclr_checkpoint_save(path, &info, parts, 2, err) != 0) goto done;
        if (!config->quiet) {
            metrics[0] = '\0';
            for (int m = 0; m < metric_count; m++)
                simclr_progress_append_metric(metrics, sizeof metrics, SUPERVISED_METRICS[m], values[m]);
            simclr_progress_end_epoch(&bar, metrics);
            simclr_train_print_communication(config, (long long)steps);
        }
        if (epoch + 1 < config->epochs && simclr_train_stop_requested(config, steps_this_process)) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED,
                      "interrupted after epoch %d; saved %s. Continue with the same options plus "
                      "--resume (simclr %s ... --resume %s)",
                      epoch + 1, path, run, config->out_dir);
            goto done;
        }
    }
    status = 0;
done:
    free(kept_states);
    free(batch_indices);
    supervised_state_free(&state);
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
