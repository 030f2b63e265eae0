/* Exact nearest-neighbour search over normalised rows: sgemm of a block of queries against a block
 * of the bank, then each query row's similarities offered to its heap of the k best so far. */
#include "simclr/similarity.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A neighbour is better than another when more similar, then when its bank row is lower: a total
 * order, so the k kept do not depend on the blocks. */
static int better(float similarity_a, int64_t index_a, float similarity_b, int64_t index_b)
{
    return similarity_a > similarity_b || (similarity_a == similarity_b && index_a < index_b);
}

/* The heap keeps the worst of the k best at its root (slot 0). */
static void heap_sift_down(float *similarity, int64_t *index, int size, int slot)
{
    for (;;) {
        int worst = slot, left = 2 * slot + 1, right = left + 1;
        if (left < size && better(similarity[worst], index[worst], similarity[left], index[left])) worst = left;
        if (right < size && better(similarity[worst], index[worst], similarity[right], index[right])) worst = right;
        if (worst == slot) return;
        float s = similarity[slot];
        int64_t i = index[slot];
        similarity[slot] = similarity[worst];
        index[slot] = index[worst];
        similarity[worst] = s;
        index[worst] = i;
        slot = worst;
    }
}

static void heap_offer(float *similarity, int64_t *index, int *size, int k, float candidate, int64_t row)
{
    if (*size < k) {
        int slot = (*size)++;
        similarity[slot] = candidate;
        index[slot] = row;
        while (slot > 0) {
            int parent = (slot - 1) / 2;
            if (!better(similarity[parent], index[parent], similarity[slot], index[slot])) break;
            float s = similarity[slot];
            int64_t i = index[slot];
            similarity[slot] = similarity[parent];
            index[slot] = index[parent];
            similarity[parent] = s;
            index[parent] = i;
            slot = parent;
        }
        return;
    }
    if (!better(candidate, row, similarity[0], index[0])) return;
    similarity[0] = candidate;
    index[0] = row;
    heap_sift_down(similarity, index, k, 0);
}

int simclr_top_k_init(simclr_top_k *top, const float *queries, size_t query_count, int dim, int k,
                      simclr_error *err)
{
    memset(top, 0, sizeof *top);
    if (k < 1) return simclr_error_input(err, "nearest neighbours: k %d, expected at least 1", k);
    if (dim < 1) return simclr_error_input(err, "nearest neighbours: feature width %d, expected at least 1", dim);
    if (query_count == 0 || !queries) return simclr_error_input(err, "nearest neighbours: no query");
    top->queries = queries;
    top->query_count = query_count;
    top->dim = dim;
    top->k = k;
    top->query_block = query_count < SIMCLR_SIMILARITY_QUERY_BLOCK ? query_count : SIMCLR_SIMILARITY_QUERY_BLOCK;
    top->bank_block = SIMCLR_SIMILARITY_BANK_BLOCK;
    top->scratch = simclr_checked_calloc(top->query_block * top->bank_block, sizeof(float), "similarity block", err);
    top->heap_similarity =
        top->scratch ? simclr_checked_calloc(query_count * (size_t)k, sizeof(float), "nearest neighbours", err) : NULL;
    top->heap_index = top->heap_similarity
                          ? simclr_checked_calloc(query_count * (size_t)k, sizeof(int64_t), "nearest neighbours", err)
                          : NULL;
    top->heap_size = top->heap_index ? simclr_checked_calloc(query_count, sizeof(int), "nearest neighbours", err)
                                     : NULL;
    if (!top->heap_size) {
        simclr_top_k_free(top);
        return -1;
    }
    return 0;
}

void simclr_top_k_free(simclr_top_k *top)
{
    free(top->scratch);
    free(top->heap_similarity);
    free(top->heap_index);
    free(top->heap_size);
    memset(top, 0, sizeof *top);
}

/* One block: bank rows [0, rows) of `bank`, numbered from `first`. */
static void add_block(simclr_top_k *top, const float *bank, size_t rows, int64_t first)
{
    const int dim = top->dim, k = top->k;
    for (size_t q0 = 0; q0 < top->query_count; q0 += top->query_block) {
        size_t q_rows = top->query_count - q0 < top->query_block ? top->query_count - q0 : top->query_block;
        /* scratch (q_rows, rows) = queries[q0..] (q_rows, dim) . bank (rows, dim)^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)q_rows, (int)rows, dim, 1.0f,
                    top->queries + q0 * (size_t)dim, dim, bank, dim, 0.0f, top->scratch, (int)rows);
        const float *scratch = top->scratch;
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < q_rows; r++) {
            size_t query = q0 + r;
            const float *row = scratch + r * rows;
            float *similarity = top->heap_similarity + query * (size_t)k;
            int64_t *index = top->heap_index + query * (size_t)k;
            int *size = &top->heap_size[query];
            /* Skipped by the loop below: the query's own row, when asked. */
            int64_t own = top->skip_same_row ? (int64_t)query - first : -1;
            size_t j = 0;
            /* Until the heap is full every row is offered (NaN, from a NaN feature, as -inf: below
             * every number). */
            for (; j < rows && *size < k; j++) {
                if ((int64_t)j == own) continue;
                heap_offer(similarity, index, size, k, isnan(row[j]) ? -INFINITY : row[j], first + (int64_t)j);
            }
            /* Then only a row more similar than the worst kept can enter (an equal one has a higher
             * bank row, so it loses the tie; NaN compares false): one comparison per row. */
            float worst = similarity[0];
            for (; j < rows; j++) {
                if (!(row[j] > worst) || (int64_t)j == own) continue;
                heap_offer(similarity, index, size, k, row[j], first + (int64_t)j);
                worst = similarity[0];
            }
        }
    }
}

int simclr_top_k_add(simclr_top_k *top, const float *bank, size_t rows, simclr_error *err)
{
    if (rows > 0 && !bank) return simclr_error_input(err, "nearest neighbours: bank rows missing");
    for (size_t b0 = 0; b0 < rows; b0 += top->bank_block) {
        size_t b_rows = rows - b0 < top->bank_block ? rows - b0 : top->bank_block;
        add_block(top, bank + b0 * (size_t)top->dim, b_rows, top->bank_rows);
        top->bank_rows += (int64_t)b_rows;
    }
    return 0;
}

/* Sorts one query's heap in place, worst first (a sorted array is still a valid heap, so more
 * rows may be added afterwards): heapsort pops the worst to the end, leaving the best first, then
 * the array is reversed. */
static void heap_sort_worst_first(float *similarity, int64_t *index, int size)
{
    for (int end = size - 1; end > 0; end--) {
        float s = similarity[0];
        int64_t i = index[0];
        similarity[0] = similarity[end];
        index[0] = index[end];
        similarity[end] = s;
        index[end] = i;
        heap_sift_down(similarity, index, end, 0);
    }
    for (int a = 0, b = size - 1; a < b; a++, b--) {
        float s = similarity[a];
        int64_t i = index[a];
        similarity[a] = similarity[b];
        index[a] = index[b];
        similarity[b] = s;
        index[b] = i;
    }
}

void simclr_top_k_results(simclr_top_k *top, int64_t *indices, float *similarities)
{
    const int k = top->k;
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < top->query_count; q++) {
        float *similarity = top->heap_similarity + q * (size_t)k;
        int64_t *index = top->heap_index + q * (size_t)k;
        int size = top->heap_size[q];
        heap_sort_worst_first(similarity, index, size);
        for (int r = 0; r < k; r++) {
            int have = r < size;
            if (indices) indices[q * (size_t)k + (size_t)r] = have ? index[size - 1 - r] : -1;
            if (similarities) similarities[q * (size_t)k + (size_t)r] = have ? similarity[size - 1 - r] : NAN;
        }
    }
}

int simclr_similarity_top_k(const float *queries, size_t query_count, const float *bank, size_t bank_count,
                            int dim, int k, int64_t *indices, float *similarities, simclr_error *err)
{
    if (bank_count == 0 || !bank) return simclr_error_input(err, "nearest neighbours: the bank is empty");
    if (k > 0 && (size_t)k > bank_count)
        return simclr_error_input(err, "nearest neighbours: k %d is larger than the bank's %zu rows", k, bank_count);
    simclr_top_k top;
    if (simclr_top_k_init(&top, queries, query_count, dim, k, err) != 0) return -1;
    int status = simclr_top_k_add(&top, bank, bank_count, err);
    if (status == 0) simclr_top_k_results(&top, indices, similarities);
    simclr_top_k_free(&top);
    return status;
}

int simclr_similarity_nearest_other(const float *rows, size_t count, int dim, int64_t *nearest, float *similarity,
                                    simclr_error *err)
{
    if (count < 2) return simclr_error_input(err, "nearest other row: %zu rows, expected at least 2", count);
    simclr_top_k top;
    if (simclr_top_k_init(&top, rows, count, dim, 1, err) != 0) return -1;
    top.skip_same_row = 1;
    int status = simclr_top_k_add(&top, rows, count, err);
    if (status == 0) simclr_top_k_results(&top, nearest, similarity);
    simclr_top_k_free(&top);
    return status;
}
