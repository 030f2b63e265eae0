#ifndef SIMCLR_PCA_H
#define SIMCLR_PCA_H
/*
 * Principal components of rows of features, accumulated in a stream (memory: dim x dim doubles,
 * whatever the number of rows) and solved by LAPACK (LAPACKE_dsyevd on the covariance):
 *
 *     simclr_pca pca;
 *     simclr_pca_init(&pca, dim, &err);
 *     simclr_pca_add(&pca, batch, rows);                       // ... every batch
 *     simclr_pca_solve(&pca, 2, components, variances, &err);  // (2, dim), largest first
 *     simclr_pca_project(&pca, components, 2, batch, rows, out);  // (rows, 2), centred
 */
#include <stddef.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_pca {
    int dim;
    size_t count;   /* rows added */
    double *sum;    /* (dim) */
    double *cross;  /* (dim, dim): sum of x x^T (upper triangle filled) */
    double *block;  /* (SIMCLR_PCA_BLOCK, dim) staging for dsyrk */
} simclr_pca;

#define SIMCLR_PCA_BLOCK 256

int simclr_pca_init(simclr_pca *pca, int dim, simclr_error *err);
void simclr_pca_free(simclr_pca *pca);
/* Adds rows rows of dim floats. */
void simclr_pca_add(simclr_pca *pca, const float *rows_data, size_t rows);
/* The `components` leading principal directions (unit rows of dim floats, each signed so that its
 * largest-magnitude entry is positive) and the variance along each (explained_variance may be
 * NULL). Needs at least 2 rows. */
int simclr_pca_solve(const simclr_pca *pca, int components, float *directions, double *variances, simclr_error *err);
/* The total variance (trace of the covariance) of the rows added. */
double simclr_pca_total_variance(const simclr_pca *pca);
/* (rows, components) coordinates of rows_data minus the mean along the directions. */
void simclr_pca_project(const simclr_pca *pca, const float *directions, int components, const float *rows_data,
                        size_t rows, float *out);

SIMCLR_END_DECLS
#endif
