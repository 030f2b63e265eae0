#ifndef SIMCLR_CLI_APPROXIMATE_INDEX_H
#define SIMCLR_CLI_APPROXIMATE_INDEX_H
/*
 * Approximate nearest neighbours for `similar --index hnsw` (issue 26): a graph index (HNSW,
 * Malkov & Yashunin 2018) over the bank's normalised rows, searched by inner product, through
 * faiss's IndexHNSWFlat when simclr is built with Debian's libfaiss-dev (CMake finds it; the
 * command line only: libsimclr stays plain C). Without faiss, approximate_index_available() is 0
 * and building fails with an input error saying so. The recall against the exact search is
 * measured by bench/similarity.sh (docs/RESULTS.md).
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define APPROXIMATE_INDEX_NEIGHBOURS 32        /* graph links per node (HNSW's M) */
#define APPROXIMATE_INDEX_EF_CONSTRUCTION 80   /* candidates kept while building */
#define APPROXIMATE_INDEX_EF_SEARCH 128        /* candidates kept while searching (at least k) */

typedef struct approximate_index approximate_index;

/* 1 when built with faiss. */
int approximate_index_available(void);

/* An index of count rows of dim floats (normalised; copied into the index). */
int approximate_index_build(approximate_index **index, const float *rows, size_t count, int dim, simclr_error *err);

/* The k most similar indexed rows of each query, best first (as simclr_similarity_top_k), with
 * max(ef_search, k) candidates kept per query. A query with fewer than k found gets -1 and NaN. */
int approximate_index_search(approximate_index *index, const float *queries, size_t count, int k,
                             int ef_search, int64_t *indices, float *similarities, simclr_error *err);

void approximate_index_free(approximate_index *index);

#ifdef __cplusplus
}
#endif
#endif
