#ifndef SIMCLR_FEATURES_H
#define SIMCLR_FEATURES_H
/*
 * The representation of a saved model: the encoder's output (the features the linear probe,
 * the classifier and the kNN monitor read) or, for a pretraining checkpoint, the projection
 * head's output, computed in inference mode in batches, in the precision the model was trained
 * with (fp32 where the CPU has no bf16 convolutions).
 *
 *     simclr_feature_extractor fx;
 *     simclr_feature_extractor_load(&fx, "pretrain.safetensors", &options, &err);
 *     simclr_feature_extractor_check_dataset(&fx, &ds, &err);       // image shape
 *     simclr_feature_extractor_split(&fx, &ds, SIMCLR_DATASET_SPLIT_TEST, NULL, n, sink, ctx, NULL, &err);
 *     simclr_feature_extractor_free(&fx);
 */
#include <stdint.h>

#include "simclr/checkpoint.h"
#include "simclr/dataset.h"
#include "simclr/network.h"
#include "simclr/progress.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef enum simclr_feature_kind {
    SIMCLR_FEATURE_KIND_ENCODER,    /* the representation (default) */
    SIMCLR_FEATURE_KIND_PROJECTION, /* the projection head's output (pretraining checkpoints) */
} simclr_feature_kind;

/* "encoder" or "projection"; -1 otherwise. */
int simclr_feature_kind_parse(const char *name, simclr_feature_kind *kind);
const char *simclr_feature_kind_name(simclr_feature_kind kind);

typedef struct simclr_feature_options {
    simclr_feature_kind kind;
    int random_init;     /* 1: the checkpoint's architecture with fresh Keras init from seed, not its weights */
    uint64_t seed;
    int max_batch;       /* images per forward pass */
    simclr_network_options network; /* how the networks are planned (zeroed: the defaults) */
} simclr_feature_options;

typedef struct simclr_feature_extractor {
    simclr_checkpoint_info info;
    simclr_feature_options options;
    char path[1024];
    simclr_network encoder, head;
    int dim;             /* floats per feature vector */
    uint8_t *pixels;     /* (max_batch, image) */
    float *inputs;       /* (max_batch, image) */
} simclr_feature_extractor;

/* Loads the networks of checkpoint `path`. --features projection on a checkpoint without a
 * projection head (not a pretraining run) is an input error naming the file. */
int simclr_feature_extractor_load(simclr_feature_extractor *fx, const char *path, const simclr_feature_options *options,
                                  simclr_error *err);
void simclr_feature_extractor_free(simclr_feature_extractor *fx);

/* Fails (input error naming the checkpoint and the dataset) unless ds's images have the shape the
 * model was trained on. */
int simclr_feature_extractor_check_dataset(const simclr_feature_extractor *fx, const simclr_dataset *ds,
                                           simclr_error *err);

/* inputs (batch <= max_batch, H, W, C) in [0, 1] -> *features (batch, dim), valid until the next call. */
int simclr_feature_extractor_run(simclr_feature_extractor *fx, const float *inputs, int batch, const float **features,
                                 simclr_error *err);

/* Receives the features of images first..first+count-1 (in the order asked). */
typedef int (*simclr_feature_sink)(void *context, const float *features, size_t first, size_t count,
                                   simclr_error *err);

/* The features of `count` images of a split, in batches of max_batch: images indices[i] (or i
 * when indices is NULL), rescaled to [0, 1] and not augmented. progress (may be NULL) is
 * advanced once per batch. */
int simclr_feature_extractor_split(simclr_feature_extractor *fx, const simclr_dataset *ds,
                                   simclr_dataset_split_id split, const size_t *indices, size_t count,
                                   simclr_feature_sink sink, void *context, simclr_progress *progress,
                                   simclr_error *err);

/* Features of a split into a caller-owned (count, dim) matrix. */
int simclr_feature_extractor_split_matrix(simclr_feature_extractor *fx, const simclr_dataset *ds,
                                          simclr_dataset_split_id split, const size_t *indices, size_t count,
                                          float *out, simclr_progress *progress, simclr_error *err);

SIMCLR_END_DECLS
#endif
