/*
 * Barlow Twins (Zbontar et al. 2021, Algorithm 1): both views' projections standardised over the
 * batch (the reference's BatchNorm1d(affine=False) in training mode: biased variance, eps 1e-5),
 * the cross-correlation C = z1n^T z2n / B (D x D, one sgemm), and
 * L = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2. Backward: dC, two sgemms back to the
 * standardised views, then the standardisation's backward.
 *
 * Workspace (floats): z1n, z2n, a gradient (3 x B x D), C (D x D), the two views' 1/std (2 x D).
 */
#include "simclr/ssl_loss.h"

#include <cblas.h>
#include <math.h>

#define BARLOW_BN_EPSILON 1e-5f

size_t simclr_barlow_workspace_floats(int batch, int dim)
{
    size_t b = (size_t)batch, d = (size_t)dim;
    return 3 * b * d + d * d + 2 * d;
}

/* out = (x - mean) * invstd per column, with the biased variance. */
static void standardize(float *out, float *invstd, const float *x, int batch, int dim)
{
    for (int c = 0; c < dim; c++) {
        double mean = 0.0, var = 0.0;
        for (int r = 0; r < batch; r++) mean += x[(size_t)r * dim + c];
        mean /= batch;
        for (int r = 0; r < batch; r++) {
            double centred = x[(size_t)r * dim + c] - mean;
            var += centred * centred;
        }
        var /= batch;
        invstd[c] = (float)(1.0 / sqrt(var + BARLOW_BN_EPSILON));
        for (int r = 0; r < batch; r++)
            out[(size_t)r * dim + c] = (float)((x[(size_t)r * dim + c] - mean) * invstd[c]);
    }
}

/* d_x = invstd (d_n - mean(d_n) - n mean(d_n n)) per column, with n the standardised x. */
static void standardize_backward(float *d_x, const float *d_n, const float *n, const float *invstd, int batch,
                                 int dim)
{
    for (int c = 0; c < dim; c++) {
        double sum = 0.0, dot = 0.0;
        for (int r = 0; r < batch; r++) {
            sum += d_n[(size_t)r * dim + c];
            dot += (double)d_n[(size_t)r * dim + c] * n[(size_t)r * dim + c];
        }
        double mean = sum / batch, mean_dot = dot / batch;
        for (int r = 0; r < batch; r++) {
            size_t at = (size_t)r * dim + c;
            d_x[at] = (float)(invstd[c] * (d_n[at] - mean - n[at] * mean_dot));
        }
    }
}

float simclr_barlow_twins_loss(const float *z1, const float *z2, int batch, int dim, float lambda, float scale,
                               float *d_z1, float *d_z2, float *workspace)
{
    size_t b = (size_t)batch, d = (size_t)dim;
    float *n1 = workspace, *n2 = n1 + b * d, *d_n = n2 + b * d, *c = d_n + b * d;
    float *invstd1 = c + d * d, *invstd2 = invstd1 + d;
    standardize(n1, invstd1, z1, batch, dim);
    standardize(n2, invstd2, z2, batch, dim);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dim, dim, batch, 1.0f / (float)batch, n1, dim, n2, dim,
                0.0f, c, dim);
    double on_diagonal = 0.0, off_diagonal = 0.0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            float value = c[i * d + j];
            if (i == j) {
                on_diagonal += (1.0 - value) * (1.0 - value);
                c[i * d + j] = -2.0f * scale * (1.0f - value); /* C becomes dL/dC */
            } else {
                off_diagonal += (double)value * value;
                c[i * d + j] = 2.0f * scale * lambda * value;
            }
        }
    /* dn1 = n2 dC^T / B, dn2 = n1 dC / B. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, dim, dim, 1.0f / (float)batch, n2, dim, c, dim,
                0.0f, d_n, dim);
    standardize_backward(d_z1, d_n, n1, invstd1, batch, dim);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dim, dim, 1.0f / (float)batch, n1, dim, c, dim,
                0.0f, d_n, dim);
    standardize_backward(d_z2, d_n, n2, invstd2, batch, dim);
    return (float)(on_diagonal + (double)lambda * off_diagonal);
}
