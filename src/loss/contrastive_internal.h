#ifndef SIMCLR_CONTRASTIVE_INTERNAL_H
#define SIMCLR_CONTRASTIVE_INTERNAL_H
/* The L2 normalisation of the contrastive losses (contrastive.c), shared with their data-parallel
 * form (src/dist/distributed_contrastive.c) so that both normalise bit for bit alike. */

/* p (rows, dim) = z * rsqrt(max(|z|^2, 1e-14)). */
void simclr_contrastive_normalize_rows(float *p, const float *z, int rows, int dim);
/* On entry d_z holds the gradient w.r.t. p; on return the gradient w.r.t. z. */
void simclr_contrastive_normalize_backward(float *d_z, const float *p, const float *z, int rows, int dim);

#endif
