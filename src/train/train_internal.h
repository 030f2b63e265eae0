#ifndef SIMCLR_TRAIN_INTERNAL_H
#define SIMCLR_TRAIN_INTERNAL_H
/* Shared by the training loops: batch assembly, evaluation and metric bookkeeping. */
#include <stdint.h>

#include "simclr/checkpoint.h"
#include "simclr/dataset.h"
#include "simclr/knn.h"
#include "simclr/network.h"
#include "simclr/train.h"
#include "method/method_internal.h"

/* Reads images[indices[i]] of a split into out (count HWC uint8 images), in parallel; -1 with err
 * when a streamed image could not be decoded (the batch must not be used). */
int simclr_batch_read_images(const simclr_dataset *ds, simclr_dataset_split_id split, const size_t *indices,
                             size_t count, uint8_t *out, simclr_error *err);
/* Labels of indices[i] in split. */
void simclr_batch_read_labels(const simclr_dataset *ds, simclr_dataset_split_id split, const size_t *indices,
                       size_t count, int32_t *out);

/* The per-epoch kNN monitor: a memory bank of the labeled training images' encoder features
 * (un-augmented, inference mode), refilled after every epoch, against which the test features of
 * the evaluation pass are classified. It only reads the encoder: no random draws, no state the
 * training uses. */
typedef struct simclr_knn_monitor {
    simclr_knn_bank bank;
    simclr_knn_config config;
    const size_t *bank_indices;  /* into the train split, borrowed */
    float *queries;              /* (test_batch, dim) */
    int32_t *predictions;        /* (test_batch) */
    size_t correct, seen;
} simclr_knn_monitor;

/* Sets up the monitor for a run (config->knn_k > 0; k is clamped to the bank's size). */
int simclr_knn_monitor_init(simclr_knn_monitor *monitor, const simclr_train_config *config,
                            const simclr_dataset *ds, const size_t *bank_indices, size_t bank_count,
                            int feature_dim, simclr_error *err);
void simclr_knn_monitor_free(simclr_knn_monitor *monitor);
/* Encodes the bank images in batches of test_batch (pixels/inputs as for evaluation). */
int simclr_knn_monitor_fill_bank(simclr_knn_monitor *monitor, const simclr_dataset *ds, simclr_network *encoder,
                                 size_t test_batch, uint8_t *pixels, float *inputs, simclr_error *err);
/* Classifies count test features (count <= test_batch; copied, not modified) and counts the hits
 * against labels. */
int simclr_knn_monitor_classify(simclr_knn_monitor *monitor, const float *features, const int32_t *labels,
                                size_t count, simclr_error *err);

/* Test-set loss (mean over images) and accuracy of encoder + classifier in inference mode, in
 * batches of up to test_batch (<= both networks' max_batch). pixels: test_batch images of room;
 * inputs: test_batch images of floats. With a kNN monitor (not NULL), its bank is refilled from
 * the encoder first and the same test features are classified against it: result->knn_accuracy
 * (NAN without a monitor). */
int simclr_evaluate_classifier(const simclr_dataset *ds, simclr_network *encoder, simclr_network *classifier,
                        size_t test_batch, uint8_t *pixels, float *inputs, simclr_knn_monitor *knn,
                        simclr_evaluation *result, simclr_error *err);

/* The same over a communicator's ranks (issue 14): rank r evaluates the test batches b with
 * b mod N == r, the sums are allreduced, every rank gets the whole split's result. NULL: one
 * process, simclr_evaluate_classifier. */
int simclr_evaluate_classifier_sharded(simclr_communicator *comm, const simclr_dataset *ds,
                                       simclr_network *encoder, simclr_network *classifier, size_t test_batch,
                                       uint8_t *pixels, float *inputs, simclr_knn_monitor *knn,
                                       simclr_evaluation *result, simclr_error *err);

/* ---- Issue 14: data-parallel helpers (train_distributed.c) ---- */
/* values[i] *= factor. */
void simclr_train_rescale(float *values, size_t count, float factor);
/* The progress header's line for N > 1 ranks: "data-parallel: N ranks x T threads" (nothing in one
 * process). */
void simclr_train_print_ranks(const simclr_train_config *config);
/* After an epoch with N > 1 ranks: the time spent in collectives and the bytes per step. */
void simclr_train_print_communication(const simclr_train_config *config, long long steps);
/* Debug hook (documented in docs/DISTRIBUTED.md): with SIMCLR_DEBUG_DUMP_GRADIENTS=DIR, rank 0
 * writes the summed parameter gradients of a step (first then second network, raw float32) to
 * DIR/<tag>_e<epoch>_s<step>.f32. second may be NULL. */
void simclr_train_debug_dump_gradients(const simclr_train_config *config, const char *tag, int epoch,
                                       size_t step, const simclr_network *first, const simclr_network *second);

/* Checks that every value is finite; on failure err names the tensor, epoch and step. */
int simclr_check_finite(const float *values, size_t count, const char *tensor, int epoch, size_t step,
                 simclr_error *err);

/* Fills the checkpoint info shared by all runs. */
void simclr_train_fill_checkpoint_info(simclr_checkpoint_info *info, const simclr_dataset *ds,
                                const simclr_train_config *config, const char *run, const char *classifier,
                                int epochs_done);

/* An epoch's running sums by name (issue 24): what an interrupted checkpoint stores with their
 * names, so that a resumed run takes each by its name. */
typedef struct simclr_train_sums {
    const char *const *names;
    const double *values;
    int count;
} simclr_train_sums;

/* Where a run starts: epoch, step within it, and the running sums of that epoch's metrics (by
 * name; a checkpoint from before issue 24 has none: accumulator_names[0] is empty). */
typedef struct simclr_run_position {
    int epoch;
    size_t step;
    int accumulator_count;
    double accumulators[SIMCLR_CHECKPOINT_MAX_ACCUMULATORS];
    char accumulator_names[SIMCLR_CHECKPOINT_MAX_ACCUMULATORS][SIMCLR_CHECKPOINT_ACCUMULATOR_NAME_MAX];
    double seconds;          /* already spent in `epoch` before an interruption */
} simclr_run_position;

/* Without config->resume: position zero. With it: loads every part (weights and optimizer) from
 * <out_dir>/<run>.safetensors and the history rows of the epochs it completed, and sets the
 * position; *finished is 1 when the run already did all config->epochs. */
int simclr_train_resume_begin(const simclr_train_config *config, const char *run, const simclr_checkpoint_part *parts,
                       int part_count, simclr_history *hist, simclr_run_position *position, int *finished,
                       simclr_error *err);

/* Whether the run must stop after this step (signal, or the stop_after_steps test hook). */
int simclr_train_stop_requested(const simclr_train_config *config, long long steps_this_process);

/* Issue 23: an interruption within seconds. A single-process run lets its networks stop between
 * two layers (simclr_network.stop_requested) while nothing but their batchnorm running
 * statistics has changed in the step: through the forward and backward passes up to the first
 * optimizer update, and through the evaluation (inference only). The loop keeps a copy of every
 * part network's running statistics from the step's start (simclr_train_keep_states) and, when a
 * step was cut short, puts it back (simclr_train_save_if_interrupted) before saving the checkpoint of
 * the last complete step, so that the resumed run is the uninterrupted one bit for bit. Under
 * MPI the ranks must stop at the same point: they stop between steps, as before. */
void simclr_train_set_interruptible(const simclr_train_config *config, simclr_network *const *nets, int count,
                                    int interruptible);
/* The floats of the part networks' running statistics (the size of a copy). */
size_t simclr_train_state_floats(const simclr_checkpoint_part *parts, int part_count);
void simclr_train_keep_states(const simclr_checkpoint_part *parts, int part_count, float *copy);
/* After a step or an evaluation failed with err: when it was an interruption between two layers,
 * puts the running statistics kept at the step's start back (kept_states; NULL after an
 * evaluation, which changes none) and saves the checkpoint at (epoch, next_step) as
 * simclr_train_save_interrupted does; any other failure is left as it is. Returns -1. */
int simclr_train_save_if_interrupted(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                                     const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                                     const float *kept_states, int epoch, size_t next_step, simclr_train_sums sums,
                                     double seconds, simclr_error *err);

/* Saves <out_dir>/<run>.safetensors at a position inside an epoch (rank 0 writes): a resumed run
 * continues from (epoch, next_step) with these running sums, bit for bit. */
int simclr_train_save_position(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                               const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                               int epoch, size_t next_step, simclr_train_sums sums, double seconds,
                               simclr_error *err);
/* simclr_train_save_position, then returns -1 with an SIMCLR_ERROR_KIND_INTERRUPTED message saying
 * how to continue. */
int simclr_train_save_interrupted(const simclr_dataset *ds, const simclr_train_config *config, const char *run,
                           const char *classifier, const simclr_checkpoint_part *parts, int part_count,
                           int epoch, size_t next_step, simclr_train_sums sums, double seconds,
                           simclr_error *err);


/* What the run's method is built from (method_internal.h: the methods read no training config). */
simclr_method_settings simclr_train_method_settings(const simclr_train_config *config);

/* Issue 12: optimisers and schedules. */
/* The run's learning-rate schedule for a batch of `batch` images (the scaling rule's batch);
 * fails naming --warmup-epochs when the warm-up is longer than the run. */
int simclr_train_schedule(const simclr_train_config *config, size_t batch, size_t steps_per_epoch,
                          simclr_lr_schedule *schedule, simclr_error *err);
/* The online probe: Keras Adam at a constant rate. */
simclr_optimizer_config simclr_train_probe_optimizer(const simclr_train_config *config);

/* Joins out_dir and a file name. */
void simclr_train_out_path(const simclr_train_config *config, const char *file, char *out, size_t size);

#endif
