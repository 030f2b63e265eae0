#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simclr/augment.h"
#include "simclr/loss.h"
#include "simclr/sampler.h"
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
        .adam = simclr_adam_config_keras(),
        .out_dir = "runs/latest",
        .quiet = 0,
        .log = stdout,
        .resume = 0,
        .stop_requested = NULL,
        .stop_after_steps = 0,
        .inject_nan_at_step = -1,
    };
    simclr_tensor_shape input = {ds->height, ds->width, ds->channels};
    config.model = simclr_model_config_default(input, ds->num_classes);
    return config;
}

int simclr_train_labeled_subset(const simclr_dataset *ds, const simclr_train_config *config, size_t **indices,
                         size_t *count, simclr_error *err)
{
    return simclr_sampler_labeled_subset(ds, config->labeled_per_class, config->seed, indices, count, err);
}

void simclr_batch_read_images(const simclr_dataset *ds, simclr_dataset_split_id split, const size_t *indices,
                       size_t count, uint8_t *out)
{
    size_t image_bytes = simclr_dataset_image_bytes(ds);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) simclr_dataset_read_image(ds, split, indices[i], out + i * image_bytes);
}

void simclr_batch_read_labels(const simclr_dataset *ds, simclr_dataset_split_id split, const size_t *indices,
                       size_t count, int32_t *out)
{
    for (size_t i = 0; i < count; i++) out[i] = simclr_dataset_label(ds, split, indices[i]);
}

int simclr_evaluate_classifier(const simclr_dataset *ds, simclr_network *encoder, simclr_network *classifier,
                        size_t test_batch, uint8_t *pixels, float *inputs, simclr_evaluation *result,
                        simclr_error *err)
{
    const simclr_dataset_split *test = &ds->splits[SIMCLR_DATASET_SPLIT_TEST];
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    int classes = classifier->layers[classifier->layer_count - 1].spec.units;
    int32_t labels[4096];
    if (test_batch > sizeof labels / sizeof labels[0]) test_batch = sizeof labels / sizeof labels[0];
    double loss_sum = 0.0;
    size_t correct_sum = 0;
    for (size_t start = 0; start < test->count; start += test_batch) {
        size_t count = test->count - start < test_batch ? test->count - start : test_batch;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < count; i++)
            simclr_dataset_read_image(ds, SIMCLR_DATASET_SPLIT_TEST, start + i, pixels + i * image_bytes);
        for (size_t i = 0; i < count; i++) labels[i] = test->labels[start + i];
        simclr_augment_rescale(pixels, count * image_bytes, inputs);
        /* Inference mode: batchnorm layers use their running statistics. */
        int encoder_mode = encoder->training, classifier_mode = classifier->training;
        simclr_network_set_training(encoder, 0);
        simclr_network_set_training(classifier, 0);
        int status = simclr_network_forward(encoder, inputs, (int)count, err);
        if (status == 0) status = simclr_network_forward(classifier, simclr_network_output(encoder), (int)count, err);
        simclr_network_set_training(encoder, encoder_mode);
        simclr_network_set_training(classifier, classifier_mode);
        if (status != 0) return -1;
        int correct = 0;
        float loss = simclr_softmax_cross_entropy(simclr_network_output(classifier), labels, (int)count, classes,
                                           NULL, &correct);
        loss_sum += (double)loss * (double)count;
        correct_sum += (size_t)correct;
    }
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
    info->epochs_done = epochs_done;
    info->epochs_total = config->epochs;
    info->seed = config->seed;
    info->model = config->model;
    info->num_classes = ds->num_classes;
    for (int c = 0; c < ds->num_classes && c < 100; c++)
        snprintf(info->class_names[c], sizeof info->class_names[c], "%s", ds->class_names[c]);
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
    if (strcmp(info.run, run) != 0)
        return simclr_error_input(err, "--resume: %s is a %s checkpoint, not %s", path, info.run, run);
    if (info.seed != config->seed)
        return simclr_error_input(err, "--resume: %s was trained with --seed %llu, not %llu", path,
                           (unsigned long long)info.seed, (unsigned long long)config->seed);
    if (info.model.precision != config->model.precision)
        return simclr_error_input(err, "--resume: %s was trained with --precision %s, not %s", path,
                           simclr_nn_precision_name(info.model.precision),
                           simclr_nn_precision_name(config->model.precision));
    if (simclr_checkpoint_check_model(path, &config->model, "--resume", err) != 0) return -1;
    for (int p = 0; p < part_count; p++)
        if (simclr_checkpoint_load_part(path, parts[p].net, parts[p].optimizer, err) != 0) return -1;
    char csv[4096];
    snprintf(csv, sizeof csv, "%s/%s_history.csv", config->out_dir, run);
    if (info.epochs_done > 0) {
        if (simclr_history_read_csv(hist, csv, err) != 0) return -1;
        if (hist->epoch_count < info.epochs_done)
            return simclr_error_input(err, "--resume: %s has %d epochs but %s says %d were done", csv,
                               hist->epoch_count, path, info.epochs_done);
        simclr_history_truncate(hist, info.epochs_done);
    }
    position->epoch = info.epochs_done;
    position->step = (size_t)info.resume_step;
    for (int i = 0; i < info.accumulator_count; i++) position->accumulators[i] = info.accumulators[i];
    position->seconds = info.epoch_seconds;
    *finished = info.epochs_done >= config->epochs && info.resume_step == 0;
    if (!config->quiet)
        fprintf(config->log, "Resuming %s from %s: epoch %d, step %d\n", run, path,
                info.epochs_done + 1, info.resume_step);
    return 0;
}

int simclr_train_stop_requested(const simclr_train_config *config, long long steps_this_process)
{
    if (config->stop_requested && *config->stop_requested) return 1;
    return config->stop_after_steps > 0 && steps_this_process >= config->stop_after_steps;
}

int simclr_train_save_interrupted(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                           const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                           int epoch, size_t next_step, const double *accumulators,
                           int accumulator_count, double seconds, simclr_error *err)
{
    simclr_checkpoint_info info;
    simclr_train_fill_checkpoint_info(&info, ds, config, run, classifier, epoch);
    info.resume_step = (int)next_step;
    info.accumulator_count = accumulator_count;
    for (int i = 0; i < accumulator_count; i++) info.accumulators[i] = accumulators[i];
    info.epoch_seconds = seconds;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", config->out_dir, run);
    if (simclr_checkpoint_save(path, &info, parts, part_count, err) != 0) return -1;
    return simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED,
                     "interrupted in epoch %d after step %zu; saved %s. Continue with the same "
                     "options plus --resume (simclr %s ... --resume --out %s)",
                     epoch + 1, next_step, path, run, config->out_dir);
}

/* Memory this process may still use: MemAvailable, lowered by a cgroup v2 limit, or the
 * SIMCLR_MEMORY_LIMIT environment variable (bytes) when set, which stands in for a smaller
 * machine. 0 when unknown. */
static size_t available_memory_bytes(void)
{
    const char *override = getenv("SIMCLR_MEMORY_LIMIT");
    if (override && *override) return (size_t)strtoull(override, NULL, 10);
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

int simclr_train_check_memory(const char *run, size_t bytes, const char *hint, simclr_error *err)
{
    size_t available = available_memory_bytes();
    if (available == 0 || bytes <= available) return 0;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    return simclr_error_input(err,
                       "%s needs about %.2f GiB of memory for this configuration but only %.2f "
                       "GiB is available; %s",
                       run, (double)bytes / gib, (double)available / gib, hint);
}
