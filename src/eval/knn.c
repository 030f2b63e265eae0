/* kNN classification against a memory bank: blocked sgemm similarities, a running top-k per query
 * row (quickselect over the row's best so far and the next bank chunk), weighted votes exp(sim / T). */
#include "simclr/knn.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
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

/* A candidate neighbour. "Better" is a total order: higher similarity, then the earlier bank row,
 * so the selected set does not depend on chunking or threads. */
typedef struct knn_candidate {
    float sim;
    size_t index;
} knn_candidate;

static int better(const knn_candidate *a, const knn_candidate *b)
{
    return a->sim > b->sim || (a->sim == b->sim && a->index < b->index);
}

static void swap_candidates(knn_candidate *a, knn_candidate *b)
{
    knn_candidate t = *a;
    *a = *b;
    *b = t;
}

/* Reorders items[0..count) so that the k best come first (in no particular order): quickselect
 * with a median-of-three pivot, O(count) on average. */
static void select_best(knn_candidate *items, size_t count, size_t k)
{
    size_t low = 0, high = count; /* the k-th best lies in [low, high) */
    while (high - low > 1) {
        size_t mid = low + (high - low) / 2, last = high - 1;
        if (better(&items[mid], &items[low])) swap_candidates(&items[mid], &items[low]);
        if (better(&items[last], &items[low])) swap_candidates(&items[last], &items[low]);
        if (better(&items[last], &items[mid])) swap_candidates(&items[last], &items[mid]);
        /* items[mid] is the median: move it to the end and partition [low, last). */
        swap_candidates(&items[mid], &items[last]);
        knn_candidate pivot = items[last];
        size_t store = low;
        for (size_t i = low; i < last; i++)
            if (better(&items[i], &pivot)) swap_candidates(&items[i], &items[store++]);
        swap_candidates(&items[store], &items[last]);
        /* items[low, store) beat the pivot, items[store] is the pivot, the rest do not. */
        if (store + 1 == k || store == k) return;
        if (store > k) high = store;
        else low = store + 1;
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
    knn_candidate *best =
        sims ? simclr_checked_calloc(query_chunk * (size_t)k, sizeof(knn_candidate), "kNN top-k", err) : NULL;
    int *best_counts = best ? simclr_checked_calloc(query_chunk, sizeof(int), "kNN top-k", err) : NULL;
    double *row_votes =
        best_counts ? simclr_checked_calloc(query_chunk * (size_t)classes, sizeof(double), "kNN votes", err) : NULL;
    size_t threads = (size_t)omp_get_max_threads();
    knn_candidate *scratch = row_votes ? simclr_checked_calloc(threads * ((size_t)k + bank_chunk),
                                                               sizeof(knn_candidate), "kNN candidates", err)
                                       : NULL;
    if (!scratch) {
        free(sims);
        free(best);
        free(best_counts);
        free(row_votes);
        return -1;
    }
    simclr_l2_normalize_rows(queries, query_count, dim);
    double inverse_temperature = 1.0 / (double)config->temperature;
    for (size_t q0 = 0; q0 < query_count; q0 += query_chunk) {
        size_t q_rows = query_count - q0 < query_chunk ? query_count - q0 : query_chunk;
        memset(best_counts, 0, q_rows * sizeof(int));
        for (size_t b0 = 0; b0 < bank->count; b0 += bank_chunk) {
            size_t b_rows = bank->count - b0 < bank_chunk ? bank->count - b0 : bank_chunk;
            /* sims (q_rows, b_rows) = queries[q0..] (q_rows, dim) . bank[b0..]^T (dim, b_rows) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)q_rows, (int)b_rows, dim, 1.0f,
                        queries + q0 * (size_t)dim, dim, bank->features + b0 * (size_t)dim, dim, 0.0f, sims,
                        (int)b_rows);
#pragma omp parallel
            {
                /* Per thread: the row's current top k followed by this chunk's candidates. */
                knn_candidate *candidates = scratch + (size_t)omp_get_thread_num() * ((size_t)k + bank_chunk);
#pragma omp for schedule(static)
                for (size_t r = 0; r < q_rows; r++) {
                    const float *row = sims + r * b_rows;
                    knn_candidate *top = best + r * (size_t)k;
                    size_t held = (size_t)best_counts[r], total = held + b_rows;
                    memcpy(candidates, top, held * sizeof *candidates);
                    for (size_t j = 0; j < b_rows; j++) candidates[held + j] = (knn_candidate){row[j], b0 + j};
                    size_t keep = total < (size_t)k ? total : (size_t)k;
                    if (total > keep) select_best(candidates, total, keep);
                    memcpy(top, candidates, keep * sizeof *candidates);
                    best_counts[r] = (int)keep;
                }
            }
        }
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < q_rows; r++) {
            double *vote = row_votes + r * (size_t)classes;
            memset(vote, 0, (size_t)classes * sizeof(double));
            const knn_candidate *top = best + r * (size_t)k;
            for (int n = 0; n < best_counts[r]; n++)
                vote[bank->labels[top[n].index]] += exp((double)top[n].sim * inverse_temperature);
            int winner = 0;
            for (int c = 1; c < classes; c++)
                if (vote[c] > vote[winner]) winner = c;
            predictions[q0 + r] = winner;
        }
        if (votes) memcpy(votes + q0 * (size_t)classes, row_votes, q_rows * (size_t)classes * sizeof(double));
    }
    free(sims);
    free(best);
    free(best_counts);
    free(row_votes);
    free(scratch);
    return 0;
}
