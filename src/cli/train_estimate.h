#ifndef SIMCLR_CLI_TRAIN_ESTIMATE_H
#define SIMCLR_CLI_TRAIN_ESTIMATE_H
/*
 * What a training run will cost, said before its first step: the work per step in GFLOP (from
 * the model's layer shapes: forward + backward counted as 3 forward passes), the seconds per step
 * and per epoch on this machine (the step's GFLOP divided by a rate measured just now: a few
 * forward passes of the run's own encoder, its width scaled down when it is large), and the memory
 * (simclr_train_memory_bytes). A run whose estimate exceeds TRAIN_ESTIMATE_MAX_STEP_SECONDS per
 * step or TRAIN_ESTIMATE_MAX_RUN_SECONDS for all its epochs is refused unless --force (bounds far
 * above the seed's runs, which on a 2-core machine take under 20 hours even on STL-10), and one
 * that does not fit in memory is refused always.
 */
#include <stddef.h>

#include "simclr/dataset.h"
#include "simclr/model.h"
#include "simclr/train.h"

#define TRAIN_ESTIMATE_MAX_STEP_SECONDS 600.0
#define TRAIN_ESTIMATE_MAX_RUN_SECONDS (48.0 * 3600.0)

typedef struct train_estimate {
    double step_gflop;        /* training work per step */
    size_t step_images;       /* images through the encoder per step */
    size_t steps_per_epoch;
    double eval_gflop;        /* the test split's evaluation after each epoch */
    double measured_gflops;   /* this machine's training rate (forward + backward), measured on
                               * the run's encoder; the evaluation uses the forward rate */
    double seconds_per_step, seconds_per_epoch;
    size_t memory_bytes;
    simclr_encoder_kernels kernels; /* how the encoder's convolutions run here (reference kernels?) */
} train_estimate;

/* Estimates a run (contrastive: pretraining) and checks it against memory and the time bounds
 * (the latter unless force). An encoder that oneDNN would run on reference kernels is measured
 * as such (a smaller probe, so that measuring stays quick), and refused unless force when
 * SIMCLR_CONV_LAYOUT forced its layout (auto falls back to reference kernels only when no layout
 * has jit ones). */
int train_estimate_run(const simclr_dataset *ds, const simclr_train_config *config, int contrastive,
                       int force, train_estimate *estimate, simclr_error *err);

/* One line: "Estimate for RUN: ...". */
void train_estimate_print(const train_estimate *estimate, const char *run, FILE *stream);

/* "warning: oneDNN has only reference kernels ..." with the layout, the ISA and the count, when the
 * estimate's encoder has reference passes; nothing otherwise. */
void train_estimate_print_kernel_warning(const train_estimate *estimate, FILE *stream);

#endif
