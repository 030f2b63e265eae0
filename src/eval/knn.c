/* kNN classification against a memory bank: blocked sgemm similarities, a running top-k min-heap
 * per query row, weighted votes exp(sim / T). */
#include "simclr/knn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KNN_DEFAULT_QUERY_CHUNK 256
#define KNN_DEFAULT_BANK_CHUNK 4096
/* exp(1 / T) must stay finite in double precision. */
#define KNN_MIN_TEMPERATURE (1.0 / 700.0)

simclr_knn_config simclr_knn_config_default(void)
{
    simclr_knn_config config = {.k = SIMCLR_KNN_DEFAULT_K,
                                .temperature = SIMCLR_KNN_DEFAULT_TEMPERATURE,
                                .query_chunk = KNN_DEFAULT_QUERY_CHUNK,
                                .bank_chunk = KNN_DEFAULT_BANK_CHUNK};
    return config;
}

int simclr_knn_bank_init(simclr_knn_bank *bank, size_t capacity, int dim, int num_classes, simclr_error *err)
{
    memset(bank, 0, sizeof *bank);
    if (dim <= 0 || num_classes <= 0)
        return simclr_error_input(err, "kNN bank: feature width %d and class count %d must be positive",
                                  dim, num_classes);
    bank->capacity = capacity;
    bank->dim = dim;
    bank->num_classes = num_classes;
    bank->features = simclr_checked_calloc(capacity ? capacity * (size_t)dim : 1, sizeof(float),
                                           "kNN bank features", err);
    bank->labels = bank->features ? simclr_checked_calloc(capacity ? capacity : 1, sizeof(int32_t),
                                                          "kNN bank labels", err)
                                  : NULL;
    if (!bank->labels) {
        simclr_knn_bank_free(bank);
        return -1;
    }
    return 0;
}

void simclr_knn_bank_free(simclr_knn_bank *bank)
{
    free(bank->features);
    free(bank->labels);
    memset(bank, 0, sizeof *bank);
}

void simclr_l2_normalize_rows(float *rows_data, size_t rows, int dim)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        float *row = rows_data + r * (size_t)dim;
        double norm = 0.0;
        for (int j = 0; j < dim; j++) norm += (double)row[j] * (double)row[j];
        if (norm <= 0.0) continue;
        float scale = (float)(1.0 / sqrt(norm));
        for (int j = 0; j < dim; j++) row[j] *= scale;
    }
}

void simclr_knn_bank_normalize(simclr_knn_bank *bank)
{
    simclr_l2_normalize_rows(bank->features, bank->count, bank->dim);
}

/* Heap order: a is "below" b when its similarity is lower, or equal with a larger bank index (so
 * equal similarities keep the earlier bank row). */
static int heap_below(float sim_a, size_t index_a, float sim_b, size_t index_b)
{
    return sim_a < sim_b || (sim_a == sim_b && index_a > index_b);
}

static void heap_sift_down(float *sims, size_t *indices, int size, int at)
{
    for (;;) {
        int smallest = at, left = 2 * at + 1, right = 2 * at + 2;
        if (left < size && heap_below(sims[left], indices[left], sims[smallest], indices[smallest]))
            smallest = left;
        if (right < size && heap_below(sims[right], indices[right], sims[smallest], indices[smallest]))
            smallest = right;
        if (smallest == at) return;
        float s = sims[at];
        sims[at] = sims[smallest];
        sims[smallest] = s;
        size_t i = indices[at];
        indices[at] = indices[smallest];
        indices[smallest] = i;
        at = smallest;
    }
}

static void heap_sift_up(float *sims, size_t *indices, int at)
{
    while (at > 0) {
        int parent = (at - 1) / 2;
        if (!heap_below(sims[at], indices[at], sims[parent], indices[parent])) return;
        float s = sims[at];
        sims[at] = sims[parent];
        sims[parent] = s;
        size_t i = indices[at];
        indices[at] = indices[parent];
        indices[parent] = i;
        at = parent;
    }
}

/* Offers bank row `index` with similarity `sim` to a top-k heap holding *size entries. */
static void heap_offer(float *sims, size_t *indices, int *size, int k, float sim, size_t index)
{
    if (*size < k) {
        sims[*size] = sim;
        indices[*size] = index;
        heap_sift_up(sims, indices, (*size)++);
    } else if (heap_below(sims[0], indices[0], sim, index)) {
        sims[0] = sim;
        indices[0] = index;
        heap_sift_down(sims, indices, k, 0);
    }
}

int simclr_knn_classify(const simclr_knn_bank *bank, const simclr_knn_config *config, float *queries,
                        size_t query_count, int32_t *predictions, double *votes, simclr_error *err)
{
    if (bank->count == 0) return simclr_error_input(err, "kNN: the memory bank is empty");
    if (config->k < 1 || (size_t)config->k > bank->count)
        return simclr_error_input(err, "--knn-k %d: expected 1..%zu (the memory bank's size)", config->k,
                                  bank->count);
    if (!(config->temperature >= KNN_MIN_TEMPERATURE))
        return simclr_error_input(err, "--knn-temperature %g: expected at least %.4f", (double)config->temperature,
                                  KNN_MIN_TEMPERATURE);
    size_t query_chunk = config->query_chunk ? config->query_chunk : KNN_DEFAULT_QUERY_CHUNK;
    size_t bank_chunk = config->bank_chunk ? config->bank_chunk : KNN_DEFAULT_BANK_CHUNK;
    if (bank_chunk > bank->count) bank_chunk = bank->count;
    if (query_chunk > query_count) query_chunk = query_count ? query_count : 1;
    int k = config->k, dim = bank->dim, classes = bank->num_classes;
    float *sims = simclr_checked_calloc(query_chunk * bank_chunk, sizeof(float), "kNN similarities", err);
    float *heap_sims = sims ? simclr_checked_calloc(query_chunk * (size_t)k, sizeof(float), "kNN top-k", err) : NULL;
    size_t *heap_indices =
        heap_sims ? simclr_checked_calloc(query_chunk * (size_t)k, sizeof(size_t), "kNN top-k", err) : NULL;
    int *heap_sizes = heap_indices ? simclr_checked_calloc(query_chunk, sizeof(int), "kNN top-k", err) : NULL;
    double *row_votes =
        heap_sizes ? simclr_checked_calloc(query_chunk * (size_t)classes, sizeof(double), "kNN votes", err) : NULL;
    if (!row_votes) {
        free(sims);
        free(heap_sims);
        free(heap_indices);
        free(heap_sizes);
        return -1;
    }
    simclr_l2_normalize_rows(queries, query_count, dim);
    double inverse_temperature = 1.0 / (double)config->temperature;
    for (size_t q0 = 0; q0 < query_count; q0 += query_chunk) {
        size_t q_rows = query_count - q0 < query_chunk ? query_count - q0 : query_chunk;
        memset(heap_sizes, 0, q_rows * sizeof(int));
        for (size_t b0 = 0; b0 < bank->count; b0 += bank_chunk) {
            size_t b_rows = bank->count - b0 < bank_chunk ? bank->count - b0 : bank_chunk;
            /* sims (q_rows, b_rows) = queries[q0..] (q_rows, dim) . bank[b0..]^T (dim, b_rows) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)q_rows, (int)b_rows, dim, 1.0f,
                        queries + q0 * (size_t)dim, dim, bank->features + b0 * (size_t)dim, dim, 0.0f, sims,
                        (int)b_rows);
#pragma omp parallel for schedule(static)
            for (size_t r = 0; r < q_rows; r++) {
                const float *row = sims + r * b_rows;
                for (size_t j = 0; j < b_rows; j++)
                    heap_offer(heap_sims + r * (size_t)k, heap_indices + r * (size_t)k, &heap_sizes[r], k,
                               row[j], b0 + j);
            }
        }
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < q_rows; r++) {
            double *vote = row_votes + r * (size_t)classes;
            memset(vote, 0, (size_t)classes * sizeof(double));
            for (int n = 0; n < heap_sizes[r]; n++) {
                size_t index = heap_indices[r * (size_t)k + (size_t)n];
                vote[bank->labels[index]] += exp((double)heap_sims[r * (size_t)k + (size_t)n] * inverse_temperature);
            }
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (vote[c] > vote[best]) best = c;
            predictions[q0 + r] = best;
        }
        if (votes) memcpy(votes + q0 * (size_t)classes, row_votes, q_rows * (size_t)classes * sizeof(double));
    }
    free(sims);
    free(heap_sims);
    free(heap_indices);
    free(heap_sizes);
    free(row_votes);
    return 0;
}
