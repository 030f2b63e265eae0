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

#include "simclr/augment_policy.h"
#include "simclr/checkpoint.h"
#include "simclr/dataset.h"
#include "simclr/distributed.h"
#include "simclr/history.h"
#include "simclr/knn.h"
#include "simclr/loss.h"
#include "simclr/model.h"
#include "simclr/optim.h"
#include "simclr/ssl_method.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_train_config {
    int epochs;                  /* 20 */
    size_t steps_per_epoch;      /* 0: the seed's rule */
    size_t unlabeled_batch;      /* 500 */
    size_t labeled_batch;        /* 25 */
    size_t test_batch;           /* 525 */
    int labeled_per_class;       /* 0: the whole train split */
    uint64_t seed;               /* 0 */
    float temperature;           /* 0.1 */
    simclr_contrastive_kind loss_kind;  /* the seed's */
    simclr_model_config model;          /* from the dataset's shape */
    /* The kNN monitor after every epoch (history column val_knn_acc): k nearest labeled training
     * images by cosine similarity of encoder features, votes exp(sim / T). 0: off. k is clamped
     * to the labeled subset's size. */
    int knn_k;                   /* 200 */
    float knn_temperature;       /* 0.1 */
    /* Issue 12, the paper's recipe: */
    simclr_augment_policy augment;      /* the contrastive views' policy: the seed's */
    simclr_optimizer_config optimizer;  /* of the trained parts (encoder + head, or encoder +
                                           classifier): Keras Adam; optimizer.learning_rate is the
                                           base learning rate (--learning-rate), 0.001 */
    simclr_lr_schedule_kind lr_schedule; /* constant */
    double warmup_epochs;               /* 0; linear warm-up per step; at most epochs */
    simclr_lr_scaling lr_scaling;       /* none; batch: unlabeled + labeled images per pretraining
                                           step, labeled_batch for the supervised runs */
    float probe_learning_rate;          /* Keras Adam of the online probe, constant; 0: the base
                                           learning rate (the seed) */
    /* Issue 13, the other self-supervised methods (ssl_method.h): */
    simclr_method_kind method;          /* simclr */
    float ema_momentum;                 /* moco, byol; 0: the method's default (0.99, 0.996) */
    int queue_size;                     /* moco: 4096 negative keys */
    int predictor_hidden;               /* byol, simsiam; 0: the method's default */
    float barlow_lambda;                /* barlow: 0.0051, the off-diagonal weight */
    float vicreg_weights[3];            /* vicreg: invariance 25, variance 25, covariance 1 */
    const char *out_dir;         /* where files go */
    int quiet;                   /* 1: no summaries and progress lines */
    int progress_lines;          /* 1: one finished progress line per epoch, never redrawn (mpirun) */
    FILE *log;                   /* progress output (stdout) */
    /* Extra entries every checkpoint of the run stores (the CLI's run record); may be NULL. */
    const simclr_checkpoint_metadata *checkpoint_metadata;
    int checkpoint_metadata_count;
    /* Continue from <out_dir>/<run>.safetensors and <run>_history.csv (epoch boundary or the step
     * an interruption saved). A finished run is not trained again. */
    int resume;
    /* When *stop_requested becomes non-zero (a signal handler sets it), the run finishes its
     * step, saves a checkpoint holding the position in the epoch and returns -1 with
     * SIMCLR_ERROR_KIND_INTERRUPTED. NULL: never. */
    const volatile sig_atomic_t *stop_requested;
    /* Test hooks: behave as if interrupted after this many steps of this process (0: off);
     * replace the loss by NaN at this global step (-1: off), to exercise the numerical guard. */
    long long stop_after_steps;
    long long inject_nan_at_step;
    /* Issue 24: resumable checkpoints inside an epoch, after every N steps of this process and/or
     * when this many seconds have passed since the last checkpoint (0: off; the CLI's default is
     * 600 s), so that a killed run loses at most that much. */
    long long checkpoint_every_steps;
    /* Issue 24: what the library once read from the environment, now the caller's (the CLI reads
     * SIMCLR_MEMORY_LIMIT and SIMCLR_DEBUG_DUMP_GRADIENTS). memory_limit: bytes a run may use (0:
     * MemAvailable and the cgroup limit); debug_gradients_dir: rank 0 writes each step's summed
     * gradients there (docs/DISTRIBUTED.md; NULL: off). */
    size_t memory_limit;
    const char *debug_gradients_dir;
    double checkpoint_every_seconds;
    /* Called by rank 0 before every file the run writes (history, checkpoints), so it acts the
     * first time only (its context keeps that); a failure stops the run. The CLI's --overwrite removes the old run there, so that a run that
     * fails before its first checkpoint leaves the old one intact. NULL: nothing. */
    int (*before_first_write)(void *context, simclr_error *err);
    void *before_first_write_context;
    /* Issue 14: data-parallel over the ranks of this communicator (distributed.h; NULL: one
     * process). Every rank calls the run with the same config; the batches stay global (each rank
     * reads and augments its share), the results are one process's, and only rank 0 writes files
     * (the caller sets quiet on the other ranks). Supported for pretraining with the seed's loss
     * or NT-Xent and for the supervised runs. */
    simclr_communicator *communicator;
} simclr_train_config;

/* Defaults for a dataset: the seed's hyperparameters and the seed's model on its image shape. */
simclr_train_config simclr_train_config_default(const simclr_dataset *ds);

/* Bytes a run of this configuration allocates (networks for its batch sizes, Adam moments, batch
 * buffers and, for pretraining (contrastive 1), the loss workspace). */
int simclr_train_memory_bytes(const simclr_dataset *ds, const simclr_train_config *config, int contrastive,
                              size_t *bytes, simclr_error *err);

/* Refuses (SIMCLR_ERROR_KIND_INPUT, with the estimate and what is available) a run whose estimated
 * memory does not fit in MemAvailable or a cgroup limit, or in `limit` bytes when not 0 (the
 * CLI's SIMCLR_MEMORY_LIMIT, which stands in for a smaller machine); hint says which options lower
 * it. */
int simclr_train_check_memory(const char *run, size_t bytes, size_t limit, const char *hint, simclr_error *err);

/* The run's EMA momentum of the target/key networks and its predictor's hidden width: the
 * config's, or its method's defaults when 0 (what the run record states). */
float simclr_train_ema_momentum(const simclr_train_config *config);
int simclr_train_predictor_hidden(const simclr_train_config *config);

/* Issue 24: every precondition of a run that its sizes decide, checked once before anything is
 * allocated (the CLI before it writes, the runs again for library callers): pretraining's batch
 * against the ranks, the method under MPI (simclr only) and its minimum batch (barlow, vicreg: 2);
 * the supervised runs' batches against the ranks, the last batch of an epoch included. An input
 * error naming the option. */
int simclr_train_check_run(const simclr_dataset *ds, const simclr_train_config *config, int contrastive,
                           simclr_error *err);

/* Issue 24, the one resume rule: whether the run in config->out_dir may continue from checkpoint
 * with this config. Every config->checkpoint_metadata entry (the CLI's run record) that may not
 * change is compared with the checkpoint's, one line per difference naming the entry's label
 * ("--temperature: the run in DIR used 0.1, this command gives 0.5"); a checkpoint without a
 * record (older, or written by a library caller) is checked on what it carries: seed, precision,
 * model, augmentation and optimizer. An input error otherwise. */
int simclr_train_check_resume(const simclr_train_config *config, const char *checkpoint, simclr_error *err);

/* Memory this process may still use: MemAvailable, lowered by a cgroup v2 limit (0: unknown). */
size_t simclr_train_available_memory(void);
/* Issue 12: --recipe. The seed's recipe is simclr_train_config_default. The SimCLR paper's
 * (simclr_train_recipe_apply with SIMCLR_TRAIN_RECIPE_SIMCLR) sets together: NT-Xent (2B - 2
 * negatives) at temperature 0.5 for images of at most 32 px (CIFAR) and 0.1 otherwise; LARS
 * (momentum 0.9, trust coefficient 0.001, biases excluded from decay and adaptation) at
 * 0.3 x B / 256 (linear scaling); weight decay 1e-6; cosine decay after 10 warm-up epochs, or 10 %
 * of the run when it is shorter than 100 epochs (*warmup_clamped is set then); the simclr
 * augmentation with colour strength 0.5 for images of at most 32 px, 1.0 otherwise. (The paper's
 * BatchNorm projection head needs a backbone with BatchNorm, which the seed's encoder lacks.)
 * config->epochs must be set before. */
typedef enum simclr_train_recipe {
    SIMCLR_TRAIN_RECIPE_SEED,
    SIMCLR_TRAIN_RECIPE_SIMCLR,
} simclr_train_recipe;

void simclr_train_recipe_apply(simclr_train_config *config, simclr_train_recipe recipe, const simclr_dataset *ds,
                               int *warmup_clamped);

/* The optimizer and schedule as one line ("lars momentum=0.9 ... lr_scaling=linear"), as the
 * config file and the checkpoint record it (a resume compares it; the learning rate is not in it,
 * so a diverged run can be resumed with a lower one). */
void simclr_train_describe_optimizer(const simclr_train_config *config, char *out, size_t size);

/* The online probe's (Keras Adam, constant) learning rate: probe_learning_rate, or the base rate
 * with --optimizer adam (the seed), or 0.001 with the others. */
float simclr_train_probe_learning_rate(const simclr_train_config *config);

/* The labeled subset of the train split the config selects (caller frees *indices). */
int simclr_train_labeled_subset(const simclr_dataset *ds, const simclr_train_config *config, size_t **indices,
                         size_t *count, simclr_error *err);

/* Supervised baseline: weak augmentation, fresh encoder + Dense(num_classes). Writes
 * baseline_history.* and baseline.safetensors. hist receives the per-epoch metrics
 * (acc, loss, val_acc, val_loss); the caller frees it with simclr_history_free. */
int simclr_train_baseline(const simclr_dataset *ds, const simclr_train_config *config, simclr_history *hist, simclr_error *err);

/* Contrastive pretraining + online linear probe. Writes pretrain_history.* and
 * pretrain.safetensors (encoder, projection head, probe). Metrics: c_loss, c_acc, p_loss, p_acc,
 * val_p_loss, val_p_acc. */
int simclr_train_pretrain(const simclr_dataset *ds, const simclr_train_config *config, simclr_history *hist, simclr_error *err);

/* Supervised finetuning: the encoder of checkpoint `from` (a pretrain or any checkpoint with an
 * encoder of the same architecture) + a fresh Dense(num_classes). Writes finetune_history.* and
 * finetune.safetensors. */
int simclr_train_finetune(const simclr_dataset *ds, const simclr_train_config *config, const char *from, simclr_history *hist,
                   simclr_error *err);

typedef struct simclr_evaluation {
    double loss;      /* mean cross-entropy over the test split */
    double accuracy;  /* fraction correct */
    double knn_accuracy; /* kNN monitor's fraction correct (NAN when not computed) */
    size_t count;
} simclr_evaluation;

/* Test loss and accuracy of a checkpoint's encoder + classifier (or linear probe). */
int simclr_train_evaluate_checkpoint(const simclr_dataset *ds, const char *checkpoint, size_t test_batch,
                              simclr_evaluation *result, simclr_error *err);

SIMCLR_END_DECLS
#endif
