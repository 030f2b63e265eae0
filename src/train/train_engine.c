#include "train_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/progress.h"

int simclr_train_base_open_stream(train_base *base, const simclr_dataset *ds, const simclr_train_config *config,
                                  simclr_error *err)
{
    if (simclr_train_labeled_subset(ds, config, &base->labeled_indices, &base->labeled_count, err) != 0) return -1;
    simclr_sampler_config stream_config = {.unlabeled_batch = config->unlabeled_batch,
                                           .labeled_batch = config->labeled_batch,
                                           .steps_per_epoch = config->steps_per_epoch,
                                           .seed = config->seed};
    return simclr_sampler_init(&base->stream, ds, base->labeled_indices, base->labeled_count, &stream_config, err);
}

int simclr_train_base_finish(train_base *base, const simclr_dataset *ds, const simclr_train_config *config,
                             size_t max_batch, size_t logit_rows, simclr_error *err)
{
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    base->pixels = simclr_checked_calloc(max_batch, image_bytes, "image batch", err);
    base->inputs = simclr_checked_calloc(max_batch * image_bytes, sizeof(float), "input batch", err);
    base->d_logits =
        simclr_checked_calloc(logit_rows * (size_t)config->model.num_classes, sizeof(float), "logit gradients", err);
    base->labels = simclr_checked_calloc(logit_rows, sizeof(int32_t), "labels", err);
    if (!base->pixels || !base->inputs || !base->d_logits || !base->labels) return -1;
    simclr_network_set_communicator(&base->encoder, config->communicator); /* issue 14: global BN */
    simclr_network_set_communicator(&base->classifier, config->communicator);
    if (config->knn_k > 0 &&
        simclr_knn_monitor_init(&base->knn, config, ds, base->labeled_indices, base->labeled_count,
                                (int)simclr_network_output_size(&base->encoder), err) != 0)
        return -1;
    return 0;
}

void simclr_train_base_free(train_base *base)
{
    simclr_network_free(&base->encoder);
    simclr_network_free(&base->classifier);
    simclr_optimizer_free(&base->encoder_optimizer);
    simclr_optimizer_free(&base->classifier_optimizer);
    simclr_sampler_free(&base->stream);
    simclr_knn_monitor_free(&base->knn);
    free(base->labeled_indices);
    free(base->pixels);
    free(base->inputs);
    free(base->d_logits);
    free(base->labels);
}

train_task simclr_train_base_task(train_base *base, const simclr_train_config *config, const char *run,
                                  const train_run_kind *kind, void *context,
                                  int (*step)(void *, int, size_t, float, int, double *, simclr_error *),
                                  void (*describe)(void *, FILE *))
{
    return (train_task){.run = run,
                        .kind = kind,
                        .step = step,
                        .describe = describe,
                        .encoder = &base->encoder,
                        .evaluated = &base->classifier,
                        .eval_pixels = base->pixels,
                        .eval_inputs = base->inputs,
                        .knn = config->knn_k > 0 ? &base->knn : NULL,
                        .interruptible = {&base->encoder},
                        .interruptible_count = 1,
                        .context = context};
}

static double metric_value(const train_metric *metric, const double *sums, size_t steps)
{
    double denominator = metric->count == TRAIN_METRIC_PER_STEP ? (double)steps : sums[metric->count];
    return sums[metric->sum] / denominator;
}

/* Whether a periodic mid-epoch checkpoint is due after this step (rank 0 decides: it writes). */
static int checkpoint_due(const simclr_train_config *config, long long steps_this_process, double now,
                          double last_save)
{
    if (config->checkpoint_every_steps > 0 && steps_this_process % config->checkpoint_every_steps == 0) return 1;
    return config->checkpoint_every_seconds > 0.0 && now - last_save >= config->checkpoint_every_seconds;
}

static int history_columns(const train_run_kind *kind, int knn, const char **names)
{
    int count = 0;
    for (int m = 0; m < kind->metric_count; m++) names[count++] = kind->metrics[m].name;
    if (kind->val_accuracy) { /* issue 25: pretraining without labeled images evaluates nothing */
        names[count++] = kind->val_accuracy;
        names[count++] = kind->val_loss;
    }
    names[count++] = "lr";
    if (knn) names[count++] = "val_knn_acc";
    return count;
}

void simclr_train_engine_history_init(simclr_history *hist, const train_run_kind *kind, int knn)
{
    const char *names[TRAIN_TASK_MAX_METRICS + 4];
    simclr_history_init(hist, names, history_columns(kind, knn, names));
}

static void join_names(char *out, size_t size, int count, const char *(*name_at)(const void *, int), const void *of)
{
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", i ? ", " : "", name_at(of, i));
    }
}
static const char *kind_sum_name(const void *kind, int i) { return ((const train_run_kind *)kind)->sum_names[i]; }
static const char *position_sum_name(const void *start, int i)
{
    return ((const simclr_run_position *)start)->accumulator_names[i];
}

/* The running sums a run resumed inside an epoch continues with, each taken by its name (issue 24;
 * a checkpoint from before names them holds them in the run's order). */
static int resumed_sums(const simclr_train_config *config, const train_task *task, const simclr_run_position *start,
                        double *sums, simclr_error *err)
{
    const train_run_kind *kind = task->kind;
    int named = start->accumulator_count > 0 && start->accumulator_names[0][0];
    for (int s = 0; s < kind->sum_count; s++) {
        int found = -1;
        for (int j = 0; j < start->accumulator_count; j++)
            if (named ? strcmp(start->accumulator_names[j], kind->sum_names[s]) == 0 : j == s) found = j;
        if (found < 0) {
            char theirs[512], ours[512];
            join_names(theirs, sizeof theirs, start->accumulator_count, position_sum_name, start);
            join_names(ours, sizeof ours, kind->sum_count, kind_sum_name, kind);
            return simclr_error_input(err, "%s/%s.safetensors: its running sums of epoch %d (%s%s%d) are not the ones "
                                           "this %s run keeps (%s); start the run again without --resume",
                                      config->out_dir, task->run, start->epoch + 1, named ? theirs : "",
                                      named ? "; " : "", start->accumulator_count, task->run, ours);
        }
        sums[s] = start->accumulators[found];
    }
    return 0;
}

int simclr_train_engine_run(const simclr_dataset *ds, const simclr_train_config *config, const train_task *task,
                            simclr_history *hist, simclr_error *err)
{
    const char *names[TRAIN_TASK_MAX_METRICS + 4];
    const train_run_kind *kind = task->kind;
    int column_count = history_columns(kind, task->knn != NULL, names);

    int status = -1;
    simclr_run_position start;
    int finished = 0;
    if (simclr_train_resume_begin(config, task->run, task->parts, task->part_count, hist, &start, &finished, err) != 0)
        return -1;
    if (finished) return 0;
    double start_sums[TRAIN_TASK_MAX_SUMS] = {0};
    if (start.step > 0 && resumed_sums(config, task, &start, start_sums, err) != 0) return -1;
    float *kept_states = simclr_checked_calloc(simclr_train_state_floats(task->parts, task->part_count) + 1,
                                               sizeof(float), "a copy of the batchnorm running statistics", err);
    if (!kept_states) return -1;
    if (!config->quiet) {
        task->describe(task->context, config->log);
        simclr_train_print_ranks(config);
    }
    const size_t steps = task->steps_per_epoch;
    const int sum_count = kind->sum_count;
    int writes = simclr_communicator_is_root(config->communicator); /* issue 14: rank 0 alone */
    simclr_progress bar;
    simclr_progress_init(&bar, config->log, !config->progress_lines);
    char path[4096], metrics[512];
    snprintf(path, sizeof path, "%s/%s.safetensors", config->out_dir, task->run);
    long long steps_this_process = 0;
    double last_save = simclr_progress_now();
    for (int epoch = start.epoch; epoch < config->epochs; epoch++) {
        int resumed = epoch == start.epoch && start.step > 0;
        double sums[TRAIN_TASK_MAX_SUMS] = {0};
        const simclr_train_sums epoch_sums = {kind->sum_names, sums, sum_count};
        if (resumed) memcpy(sums, start_sums, (size_t)sum_count * sizeof *sums);
        double epoch_start = simclr_progress_now() - (resumed ? start.seconds : 0.0);
        if (!config->quiet) simclr_progress_begin_epoch(&bar, epoch + 1, config->epochs, (int)steps);
        if (resumed) simclr_progress_resume_at(&bar, (int)start.step, start.seconds);
        /* The epoch's last step's rate, what the history records: also when a resume starts after
         * the last step (an interruption during the evaluation) and no step runs here. */
        float learning_rate = (float)simclr_lr_schedule_at(
            task->schedule, (long long)epoch * (long long)steps + (long long)steps - 1);
        for (size_t step = resumed ? start.step : 0; step < steps; step++) {
            long long global_step = (long long)epoch * (long long)steps + (long long)step;
            int inject_nan = config->inject_nan_at_step == global_step;
            /* A pure function of the position, so a resumed run continues the schedule exactly. */
            learning_rate = (float)simclr_lr_schedule_at(task->schedule, global_step);
            simclr_train_keep_states(task->parts, task->part_count, kept_states);
            if (task->step(task->context, epoch, step, learning_rate, inject_nan, sums, err) != 0) {
                simclr_train_set_interruptible(config, task->interruptible, task->interruptible_count, 0);
                /* Cut within the step: the step's start is saved. */
                simclr_train_save_if_interrupted(ds, config, task->run, kind->classifier, task->parts,
                                                 task->part_count, kept_states, epoch, step, epoch_sums,
                                                 simclr_progress_now() - epoch_start, err);
                goto done;
            }
            steps_this_process++;
            if (!config->quiet && bar.is_terminal) {
                metrics[0] = '\0';
                for (int m = 0; m < kind->metric_count; m++)
                    simclr_progress_append_metric(metrics, sizeof metrics, kind->metrics[m].name,
                                                  metric_value(&kind->metrics[m], sums, step + 1));
                simclr_progress_append_metric(metrics, sizeof metrics, "lr", learning_rate);
                simclr_progress_update(&bar, (int)step + 1, metrics);
            }
            if (step + 1 < steps && simclr_train_stop_requested(config, steps_this_process)) {
                if (!config->quiet) fprintf(config->log, "\n");
                simclr_train_save_interrupted(ds, config, task->run, kind->classifier, task->parts, task->part_count,
                                              epoch, step + 1, epoch_sums, simclr_progress_now() - epoch_start,
                                              err);
                goto done;
            }
            /* Issue 24: a resumable checkpoint inside a long epoch (the epoch's end saves anyway). */
            double now = simclr_progress_now();
            if (step + 1 < steps && writes && checkpoint_due(config, steps_this_process, now, last_save)) {
                if (simclr_train_save_position(ds, config, task->run, kind->classifier, task->parts, task->part_count,
                                               epoch, step + 1, epoch_sums, now - epoch_start, err) != 0)
                    goto done;
                last_save = now;
            }
        }
        simclr_evaluation test = {0};
        simclr_network *const evaluated[1] = {task->encoder};
        int evaluation = 0;
        if (task->evaluated) { /* issue 25: none without labeled images */
            simclr_train_set_interruptible(config, evaluated, 1, 1); /* inference only: nothing changes */
            evaluation = simclr_evaluate_classifier_sharded(config->communicator, ds, task->encoder, task->evaluated,
                                                            config->test_batch, task->eval_pixels, task->eval_inputs,
                                                            task->knn, &test, err);
            simclr_train_set_interruptible(config, evaluated, 1, 0);
        }
        if (evaluation != 0) { /* cut in the evaluation: every step is done, the resumed run evaluates */
            simclr_train_save_if_interrupted(ds, config, task->run, kind->classifier, task->parts, task->part_count,
                                             NULL, epoch, steps, epoch_sums, simclr_progress_now() - epoch_start,
                                             err);
            goto done;
        }
        simclr_network *checked[SIMCLR_CHECKPOINT_MAX_PARTS];
        int checked_count = 0;
        for (int p = 0; p < task->part_count && checked_count < SIMCLR_CHECKPOINT_MAX_PARTS; p++)
            if (task->parts[p].net && task->parts[p].optimizer) checked[checked_count++] = task->parts[p].net;
        if (simclr_networks_check_identical(config->communicator, checked, checked_count, err) != 0) goto done;
        double values[TRAIN_TASK_MAX_METRICS + 4];
        int v = 0;
        for (int m = 0; m < kind->metric_count; m++) values[v++] = metric_value(&kind->metrics[m], sums, steps);
        if (kind->val_accuracy) {
            values[v++] = test.accuracy;
            values[v++] = test.loss;
        }
        values[v++] = learning_rate;
        if (task->knn) values[v++] = test.knn_accuracy;
        if (writes && config->before_first_write && config->before_first_write(config->before_first_write_context,
                                                                               err) != 0)
            goto done;
        if (simclr_history_append(hist, values, simclr_progress_now() - epoch_start, err) != 0 ||
            (writes && simclr_history_write(hist, config->out_dir, task->run, err) != 0))
            goto done;
        simclr_checkpoint_info info;
        simclr_train_fill_checkpoint_info(&info, ds, config, task->run, kind->classifier, epoch + 1);
        if (writes && simclr_checkpoint_save(path, &info, task->parts, task->part_count, err) != 0) goto done;
        last_save = simclr_progress_now();
        if (!config->quiet) {
            metrics[0] = '\0';
            for (int m = 0; m < column_count; m++) simclr_progress_append_metric(metrics, sizeof metrics, names[m], values[m]);
            simclr_progress_end_epoch(&bar, metrics);
            simclr_train_print_communication(config, (long long)steps);
        }
        if (epoch + 1 < config->epochs && simclr_train_stop_requested(config, steps_this_process)) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED,
                             "interrupted after epoch %d; saved %s. Continue with --resume %s (the same command; "
                             "the run's options are read from it)",
                             epoch + 1, path, config->out_dir);
            goto done;
        }
    }
    status = 0;
done:
    free(kept_states);
    return status;
}

void simclr_train_session_close(train_session *session)
{
    if (session->state && session->free_state) session->free_state(session->state);
    memset(session, 0, sizeof *session);
}

int simclr_train_session_step(train_session *session, long long global_step, double *values, simclr_error *err)
{
    const train_task *task = &session->task;
    const train_run_kind *kind = task->kind;
    long long steps = (long long)task->steps_per_epoch;
    double sums[TRAIN_TASK_MAX_SUMS] = {0};
    float learning_rate = (float)simclr_lr_schedule_at(task->schedule, global_step);
    if (task->step(task->context, (int)(global_step / steps), (size_t)(global_step % steps), learning_rate, 0, sums,
                   err) != 0)
        return -1;
    for (int m = 0; m < kind->metric_count; m++) values[m] = metric_value(&kind->metrics[m], sums, 1);
    return 0;
}

int simclr_train_session_views(train_session *session, long long global_step, simclr_error *err)
{
    const train_task *task = &session->task;
    if (!task->views) return simclr_error_input(err, "the %s run has no separate data step", task->run);
    long long steps = (long long)task->steps_per_epoch;
    return task->views(task->context, (int)(global_step / steps), (size_t)(global_step % steps), err);
}
