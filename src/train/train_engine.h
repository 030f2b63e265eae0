#ifndef SIMCLR_TRAIN_ENGINE_H
#define SIMCLR_TRAIN_ENGINE_H
/*
 * Issue 24: the one epoch loop every run goes through (baseline, finetune and pretraining with any
 * method). A run describes itself as a task: its parts (what a checkpoint holds), its step, its
 * running sums and the metrics computed from them, and the networks evaluated after every epoch.
 * The engine does the rest the same way for all: resume, progress, interruption (within a step,
 * between steps, at an epoch's end), periodic mid-epoch checkpoints, evaluation, the
 * cross-rank identity check, history and the epoch checkpoint.
 */
#include <stddef.h>
#include <stdio.h>

#include "simclr/sampler.h"
#include "train_internal.h"

#define TRAIN_TASK_MAX_SUMS 8
#define TRAIN_TASK_MAX_METRICS 8
/* A metric's denominator that is the number of steps taken (a mean over steps). */
#define TRAIN_METRIC_PER_STEP (-1)

/* A training metric: sums[sum] / sums[count] (or / steps with TRAIN_METRIC_PER_STEP). The same
 * table gives the progress line (over the steps done) and the history (over the epoch). */
typedef struct train_metric {
    const char *name;
    int sum;
    int count;
} train_metric;

/* What a kind of run measures, fixed for the kind (a static table per run). */
typedef struct train_run_kind {
    const char *classifier; /* the network predictions use: "classifier" or "linear_probe" */
    /* Running sums of an epoch, by name (what an interrupted checkpoint holds, in this order). */
    const char *const *sum_names;
    int sum_count;
    const train_metric *metrics;
    int metric_count;
    const char *val_accuracy, *val_loss; /* the evaluation's history columns */
} train_run_kind;

typedef struct train_task {
    const char *run;             /* "baseline", "finetune", "pretrain": its files' names */
    const train_run_kind *kind;
    size_t steps_per_epoch;
    const simclr_lr_schedule *schedule;
    simclr_checkpoint_part *parts; /* the checkpoint, and what a cut step's statistics restore */
    int part_count;
    simclr_network *encoder, *evaluated; /* evaluated after every epoch (encoder + classifier) */
    uint8_t *eval_pixels;
    float *eval_inputs;
    simclr_knn_monitor *knn; /* NULL: no kNN monitor */
    simclr_network *interruptible[4]; /* the networks a step may stop between two layers of */
    int interruptible_count;
    void *context;
    /* One step at (epoch, step) with this learning rate: adds to sums. A step that may be cut
     * marks task->interruptible while it changes nothing but batchnorm statistics. */
    int (*step)(void *context, int epoch, size_t step, float learning_rate, int inject_nan, double *sums,
                simclr_error *err);
    /* Pretraining: the data part of step alone (draw, read, augment), which step calls first;
     * NULL for the supervised runs. For the bench (simclr_train_session_views). */
    int (*views)(void *context, int epoch, size_t step, simclr_error *err);
    /* Printed before the first epoch (unless quiet): summaries, batch sizes. */
    void (*describe)(void *context, FILE *log);
} train_task;

/* What every run has (issue 24): an encoder and a classifier on its features (the supervised
 * runs' classifier, pretraining's linear probe), their optimizers, the labeled subset and its
 * sampler, the kNN monitor and the batch buffers. */
typedef struct train_base {
    simclr_network encoder, classifier;
    simclr_optimizer encoder_optimizer, classifier_optimizer;
    simclr_sampler stream;
    simclr_knn_monitor knn;
    size_t *labeled_indices;
    size_t labeled_count;
    uint8_t *pixels; /* (max_batch, image) */
    float *inputs;   /* (max_batch, image) in [0, 1]: the augmented images (pretraining: both views) */
    float *d_logits; /* (logit_rows, classes) */
    int32_t *labels; /* (logit_rows) */
} train_base;

/* The labeled subset and the sampler of config's batches. */
int simclr_train_base_open_stream(train_base *base, const simclr_dataset *ds, const simclr_train_config *config,
                                  simclr_error *err);
/* The batch buffers (max_batch images, logit_rows labeled ones), the communicator of both
 * networks (issue 14: global BatchNorm) and, with config->knn_k, the kNN monitor. */
int simclr_train_base_finish(train_base *base, const simclr_dataset *ds, const simclr_train_config *config,
                             size_t max_batch, size_t logit_rows, simclr_error *err);
void simclr_train_base_free(train_base *base);
/* A task of this kind over base, its step and description taking context: evaluated are base's
 * encoder and classifier on its buffers, with its kNN monitor when config->knn_k; the step may
 * stop between the encoder's layers. The schedule, the parts and the steps are the caller's. */
train_task simclr_train_base_task(train_base *base, const simclr_train_config *config, const char *run,
                                  const train_run_kind *kind, void *context,
                                  int (*step)(void *, int, size_t, float, int, double *, simclr_error *),
                                  void (*describe)(void *, FILE *));

/* The history of a task's run: the metrics, the two evaluation columns, lr and, with the kNN
 * monitor, val_knn_acc. Called before the task is set up, so that a failed setup leaves an empty
 * history. */
void simclr_train_engine_history_init(simclr_history *hist, const train_run_kind *kind, int knn);

/* Runs the task's epochs into hist (initialised by simclr_train_engine_history_init). */
int simclr_train_engine_run(const simclr_dataset *ds, const simclr_train_config *config, const train_task *task,
                            simclr_history *hist, simclr_error *err);

/* A run's task with the state it steps, set up as the run sets it up (issue 24: the training
 * commands run it through the engine; the bench steps it, so it times training's own step). */
typedef struct train_session {
    train_task task;
    void *state;
    void (*free_state)(void *state);
    simclr_checkpoint_part parts[SIMCLR_CHECKPOINT_MAX_PARTS];
    simclr_lr_schedule schedule;
} train_session;

/* Pretraining with config->method (pretrain.c), and the supervised runs (supervised.c; run is
 * "baseline" or "finetune", from finetune's checkpoint or NULL). Both check the run's
 * preconditions first; on failure the session holds nothing. */
int simclr_train_pretrain_open(train_session *session, const simclr_dataset *ds, const simclr_train_config *config,
                               simclr_error *err);
int simclr_train_supervised_open(train_session *session, const simclr_dataset *ds, const simclr_train_config *config,
                                 const char *run, const char *from, simclr_error *err);
void simclr_train_session_close(train_session *session);

/* The run's step number global_step (epoch global_step / steps_per_epoch, at the schedule's rate
 * for that step) taken alone, as the engine takes it, without checkpoints or evaluation; values
 * (kind->metric_count) receive its metrics as the progress line computes them for one step. Steps
 * must be taken in order from 0, as a run takes them. */
int simclr_train_session_step(train_session *session, long long global_step, double *values, simclr_error *err);

/* The data part of pretraining's step number global_step alone (its batch drawn, read and
 * augmented into the views, as the step does first); an input error for a task without one. */
int simclr_train_session_views(train_session *session, long long global_step, simclr_error *err);

#endif
