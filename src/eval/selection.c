/* Greedy k-center selection (farthest point first) on normalised rows: each row keeps its
 * similarity to the nearest center so far, updated by one matrix-vector product (sgemv) per new
 * center, or one blocked sgemm against the initial centers. */
#include "simclr/similarity.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SELECTION_BLOCK 1024 /* rows per sgemm against the initial centers */

/* nearest[i] = max(nearest[i], max over the initial centers of rows[i] . center). */
static int add_initial_centers(const float *rows, size_t count, int dim, const float *initial, size_t initial_count,
                               float *nearest, simclr_error *err)
{
    size_t centers = initial_count < SELECTION_BLOCK ? initial_count : SELECTION_BLOCK;
    size_t block = count < SELECTION_BLOCK ? count : SELECTION_BLOCK;
    float *similarities = simclr_checked_calloc(block * centers, sizeof(float), "selection block", err);
    if (!similarities) return -1;
    for (size_t c0 = 0; c0 < initial_count; c0 += centers) {
        size_t c_rows = initial_count - c0 < centers ? initial_count - c0 : centers;
        for (size_t r0 = 0; r0 < count; r0 += block) {
            size_t r_rows = count - r0 < block ? count - r0 : block;
            /* similarities (r_rows, c_rows) = rows[r0..] . initial[c0..]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r_rows, (int)c_rows, dim, 1.0f,
                        rows + r0 * (size_t)dim, dim, initial + c0 * (size_t)dim, dim, 0.0f, similarities,
                        (int)c_rows);
            for (size_t i = 0; i < r_rows; i++)
                for (size_t c = 0; c < c_rows; c++)
                    if (similarities[i * c_rows + c] > nearest[r0 + i]) nearest[r0 + i] = similarities[i * c_rows + c];
        }
    }
    free(similarities);
    return 0;
}

/* The row not yet chosen that is least similar to its nearest center (ties: the lower row). */
static size_t farthest_row(const float *nearest, const unsigned char *chosen, size_t count)
{
    size_t farthest = SIZE_MAX;
    for (size_t i = 0; i < count; i++)
        if (!chosen[i] && (farthest == SIZE_MAX || nearest[i] < nearest[farthest])) farthest = i;
    return farthest;
}

/* The coverage radius: 1 - the lowest similarity of any row to its nearest center. */
static float coverage_radius(const float *nearest, size_t count)
{
    float lowest = INFINITY;
    for (size_t i = 0; i < count; i++)
        if (nearest[i] < lowest) lowest = nearest[i];
    return 1.0f - lowest;
}

/* The row most similar to the mean direction of all rows (ties: the lower row). */
static int most_typical_row(const float *rows, size_t count, int dim, float *scratch, size_t *typical,
                            simclr_error *err)
{
    float *mean = simclr_checked_calloc((size_t)dim, sizeof(float), "mean direction", err);
    double *sum = mean ? simclr_checked_calloc((size_t)dim, sizeof(double), "mean direction", err) : NULL;
    if (!sum) {
        free(mean);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        for (int d = 0; d < dim; d++) sum[d] += (double)rows[i * (size_t)dim + (size_t)d];
    for (int d = 0; d < dim; d++) mean[d] = (float)(sum[d] / (double)count);
    /* scratch (count) = rows (count, dim) . mean (dim) */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)count, dim, 1.0f, rows, dim, mean, 1, 0.0f, scratch, 1);
    size_t best = 0;
    for (size_t i = 1; i < count; i++)
        if (scratch[i] > scratch[best]) best = i;
    *typical = best;
    free(mean);
    free(sum);
    return 0;
}

int simclr_select_k_center(const float *rows, size_t count, int dim, const float *initial, size_t initial_count,
                           size_t k, int64_t *selected, float *radii, simclr_error *err)
{
    if (count == 0 || !rows) return simclr_error_input(err, "k-center selection: no rows to select from");
    if (dim < 1) return simclr_error_input(err, "k-center selection: feature width %d, expected at least 1", dim);
    if (k < 1 || k > count)
        return simclr_error_input(err, "k-center selection: %zu images asked for, expected 1..%zu (the rows given)",
                                  k, count);
    if (initial_count > 0 && !initial)
        return simclr_error_input(err, "k-center selection: %zu initial centers but no rows for them", initial_count);
    float *nearest = simclr_checked_calloc(count, sizeof(float), "k-center similarities", err);
    float *similarities = nearest ? simclr_checked_calloc(count, sizeof(float), "k-center similarities", err) : NULL;
    unsigned char *chosen = similarities ? simclr_checked_calloc(count, 1, "k-center selection", err) : NULL;
    int status = chosen ? 0 : -1;
    for (size_t i = 0; status == 0 && i < count; i++) nearest[i] = -INFINITY;
    if (status == 0 && initial_count > 0)
        status = add_initial_centers(rows, count, dim, initial, initial_count, nearest, err);
    for (size_t step = 0; status == 0 && step < k; step++) {
        size_t next = 0;
        if (step == 0 && initial_count == 0) status = most_typical_row(rows, count, dim, similarities, &next, err);
        else next = farthest_row(nearest, chosen, count);
        if (status != 0) break;
        chosen[next] = 1;
        selected[step] = (int64_t)next;
        /* similarities (count) = rows (count, dim) . rows[next] (dim) */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)count, dim, 1.0f, rows, dim, rows + next * (size_t)dim, 1,
                    0.0f, similarities, 1);
        for (size_t i = 0; i < count; i++)
            if (similarities[i] > nearest[i]) nearest[i] = similarities[i];
        /* A chosen row is its own center, however its own similarity rounds. */
        nearest[next] = nearest[next] > 1.0f ? nearest[next] : 1.0f;
        if (radii) radii[step] = coverage_radius(nearest, count);
    }
    free(nearest);
    free(similarities);
    free(chosen);
    return status;
}
