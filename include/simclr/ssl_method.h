#ifndef SIMCLR_SSL_METHOD_H
#define SIMCLR_SSL_METHOD_H
/*
 * The self-supervised methods pretraining can train with (issue 13; src/method/, one file each):
 *   simclr   the seed's contrastive loss or NT-Xent (--loss), the default;
 *   moco     MoCo v2: a momentum key encoder + head, a FIFO queue of negative keys, InfoNCE;
 *   byol     BYOL: a predictor, a target encoder + head by EMA (momentum cosine-increased to 1),
 *            normalised MSE;
 *   simsiam  SimSiam: a predictor, stop-gradient, negative cosine;
 *   barlow   Barlow Twins: cross-correlation of batch-standardised projections;
 *   vicreg   VICReg: invariance, variance and covariance terms.
 * The knobs live in simclr_train_config (train.h); these give the names and the papers' defaults.
 *
 *     int kind = simclr_method_from_name("byol");
 *     float momentum = simclr_method_default_ema_momentum((simclr_method_kind)kind);
 */
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef enum simclr_method_kind {
    SIMCLR_METHOD_SIMCLR = 0,
    SIMCLR_METHOD_MOCO = 1,
    SIMCLR_METHOD_BYOL = 2,
    SIMCLR_METHOD_SIMSIAM = 3,
    SIMCLR_METHOD_BARLOW = 4,
    SIMCLR_METHOD_VICREG = 5,
} simclr_method_kind;

#define SIMCLR_METHOD_COUNT 6
#define SIMCLR_METHOD_DEFAULT_QUEUE_SIZE 4096
#define SIMCLR_METHOD_MOCO_TEMPERATURE 0.2f
#define SIMCLR_METHOD_BARLOW_LAMBDA 0.0051f

/* "simclr", "moco", ... and back (-1 for an unknown name). */
const char *simclr_method_name(simclr_method_kind kind);
int simclr_method_from_name(const char *name);

/* The EMA momentum of the target/key networks: moco 0.99 (constant), byol 0.996 (the base of
 * the cosine increase to 1); 0 for the methods without one. */
float simclr_method_default_ema_momentum(simclr_method_kind kind);

/* The predictor's hidden units: byol the projection head's hidden width (the paper's predictor is
 * the projector's MLP), simsiam a quarter of the projection width (2048 -> 512 in the paper), at
 * least 1; 0 for the methods without a predictor. */
int simclr_method_default_predictor_hidden(simclr_method_kind kind, int head_hidden, int projection_width);

SIMCLR_END_DECLS
#endif
