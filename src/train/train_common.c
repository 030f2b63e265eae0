#include <math.h>
#include <stdio.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/loss.h"
#include "simclr/sampler.h"
#include "train_internal.h"

train_config train_config_default(const dataset *ds)
{
    train_config config = {
        .epochs = 20,
        .steps_per_epoch = 0,
        .unlabeled_batch = 500,
        .labeled_batch = 25,
        .test_batch = 525,
        .labeled_per_class = 0,
        .seed = 0,
        .temperature = 0.1f,
        .loss_kind = CONTRASTIVE_KIND_SEED,
        .adam = adam_config_keras(),
        .out_dir = "runs/latest",
        .quiet = 0,
        .log = stdout,
    };
    tensor_shape input = {ds->height, ds->width, ds->channels};
    config.model = model_config_default(input, ds->num_classes);
    return config;
}

int train_labeled_subset(const dataset *ds, const train_config *config, size_t **indices,
                         size_t *count, error *err)
{
    return sampler_labeled_subset(ds, config->labeled_per_class, config->seed, indices, count, err);
}

void batch_read_images(const dataset *ds, dataset_split_id split, const size_t *indices,
                       size_t count, uint8_t *out)
{
    size_t image_bytes = dataset_image_bytes(ds);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) dataset_read_image(ds, split, indices[i], out + i * image_bytes);
}

void batch_read_labels(const dataset *ds, dataset_split_id split, const size_t *indices,
                       size_t count, int32_t *out)
{
    for (size_t i = 0; i < count; i++) out[i] = dataset_label(ds, split, indices[i]);
}

int evaluate_classifier(const dataset *ds, network *encoder, network *classifier,
                        size_t test_batch, uint8_t *pixels, float *inputs, evaluation *result,
                        error *err)
{
    const dataset_split *test = &ds->splits[DATASET_SPLIT_TEST];
    size_t image_bytes = dataset_image_bytes(ds);
    int classes = classifier->layers[classifier->layer_count - 1].spec.units;
    int32_t labels[4096];
    if (test_batch > sizeof labels / sizeof labels[0]) test_batch = sizeof labels / sizeof labels[0];
    double loss_sum = 0.0;
    size_t correct_sum = 0;
    for (size_t start = 0; start < test->count; start += test_batch) {
        size_t count = test->count - start < test_batch ? test->count - start : test_batch;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < count; i++)
            dataset_read_image(ds, DATASET_SPLIT_TEST, start + i, pixels + i * image_bytes);
        for (size_t i = 0; i < count; i++) labels[i] = test->labels[start + i];
        augment_rescale(pixels, count * image_bytes, inputs);
        if (network_forward(encoder, inputs, (int)count, err) != 0) return -1;
        if (network_forward(classifier, network_output(encoder), (int)count, err) != 0) return -1;
        int correct = 0;
        float loss = softmax_cross_entropy(network_output(classifier), labels, (int)count, classes,
                                           NULL, &correct);
        loss_sum += (double)loss * (double)count;
        correct_sum += (size_t)correct;
    }
    result->count = test->count;
    result->loss = test->count ? loss_sum / (double)test->count : NAN;
    result->accuracy = test->count ? (double)correct_sum / (double)test->count : NAN;
    return 0;
}

int check_finite(const float *values, size_t count, const char *tensor, int epoch, size_t step,
                 error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) {
            return error_set(err, ERROR_KIND_RESOURCE,
                             "non-finite value (%g) in %s at epoch %d, step %zu; the last good "
                             "checkpoint is intact. Resume it with a lower learning rate, e.g. "
                             "--learning-rate 1e-4",
                             (double)values[i], tensor, epoch, step + 1);
        }
    }
    return 0;
}

void train_out_path(const train_config *config, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", config->out_dir, file);
}

void train_fill_checkpoint_info(checkpoint_info *info, const dataset *ds,
                                const train_config *config, const char *run, const char *classifier,
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
