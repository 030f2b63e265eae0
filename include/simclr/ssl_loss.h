#ifndef SIMCLR_SSL_LOSS_H
#define SIMCLR_SSL_LOSS_H
/*
 * The losses of the other self-supervised methods (issue 13), forward and backward on projection
 * matrices (rows are images). Unlike the seed's contrastive loss, each returns the MEAN the papers'
 * PyTorch code computes, and its gradient is that of `scale` x the returned value; gradient
 * buffers are overwritten. Reference values: tools/make_torch_method_fixtures.py.
 *
 *   InfoNCE with a queue (MoCo v2): q, k normalised (x / max(|x|, 1e-12)), logits
 *    [q.k, q.queue^T] / T, cross-entropy towards the positive (column 0); k and the queue are
 *    constants (stop-gradient).
 *   Negative cosine (SimSiam's D, BYOL's 2 - 2 cos is 2 + 2 x it): mean over rows of
 *    -cos(p_i, z_i), z a constant.
 *   Barlow Twins: z1, z2 standardised over the batch (BatchNorm1d without affine: biased variance,
 *    eps 1e-5), C = z1n^T z2n / B, sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2.
 *   VICReg: 25 x MSE(z1, z2) + 25 x (mean relu(1 - std1) + mean relu(1 - std2)) / 2
 *    + 1 x (sum off-diagonal cov1^2 + sum off-diagonal cov2^2) / D; std = sqrt(var + 1e-4) with
 *    the unbiased variance, cov = zc^T zc / (B - 1) of the centred projections.
 *
 *     float workspace[64];
 *     float z1[8] = {1, 2, 3, 4, 5, 6, 7, 9}, z2[8] = {2, 1, 4, 3, 6, 5, 8, 7}, d1[8], d2[8];
 *     float weights[3] = {25, 25, 1}, parts[3];
 *     float loss = simclr_vicreg_loss(z1, z2, 4, 2, weights, 1.0f, d1, d2, workspace, parts);
 */
#include <stddef.h>
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Floats of workspace simclr_infonce_queue_loss needs. */
size_t simclr_infonce_queue_workspace_floats(int batch, int queue_size, int dim);

/* q, k (batch, dim) raw queries and keys, queue (queue_size, dim) unit rows; returns the mean
 * loss; d_q (batch, dim) receives scale x its gradient w.r.t. q; *correct (if not NULL) counts
 * the rows whose positive logit is the largest. normalized_keys (if not NULL, (batch, dim))
 * receives the unit keys, which the caller enqueues. */
float simclr_infonce_queue_loss(const float *q, const float *k, const float *queue, int batch, int queue_size,
                                int dim, float temperature, float scale, float *d_q, float *normalized_keys,
                                float *workspace, int *correct);

/* p, z (batch, dim); returns mean_i -cos(p_i, z_i); d_p receives scale x its gradient w.r.t. p. */
float simclr_negative_cosine_loss(const float *p, const float *z, int batch, int dim, float scale, float *d_p);

size_t simclr_barlow_workspace_floats(int batch, int dim);
/* z1, z2 (batch, dim), batch >= 2; d_z1, d_z2 receive scale x the gradients. */
float simclr_barlow_twins_loss(const float *z1, const float *z2, int batch, int dim, float lambda, float scale,
                               float *d_z1, float *d_z2, float *workspace);

size_t simclr_vicreg_workspace_floats(int batch, int dim);
/* weights: invariance, variance, covariance; parts (if not NULL) receives the three unweighted
 * terms. batch >= 2. */
float simclr_vicreg_loss(const float *z1, const float *z2, int batch, int dim, const float weights[3], float scale,
                         float *d_z1, float *d_z2, float *workspace, float parts[3]);

SIMCLR_END_DECLS
#endif
