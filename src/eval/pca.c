/* Streaming principal components: sums and x x^T in double (dsyrk per block), the covariance's
 * eigenvectors from LAPACKE_dsyevd. */
#include "simclr/pca.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int simclr_pca_init(simclr_pca *pca, int dim, simclr_error *err)
{
    memset(pca, 0, sizeof *pca);
    if (dim < 1) return simclr_error_input(err, "PCA: feature width %d", dim);
    pca->dim = dim;
    size_t d = (size_t)dim;
    pca->sum = simclr_checked_calloc(d, sizeof(double), "PCA sums", err);
    pca->cross = pca->sum ? simclr_checked_calloc(d * d, sizeof(double), "PCA cross products", err) : NULL;
    pca->block = pca->cross ? simclr_checked_calloc(SIMCLR_PCA_BLOCK * d, sizeof(double), "PCA block", err) : NULL;
    if (!pca->block) {
        simclr_pca_free(pca);
        return -1;
    }
    return 0;
}

void simclr_pca_free(simclr_pca *pca)
{
    free(pca->sum);
    free(pca->cross);
    free(pca->block);
    memset(pca, 0, sizeof *pca);
}

void simclr_pca_add(simclr_pca *pca, const float *rows_data, size_t rows)
{
    size_t d = (size_t)pca->dim;
    for (size_t start = 0; start < rows; start += SIMCLR_PCA_BLOCK) {
        size_t n = rows - start < SIMCLR_PCA_BLOCK ? rows - start : SIMCLR_PCA_BLOCK;
        for (size_t i = 0; i < n * d; i++) pca->block[i] = (double)rows_data[start * d + i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) pca->sum[j] += pca->block[i * d + j];
        /* cross (upper) += block^T block */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, pca->block, (int)d, 1.0, pca->cross,
                    (int)d);
    }
    pca->count += rows;
}

int simclr_pca_solve(const simclr_pca *pca, int components, float *directions, double *variances, simclr_error *err)
{
    int d = pca->dim;
    if (components < 1 || components > d)
        return simclr_error_input(err, "PCA: %d components of %d-wide features", components, d);
    if (pca->count < 2) return simclr_error_input(err, "PCA needs at least 2 rows, got %zu", pca->count);
    size_t dd = (size_t)d;
    double *covariance = simclr_checked_calloc(dd * dd, sizeof(double), "PCA covariance", err);
    double *eigenvalues = covariance ? simclr_checked_calloc(dd, sizeof(double), "PCA eigenvalues", err) : NULL;
    if (!eigenvalues) {
        free(covariance);
        return -1;
    }
    double n = (double)pca->count;
    for (size_t i = 0; i < dd; i++)
        for (size_t j = i; j < dd; j++)
            covariance[i * dd + j] = (pca->cross[i * dd + j] - pca->sum[i] * pca->sum[j] / n) / (n - 1.0);
    /* Eigenvalues ascending, eigenvectors in the columns of covariance (row-major). */
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, covariance, d, eigenvalues);
    if (info != 0) {
        free(covariance);
        free(eigenvalues);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "PCA: LAPACKE_dsyevd failed (info %d)", (int)info);
    }
    for (int c = 0; c < components; c++) {
        int column = d - 1 - c;
        size_t largest = 0;
        for (size_t j = 1; j < dd; j++)
            if (fabs(covariance[j * dd + (size_t)column]) > fabs(covariance[largest * dd + (size_t)column])) largest = j;
        double sign = covariance[largest * dd + (size_t)column] < 0 ? -1.0 : 1.0;
        for (size_t j = 0; j < dd; j++)
            directions[(size_t)c * dd + j] = (float)(sign * covariance[j * dd + (size_t)column]);
        if (variances) variances[c] = eigenvalues[column] > 0 ? eigenvalues[column] : 0.0;
    }
    free(covariance);
    free(eigenvalues);
    return 0;
}

void simclr_pca_project(const simclr_pca *pca, const float *directions, int components, const float *rows_data,
                        size_t rows, float *out)
{
    size_t d = (size_t)pca->dim;
    double n = pca->count ? (double)pca->count : 1.0;
    for (size_t i = 0; i < rows; i++) {
        for (int c = 0; c < components; c++) {
            double total = 0.0;
            for (size_t j = 0; j < d; j++)
                total += ((double)rows_data[i * d + j] - pca->sum[j] / n) * directions[(size_t)c * d + j];
            out[i * (size_t)components + (size_t)c] = (float)total;
        }
    }
}

double simclr_pca_total_variance(const simclr_pca *pca)
{
    if (pca->count < 2) return 0.0;
    size_t d = (size_t)pca->dim;
    double n = (double)pca->count, total = 0.0;
    for (size_t j = 0; j < d; j++) total += (pca->cross[j * d + j] - pca->sum[j] * pca->sum[j] / n) / (n - 1.0);
    return total;
}
