#ifndef SIMCLR_TRAIN_H
#define SIMCLR_TRAIN_H
/*
 * The seed's three runs: the supervised baseline, contrastive pretraining with an online linear
 * probe, and supervised finetuning of the pretrained encoder; plus evaluation of a classifier.
 *
 * Every run writes into config->out_dir: <run>_history.csv/.json (one row per epoch) and
 * <run>.safetensors (the weights, the optimizer moments and what a resume needs), both rewritten
 * atomically after every epoch.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "simclr/dataset.h"
#include "simclr/history.h"
#include "simclr/loss.h"
#include "simclr/model.h"
#include "simclr/optim.h"

typedef struct train_config {
    int epochs;                  /* 20 */
    size_t steps_per_epoch;      /* 0: the seed's rule */
    size_t unlabeled_batch;      /* 500 */
    size_t labeled_batch;        /* 25 */
    size_t test_batch;           /* 525 */
    int labeled_per_class;       /* 0: the whole train split */
    uint64_t seed;               /* 0 */
    float temperature;           /* 0.1 */
    contrastive_kind loss_kind;  /* the seed's */
    adam_config adam;            /* Keras defaults */
    model_config model;          /* from the dataset's shape */
    const char *out_dir;         /* where files go */
    int quiet;                   /* 1: no summaries and progress lines */
    FILE *log;                   /* progress output (stdout) */
    /* Continue from <out_dir>/<run>.safetensors and <run>_history.csv (epoch boundary or the step
     * an interruption saved). A finished run is not trained again. */
    int resume;
    /* When *stop_requested becomes non-zero (a signal handler sets it), the run finishes its
     * step, saves a checkpoint holding the position in the epoch and returns -1 with
     * ERROR_KIND_INTERRUPTED. NULL: never. */
    const volatile sig_atomic_t *stop_requested;
    /* Test hooks: behave as if interrupted after this many steps of this process (0: off);
     * replace the loss by NaN at this global step (-1: off), to exercise the numerical guard. */
    long long stop_after_steps;
    long long inject_nan_at_step;
} train_config;

/* Defaults for a dataset: the seed's hyperparameters and the seed's model on its image shape. */
train_config train_config_default(const dataset *ds);

/* The labeled subset of the train split the config selects (caller frees *indices). */
int train_labeled_subset(const dataset *ds, const train_config *config, size_t **indices,
                         size_t *count, error *err);

/* Supervised baseline: weak augmentation, fresh encoder + Dense(num_classes). Writes
 * baseline_history.* and baseline.safetensors. hist receives the per-epoch metrics
 * (acc, loss, val_acc, val_loss); the caller frees it with history_free. */
int train_baseline(const dataset *ds, const train_config *config, history *hist, error *err);

/* Contrastive pretraining + online linear probe. Writes pretrain_history.* and
 * pretrain.safetensors (encoder, projection head, probe). Metrics: c_loss, c_acc, p_loss, p_acc,
 * val_p_loss, val_p_acc. */
int train_pretrain(const dataset *ds, const train_config *config, history *hist, error *err);

/* Supervised finetuning: the encoder of checkpoint `from` (a pretrain or any checkpoint with an
 * encoder of the same architecture) + a fresh Dense(num_classes). Writes finetune_history.* and
 * finetune.safetensors. */
int train_finetune(const dataset *ds, const train_config *config, const char *from, history *hist,
                   error *err);

typedef struct evaluation {
    double loss;      /* mean cross-entropy over the test split */
    double accuracy;  /* fraction correct */
    size_t count;
} evaluation;

/* Test loss and accuracy of a checkpoint's encoder + classifier (or linear probe). */
int train_evaluate_checkpoint(const dataset *ds, const char *checkpoint, size_t test_batch,
                              evaluation *result, error *err);

#endif
