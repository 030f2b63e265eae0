/* A class-balanced fraction of the labeled train split. */
#include "simclr/label_fraction.h"

#include <math.h>
#include <stdlib.h>

#include "simclr/rng.h"

static int compare_sizes(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int simclr_label_fraction_subset(const simclr_dataset *ds, double fraction, uint64_t seed, size_t **indices,
                                 size_t *count, simclr_error *err)
{
    *indices = NULL;
    *count = 0;
    if (!(fraction > 0.0 && fraction <= 1.0))
        return simclr_error_input(err, "--label-fraction %g: expected a fraction in (0, 1] (0.01 for 1 %%)", fraction);
    const simclr_dataset_split *train = &ds->splits[SIMCLR_DATASET_SPLIT_TRAIN];
    if (!train->labels || ds->num_classes <= 0 || train->count == 0)
        return simclr_error_input(err, "--label-fraction: the %s train split has no labels", ds->name);
    size_t *chosen = simclr_checked_calloc(train->count, sizeof(size_t), "labeled indices", err);
    size_t *members = chosen ? simclr_checked_calloc(train->count, sizeof(size_t), "class members", err) : NULL;
    if (!members) {
        free(chosen);
        return -1;
    }
    size_t total = 0;
    for (int c = 0; c < ds->num_classes; c++) {
        size_t n = 0;
        for (size_t i = 0; i < train->count; i++)
            if (train->labels[i] == c) members[n++] = i;
        if (n == 0) continue;
        simclr_rng_stream stream = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_LABELED_SUBSET, (uint64_t)c, 0, 0, 0);
        simclr_rng_shuffle_sizes(&stream, members, n);
        size_t want = (size_t)llround(fraction * (double)n);
        if (want < 1) want = 1;
        if (want > n) want = n;
        for (size_t i = 0; i < want; i++) chosen[total++] = members[i];
    }
    free(members);
    qsort(chosen, total, sizeof(size_t), compare_sizes);
    *indices = chosen;
    *count = total;
    return 0;
}
