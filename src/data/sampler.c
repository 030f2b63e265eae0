#include "simclr/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "simclr/rng.h"

static int compare_sizes(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int simclr_sampler_labeled_subset(const simclr_dataset *ds, int per_class, uint64_t seed, size_t **indices,
                           size_t *count, simclr_error *err)
{
    *indices = NULL;
    *count = 0;
    const simclr_dataset_split *train = &ds->splits[SIMCLR_DATASET_SPLIT_TRAIN];
    if (per_class <= 0) {
        size_t *all = simclr_checked_calloc(train->count, sizeof(size_t), "labeled indices", err);
        if (!all) return -1;
        for (size_t i = 0; i < train->count; i++) all[i] = i;
        *indices = all;
        *count = train->count;
        return 0;
    }
    if (!train->labels || ds->num_classes <= 0)
        return simclr_error_input(err, "--labeled-per-class %d: the %s train split has no labels",
                           per_class, ds->name);
    size_t classes = (size_t)ds->num_classes, want = (size_t)per_class;
    if (want > SIZE_MAX / classes)
        return simclr_error_input(err, "--labeled-per-class %d is too large", per_class);
    size_t *chosen = simclr_checked_calloc(want * classes, sizeof(size_t), "labeled indices", err);
    size_t *members = chosen ? simclr_checked_calloc(train->count, sizeof(size_t), "class members", err)
                             : NULL;
    if (!members) {
        free(chosen);
        return -1;
    }
    for (size_t c = 0; c < classes; c++) {
        size_t n = 0;
        for (size_t i = 0; i < train->count; i++)
            if (train->labels[i] == (int32_t)c) members[n++] = i;
        if (n < want) {
            free(members);
            free(chosen);
            return simclr_error_input(err,
                               "--labeled-per-class %d: class %zu (%s) has only %zu images in "
                               "the %s train split",
                               per_class, c, ds->class_names[c], n, ds->name);
        }
        simclr_rng_stream stream = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_LABELED_SUBSET, c, 0, 0, 0);
        simclr_rng_shuffle_sizes(&stream, members, n);
        memcpy(chosen + c * want, members, want * sizeof(size_t));
    }
    free(members);
    qsort(chosen, want * classes, sizeof(size_t), compare_sizes);
    *indices = chosen;
    *count = want * classes;
    return 0;
}

int simclr_sampler_init(simclr_sampler *s, const simclr_dataset *ds, const size_t *labeled_indices,
                 size_t labeled_count, const simclr_sampler_config *config, simclr_error *err)
{
    memset(s, 0, sizeof *s);
    if (config->unlabeled_batch == 0)
        return simclr_error_input(err, "sampler: the unlabeled batch must be positive (unlabeled %zu, labeled "
                                "%zu)",
                           config->unlabeled_batch, config->labeled_batch);
    simclr_dataset_split_id source = simclr_dataset_unlabeled_source(ds);
    size_t unlabeled_count = ds->splits[source].count;
    size_t train_count = ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count;
    /* Issue 25: a labeled batch of 0 is a stream of unlabeled images alone (pretraining without
     * labeled images); its labeled set is not drawn from. */
    if (config->labeled_batch == 0) labeled_count = 0;
    if (unlabeled_count == 0 || (config->labeled_batch > 0 && (labeled_count == 0 || !labeled_indices)))
        return simclr_error_input(err, "sampler: %s has %zu unlabeled and %zu labeled images; both "
                                "streams need at least one",
                           ds->name, unlabeled_count, labeled_count);
    for (size_t i = 0; i < labeled_count; i++)
        if (labeled_indices[i] >= train_count)
            return simclr_error_input(err, "sampler: labeled index %zu is outside the train split (%zu "
                                    "images)",
                               labeled_indices[i], train_count);
    s->unlabeled_order = simclr_checked_calloc(unlabeled_count, sizeof(size_t), "unlabeled order", err);
    s->labeled_order = s->unlabeled_order ? simclr_checked_calloc(labeled_count ? labeled_count : 1, sizeof(size_t),
                                                                  "labeled order", err)
                                          : NULL;
    if (!s->labeled_order) {
        simclr_sampler_free(s);
        return -1;
    }
    s->config = *config;
    s->unlabeled_split = source;
    s->unlabeled_count = unlabeled_count;
    s->labeled_indices = labeled_indices;
    s->labeled_count = labeled_count;
    s->steps_per_epoch = config->steps_per_epoch;
    if (s->steps_per_epoch == 0) {
        s->steps_per_epoch =
            (unlabeled_count + labeled_count) / (config->unlabeled_batch + config->labeled_batch);
        if (s->steps_per_epoch == 0) s->steps_per_epoch = 1;
    }
    s->unlabeled_pass = -1;
    s->labeled_pass = -1;
    return 0;
}

void simclr_sampler_free(simclr_sampler *s)
{
    if (!s) return;
    free(s->unlabeled_order);
    free(s->labeled_order);
    memset(s, 0, sizeof *s);
    s->unlabeled_pass = -1;
    s->labeled_pass = -1;
}

/* order = a permutation of 0..count-1 drawn from (seed, purpose, key, mode). */
static void sampler_permute(size_t *order, size_t count, uint64_t seed, simclr_rng_purpose purpose,
                            int64_t key, uint64_t mode)
{
    for (size_t i = 0; i < count; i++) order[i] = i;
    simclr_rng_stream stream = simclr_rng_stream_make(seed, purpose, (uint64_t)key, mode, 0, 0);
    simclr_rng_shuffle_sizes(&stream, order, count);
}

/* Passes over a stream of `count` items that one epoch of steps x batch draws touch; epoch e's
 * pass p is global pass e * passes + p, so every epoch starts a fresh permutation (as Keras
 * re-iterating a shuffled dataset does) and all passes have distinct keys. */
static int64_t passes_per_epoch(const simclr_sampler *s, size_t batch, size_t count)
{
    return (int64_t)((s->steps_per_epoch * batch + count - 1) / count);
}

/* Fills out[0..batch) from a stream: step `step` of epoch `epoch`, each wrap a new pass. Cache
 * tags are 2 * pass + mode, so zipped (mode 0) and labeled-only (mode 1) passes never alias. */
static void sampler_fill(size_t *order, int64_t *cached, size_t count, const size_t *map,
                         uint64_t seed, simclr_rng_purpose purpose, uint64_t mode, int64_t first_pass,
                         size_t start, size_t batch, size_t *out)
{
    for (size_t k = 0; k < batch; k++) {
        size_t position = start + k;
        int64_t pass = first_pass + (int64_t)(position / count);
        int64_t tag = 2 * pass + (int64_t)mode;
        if (*cached != tag) {
            sampler_permute(order, count, seed, purpose, pass, mode);
            *cached = tag;
        }
        size_t index = order[position % count];
        out[k] = map ? map[index] : index;
    }
}

void simclr_sampler_batch(simclr_sampler *s, int64_t epoch, int64_t step, size_t *unlabeled_out,
                   size_t *labeled_out)
{
    size_t ub = s->config.unlabeled_batch, lb = s->config.labeled_batch;
    if (epoch < 0) epoch = 0;
    if (step < 0) step = 0;
    if (unlabeled_out) {
        int64_t first = epoch * passes_per_epoch(s, ub, s->unlabeled_count);
        sampler_fill(s->unlabeled_order, &s->unlabeled_pass, s->unlabeled_count, NULL,
                     s->config.seed, SIMCLR_RNG_PURPOSE_SHUFFLE_UNLABELED, 0, first, (size_t)step * ub,
                     ub, unlabeled_out);
    }
    if (labeled_out && lb > 0) {
        int64_t first = epoch * passes_per_epoch(s, lb, s->labeled_count);
        sampler_fill(s->labeled_order, &s->labeled_pass, s->labeled_count, s->labeled_indices,
                     s->config.seed, SIMCLR_RNG_PURPOSE_SHUFFLE_LABELED, 0, first, (size_t)step * lb, lb,
                     labeled_out);
    }
}

size_t simclr_sampler_labeled_steps(const simclr_sampler *s, size_t batch_size)
{
    if (batch_size == 0) return 0;
    return (s->labeled_count + batch_size - 1) / batch_size;
}

size_t simclr_sampler_labeled_batch(simclr_sampler *s, int64_t epoch, int64_t step, size_t batch_size,
                             size_t *labeled_out)
{
    if (batch_size == 0 || step < 0) return 0;
    if (epoch < 0) epoch = 0;
    size_t start = (size_t)step * batch_size;
    if (start >= s->labeled_count) return 0;
    size_t n = s->labeled_count - start;
    if (n > batch_size) n = batch_size;
    if (labeled_out)
        sampler_fill(s->labeled_order, &s->labeled_pass, s->labeled_count, s->labeled_indices,
                     s->config.seed, SIMCLR_RNG_PURPOSE_SHUFFLE_LABELED, 1, epoch, start, n,
                     labeled_out);
    return n;
}
