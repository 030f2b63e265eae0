/*
 * VICReg (Bardes et al. 2022, Algorithm 1, and the reference code): invariance MSE(z1, z2);
 * variance mean_j relu(1 - sqrt(var_j + 1e-4)) per view (unbiased variance), averaged over the two
 * views; covariance sum_{j != k} cov_jk^2 / D per view, summed, with cov = zc^T zc / (B - 1) of the
 * centred projections (one sgemm each). loss = w_inv inv + w_var var + w_cov cov.
 *
 * Workspace (floats): the centred views and a gradient (3 x B x D), cov (D x D).
 */
#include "simclr/ssl_loss.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define VICREG_VARIANCE_EPSILON 1e-4

size_t simclr_vicreg_workspace_floats(int batch, int dim)
{
    size_t b = (size_t)batch, d = (size_t)dim;
    return 3 * b * d + d * d;
}

static void centre(float *out, const float *x, int batch, int dim)
{
    for (int c = 0; c < dim; c++) {
        double mean = 0.0;
        for (int r = 0; r < batch; r++) mean += x[(size_t)r * dim + c];
        mean /= batch;
        for (int r = 0; r < batch; r++) out[(size_t)r * dim + c] = (float)(x[(size_t)r * dim + c] - mean);
    }
}

/* Adds one view's variance and covariance terms: returns them in *variance, *covariance and adds
 * their gradients (weighted by w_var, w_cov, times scale) w.r.t. the centred view into d_c. */
static void regularise(const float *xc, int batch, int dim, float w_var, float w_cov, float scale, float *cov,
                       float *d_c, double *variance, double *covariance)
{
    size_t d = (size_t)dim;
    float denominator = (float)(batch - 1);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dim, dim, batch, 1.0f / denominator, xc, dim, xc, dim, 0.0f,
                cov, dim);
    double var_sum = 0.0, cov_sum = 0.0;
    for (size_t j = 0; j < d; j++) {
        double std = sqrt((double)cov[j * d + j] + VICREG_VARIANCE_EPSILON);
        double hinge = 1.0 - std;
        /* d/dxc_ij of w_var relu(1 - std_j) / (2 D) = -w_var / (2 D) / (2 std_j) 2 xc_ij / (B - 1). */
        double factor = hinge > 0.0 ? -(double)w_var * scale / (2.0 * dim) / std / denominator : 0.0;
        if (hinge > 0.0) var_sum += hinge;
        for (int r = 0; r < batch; r++) d_c[(size_t)r * d + j] += (float)(factor * xc[(size_t)r * d + j]);
    }
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < d; k++) {
            float value = cov[j * d + k];
            if (j == k) {
                cov[j * d + k] = 0.0f;
                continue;
            }
            cov_sum += (double)value * value;
            /* dL/dcov = 2 w_cov cov / D off the diagonal. */
            cov[j * d + k] = 2.0f * w_cov * scale * value / (float)dim;
        }
    /* d_c += xc (dcov + dcov^T) / (B - 1) = 2 xc dcov / (B - 1) (dcov is symmetric). */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dim, dim, 2.0f / denominator, xc, dim, cov, dim,
                1.0f, d_c, dim);
    *variance = var_sum / (double)dim / 2.0;
    *covariance = cov_sum / (double)dim;
}

/* d_x = d_c - mean over the batch of d_c (the centring's backward), written into d_x. */
static void centre_backward(float *d_x, const float *d_c, int batch, int dim)
{
    for (int c = 0; c < dim; c++) {
        double mean = 0.0;
        for (int r = 0; r < batch; r++) mean += d_c[(size_t)r * dim + c];
        mean /= batch;
        for (int r = 0; r < batch; r++) d_x[(size_t)r * dim + c] += (float)(d_c[(size_t)r * dim + c] - mean);
    }
}

float simclr_vicreg_loss(const float *z1, const float *z2, int batch, int dim, const float weights[3], float scale,
                         float *d_z1, float *d_z2, float *workspace, float parts[3])
{
    size_t b = (size_t)batch, d = (size_t)dim, n = b * d;
    float *c1 = workspace, *c2 = c1 + n, *d_c = c2 + n, *cov = d_c + n;
    /* Invariance: mean (z1 - z2)^2; its gradient goes straight into d_z1, d_z2. */
    double invariance = 0.0;
    float inv_factor = 2.0f * weights[0] * scale / (float)n;
    for (size_t i = 0; i < n; i++) {
        float difference = z1[i] - z2[i];
        invariance += (double)difference * difference;
        d_z1[i] = inv_factor * difference;
        d_z2[i] = -inv_factor * difference;
    }
    invariance /= (double)n;
    centre(c1, z1, batch, dim);
    centre(c2, z2, batch, dim);
    double variance1, covariance1, variance2, covariance2;
    memset(d_c, 0, n * sizeof *d_c);
    regularise(c1, batch, dim, weights[1], weights[2], scale, cov, d_c, &variance1, &covariance1);
    centre_backward(d_z1, d_c, batch, dim);
    memset(d_c, 0, n * sizeof *d_c);
    regularise(c2, batch, dim, weights[1], weights[2], scale, cov, d_c, &variance2, &covariance2);
    centre_backward(d_z2, d_c, batch, dim);
    double variance = variance1 + variance2, covariance = covariance1 + covariance2;
    if (parts) {
        parts[0] = (float)invariance;
        parts[1] = (float)variance;
        parts[2] = (float)covariance;
    }
    return (float)(weights[0] * invariance + weights[1] * variance + weights[2] * covariance);
}
