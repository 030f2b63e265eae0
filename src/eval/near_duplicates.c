/* Groups of near-duplicate rows: union-find over the pairs above a similarity threshold, found by
 * blocked sgemm over the upper triangle of the similarity matrix, joined by the pairs of images
 * whose difference hashes (whole image against regions) are within a radius, found by multi-index
 * hashing; the most central member of each group from one sum per group. */
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

/* Where the hash join's pairs of rows go: joined at once (pairs NULL), or, when they are to be
 * checked first, collected (a < b) for simclr_similarity_join_region_hash_groups_checked. */
typedef struct pair_sink {
    size_t *parent, *size;
    const int64_t *group;
    size_t (*pairs)[2];
    size_t count, capacity;
    int out_of_memory;
} pair_sink;

static void sink_pair(pair_sink *sink, size_t a, size_t b)
{
    if (!sink->pairs) {
        join(sink->parent, sink->size, (size_t)sink->group[a], (size_t)sink->group[b]);
        return;
    }
    /* Already one group (joined by the features): nothing to check. */
    if (find_root(sink->parent, (size_t)sink->group[a]) == find_root(sink->parent, (size_t)sink->group[b])) return;
    if (sink->count == sink->capacity) {
        size_t capacity = sink->capacity * 2;
        size_t(*grown)[2] = realloc(sink->pairs, capacity * sizeof *grown);
        if (!grown) {
            sink->out_of_memory = 1;
            return;
        }
        sink->pairs = grown;
        sink->capacity = capacity;
    }
    sink->pairs[sink->count][0] = a < b ? a : b;
    sink->pairs[sink->count][1] = a < b ? b : a;
    sink->count++;
}

int simclr_similarity_groups_checked(const float *rows, size_t count, int dim, float threshold,
                                     simclr_similarity_pair_check check, void *context, int64_t *group,
                                     size_t *group_count, size_t *checked, simclr_error *err)
{
    if (checked) *checked = 0;
    if (count == 0 || !rows) return simclr_error_input(err, "near-duplicate groups: no rows");
    if (dim < 1) return simclr_error_input(err, "near-duplicate groups: feature width %d, expected at least 1", dim);
    size_t *parent = simclr_checked_calloc(count, sizeof(size_t), "near-duplicate groups", err);
    size_t *size = parent ? simclr_checked_calloc(count, sizeof(size_t), "near-duplicate groups", err) : NULL;
    size_t block = count < GROUPS_BLOCK ? count : GROUPS_BLOCK;
    float *similarities = size ? simclr_checked_calloc(block * block, sizeof(float), "similarity block", err) : NULL;
    /* With a check: one block's candidate pairs, checked in parallel, then joined in order. */
    size_t(*pairs)[2] = similarities && check ? malloc(block * block * sizeof *pairs) : NULL;
    unsigned char *keep = pairs ? malloc(block * block) : NULL;
    if (!similarities || (check && !keep)) {
        if (similarities) simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (similarity pairs)");
        free(parent);
        free(size);
        free(similarities);
        free(pairs);
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
            size_t candidates = 0;
            for (size_t i = 0; i < a_rows; i++) {
                /* On the diagonal block only the pairs above the diagonal. */
                size_t j_start = b0 == a0 ? i + 1 : 0;
                const float *row = similarities + i * b_rows;
                for (size_t j = j_start; j < b_rows; j++) {
                    if (row[j] < threshold) continue;
                    if (!check) {
                        join(parent, size, a0 + i, b0 + j);
                    } else if (find_root(parent, a0 + i) != find_root(parent, b0 + j)) {
                        pairs[candidates][0] = a0 + i;
                        pairs[candidates][1] = b0 + j;
                        candidates++;
                    }
                }
            }
            if (candidates == 0) continue;
#pragma omp parallel for schedule(dynamic, 64)
            for (size_t p = 0; p < candidates; p++) keep[p] = check(context, pairs[p][0], pairs[p][1]) != 0;
            for (size_t p = 0; p < candidates; p++)
                if (keep[p]) join(parent, size, pairs[p][0], pairs[p][1]);
            if (checked) *checked += candidates;
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
    free(pairs);
    free(keep);
    return 0;
}

int simclr_similarity_groups(const float *rows, size_t count, int dim, float threshold, int64_t *group,
                             size_t *group_count, simclr_error *err)
{
    return simclr_similarity_groups_checked(rows, count, dim, threshold, NULL, NULL, group, group_count, NULL, err);
}

/* Multi-index hashing (Norouzi, Punjani and Fleet 2012) over 4 blocks of 16 bits: when two hashes
 * differ in at most radius bits, one of their blocks differs in at most radius / 4 bits (were every
 * block to differ in radius / 4 + 1 or more, the four would add up to more than radius). So the
 * candidates of a query are the references filed, in one of the 4 tables, under a key within
 * radius / 4 bits of the query's block: 1, 17 or 137 keys per block for radius / 4 = 0, 1, 2. */
#define HASH_BLOCKS 4
#define HASH_BLOCK_KEYS 65536
#define HASH_INDEX_MAX_PROBE_BITS 2 /* above (radius 12 and more), every pair is compared */

/* The 16-bit masks with at most bits bits set; returns their count (at most 137). */
static int probe_masks(int bits, uint16_t *masks)
{
    int count = 0;
    masks[count++] = 0;
    for (int a = 0; a < 16 && bits >= 1; a++) {
        masks[count++] = (uint16_t)(1u << a);
        for (int b = a + 1; b < 16 && bits >= 2; b++) masks[count++] = (uint16_t)((1u << a) | (1u << b));
    }
    return count;
}

/* Hands the sink every query i = hashes[i * per] and reference hashes[j * per + k] of another row
 * j within radius bits, found through the 4 block tables (the probes on every core). Each table
 * files the references' hashes and rows by key, so that a probe reads one run of memory. */
static int join_indexed(const uint64_t *hashes, size_t count, int per, int radius, pair_sink *sink,
                        simclr_error *err)
{
    size_t references = count * (size_t)per;
    if (count < 2) return 0;
    /* start (HASH_BLOCK_KEYS + 1): where each key's references begin in filed_hash/filed_row. */
    size_t *start = simclr_checked_calloc(HASH_BLOCK_KEYS + 1, sizeof(size_t), "hash index", err);
    size_t *next = start ? simclr_checked_calloc(HASH_BLOCK_KEYS, sizeof(size_t), "hash index", err) : NULL;
    uint64_t *filed_hash = next ? simclr_checked_calloc(references, sizeof(uint64_t), "hash index", err) : NULL;
    uint32_t *filed_row = filed_hash ? simclr_checked_calloc(references, sizeof(uint32_t), "hash index", err) : NULL;
    if (!filed_row) {
        free(start);
        free(next);
        free(filed_hash);
        return -1;
    }
    uint16_t masks[137];
    int mask_count = probe_masks(radius / HASH_BLOCKS, masks);
    for (int block = 0; block < HASH_BLOCKS; block++) {
        int shift = 16 * block;
        memset(start, 0, (HASH_BLOCK_KEYS + 1) * sizeof(size_t));
        for (size_t e = 0; e < references; e++) start[((hashes[e] >> shift) & 0xFFFF) + 1]++;
        for (size_t key = 0; key < HASH_BLOCK_KEYS; key++) start[key + 1] += start[key];
        memcpy(next, start, HASH_BLOCK_KEYS * sizeof(size_t));
        for (size_t e = 0; e < references; e++) {
            size_t slot = next[(hashes[e] >> shift) & 0xFFFF]++;
            filed_hash[slot] = hashes[e];
            filed_row[slot] = (uint32_t)(e / (size_t)per);
        }
        /* The probes on every core, each thread's pairs kept apart and handed to the sink one
         * thread at a time: the groups (components, numbered by their first row) and the pairs a
         * check sees (sorted) do not depend on the order. */
        int out_of_memory = 0;
#pragma omp parallel
        {
            size_t(*found)[2] = NULL;
            size_t found_count = 0, found_capacity = 0;
#pragma omp for schedule(dynamic, 256)
            for (size_t i = 0; i < count; i++) {
                uint64_t query = hashes[i * (size_t)per];
                unsigned key = (unsigned)((query >> shift) & 0xFFFF);
                for (int m = 0; m < mask_count; m++) {
                    unsigned probe = key ^ masks[m];
                    for (size_t f = start[probe]; f < start[probe + 1]; f++) {
                        if (simclr_hash_distance(query, filed_hash[f]) > radius || filed_row[f] == i) continue;
                        if (found_count == found_capacity) {
                            size_t capacity = found_capacity ? 2 * found_capacity : 256;
                            size_t(*grown)[2] = realloc(found, capacity * sizeof *grown);
                            if (!grown) {
#pragma omp atomic write
                                out_of_memory = 1;
                                continue;
                            }
                            found = grown;
                            found_capacity = capacity;
                        }
                        found[found_count][0] = i;
                        found[found_count][1] = filed_row[f];
                        found_count++;
                    }
                }
            }
#pragma omp critical
            for (size_t p = 0; p < found_count; p++) sink_pair(sink, found[p][0], found[p][1]);
            free(found);
        }
        if (out_of_memory) sink->out_of_memory = 1;
    }
    free(start);
    free(next);
    free(filed_hash);
    free(filed_row);
    return 0;
}

/* The same pairs, every pair of rows compared both ways (count^2 * per popcounts). */
static void join_all_pairs(const uint64_t *hashes, size_t count, int per, int radius, pair_sink *sink)
{
    for (size_t i = 0; i < count; i++) {
        const uint64_t *a = hashes + i * (size_t)per;
        for (size_t j = i + 1; j < count; j++) {
            const uint64_t *b = hashes + j * (size_t)per;
            int near = 0;
            for (int k = 0; k < per && !near; k++)
                near = simclr_hash_distance(a[0], b[k]) <= radius || simclr_hash_distance(b[0], a[k]) <= radius;
            if (near) sink_pair(sink, i, j);
        }
    }
}

static int compare_pairs(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] != y[1] ? (x[1] < y[1] ? -1 : 1) : 0;
}

int simclr_similarity_join_region_hash_groups_checked(const uint64_t *hashes, size_t count, int hashes_per_image,
                                                      int radius, simclr_similarity_pair_check check, void *context,
                                                      int64_t *group, size_t *group_count, size_t *checked,
                                                      simclr_error *err)
{
    if (checked) *checked = 0;
    if (radius < 0 || radius > 64)
        return simclr_error_input(err, "hash groups: radius %d, expected 0..64 bits", radius);
    if (hashes_per_image < 1)
        return simclr_error_input(err, "hash groups: %d hashes per image, expected at least 1", hashes_per_image);
    if (count > 0 && (!hashes || !group))
        return simclr_error_input(err, "hash groups: %zu rows but no hashes or groups", count);
    if (count > 0 && count > (size_t)UINT32_MAX / (size_t)hashes_per_image)
        return simclr_error_input(err, "hash groups: %zu rows x %d hashes, expected fewer than 2^32 hashes", count,
                                  hashes_per_image);
    size_t groups = *group_count;
    for (size_t i = 0; i < count; i++)
        if (group[i] < 0 || (size_t)group[i] >= groups)
            return simclr_error_input(err, "hash groups: row %zu is in group %lld, expected 0..%zu", i,
                                      (long long)group[i], groups ? groups - 1 : 0);
    pair_sink sink = {.group = group};
    sink.parent = simclr_checked_calloc(groups ? groups : 1, sizeof(size_t), "hash groups", err);
    sink.size = sink.parent ? simclr_checked_calloc(groups ? groups : 1, sizeof(size_t), "hash groups", err) : NULL;
    if (sink.size && check) {
        sink.capacity = 1024;
        sink.pairs = malloc(sink.capacity * sizeof *sink.pairs);
        if (!sink.pairs) simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (hash pairs)");
    }
    int status = -1;
    unsigned char *keep = NULL;
    if (!sink.size || (check && !sink.pairs)) goto done;
    for (size_t g = 0; g < groups; g++) {
        sink.parent[g] = g;
        sink.size[g] = 1;
    }
    if (radius / HASH_BLOCKS <= HASH_INDEX_MAX_PROBE_BITS) {
        if (join_indexed(hashes, count, hashes_per_image, radius, &sink, err) != 0) goto done;
    } else {
        join_all_pairs(hashes, count, hashes_per_image, radius, &sink);
    }
    if (sink.out_of_memory) {
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (%zu hash pairs to check)", sink.count);
        goto done;
    }
    if (check && sink.count > 0) {
        /* Each pair once (the tables find a pair once per block and hash that is near), checked in
         * parallel, then joined in order: the groups do not depend on the threads. */
        qsort(sink.pairs, sink.count, sizeof *sink.pairs, compare_pairs);
        size_t unique = 1;
        for (size_t p = 1; p < sink.count; p++)
            if (compare_pairs(sink.pairs[p], sink.pairs[unique - 1]) != 0) {
                sink.pairs[unique][0] = sink.pairs[p][0];
                sink.pairs[unique][1] = sink.pairs[p][1];
                unique++;
            }
        keep = simclr_checked_calloc(unique, 1, "hash pairs", err);
        if (!keep) goto done;
#pragma omp parallel for schedule(dynamic, 64)
        for (size_t p = 0; p < unique; p++) keep[p] = check(context, sink.pairs[p][0], sink.pairs[p][1]) != 0;
        for (size_t p = 0; p < unique; p++)
            if (keep[p]) join(sink.parent, sink.size, (size_t)group[sink.pairs[p][0]], (size_t)group[sink.pairs[p][1]]);
        if (checked) *checked = unique;
    }
    size_t renumbered = 0;
    for (size_t g = 0; g < groups; g++) sink.size[g] = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        size_t root = find_root(sink.parent, (size_t)group[i]);
        if (sink.size[root] == SIZE_MAX) sink.size[root] = renumbered++;
        group[i] = (int64_t)sink.size[root];
    }
    *group_count = renumbered;
    status = 0;
done:
    free(keep);
    free(sink.pairs);
    free(sink.parent);
    free(sink.size);
    return status;
}

int simclr_similarity_join_region_hash_groups(const uint64_t *hashes, size_t count, int hashes_per_image, int radius,
                                              int64_t *group, size_t *group_count, simclr_error *err)
{
    return simclr_similarity_join_region_hash_groups_checked(hashes, count, hashes_per_image, radius, NULL, NULL,
                                                             group, group_count, NULL, err);
}

int simclr_similarity_join_hash_groups(const uint64_t *hashes, const uint64_t *mirrored, size_t count, int radius,
                                       int64_t *group, size_t *group_count, simclr_error *err)
{
    if (radius < 0 || radius > 64)
        return simclr_error_input(err, "hash groups: radius %d, expected 0..64 bits", radius);
    int per = mirrored ? 2 : 1;
    /* (count, per): each row's hash, then its mirrored one. */
    uint64_t *both = simclr_checked_calloc(count ? count * (size_t)per : 1, sizeof(uint64_t), "hash groups", err);
    if (!both) return -1;
    for (size_t i = 0; i < count; i++) {
        both[i * (size_t)per] = hashes[i];
        if (mirrored) both[i * (size_t)per + 1] = mirrored[i];
    }
    int status = simclr_similarity_join_region_hash_groups(both, count, per, radius, group, group_count, err);
    free(both);
    return status;
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
