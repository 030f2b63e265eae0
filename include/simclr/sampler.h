#ifndef SIMCLR_SAMPLER_H
#define SIMCLR_SAMPLER_H
/*
 * Semi-supervised sampling as in the seed: a class-balanced labeled subset, and per epoch an
 * unlabeled stream and a labeled stream, each shuffled and cut into batches, zipped so that step
 * s of epoch e sees `unlabeled_batch` unlabeled + `labeled_batch` labeled images.
 *
 * Shuffling is a full permutation per pass over a stream (the seed uses a 10-batch shuffle
 * buffer; a full permutation is the stronger version of the same thing). A stream shorter than
 * steps x batch wraps around into a new permutation. Everything is a pure function of
 * (seed, epoch, step), so a resumed run sees the same batches.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"
#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* A class-balanced subset of the train split: `per_class` images of each class, chosen by seed
 * (per_class <= 0: the whole split). Indices are into the train split, sorted ascending.
 * Fails (naming --labeled-per-class) when a class has fewer images than asked.
 * The caller frees *indices. */
int simclr_sampler_labeled_subset(const simclr_dataset *ds, int per_class, uint64_t seed, size_t **indices,
                           size_t *count, simclr_error *err);

typedef struct simclr_sampler_config {
    size_t unlabeled_batch;   /* 500 in the seed */
    size_t labeled_batch;     /* 25 in the seed */
    size_t steps_per_epoch;   /* 0: (n_unlabeled + n_labeled) / (unlabeled_batch + labeled_batch) */
    uint64_t seed;
} simclr_sampler_config;

typedef struct simclr_sampler {
    simclr_sampler_config config;
    simclr_dataset_split_id unlabeled_split; /* where unlabeled indices point */
    size_t unlabeled_count;
    const size_t *labeled_indices;    /* into the train split; not owned */
    size_t labeled_count;
    size_t steps_per_epoch;
    /* Permutation cache (private). */
    size_t *unlabeled_order;
    size_t *labeled_order;
    int64_t unlabeled_pass, labeled_pass; /* which pass the cached orders belong to; -1: none */
} simclr_sampler;

/* Builds a sampler over ds's unlabeled source and the given labeled subset (kept by pointer).
 * Fails when a batch size is 0 or the streams are empty. Release with simclr_sampler_free. */
int simclr_sampler_init(simclr_sampler *s, const simclr_dataset *ds, const size_t *labeled_indices,
                 size_t labeled_count, const simclr_sampler_config *config, simclr_error *err);
void simclr_sampler_free(simclr_sampler *s);

/* Fills the indices of step `step` of epoch `epoch`: unlabeled_out gets config.unlabeled_batch
 * indices into s->unlabeled_split, labeled_out gets config.labeled_batch indices into the train
 * split (either may be NULL to skip). Not thread-safe (it caches permutations). */
void simclr_sampler_batch(simclr_sampler *s, int64_t epoch, int64_t step, size_t *unlabeled_out,
                   size_t *labeled_out);

/* The labeled stream alone, as the baseline and finetuning iterate it (Keras `batch(25)` of the
 * shuffled labeled set): ceil(labeled_count / batch_size) steps per epoch, the last one partial.
 * Fills labeled_out (batch_size entries of room) and returns how many indices it wrote. */
size_t simclr_sampler_labeled_steps(const simclr_sampler *s, size_t batch_size);
size_t simclr_sampler_labeled_batch(simclr_sampler *s, int64_t epoch, int64_t step, size_t batch_size,
                             size_t *labeled_out);

SIMCLR_END_DECLS
#endif
