#ifndef SIMCLR_LOSS_H
#define SIMCLR_LOSS_H
/*
 * Losses and the metrics computed with them.
 */
#include <stddef.h>
#include <stdint.h>
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Softmax cross-entropy from logits (N, C) with integer labels (N), as Keras's
 * SparseCategoricalCrossentropy(from_logits=True): returns the batch MEAN loss. If d_logits is
 * not NULL it receives the gradient of that mean, (softmax - onehot) / N. If correct is not NULL
 * it receives how many rows have argmax == label (first maximum wins). */
float simclr_softmax_cross_entropy(const float *logits, const int32_t *labels, int batch, int classes,
                            float *d_logits, int *correct);

typedef enum simclr_contrastive_kind {
    /* The Keras example's loss: p1, p2 L2-normalised, S = p1 p2^T / T (B x B), loss per image
     * (CE(S_i, i) + CE(S^T_i, i)) / 2. Each image has B-1 negatives. */
    SIMCLR_CONTRASTIVE_KIND_SEED = 0,
    /* The SimCLR paper's NT-Xent: 2B anchors over all 2B-1 other views (2B-2 negatives), loss per
     * image = mean of its two anchors' losses. */
    SIMCLR_CONTRASTIVE_KIND_NT_XENT = 1,
} simclr_contrastive_kind;

/* "seed" or "nt-xent": the --loss value. */
const char *simclr_contrastive_kind_name(simclr_contrastive_kind kind);

typedef struct simclr_contrastive_result {
    float loss;      /* mean per-image loss: the logged c_loss */
    int correct;     /* rows whose argmax is the positive: S rows and S^T rows both counted */
    int total;       /* number of rows counted (2B) */
} simclr_contrastive_result;

/* Floats of workspace simclr_contrastive_loss needs for batch B and projection size D. */
size_t simclr_contrastive_workspace_floats(simclr_contrastive_kind kind, int batch, int dim);

/* z1, z2: projections of the two views (B, D). Gradient convention of the seed: the example
 * returns the per-image loss vector and differentiates its SUM, so d_z1, d_z2 (if not NULL,
 * overwritten) are gradients of sum_i loss_i. The normalisation is x * rsqrt(max(|x|^2, 1e-14)).
 * workspace: simclr_contrastive_workspace_floats(kind, B, D) floats. Parallel (OpenMP). */
void simclr_contrastive_loss(simclr_contrastive_kind kind, const float *z1, const float *z2, int batch, int dim,
                      float temperature, float *d_z1, float *d_z2, float *workspace,
                      simclr_contrastive_result *result);

SIMCLR_END_DECLS
#endif
