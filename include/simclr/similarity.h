#ifndef SIMCLR_SIMILARITY_H
#define SIMCLR_SIMILARITY_H
/*
 * Using an embedding space once the model is trained (issue 26): the nearest images of a query,
 * groups of near-duplicates, a diverse subset and the outliers. Every function here reads rows
 * that are already L2-normalised (simclr_l2_normalize_rows in knn.h), so that a dot product is
 * the cosine similarity; an all-zero row has similarity 0 to everything.
 *
 * Search is exact: the similarities are blocked matrix products (BLAS sgemm) of a block of query
 * rows against a block of bank rows, and each query keeps a heap of its k best so far, so memory
 * is bounded by the queries and the block sizes, not by the bank. The bank may be streamed in as
 * it is computed or read from disk (simclr_top_k_add); simclr_similarity_top_k does it all for a
 * bank in memory. Ties are broken by the lower bank row, so the result depends neither on the
 * block sizes nor on the threads.
 *
 *     simclr_error err = {0};
 *     float queries[2 * 3] = {1, 0, 0, 0, 1, 0};                       // (2, 3), normalised rows
 *     float bank[4 * 3] = {1, 0, 0, 0, 0, 1, 0, 1, 0, 0.6f, 0.8f, 0};  // (4, 3)
 *     int64_t indices[2 * 2];                                           // (2, k): bank rows, best first
 *     float similarities[2 * 2];
 *     if (simclr_similarity_top_k(queries, 2, bank, 4, 3, 2, indices, similarities, &err) != 0) {
 *         fprintf(stderr, "%s\n", simclr_error_message(&err));
 *         simclr_error_clear(&err);
 *     }
 *     // indices {0, 3, 2, 3}: (1,0,0) is itself and then (0.6,0.8,0); (0,1,0) the reverse
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_SIMILARITY_QUERY_BLOCK 256   /* query rows per sgemm */
#define SIMCLR_SIMILARITY_BANK_BLOCK 4096   /* bank rows per sgemm */

/* The k most similar bank rows of each query, accumulated over blocks of bank rows. */
typedef struct simclr_top_k {
    const float *queries;    /* (query_count, dim), the caller's; must outlive the accumulator */
    size_t query_count;
    int dim, k;
    /* Set after init when the queries are the bank's first query_count rows: bank row i is then
     * never a neighbour of query i (the nearest *other* row; outliers). */
    int skip_same_row;
    size_t query_block, bank_block;
    int64_t bank_rows;       /* bank rows added so far: the next row added is bank row bank_rows */
    float *scratch;          /* (query_block, bank_block) similarities */
    float *heap_similarity;  /* (query_count, k): per query a heap whose root is its worst kept */
    int64_t *heap_index;     /* (query_count, k) */
    int *heap_size;          /* (query_count) */
} simclr_top_k;

/* Prepares the search of k (>= 1) neighbours for query_count rows of dim floats (queries, kept
 * by pointer). Fails (input error) on k < 1, dim < 1 or no query; release with simclr_top_k_free. */
int simclr_top_k_init(simclr_top_k *top, const float *queries, size_t query_count, int dim, int k,
                      simclr_error *err);
void simclr_top_k_free(simclr_top_k *top);

/* Adds `rows` bank rows (rows x dim floats, normalised), numbered from top->bank_rows on; any
 * number at a time (processed in blocks of bank_block). */
int simclr_top_k_add(simclr_top_k *top, const float *bank, size_t rows, simclr_error *err);

/* The result so far, best first: indices[q * k + r] the bank row of rank r of query q and
 * similarities[q * k + r] its similarity (either may be NULL). A query with fewer than k bank rows
 * seen gets -1 and NaN in the ranks it lacks. The heaps are sorted in place and stay heaps: more
 * rows may be added afterwards. */
void simclr_top_k_results(simclr_top_k *top, int64_t *indices, float *similarities);

/* All at once for a bank in memory: the k most similar of bank_count bank rows for each query
 * (queries and bank: rows of dim floats, normalised). indices and similarities: (query_count, k),
 * best first. k above bank_count is an input error naming both. */
int simclr_similarity_top_k(const float *queries, size_t query_count, const float *bank, size_t bank_count,
                            int dim, int k, int64_t *indices, float *similarities, simclr_error *err);

/* The nearest other row of each of count rows (count >= 2): nearest[i] (may be NULL) and its
 * similarity[i]. The outliers are the rows whose nearest other row is least similar. */
int simclr_similarity_nearest_other(const float *rows, size_t count, int dim, int64_t *nearest, float *similarity,
                                    simclr_error *err);

/* Groups of near-duplicates: the connected components of the graph joining every pair of rows
 * with similarity >= threshold (union-find over the pairs, found by blocked sgemm of the upper
 * triangle). group[i] receives the group of row i, groups numbered from 0 in the order of their
 * first row; *group_count the number of groups (a row without a near-duplicate is a group of
 * its own). */
int simclr_similarity_groups(const float *rows, size_t count, int dim, float threshold, int64_t *group,
                             size_t *group_count, simclr_error *err);

/* A check of a candidate pair of rows (a < b) before they are joined: nonzero to join them. Called
 * from several threads at once. */
typedef int (*simclr_similarity_pair_check)(void *context, size_t a, size_t b);

/* The same, but each pair above the threshold is checked first (check(context, a, b): the pairs of
 * one block of the similarity matrix at a time, in parallel, those whose rows an earlier block
 * joined left out) and joined only when it accepts it (`simclr dedup --match-threshold`).
 * *checked (may be NULL): how many were checked. */
int simclr_similarity_groups_checked(const float *rows, size_t count, int dim, float threshold,
                                     simclr_similarity_pair_check check, void *context, int64_t *group,
                                     size_t *group_count, size_t *checked, simclr_error *err);

/* Joins the groups (as simclr_similarity_groups numbers them: group[i] in 0..*group_count - 1) of
 * every two rows i and j whose perceptual hashes (image_hash.h) are near: the first hash of row i
 * (its whole image) differs in at most radius bits from any of the hashes_per_image hashes of row
 * j, or the first of j from any of i's (hashes: (count, hashes_per_image), row-major; for
 * `simclr dedup`, simclr_image_region_hashes' hashes: the whole image and its regions, each as it
 * is and mirrored). The relation is symmetric, and the groups are numbered again in the order of
 * their first row. The pairs are found by multi-index hashing (4 tables of 16-bit blocks; a query
 * probes the keys within radius / 4 bits of its block in each): about count * hashes_per_image
 * entries and, for hashes spread over the 2^16 keys, a few candidates per probe, for radius up to
 * 11; from 12 bits on, every pair is compared (count^2 * hashes_per_image popcounts). */
int simclr_similarity_join_region_hash_groups(const uint64_t *hashes, size_t count, int hashes_per_image, int radius,
                                              int64_t *group, size_t *group_count, simclr_error *err);

/* The same, but every pair the hashes find whose rows are not in one group already is checked
 * first (check(context, a, b), each pair once, in parallel), and only the pairs it accepts are
 * joined (`simclr dedup --match-threshold`: the hashes propose, the thumbnails' alignment decides).
 * *checked (may be NULL) receives how many pairs were checked. check NULL: as above. */
int simclr_similarity_join_region_hash_groups_checked(const uint64_t *hashes, size_t count, int hashes_per_image,
                                                      int radius, simclr_similarity_pair_check check, void *context,
                                                      int64_t *group, size_t *group_count, size_t *checked,
                                                      simclr_error *err);

/* The same for one hash per row and, optionally, the hash of its mirrored image (mirrored, may be
 * NULL): rows i and j are joined when hashes[i] is within radius bits of hashes[j] or mirrored[j],
 * or hashes[j] of mirrored[i]. */
int simclr_similarity_join_hash_groups(const uint64_t *hashes, const uint64_t *mirrored, size_t count, int radius,
                                       int64_t *group, size_t *group_count, simclr_error *err);

/* The most central member of each group: the row with the highest mean similarity to the other
 * images of its group (ties: the lower row). copies (may be NULL: 1 each) says how many identical
 * images row i stands for (exact duplicates embedded once): with s the sum of copies[j] * row j over
 * the group and n its images, row i's mean is (row_i . s - row_i . row_i) / (n - 1). center[g]
 * (group_count) receives the row; a group of one image gets that row. */
int simclr_similarity_group_centers(const float *rows, size_t count, int dim, const int64_t *group,
                                    size_t group_count, const size_t *copies, int64_t *center, simclr_error *err);

/* Greedy k-center (farthest-point first; Gonzalez 1985): a subset of k rows such that every row
 * is close to one of them. The centers start as the initial_count rows of initial (already
 * labeled images, rows of dim floats, not part of rows; may be 0); then, k times, the row least
 * similar to its nearest center (ties: the lower row) is added, and never chosen again. Without
 * initial centers the first row chosen is the one most similar to the mean direction (the most
 * typical image). selected (k): the
 * rows in the order chosen. radii (k, may be NULL): the coverage radius after each addition, as a
 * cosine distance, 1 - min over rows of the similarity to the nearest center: every row lies
 * within it of a center. k outside 1..count is an input error naming both. */
int simclr_select_k_center(const float *rows, size_t count, int dim, const float *initial, size_t initial_count,
                           size_t k, int64_t *selected, float *radii, simclr_error *err);

SIMCLR_END_DECLS
#endif
