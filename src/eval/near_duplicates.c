/* Groups of near-duplicate rows: union-find over the pairs above a similarity threshold, found by
 * blocked sgemm over the upper triangle of the similarity matrix; the most central member of each
 * group from one sum per group. */
#include "simclr/similarity.h"

#include "simclr/image_hash.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#define GROUPS_BLOCK 1024 /* rows per side of one similarity block: 4 MB of floats */

/* Union-find with path halving and union by size (Tarjan): near-constant time per operation. */
static size_t find_root(size_t *parent, size_t row)
{
    while (parent[row] != row) {
        parent[row] = parent[parent[row]];
        row = parent[row];
    }
    return row;
}

static void join(size_t *parent, size_t *size, size_t a, size_t b)
{
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a == b) return;
    if (size[a] < size[b]) {
        size_t t = a;
        a = b;
        b = t;
    }
    parent[b] = a;
    size[a] += size[b];
}

int simclr_similarity_groups(const float *rows, size_t count, int dim, float threshold, int64_t *group,
                             size_t *group_count, simclr_error *err)
{
    if (count == 0 || !rows) return simclr_error_input(err, "near-duplicate groups: no rows");
    if (dim < 1) return simclr_error_input(err, "near-duplicate groups: feature width %d, expected at least 1", dim);
    size_t *parent = simclr_checked_calloc(count, sizeof(size_t), "near-duplicate groups", err);
    size_t *size = parent ? simclr_checked_calloc(count, sizeof(size_t), "near-duplicate groups", err) : NULL;
    size_t block = count < GROUPS_BLOCK ? count : GROUPS_BLOCK;
    float *similarities = size ? simclr_checked_calloc(block * block, sizeof(float), "similarity block", err) : NULL;
    if (!similarities) {
        free(parent);
        free(size);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        parent[i] = i;
        size[i] = 1;
    }
    for (size_t a0 = 0; a0 < count; a0 += block) {
        size_t a_rows = count - a0 < block ? count - a0 : block;
        for (size_t b0 = a0; b0 < count; b0 += block) {
            size_t b_rows = count - b0 < block ? count - b0 : block;
            /* similarities (a_rows, b_rows) = rows[a0..] . rows[b0..]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a_rows, (int)b_rows, dim, 1.0f,
                        rows + a0 * (size_t)dim, dim, rows + b0 * (size_t)dim, dim, 0.0f, similarities,
                        (int)b_rows);
            for (size_t i = 0; i < a_rows; i++) {
                /* On the diagonal block only the pairs above the diagonal. */
                size_t j_start = b0 == a0 ? i + 1 : 0;
                const float *row = similarities + i * b_rows;
                for (size_t j = j_start; j < b_rows; j++)
                    if (row[j] >= threshold) join(parent, size, a0 + i, b0 + j);
            }
        }
    }
    /* Number the groups in the order of their first row: size[] now maps a root to its group. */
    size_t groups = 0;
    for (size_t i = 0; i < count; i++) size[i] = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        size_t root = find_root(parent, i);
        if (size[root] == SIZE_MAX) size[root] = groups++;
        group[i] = (int64_t)size[root];
    }
    *group_count = groups;
    free(parent);
    free(size);
    free(similarities);
    return 0;
}

int simclr_similarity_join_hash_groups(const uint64_t *hashes, const uint64_t *mirrored, size_t count, int radius,
                                       int64_t *group, size_t *group_count, simclr_error *err)
{
    if (radius < 0 || radius > 64)
        return simclr_error_input(err, "hash groups: radius %d, expected 0..64 bits", radius);
    size_t groups = *group_count;
    size_t *parent = simclr_checked_calloc(groups ? groups : 1, sizeof(size_t), "hash groups", err);
    size_t *size = parent ? simclr_checked_calloc(groups ? groups : 1, sizeof(size_t), "hash groups", err) : NULL;
    if (!size) {
        free(parent);
        return -1;
    }
    for (size_t g = 0; g < groups; g++) {
        parent[g] = g;
        size[g] = 1;
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t j = i + 1; j < count; j++) {
            if (simclr_hash_distance(hashes[i], hashes[j]) <= radius ||
                (mirrored && simclr_hash_distance(hashes[i], mirrored[j]) <= radius))
                join(parent, size, (size_t)group[i], (size_t)group[j]);
        }
    }
    size_t renumbered = 0;
    for (size_t g = 0; g < groups; g++) size[g] = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        size_t root = find_root(parent, (size_t)group[i]);
        if (size[root] == SIZE_MAX) size[root] = renumbered++;
        group[i] = (int64_t)size[root];
    }
    *group_count = renumbered;
    free(parent);
    free(size);
    return 0;
}

int simclr_similarity_group_centers(const float *rows, size_t count, int dim, const int64_t *group,
                                    size_t group_count, const size_t *copies, int64_t *center, simclr_error *err)
{
    if (dim < 1) return simclr_error_input(err, "group centers: feature width %d, expected at least 1", dim);
    for (size_t i = 0; i < count; i++)
        if (group[i] < 0 || (size_t)group[i] >= group_count)
            return simclr_error_input(err, "group centers: row %zu is in group %lld, expected 0..%zu", i,
                                      (long long)group[i], group_count - 1);
    /* sums (group_count, dim): the copies-weighted sum of each group's rows; images: its count. */
    double *sums = simclr_checked_calloc(group_count * (size_t)dim, sizeof(double), "group sums", err);
    double *images = sums ? simclr_checked_calloc(group_count, sizeof(double), "group sums", err) : NULL;
    double *best = images ? simclr_checked_calloc(group_count, sizeof(double), "group centers", err) : NULL;
    if (!best) {
        free(sums);
        free(images);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        double weight = copies ? (double)copies[i] : 1.0;
        double *sum = sums + (size_t)group[i] * (size_t)dim;
        const float *row = rows + i * (size_t)dim;
        for (int d = 0; d < dim; d++) sum[d] += weight * (double)row[d];
        images[group[i]] += weight;
    }
    for (size_t g = 0; g < group_count; g++) center[g] = -1;
    for (size_t i = 0; i < count; i++) {
        size_t g = (size_t)group[i];
        const double *sum = sums + g * (size_t)dim;
        const float *row = rows + i * (size_t)dim;
        double dot = 0.0, self = 0.0;
        for (int d = 0; d < dim; d++) {
            dot += (double)row[d] * sum[d];
            self += (double)row[d] * (double)row[d];
        }
        double mean = images[g] > 1.0 ? (dot - self) / (images[g] - 1.0) : 1.0;
        if (center[g] < 0 || mean > best[g]) {
            center[g] = (int64_t)i;
            best[g] = mean;
        }
    }
    free(sums);
    free(images);
    free(best);
    return 0;
}
