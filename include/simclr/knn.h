#ifndef SIMCLR_KNN_H
#define SIMCLR_KNN_H
/*
 * k-nearest-neighbour classification of features against a labeled memory bank, the way the
 * self-supervised literature monitors a representation (Wu et al. 2018, the SimCLR/solo-learn
 * kNN monitor): features L2-normalised, cosine similarity, the k most similar bank rows vote for
 * their class with weight exp(similarity / T), and the class with the largest vote wins (ties:
 * the lowest class index).
 *
 * The similarities are blocked matrix products (BLAS sgemm) of a chunk of query rows against a
 * chunk of bank rows, and a running top-k per query row (quickselect) is merged over the bank
 * chunks, so memory is bounded by the chunk sizes, not by the number of queries or bank rows:
 *
 *     simclr_knn_bank bank;                        // bank rows: features of labeled images
 *     simclr_knn_bank_init(&bank, rows, dim, classes, &err);
 *     // copy features into bank.features (rows x dim) and labels into bank.labels
 *     bank.count = rows;
 *     simclr_knn_bank_normalize(&bank);
 *     simclr_knn_classify(&bank, &config, queries, n, predictions, NULL, &err);  // queries are
 *                                                                            // normalised inside
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_KNN_DEFAULT_K 200
#define SIMCLR_KNN_DEFAULT_TEMPERATURE 0.1f

typedef struct simclr_knn_config {
    int k;               /* neighbours, 1..bank count (callers clamp the default of 200) */
    float temperature;   /* T of exp(sim / T), > 0 */
    size_t query_chunk;  /* query rows per block (0: 256) */
    size_t bank_chunk;   /* bank rows per block (0: 4096) */
} simclr_knn_config;

simclr_knn_config simclr_knn_config_default(void);

typedef struct simclr_knn_bank {
    size_t count;        /* rows filled */
    size_t capacity;     /* rows allocated */
    int dim;             /* feature width */
    int num_classes;
    float *features;     /* (capacity, dim), owned */
    int32_t *labels;     /* (capacity), owned, 0..num_classes-1 */
} simclr_knn_bank;

/* Allocates a bank of `capacity` rows of `dim` floats (count 0). Release with simclr_knn_bank_free. */
int simclr_knn_bank_init(simclr_knn_bank *bank, size_t capacity, int dim, int num_classes, simclr_error *err);
void simclr_knn_bank_free(simclr_knn_bank *bank);

/* Scales each of rows rows of dim floats to unit L2 norm (an all-zero row stays zero). */
void simclr_l2_normalize_rows(float *rows_data, size_t rows, int dim);
void simclr_knn_bank_normalize(simclr_knn_bank *bank);

/* Classifies query_count rows of bank->dim floats (normalised in place, so the caller's buffer
 * changes) against the normalised bank: predictions[i] gets the winning class; votes, if not
 * NULL, receives (query_count, num_classes) summed weights exp(sim / T). Fails (input error) when
 * k is outside 1..bank->count or the temperature is not positive. */
int simclr_knn_classify(const simclr_knn_bank *bank, const simclr_knn_config *config, float *queries,
                        size_t query_count, int32_t *predictions, double *votes, simclr_error *err);

SIMCLR_END_DECLS
#endif
