/* Times dedup's hash join (simclr_similarity_join_region_hash_groups_checked, issue 26) on random
 * 64-bit hashes: IMAGES images of HASHES hashes each (dedup's default: the whole image and 9
 * regions, each as it is and mirrored, 20), at RADIUS bits, unchecked, on every OpenMP thread.
 * Random hashes have no near-duplicates, so the time is the probing itself (plus the few pairs
 * that random hashes within RADIUS bits make), and memory is the index.
 *
 *     build/bench_hash_join IMAGES RADIUS [HASHES]    (cmake --build build --target bench_hash_join)
 *
 * Prints one JSON line. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "simclr/similarity.h"

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_hash_join IMAGES RADIUS [HASHES]\n");
        return 2;
    }
    char *end = NULL;
    unsigned long long images = strtoull(argv[1], &end, 10);
    long radius = strtol(argv[2], NULL, 10);
    long per = argc == 4 ? strtol(argv[3], NULL, 10) : 20;
    if (*end != '\0' || images < 2 || radius < 0 || radius > 64 || per < 1 || per > 1024) {
        fprintf(stderr, "bench_hash_join: expected IMAGES >= 2, RADIUS 0..64 and HASHES 1..1024\n");
        return 2;
    }
    size_t count = (size_t)images;
    uint64_t *hashes = malloc(count * (size_t)per * sizeof *hashes);
    int64_t *group = malloc(count * sizeof *group);
    if (!hashes || !group) {
        fprintf(stderr, "bench_hash_join: out of memory\n");
        return 1;
    }
    uint64_t state = 88172645463325252ULL;
    for (size_t i = 0; i < count * (size_t)per; i++) hashes[i] = next_random(&state);
    for (size_t i = 0; i < count; i++) group[i] = (int64_t)i;
    size_t group_count = count;
    simclr_error err = {0};
    struct timespec start, stop;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int status = simclr_similarity_join_region_hash_groups_checked(hashes, count, (int)per, (int)radius, NULL, NULL,
                                                                   group, &group_count, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &stop);
    if (status != 0) {
        fprintf(stderr, "bench_hash_join: %s\n", simclr_error_message(&err));
        return 1;
    }
    double seconds = (double)(stop.tv_sec - start.tv_sec) + (double)(stop.tv_nsec - start.tv_nsec) / 1e9;
    printf("{\"images\": %zu, \"hashes_per_image\": %ld, \"radius\": %ld, \"threads\": %d, \"seconds\": %.3f, "
           "\"rows_joined\": %zu}\n",
           count, per, radius, omp_get_max_threads(), seconds, count - group_count);
    free(hashes);
    free(group);
    return 0;
}
