#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simclr/augment.h"
#include "simclr/loss.h"
#include "simclr/safetensors.h"
#include "simclr/sampler.h"
#include "method/method_internal.h"
#include "train_internal.h"

simclr_train_config simclr_train_config_default(const simclr_dataset *ds)
{
    simclr_train_config config = {
        .epochs = 20,
        .steps_per_epoch = 0,
        .unlabeled_batch = 500,
        .labeled_batch = 25,
        .test_batch = 525,
        .labeled_per_class = 0,
        .seed = 0,
        .temperature = 0.1f,
        .loss_kind = SIMCLR_CONTRASTIVE_KIND_SEED,
        .out_dir = "runs/latest",
        .quiet = 0,
        .log = stdout,
        .resume = 0,
        .stop_requested = NULL,
        .stop_after_steps = 0,
        .inject_nan_at_step = -1,
        .knn_k = SIMCLR_KNN_DEFAULT_K,
        .knn_temperature = SIMCLR_KNN_DEFAULT_TEMPERATURE,
    };
    simclr_tensor_shape input = {ds->height, ds->width, ds->channels};
    config.model = simclr_model_config_default(input, ds->num_classes);
    config.augment = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SEED, 1.0f);
    config.optimizer = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_ADAM);
    config.lr_schedule = SIMCLR_LR_SCHEDULE_KIND_CONSTANT;
    config.warmup_epochs = 0.0;
    config.lr_scaling = SIMCLR_LR_SCALING_NONE;
    config.probe_learning_rate = 0.0f;
    config.method = SIMCLR_METHOD_SIMCLR;
    config.queue_size = SIMCLR_METHOD_DEFAULT_QUEUE_SIZE;
    config.barlow_lambda = SIMCLR_METHOD_BARLOW_LAMBDA;
    config.vicreg_weights[0] = 25.0f;
    config.vicreg_weights[1] = 25.0f;
    config.vicreg_weights[2] = 1.0f;
    return config;
}

int simclr_train_memory_bytes(const simclr_dataset *ds, const simclr_train_config *config, int contrastive,
                              size_t *bytes, simclr_error *err)
{
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    size_t needed = 0;
    /* Issue 27: a folder dataset indexed but not yet decoded will hold its pixels too. */
    size_t pending = simclr_dataset_pending_bytes(ds);
    /* Issue 25: a streamed dataset's decoder pool holds two batches of images. */
    /* Issue 25: a streamed dataset's decoder pool holds two of its largest requests: a training
     * batch, or a chunk of the evaluation or the kNN bank (test_batch). */
    size_t prefetch_batch = contrastive ? config->unlabeled_batch + config->labeled_batch : config->labeled_batch;
    if (config->test_batch > prefetch_batch) prefetch_batch = config->test_batch;
    if (simclr_dataset_decode_threads(ds) > 0) pending += 2 * prefetch_batch * image_bytes;
    if (!contrastive) {
        size_t max_batch = config->labeled_batch > config->test_batch ? config->labeled_batch
                                                                       : config->test_batch;
        if (simclr_model_estimate_bytes(&config->model, (int)max_batch, 0, (int)max_batch, &needed, err) != 0)
            return -1;
        *bytes = pending + needed + max_batch * image_bytes * (1 + sizeof(float));
        return 0;
    }
    size_t batch = config->unlabeled_batch + config->labeled_batch;
    size_t views = 2 * batch;
    size_t max_batch = views > config->test_batch ? views : config->test_batch;
    size_t width = (size_t)config->model.width;
    if (simclr_model_estimate_bytes(&config->model, (int)max_batch, (int)views, (int)max_batch, &needed,
                                    err) != 0)
        return -1;
    /* Issue 13: the method's extra networks, queue and loss buffers (the seed's: the projection
     * gradients and the contrastive workspace). */
    size_t method = 0;
    simclr_method_settings settings = simclr_train_method_settings(config);
    if (simclr_method_memory_bytes(&settings, (int)batch, &method, err) != 0) return -1;
    *bytes = pending + needed + max_batch * image_bytes * (1 + sizeof(float)) + views * width * sizeof(float) + method;
    return 0;
}

int simclr_train_check_run(const simclr_dataset *ds, const simclr_train_config *config, int contrastive,
                           simclr_error *err)
{
    int ranks = simclr_communicator_size(config->communicator);
    size_t batch = config->unlabeled_batch + config->labeled_batch;
    if (contrastive) {
        if (config->labeled_batch == 0 && config->knn_k > 0)
            return simclr_error_input(err, "--knn-k %d: pretraining without labeled images (--labeled-batch 0) has no "
                                           "kNN monitor; give --knn-k 0",
                                      config->knn_k);
        if (ranks > 1 && batch < (size_t)ranks)
            return simclr_error_input(err, "--unlabeled-batch + --labeled-batch = %zu images per step for %d ranks "
                                           "(expected at least one image per rank)",
                                      batch, ranks);
        if (ranks > 1 && config->method != SIMCLR_METHOD_SIMCLR)
            return simclr_error_input(err, "--method %s: data-parallel training over MPI (%d ranks) runs --method "
                                           "simclr only; run %s in one process",
                                      simclr_method_name(config->method), ranks, simclr_method_name(config->method));
        if ((config->method == SIMCLR_METHOD_BARLOW || config->method == SIMCLR_METHOD_VICREG) && batch < 2)
            return simclr_error_input(err, "--method %s standardises over the batch: --unlabeled-batch + "
                                           "--labeled-batch must be at least 2",
                                      simclr_method_name(config->method));
        return 0;
    }
    if (ranks <= 1) return 0;
    if (config->labeled_batch < (size_t)ranks)
        return simclr_error_input(err, "--labeled-batch %zu for %d ranks (expected at least one image per rank)",
                                  config->labeled_batch, ranks);
    size_t *indices = NULL, count = 0;
    if (simclr_train_labeled_subset(ds, config, &indices, &count, err) != 0) return -1;
    free(indices);
    size_t last = count % config->labeled_batch;
    if (last != 0 && last < (size_t)ranks)
        return simclr_error_input(err, "--labeled-batch %zu: the last batch of an epoch has %zu of the %zu labeled "
                                       "images, fewer than the %d ranks (expected at least one image per rank); "
                                       "choose a --labeled-batch or --labeled-per-class whose last batch has at "
                                       "least %d",
                                  config->labeled_batch, last, count, ranks, ranks);
    return 0;
}

int simclr_train_labeled_subset(const simclr_dataset *ds, const simclr_train_config *config, size_t **indices,
                         size_t *count, simclr_error *err)
{
    return simclr_sampler_labeled_subset(ds, config->labeled_per_class, config->seed, indices, count, err);
}

int simclr_batch_read_images(const simclr_dataset *ds, simclr_dataset_split_id split, const size_t *indices,
                             size_t count, uint8_t *out, simclr_error *err)
{
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    /* A streamed dataset decodes here, an image a thread (issue 25). */
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < count; i++) simclr_dataset_read_image(ds, split, indices[i], out + i * image_bytes);
    return simclr_dataset_check_reads(ds, err);
}

void simclr_batch_read_labels(const simclr_dataset *ds, simclr_dataset_split_id split, const size_t *indices,
                       size_t count, int32_t *out)
{
    for (size_t i = 0; i < count; i++) out[i] = simclr_dataset_label(ds, split, indices[i]);
}

int simclr_evaluate_classifier(const simclr_dataset *ds, simclr_network *encoder, simclr_network *classifier,
                        size_t test_batch, uint8_t *pixels, float *inputs, simclr_knn_monitor *knn,
                        simclr_evaluation *result, simclr_error *err)
{
    return simclr_evaluate_classifier_sharded(NULL, ds, encoder, classifier, test_batch, pixels, inputs, knn,
                                              result, err);
}

int simclr_evaluate_classifier_sharded(simclr_communicator *comm, const simclr_dataset *ds,
                                       simclr_network *encoder, simclr_network *classifier, size_t test_batch,
                                       uint8_t *pixels, float *inputs, simclr_knn_monitor *knn,
                                       simclr_evaluation *result, simclr_error *err)
{
    int ranks = simclr_communicator_size(comm), rank = simclr_communicator_rank(comm);
    if (knn && simclr_knn_monitor_fill_bank(knn, ds, encoder, test_batch, pixels, inputs, err) != 0) return -1;
    const simclr_dataset_split *test = &ds->splits[SIMCLR_DATASET_SPLIT_TEST];
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    int classes = classifier->layers[classifier->layer_count - 1].spec.units;
    double loss_sum = 0.0;
    size_t correct_sum = 0;
    /* Issue 25: a streamed dataset's decoder pool decodes this rank's next batch meanwhile. */
    size_t *ahead = simclr_dataset_decode_threads(ds) > 0 ? malloc(test_batch * sizeof *ahead) : NULL;
    for (size_t start = 0; start < test->count; start += test_batch) {
        if ((int)((start / test_batch) % (size_t)ranks) != rank) continue; /* issue 14: rank r's batches */
        size_t count = test->count - start < test_batch ? test->count - start : test_batch;
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t i = 0; i < count; i++)
            simclr_dataset_read_image(ds, SIMCLR_DATASET_SPLIT_TEST, start + i, pixels + i * image_bytes);
        if (simclr_dataset_check_reads(ds, err) != 0) {
            free(ahead);
            return -1;
        }
        size_t next = start + (size_t)ranks * test_batch;
        if (ahead && next < test->count) {
            simclr_dataset_images request = {SIMCLR_DATASET_SPLIT_TEST, ahead,
                                             test->count - next < test_batch ? test->count - next : test_batch};
            for (size_t i = 0; i < request.count; i++) ahead[i] = next + i;
            simclr_dataset_prefetch(ds, &request, 1);
        }
        const int32_t *labels = test->labels + start; /* issue 24: any test batch, no copy, no clamp */
        simclr_augment_rescale(pixels, count * image_bytes, inputs);
        /* Inference mode: batchnorm layers use their running statistics. */
        int encoder_mode = encoder->training, classifier_mode = classifier->training;
        simclr_network_set_training(encoder, 0);
        simclr_network_set_training(classifier, 0);
        int status = simclr_network_forward(encoder, inputs, (int)count, err);
        if (status == 0) status = simclr_network_forward(classifier, simclr_network_output(encoder), (int)count, err);
        simclr_network_set_training(encoder, encoder_mode);
        simclr_network_set_training(classifier, classifier_mode);
        if (status != 0) {
            free(ahead);
            return -1;
        }
        int correct = 0;
        float loss = simclr_softmax_cross_entropy(simclr_network_output(classifier), labels, (int)count, classes,
                                           NULL, &correct);
        loss_sum += (double)loss * (double)count;
        correct_sum += (size_t)correct;
        if (knn && simclr_knn_monitor_classify(knn, simclr_network_output(encoder), labels, count, err) != 0) {
            free(ahead);
            return -1;
        }
    }
    free(ahead);
    if (ranks > 1) {
        double sums[4] = {loss_sum, (double)correct_sum, knn ? (double)knn->correct : 0.0,
                          knn ? (double)knn->seen : 0.0};
        simclr_communicator_allreduce_doubles(comm, sums, 4);
        loss_sum = sums[0];
        correct_sum = (size_t)sums[1];
        if (knn) {
            knn->correct = (size_t)sums[2];
            knn->seen = (size_t)sums[3];
        }
    }
    result->knn_accuracy = knn && knn->seen ? (double)knn->correct / (double)knn->seen : NAN;
    result->count = test->count;
    result->loss = test->count ? loss_sum / (double)test->count : NAN;
    result->accuracy = test->count ? (double)correct_sum / (double)test->count : NAN;
    return 0;
}

int simclr_check_finite(const float *values, size_t count, const char *tensor, int epoch, size_t step,
                 simclr_error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) {
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                             "non-finite value (%g) in %s at epoch %d, step %zu; the last good "
                             "checkpoint is intact. Resume it with a lower learning rate, e.g. "
                             "--learning-rate 1e-4",
                             (double)values[i], tensor, epoch, step + 1);
        }
    }
    return 0;
}

void simclr_train_out_path(const simclr_train_config *config, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", config->out_dir, file);
}

void simclr_train_fill_checkpoint_info(simclr_checkpoint_info *info, const simclr_dataset *ds,
                                const simclr_train_config *config, const char *run, const char *classifier,
                                int epochs_done)
{
    memset(info, 0, sizeof *info);
    snprintf(info->run, sizeof info->run, "%s", run);
    snprintf(info->classifier, sizeof info->classifier, "%s", classifier);
    snprintf(info->dataset, sizeof info->dataset, "%s", ds->name);
    snprintf(info->data_dir, sizeof info->data_dir, "%s", ds->path);
    info->extra = config->checkpoint_metadata;
    info->extra_count = config->checkpoint_metadata_count;
    info->epochs_done = epochs_done;
    info->epochs_total = config->epochs;
    info->seed = config->seed;
    info->model = config->model;
    info->num_classes = ds->num_classes;
    info->class_names = ds->class_names; /* borrowed: the info is for saving */
    info->owns_class_names = 0;
    simclr_augment_policy_describe(&config->augment, info->augment, sizeof info->augment);
    simclr_train_describe_optimizer(config, info->optimizer, sizeof info->optimizer);
}

void simclr_train_describe_optimizer(const simclr_train_config *config, char *out, size_t size)
{
    char optimizer[384];
    simclr_optimizer_describe(&config->optimizer, optimizer, sizeof optimizer);
    static const char *const schedules[] = {"constant", "cosine"};
    static const char *const scalings[] = {"none", "linear", "sqrt"};
    /* Not the learning rate: resuming a diverged run with a lower one is the advice the NaN guard
     * gives. */
    snprintf(out, size, "%s lr_schedule=%s warmup_epochs=%g lr_scaling=%s", optimizer,
             schedules[config->lr_schedule], config->warmup_epochs, scalings[config->lr_scaling]);
}

int simclr_train_schedule(const simclr_train_config *config, size_t batch, size_t steps_per_epoch,
                          simclr_lr_schedule *schedule, simclr_error *err)
{
    schedule->kind = config->lr_schedule;
    schedule->base = simclr_lr_scaled((double)config->optimizer.learning_rate, config->lr_scaling, batch);
    schedule->total_steps = (int64_t)config->epochs * (int64_t)steps_per_epoch;
    schedule->warmup_steps = (int64_t)llround(config->warmup_epochs * (double)steps_per_epoch);
    if (config->warmup_epochs < 0.0 || schedule->warmup_steps > schedule->total_steps)
        return simclr_error_input(err, "--warmup-epochs %g: longer than the run (--epochs %d, %lld steps); "
                                  "expected 0 to %d",
                                  config->warmup_epochs, config->epochs,
                                  (long long)schedule->total_steps, config->epochs);
    return 0;
}

simclr_optimizer_config simclr_train_probe_optimizer(const simclr_train_config *config)
{
    /* Keras's Adam at its defaults; its rate is simclr_train_probe_learning_rate's. */
    return simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_ADAM);
}

float simclr_train_probe_learning_rate(const simclr_train_config *config)
{
    if (config->probe_learning_rate > 0.0f) return config->probe_learning_rate;
    /* The seed trains the probe with its Adam at --learning-rate; a LARS/SGD rate (0.3 x B/256)
     * would make Adam diverge, so other optimizers leave the probe at Keras's default. */
    return config->optimizer.kind == SIMCLR_OPTIMIZER_KIND_ADAM ? config->optimizer.learning_rate : 1e-3f;
}

/* A value as one line of a message: newlines as commas, at most size - 1 bytes ("..." when cut). */
static void shown_value(const char *value, char *out, size_t size)
{
    size_t used = 0;
    for (const char *c = value; *c && used + 1 < size; c++) out[used++] = *c == '\n' ? ',' : *c;
    out[used] = '\0';
    if (strlen(value) >= size && size > 4) memcpy(out + size - 4, "...", 4);
}

/* The record's comparison: every entry that may not change, one line per difference. */
static int compare_record(const simclr_train_config *config, const simclr_safetensors_file *file, simclr_error *err)
{
    char *message = NULL;
    size_t size = 0;
    FILE *lines = open_memstream(&message, &size);
    if (!lines) return simclr_error_system(err, "--resume %s: comparing the run record", config->out_dir);
    int differences = 0;
    for (int i = 0; i < config->checkpoint_metadata_count; i++) {
        const simclr_checkpoint_metadata *entry = &config->checkpoint_metadata[i];
        if (entry->may_change) continue;
        const char *stored = simclr_safetensors_metadata(file, entry->key);
        if (stored && strcmp(stored, entry->value) == 0) continue;
        if (!stored && entry->compared_if_recorded) continue; /* recorded before the row existed */
        char before[160], after[160];
        shown_value(stored ? stored : "(not recorded)", before, sizeof before);
        shown_value(entry->value, after, sizeof after);
        fprintf(lines, "%s%s: the run in %s used %s, this command gives %s", differences ? "\n" : "",
                entry->label ? entry->label : entry->key, config->out_dir, before, after);
        differences++;
    }
    int failed = fclose(lines) != 0;
    int status = 0;
    if (failed)
        status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "--resume %s: out of memory comparing the run record",
                                  config->out_dir);
    else if (differences > 0)
        status = simclr_error_input(err, "--resume %s: %d option%s differ%s from the run being resumed (give the run's "
                                         "own values, or start a new run with another --out):\n%s",
                                    config->out_dir, differences, differences == 1 ? "" : "s",
                                    differences == 1 ? "s" : "", message);
    free(message);
    return status;
}

/* What a checkpoint without a record carries, checked field by field. */
static int compare_info(const simclr_train_config *config, const char *path, const simclr_checkpoint_info *info,
                        simclr_error *err)
{
    if (info->seed != config->seed)
        return simclr_error_input(err, "--resume: %s was trained with --seed %llu, not %llu", path,
                           (unsigned long long)info->seed, (unsigned long long)config->seed);
    if (info->model.precision != config->model.precision)
        return simclr_error_input(err, "--resume: %s was trained with --precision %s, not %s", path,
                           simclr_nn_precision_name(info->model.precision),
                           simclr_nn_precision_name(config->model.precision));
    if (simclr_checkpoint_check_model(path, &config->model, "--resume", err) != 0) return -1;
    /* Issue 12: the recipe must be the same (checkpoints from before it record none: the seed's). */
    char augment[512];
    simclr_augment_policy_describe(&config->augment, augment, sizeof augment);
    const char *saved_augment = info->augment[0] ? info->augment : "seed";
    if (strcmp(saved_augment, augment) != 0)
        return simclr_error_input(err, "--resume: %s was trained with augmentation '%s', not '%s' (give "
                                  "the same --augment and policy options)",
                                  path, saved_augment, augment);
    char optimizer[512];
    simclr_train_describe_optimizer(config, optimizer, sizeof optimizer);
    if (info->optimizer[0] && strcmp(info->optimizer, optimizer) != 0)
        return simclr_error_input(err, "--resume: %s was trained with '%s', not '%s' (give the same "
                                  "--optimizer and schedule options)",
                                  path, info->optimizer, optimizer);
    return 0;
}

int simclr_train_check_resume(const simclr_train_config *config, const char *checkpoint, simclr_error *err)
{
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, checkpoint, err) != 0) return -1;
    int recorded = simclr_safetensors_metadata(&file, "config.command") != NULL;
    int status = recorded && config->checkpoint_metadata_count > 0 ? compare_record(config, &file, err) : 0;
    simclr_safetensors_close(&file);
    if (status != 0) return -1;
    if (recorded && config->checkpoint_metadata_count > 0) return 0;
    if (!recorded && config->checkpoint_metadata_count > 0 && !config->quiet)
        fprintf(config->log ? config->log : stderr,
                "warning: %s was written before checkpoints recorded their configuration; it is checked on what it "
                "carries (seed, precision, model, augmentation, optimizer)\n",
                checkpoint);
    simclr_checkpoint_info info;
    if (simclr_checkpoint_read_info(checkpoint, &info, err) != 0) return -1;
    status = compare_info(config, checkpoint, &info, err);
    simclr_checkpoint_info_free(&info);
    return status;
}

/* The checks and the loading of a resume from the checkpoint at path whose info was read. */
static int resume_from(const simclr_train_config *config, const char *run, const char *path,
                       const simclr_checkpoint_info *info, const simclr_checkpoint_part *parts, int part_count,
                       simclr_history *hist, simclr_run_position *position, int *finished, simclr_error *err)
{
    if (strcmp(info->run, run) != 0)
        return simclr_error_input(err, "--resume: %s is a %s checkpoint, not %s", path, info->run, run);
    if (simclr_train_check_resume(config, path, err) != 0) return -1;
    if (simclr_checkpoint_load_parts(path, parts, part_count, err) != 0) return -1;
    char csv[4096];
    snprintf(csv, sizeof csv, "%s/%s_history.csv", config->out_dir, run);
    if (info->epochs_done > 0) {
        if (simclr_history_read_csv(hist, csv, err) != 0) return -1;
        if (hist->epoch_count < info->epochs_done)
            return simclr_error_input(err, "--resume: %s has %d epochs but %s says %d were done", csv,
                               hist->epoch_count, path, info->epochs_done);
        simclr_history_truncate(hist, info->epochs_done);
    }
    position->epoch = info->epochs_done;
    position->step = (size_t)info->resume_step;
    position->accumulator_count = info->accumulator_count;
    for (int i = 0; i < info->accumulator_count; i++) {
        position->accumulators[i] = info->accumulators[i];
        snprintf(position->accumulator_names[i], sizeof position->accumulator_names[i], "%s",
                 info->accumulator_names[i]);
    }
    position->seconds = info->epoch_seconds;
    *finished = info->epochs_done >= config->epochs && info->resume_step == 0;
    if (!config->quiet)
        fprintf(config->log, "Resuming %s from %s: epoch %d, step %d\n", run, path,
                info->epochs_done + 1, info->resume_step);
    return 0;
}

int simclr_train_resume_begin(const simclr_train_config *config, const char *run, const simclr_checkpoint_part *parts,
                       int part_count, simclr_history *hist, simclr_run_position *position, int *finished,
                       simclr_error *err)
{
    memset(position, 0, sizeof *position);
    *finished = 0;
    if (!config->resume) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", config->out_dir, run);
    if (access(path, F_OK) != 0) {
        if (!config->quiet)
            fprintf(config->log, "No %s checkpoint at %s yet: starting %s from the beginning\n",
                    run, path, run);
        return 0;
    }
    simclr_checkpoint_info info;
    if (simclr_checkpoint_read_info(path, &info, err) != 0) return -1;
    int status = resume_from(config, run, path, &info, parts, part_count, hist, position, finished, err);
    simclr_checkpoint_info_free(&info);
    return status;
}

int simclr_train_stop_requested(const simclr_train_config *config, long long steps_this_process)
{
    int stop = (config->stop_requested && *config->stop_requested) ||
               (config->stop_after_steps > 0 && steps_this_process >= config->stop_after_steps);
    /* Issue 14: a signal reaches the ranks at different moments; they stop at the same step. */
    if (simclr_communicator_size(config->communicator) > 1) {
        double any = stop ? 1.0 : 0.0;
        simclr_communicator_allreduce_doubles(config->communicator, &any, 1);
        stop = any > 0.0;
    }
    return stop;
}

void simclr_train_set_interruptible(const simclr_train_config *config, simclr_network *const *nets, int count,
                                    int interruptible)
{
    int alone = simclr_communicator_size(config->communicator) == 1;
    for (int i = 0; i < count; i++)
        nets[i]->stop_requested = interruptible && alone ? config->stop_requested : NULL;
}

size_t simclr_train_state_floats(const simclr_checkpoint_part *parts, int part_count)
{
    size_t floats = 0;
    for (int p = 0; p < part_count; p++)
        if (parts[p].net) floats += parts[p].net->state_count;
    return floats;
}

void simclr_train_keep_states(const simclr_checkpoint_part *parts, int part_count, float *copy)
{
    for (int p = 0; p < part_count; p++) {
        if (!parts[p].net || parts[p].net->state_count == 0) continue;
        memcpy(copy, parts[p].net->state, parts[p].net->state_count * sizeof(float));
        copy += parts[p].net->state_count;
    }
}

static void restore_states(const simclr_checkpoint_part *parts, int part_count, const float *copy)
{
    for (int p = 0; p < part_count; p++) {
        if (!parts[p].net || parts[p].net->state_count == 0) continue;
        memcpy(parts[p].net->state, copy, parts[p].net->state_count * sizeof(float));
        copy += parts[p].net->state_count;
    }
}

int simclr_train_save_if_interrupted(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                                     const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                                     const float *kept_states, int epoch, size_t next_step, simclr_train_sums sums,
                                     double seconds, simclr_error *err)
{
    if (err->kind != SIMCLR_ERROR_KIND_INTERRUPTED) return -1;
    if (kept_states) restore_states(parts, part_count, kept_states);
    if (!config->quiet) fprintf(config->log, "\n");
    return simclr_train_save_interrupted(ds, config, run, classifier, parts, part_count, epoch, next_step, sums,
                                         seconds, err);
}

int simclr_train_save_interrupted(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                           const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                           int epoch, size_t next_step, simclr_train_sums sums, double seconds,
                           simclr_error *err)
{
    if (simclr_train_save_position(ds, config, run, classifier, parts, part_count, epoch, next_step, sums, seconds,
                                   err) != 0)
        return -1;
    return simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED,
                            "interrupted in epoch %d after step %zu; saved %s/%s.safetensors. Continue with "
                            "--resume %s (the same command; the run's options are read from it)",
                            epoch + 1, next_step, config->out_dir, run, config->out_dir);
}

int simclr_train_save_position(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                               const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                               int epoch, size_t next_step, simclr_train_sums sums, double seconds,
                               simclr_error *err)
{
    simclr_checkpoint_info info;
    simclr_train_fill_checkpoint_info(&info, ds, config, run, classifier, epoch);
    info.resume_step = (int)next_step;
    info.accumulator_count = sums.count;
    for (int i = 0; i < sums.count; i++) {
        info.accumulators[i] = sums.values[i];
        snprintf(info.accumulator_names[i], sizeof info.accumulator_names[i], "%s", sums.names[i]);
    }
    info.epoch_seconds = seconds;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", config->out_dir, run);
    if (!simclr_communicator_is_root(config->communicator)) return 0; /* issue 14: rank 0 writes */
    if (config->before_first_write && config->before_first_write(config->before_first_write_context, err) != 0)
        return -1;
    return simclr_checkpoint_save(path, &info, parts, part_count, err);
}

/* Memory this process may still use: MemAvailable, lowered by a cgroup v2 limit. 0 when unknown. */
size_t simclr_train_available_memory(void)
{
    size_t available = 0;
    FILE *meminfo = fopen("/proc/meminfo", "r");
    if (meminfo) {
        char line[256];
        while (fgets(line, sizeof line, meminfo)) {
            unsigned long long kib = 0;
            if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
                available = (size_t)kib * 1024;
                break;
            }
        }
        fclose(meminfo);
    }
    FILE *cgroup = fopen("/sys/fs/cgroup/memory.max", "r");
    if (cgroup) {
        unsigned long long limit = 0;
        if (fscanf(cgroup, "%llu", &limit) == 1 && limit > 0 && (available == 0 || limit < available))
            available = (size_t)limit;
        fclose(cgroup);
    }
    return available;
}

int simclr_train_check_memory(const char *run, size_t bytes, size_t limit, const char *hint, simclr_error *err)
{
    size_t available = limit ? limit : simclr_train_available_memory();
    if (available == 0 || bytes <= available) return 0;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    return simclr_error_input(err,
                       "%s needs about %.2f GiB of memory for this configuration but only %.2f "
                       "GiB is available; %s",
                       run, (double)bytes / gib, (double)available / gib, hint);
}

simclr_method_settings simclr_train_method_settings(const simclr_train_config *config)
{
    simclr_method_settings settings = {.method = config->method,
                                       .model = config->model,
                                       .optimizer = config->optimizer,
                                       .loss_kind = config->loss_kind,
                                       .temperature = config->temperature,
                                       .ema_momentum = config->ema_momentum,
                                       .queue_size = config->queue_size,
                                       .predictor_hidden = config->predictor_hidden,
                                       .barlow_lambda = config->barlow_lambda,
                                       .unlabeled_batch = config->unlabeled_batch,
                                       .labeled_batch = config->labeled_batch,
                                       .seed = config->seed,
                                       .communicator = config->communicator};
    memcpy(settings.vicreg_weights, config->vicreg_weights, sizeof settings.vicreg_weights);
    return settings;
}

float simclr_train_ema_momentum(const simclr_train_config *config)
{
    simclr_method_settings settings = simclr_train_method_settings(config);
    return simclr_method_ema_momentum(&settings);
}

int simclr_train_predictor_hidden(const simclr_train_config *config)
{
    simclr_method_settings settings = simclr_train_method_settings(config);
    return simclr_method_predictor_hidden(&settings);
}
