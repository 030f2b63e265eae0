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
#include "simclr/progress.h"
#include "simclr/sampler.h"
#include "method/method_internal.h"
#include "train_internal.h"
#include "util/plural.h"

static const char *const PRETRAIN_METRICS[] = {"c_acc", "c_loss", "p_acc", "p_loss",
                                               "val_p_acc", "val_p_loss", "lr", "val_knn_acc"};
/* Without the kNN monitor (knn_k 0) the history has no val_knn_acc column (its last). */
enum { PRETRAIN_METRIC_COUNT = 8 };

typedef struct pretrain_state {
    simclr_network encoder, head, probe;
    simclr_optimizer encoder_optimizer, head_optimizer, probe_optimizer;
    simclr_lr_schedule schedule;  /* of encoder and head; the probe's rate is constant */
    simclr_sampler stream;
    simclr_knn_monitor knn;
    size_t *labeled_indices;
    size_t labeled_count;
    size_t *unlabeled_batch_indices, *labeled_batch_indices;
    uint8_t *pixels;        /* (B, image) B = unlabeled + labeled */
    float *views;           /* (2B, image): view 1 then view 2 */
    simclr_method method;   /* the self-supervised method: loss, target networks, queue */
    float *d_logits;        /* (labeled, classes) */
    int32_t *labels;
    /* Issue 14: this rank's share of every batch (the whole batch in one process). */
    simclr_communicator *comm;
    simclr_batch_share share;
} pretrain_state;

static void pretrain_state_free(pretrain_state *state)
{
    simclr_network_free(&state->encoder);
    simclr_network_free(&state->head);
    simclr_network_free(&state->probe);
    simclr_optimizer_free(&state->encoder_optimizer);
    simclr_optimizer_free(&state->head_optimizer);
    simclr_optimizer_free(&state->probe_optimizer);
    simclr_sampler_free(&state->stream);
    simclr_knn_monitor_free(&state->knn);
    free(state->labeled_indices);
    free(state->unlabeled_batch_indices);
    free(state->labeled_batch_indices);
    free(state->pixels);
    free(state->views);
    simclr_method_free(&state->method);
    free(state->d_logits);
    free(state->labels);
}

static int pretrain_setup(pretrain_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                          simclr_error *err)
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
    size_t batch = config->unlabeled_batch + config->labeled_batch;
    size_t views = 2 * batch;
    size_t max_batch = views > config->test_batch ? views : config->test_batch;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    size_t needed = 0;
    /* Issue 14: data-parallel over the communicator's ranks (one process: the whole batch). */
    state->comm = config->communicator;
    int ranks = simclr_communicator_size(state->comm);
    state->share = simclr_batch_share_of(config->unlabeled_batch, config->labeled_batch,
                                         simclr_communicator_rank(state->comm), ranks);
    if (ranks > 1 && batch < (size_t)ranks)
        return simclr_error_input(err, "--unlabeled-batch + --labeled-batch = %zu images per step for %d "
                                  "ranks (expected at least one image per rank)", batch, ranks);
    if (simclr_train_memory_bytes(ds, config, 1, &needed, err) != 0) return -1;
    if (simclr_train_check_memory("pretraining", needed,
                           "lower --unlabeled-batch, --labeled-batch or --width", err) != 0)
        return -1;
    if (simclr_model_build_encoder(&state->encoder, &config->model, (int)max_batch, err) != 0 ||
        simclr_model_build_projection_head(&state->head, &config->model, (int)views, err) != 0 ||
        simclr_model_build_classifier(&state->probe, "linear_probe", &config->model, (int)max_batch,
                               err) != 0)
        return -1;
    simclr_network_init_weights(&state->encoder, config->seed);
    simclr_network_init_weights(&state->head, config->seed);
    simclr_network_init_weights(&state->probe, config->seed);
    simclr_optimizer_config probe_optimizer = simclr_train_probe_optimizer(config);
    if (simclr_train_optimizer_init(&state->encoder_optimizer, &state->encoder, &config->optimizer, err) != 0 ||
        simclr_train_optimizer_init(&state->head_optimizer, &state->head, &config->optimizer, err) != 0 ||
        simclr_train_optimizer_init(&state->probe_optimizer, &state->probe, &probe_optimizer, err) != 0)
        return -1;
    if (simclr_train_schedule(config, batch, state->stream.steps_per_epoch, &state->schedule, err) != 0)
        return -1;
    state->unlabeled_batch_indices = simclr_checked_calloc(config->unlabeled_batch, sizeof(size_t),
                                                    "batch indices", err);
    state->labeled_batch_indices = simclr_checked_calloc(config->labeled_batch, sizeof(size_t),
                                                  "batch indices", err);
    state->pixels = simclr_checked_calloc(max_batch, image_bytes, "image batch", err);
    state->views = simclr_checked_calloc(max_batch * image_bytes, sizeof(float), "augmented views", err);
    if (simclr_method_create(&state->method, config, &state->encoder, &state->head, (int)batch,
                             (long long)state->schedule.total_steps, err) != 0)
        return -1;
    state->d_logits = simclr_checked_calloc(config->labeled_batch * (size_t)config->model.num_classes,
                                     sizeof(float), "logit gradients", err);
    state->labels = simclr_checked_calloc(config->labeled_batch, sizeof(int32_t), "labels", err);
    if (!state->unlabeled_batch_indices || !state->labeled_batch_indices || !state->pixels ||
        !state->views || !state->d_logits ||
        !state->labels)
        return -1;
    simclr_network_set_communicator(&state->encoder, state->comm); /* global BatchNorm */
    simclr_network_set_communicator(&state->head, state->comm);
    if (config->knn_k > 0 &&
        simclr_knn_monitor_init(&state->knn, config, ds, state->labeled_indices, state->labeled_count,
                                (int)simclr_network_output_size(&state->encoder), err) != 0)
        return -1;
    return 0;
}

typedef struct step_metrics {
    simclr_contrastive_result contrastive;
    float probe_loss;
    int probe_correct;
} step_metrics;

static int pretrain_step(pretrain_state *state, const simclr_dataset *ds, const simclr_train_config *config,
                         int epoch, size_t step, float learning_rate, int inject_nan, step_metrics *metrics,
                         simclr_error *err)
{
    /* This rank's share of the global batch (one process: all of it): `unlabeled` images from
     * unlabeled_first, `labeled` from labeled_first, drawn as those images of the whole batch. */
    const simclr_batch_share *share = &state->share;
    size_t unlabeled = share->unlabeled_count, labeled = share->labeled_count;
    size_t batch = unlabeled + labeled;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    int ranks = simclr_communicator_size(state->comm);
    simclr_sampler_batch(&state->stream, epoch, (int64_t)step, state->unlabeled_batch_indices,
                  state->labeled_batch_indices);
    /* Both labeled and unlabeled images are used, without labels: unlabeled first, as the seed
     * concatenates them. */
    simclr_batch_read_images(ds, state->stream.unlabeled_split, state->unlabeled_batch_indices + share->unlabeled_first,
                      unlabeled, state->pixels);
    simclr_batch_read_images(ds, SIMCLR_DATASET_SPLIT_TRAIN, state->labeled_batch_indices + share->labeled_first,
                      labeled, state->pixels + unlabeled * image_bytes);
    /* The seed policy is simclr_augment_batch with SIMCLR_AUGMENT_CONTRASTIVE, as before; the
     * labeled images are images unlabeled_batch + i of the global batch. */
    for (uint64_t view = 1; view <= 2; view++) {
        float *out = state->views + (view - 1) * batch * image_bytes;
        simclr_augment_policy_batch_from(&config->augment, state->pixels, unlabeled, ds->height, ds->width,
                                         ds->channels, config->seed, (uint64_t)epoch, step,
                                         share->unlabeled_first, view, out);
        simclr_augment_policy_batch_from(&config->augment, state->pixels + unlabeled * image_bytes, labeled,
                                         ds->height, ds->width, ds->channels, config->seed, (uint64_t)epoch,
                                         step, config->unlabeled_batch + share->labeled_first, view,
                                         out + unlabeled * image_bytes);
    }

    /* The method: loss and gradients into encoder and head (src/method/; over MPI the simclr
     * method's loss is the global one, issue 14). */
    simclr_network *const interruptible[2] = {&state->encoder, &state->head};
    simclr_train_set_interruptible(config, interruptible, 2, 1);
    int stepped = simclr_method_step(&state->method, state->views, (int)batch, &metrics->contrastive, err);
    /* From here on the step changes the weights: it runs to its end. */
    simclr_train_set_interruptible(config, interruptible, 2, 0);
    if (stepped != 0) return -1;
    if (inject_nan) metrics->contrastive.loss = NAN;
    if (simclr_check_finite(&metrics->contrastive.loss, 1, "contrastive loss", epoch + 1, step, err) != 0)
        return -1;
    simclr_network_allreduce_grads(state->comm, &state->encoder); /* issue 14; one process: nothing */
    simclr_network_allreduce_grads(state->comm, &state->head);
    simclr_train_debug_dump_gradients(config, "contrastive", epoch, step, &state->encoder, &state->head);
    if (simclr_check_finite(state->encoder.grads, state->encoder.param_count, "encoder gradients",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->head.grads, state->head.param_count, "projection_head gradients",
                     epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->encoder_optimizer, learning_rate, state->encoder.params, state->encoder.grads);
    simclr_optimizer_update(&state->head_optimizer, learning_rate, state->head.params, state->head.grads);
    if (simclr_check_finite(state->encoder.params, state->encoder.param_count, "encoder weights",
                     epoch + 1, step, err) != 0 ||
        simclr_check_finite(state->head.params, state->head.param_count, "projection_head weights",
                     epoch + 1, step, err) != 0)
        return -1;
    long long global_step = (long long)epoch * (long long)state->stream.steps_per_epoch + (long long)step;
    if (simclr_method_after_step(&state->method, learning_rate, global_step, err) != 0) return -1;

    /* The probe: weak augmentation of the labeled images, encoder in inference mode (no gradient
     * reaches it), Dense(num_classes) trained by cross-entropy. */
    simclr_batch_read_labels(ds, SIMCLR_DATASET_SPLIT_TRAIN, state->labeled_batch_indices + share->labeled_first,
                      labeled, state->labels);
    simclr_network_zero_grads(&state->probe);
    metrics->probe_loss = 0.0f;
    metrics->probe_correct = 0;
    if (labeled > 0) { /* a rank's labeled share may be empty */
        simclr_augment_batch_from(state->pixels + unlabeled * image_bytes, labeled, ds->height, ds->width,
                                  ds->channels, &SIMCLR_AUGMENT_CLASSIFICATION, config->seed, (uint64_t)epoch,
                                  step, share->labeled_first, 3, state->views);
        simclr_network_set_training(&state->encoder, 0); /* batchnorm on running statistics */
        int status = simclr_network_forward(&state->encoder, state->views, (int)labeled, err);
        simclr_network_set_training(&state->encoder, 1);
        if (status != 0) return -1;
        if (simclr_network_forward(&state->probe, simclr_network_output(&state->encoder), (int)labeled, err) != 0)
            return -1;
        metrics->probe_loss = simclr_softmax_cross_entropy(simclr_network_output(&state->probe), state->labels,
                                                    (int)labeled, config->model.num_classes,
                                                    state->d_logits, &metrics->probe_correct);
        if (ranks > 1) /* issue 14: the gradient of the global batch's mean */
            simclr_train_rescale(state->d_logits, labeled * (size_t)config->model.num_classes,
                                 (float)labeled / (float)config->labeled_batch);
        if (simclr_network_backward(&state->probe, state->d_logits, NULL, err) != 0) return -1;
    }
    if (ranks > 1) {
        simclr_network_allreduce_grads(state->comm, &state->probe);
        double probe[2] = {(double)metrics->probe_loss * (double)labeled, (double)metrics->probe_correct};
        simclr_communicator_allreduce_doubles(state->comm, probe, 2);
        metrics->probe_loss = (float)(probe[0] / (double)config->labeled_batch);
        metrics->probe_correct = (int)probe[1];
    }
    simclr_train_debug_dump_gradients(config, "probe", epoch, step, &state->probe, NULL);
    if (simclr_check_finite(state->probe.grads, state->probe.param_count, "linear_probe gradients",
                     epoch + 1, step, err) != 0)
        return -1;
    simclr_optimizer_update(&state->probe_optimizer, simclr_train_probe_learning_rate(config),
                            state->probe.params, state->probe.grads);
    if (simclr_check_finite(state->probe.params, state->probe.param_count, "linear_probe weights",
                     epoch + 1, step, err) != 0)
        return -1;
    return 0;
}

int simclr_train_pretrain(const simclr_dataset *ds, const simclr_train_config *config, simclr_history *hist, simclr_error *err)
{
    int metric_count = config->knn_k > 0 ? PRETRAIN_METRIC_COUNT : PRETRAIN_METRIC_COUNT - 1;
    simclr_history_init(hist, PRETRAIN_METRICS, metric_count);
    pretrain_state state;
    memset(&state, 0, sizeof state);
    int status = -1;
    float *kept_states = NULL;
    if (pretrain_setup(&state, ds, config, err) != 0) goto done;
    simclr_checkpoint_part parts[3 + SIMCLR_METHOD_MAX_PARTS] = {
        {.net = &state.encoder, .optimizer = &state.encoder_optimizer},
        {.net = &state.head, .optimizer = &state.head_optimizer},
        {.net = &state.probe, .optimizer = &state.probe_optimizer}};
    int part_count = 3;
    for (int p = 0; p < state.method.part_count; p++) parts[part_count++] = state.method.parts[p];
    simclr_run_position start;
    int finished = 0;
    if (simclr_train_resume_begin(config, "pretrain", parts, part_count, hist, &start, &finished, err) != 0)
        goto done;
    kept_states = simclr_checked_calloc(simclr_train_state_floats(parts, part_count) + 1, sizeof(float),
                                        "a copy of the batchnorm running statistics", err);
    if (!kept_states) goto done;
    if (finished) {
        status = 0;
        goto done;
    }
    if (!config->quiet) {
        simclr_network_print_summary(&state.encoder, config->log);
        simclr_network_print_summary(&state.head, config->log);
        simclr_network_print_summary(&state.probe, config->log);
        fprintf(config->log, "batch size is %zu (unlabeled) + %zu (labeled), %zu step%s per epoch\n",
                config->unlabeled_batch, config->labeled_batch, state.stream.steps_per_epoch,
                simclr_plural((long long)state.stream.steps_per_epoch));
        simclr_train_print_ranks(config);
    }
    size_t steps = state.stream.steps_per_epoch;
    simclr_progress bar;
    simclr_progress_init(&bar, config->log, !config->progress_lines);
    char path[4096], metrics[512];
    long long steps_this_process = 0;
    for (int epoch = start.epoch; epoch < config->epochs; epoch++) {
        int resumed = epoch == start.epoch && start.step > 0;
        /* Running sums: c_loss, c_correct, c_total, p_loss, p_correct, p_total. */
        double sums[6] = {0, 0, 0, 0, 0, 0};
        if (resumed) memcpy(sums, start.accumulators, sizeof sums);
        double epoch_start = simclr_progress_now() - (resumed ? start.seconds : 0.0);
        if (!config->quiet) simclr_progress_begin_epoch(&bar, epoch + 1, config->epochs, (int)steps);
        if (resumed) simclr_progress_resume_at(&bar, (int)start.step, start.seconds);
        /* The epoch's last step's rate, what the history records: also when a resume starts after
         * the last step (an interruption during the evaluation) and no step runs here. */
        float learning_rate = (float)simclr_lr_schedule_at(
            &state.schedule, (long long)epoch * (long long)steps + (long long)steps - 1);
        for (size_t step = resumed ? start.step : 0; step < steps; step++) {
            step_metrics result;
            long long global_step = (long long)epoch * (long long)steps + (long long)step;
            int inject_nan = config->inject_nan_at_step == global_step;
            /* A pure function of the position, so a resumed run continues the schedule exactly. */
            learning_rate = (float)simclr_lr_schedule_at(&state.schedule, global_step);
            simclr_train_keep_states(parts, part_count, kept_states);
            if (pretrain_step(&state, ds, config, epoch, step, learning_rate, inject_nan, &result, err) != 0) {
                /* Cut within the step: the step's start is saved. */
                simclr_train_save_if_interrupted(ds, config, "pretrain", "linear_probe", parts, part_count,
                                                 kept_states, epoch, step, sums, 6,
                                                 simclr_progress_now() - epoch_start, err);
                goto done;
            }
            sums[0] += result.contrastive.loss;
            sums[1] += result.contrastive.correct;
            sums[2] += result.contrastive.total;
            sums[3] += result.probe_loss;
            sums[4] += result.probe_correct;
            sums[5] += (double)config->labeled_batch;
            steps_this_process++;
            if (!config->quiet && bar.is_terminal) {
                metrics[0] = '\0';
                double done_steps = (double)(step + 1);
                simclr_progress_append_metric(metrics, sizeof metrics, "c_acc", sums[1] / sums[2]);
                simclr_progress_append_metric(metrics, sizeof metrics, "c_loss", sums[0] / done_steps);
                simclr_progress_append_metric(metrics, sizeof metrics, "p_acc", sums[4] / sums[5]);
                simclr_progress_append_metric(metrics, sizeof metrics, "p_loss", sums[3] / done_steps);
                simclr_progress_append_metric(metrics, sizeof metrics, "lr", learning_rate);
                simclr_progress_update(&bar, (int)step + 1, metrics);
            }
            if (step + 1 < steps && simclr_train_stop_requested(config, steps_this_process)) {
                if (!config->quiet) fprintf(config->log, "\n");
                simclr_train_save_interrupted(ds, config, "pretrain", "linear_probe", parts, part_count, epoch,
                                       step + 1, sums, 6, simclr_progress_now() - epoch_start, err);
                goto done;
            }
        }
        simclr_evaluation test;
        simclr_network *const evaluated[1] = {&state.encoder};
        simclr_train_set_interruptible(config, evaluated, 1, 1); /* inference only: nothing changes */
        int evaluation = simclr_evaluate_classifier_sharded(config->communicator, ds, &state.encoder, &state.probe,
                                                            config->test_batch, state.pixels, state.views,
                                                            config->knn_k > 0 ? &state.knn : NULL, &test, err);
        simclr_train_set_interruptible(config, evaluated, 1, 0);
        if (evaluation != 0) { /* cut in the evaluation: every step is done, the resumed run evaluates */
            simclr_train_save_if_interrupted(ds, config, "pretrain", "linear_probe", parts, part_count, NULL, epoch,
                                             steps, sums, 6, simclr_progress_now() - epoch_start, err);
            goto done;
        }
        simclr_network *const checked[3] = {&state.encoder, &state.head, &state.probe};
        if (simclr_networks_check_identical(config->communicator, checked, 3, err) != 0) goto done;
        double values[PRETRAIN_METRIC_COUNT] = {sums[1] / sums[2], sums[0] / (double)steps,
                                                sums[4] / sums[5], sums[3] / (double)steps,
                                                test.accuracy,     test.loss,
                                                learning_rate,     test.knn_accuracy};
        int writes = simclr_communicator_is_root(config->communicator); /* issue 14: rank 0 alone */
        if (simclr_history_append(hist, values, simclr_progress_now() - epoch_start, err) != 0 ||
            (writes && simclr_history_write(hist, config->out_dir, "pretrain", err) != 0))
            goto done;
        simclr_checkpoint_info info;
        simclr_train_fill_checkpoint_info(&info, ds, config, "pretrain", "linear_probe", epoch + 1);
        snprintf(path, sizeof path, "%s/pretrain.safetensors", config->out_dir);
        if (writes && simclr_checkpoint_save(path, &info, parts, part_count, err) != 0) goto done;
        if (!config->quiet) {
            metrics[0] = '\0';
            for (int m = 0; m < metric_count; m++)
                simclr_progress_append_metric(metrics, sizeof metrics, PRETRAIN_METRICS[m], values[m]);
            simclr_progress_end_epoch(&bar, metrics);
            simclr_train_print_communication(config, (long long)steps);
        }
        if (epoch + 1 < config->epochs && simclr_train_stop_requested(config, steps_this_process)) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED,
                      "interrupted after epoch %d; saved %s. Continue with the same options plus "
                      "--resume (simclr %s ... --resume %s)",
                      epoch + 1, path, "pretrain", config->out_dir);
            goto done;
        }
    }
    status = 0;
done:
    free(kept_states);
    pretrain_state_free(&state);
    return status;
}
