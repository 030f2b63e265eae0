/*
 * The similarity searches of issue 26 (src/eval/similarity.c, near_duplicates.c, selection.c)
 * against brute-force references: top-k on integer-valued rows (exact in float, so with many exact
 * ties, across the query and bank block boundaries and streamed in uneven pieces) and on random
 * unit rows; the nearest other row; union-find groups against a graph search over all pairs; the
 * most central member; greedy k-center against a plain double-precision greedy and, on a small set,
 * within twice the optimal radius; the difference hash of whole images and of regions (a 90 % crop,
 * central or at a corner, scaled back, lands within a few bits of its region of the original), the
 * hash groups (multi-index search against every pair compared, symmetric); and every bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/image_hash.h"
#include "simclr/knn.h"
#include "simclr/similarity.h"
#include "test_support.h"

/* xorshift64*: the tests' own generator, so the data do not depend on the library's RNG. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

/* rows x dim values in {-2, ..., 2}: dot products are small integers, exact in float whatever
 * order sgemm sums in, and equal far more often than random floats ever are. */
static float *integer_rows(size_t rows, int dim, uint64_t seed)
{
    uint64_t state = seed * 2654435761u + 1;
    float *out = malloc(rows * (size_t)dim * sizeof(float));
    assert_non_null(out);
    for (size_t i = 0; i < rows * (size_t)dim; i++) out[i] = (float)((int)(next_random(&state) % 5) - 2);
    return out;
}

static float *unit_rows(size_t rows, int dim, uint64_t seed)
{
    uint64_t state = seed * 2654435761u + 7;
    float *out = malloc(rows * (size_t)dim * sizeof(float));
    assert_non_null(out);
    for (size_t i = 0; i < rows * (size_t)dim; i++)
        out[i] = (float)((double)(next_random(&state) >> 11) / 9007199254740992.0 - 0.5);
    simclr_l2_normalize_rows(out, rows, dim);
    return out;
}

static double dot(const float *a, const float *b, int dim)
{
    double sum = 0.0;
    for (int d = 0; d < dim; d++) sum += (double)a[d] * (double)b[d];
    return sum;
}

/* The k best bank rows of one query by full sort: higher dot product first, then the lower row. */
typedef struct scored {
    double similarity;
    int64_t index;
} scored;

static int compare_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->similarity != y->similarity) return x->similarity > y->similarity ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void brute_force_top_k(const float *query, const float *bank, size_t bank_count, int dim, int k,
                              int64_t skip_row, scored *best)
{
    scored *all = malloc(bank_count * sizeof *all);
    assert_non_null(all);
    size_t n = 0;
    for (size_t j = 0; j < bank_count; j++)
        if ((int64_t)j != skip_row) all[n++] = (scored){dot(query, bank + j * (size_t)dim, dim), (int64_t)j};
    qsort(all, n, sizeof *all, compare_scored);
    memcpy(best, all, (size_t)k * sizeof *best);
    free(all);
}

/* Exact agreement on integer rows: the same rows, the same similarities, ties by the lower row. */
static void check_integer_top_k(size_t query_count, size_t bank_count, int dim, int k, uint64_t seed)
{
    float *queries = integer_rows(query_count, dim, seed);
    float *bank = integer_rows(bank_count, dim, seed + 100);
    int64_t *indices = malloc(query_count * (size_t)k * sizeof *indices);
    float *similarities = malloc(query_count * (size_t)k * sizeof *similarities);
    /* One more than asked, to count the ties that decide who is in the top k. */
    int ranked = (size_t)k < bank_count ? k + 1 : k;
    scored *best = malloc((size_t)ranked * sizeof *best);
    assert_true(indices && similarities && best);
    simclr_error err = {0};
    assert_int_equal(simclr_similarity_top_k(queries, query_count, bank, bank_count, dim, k, indices, similarities,
                                             &err),
                     0);
    size_t ties = 0;
    for (size_t q = 0; q < query_count; q++) {
        brute_force_top_k(queries + q * (size_t)dim, bank, bank_count, dim, ranked, -1, best);
        for (int r = 0; r < k; r++) {
            if (indices[q * (size_t)k + (size_t)r] != best[r].index ||
                similarities[q * (size_t)k + (size_t)r] != (float)best[r].similarity)
                fail_msg("query %zu rank %d: row %lld (%g), brute force row %lld (%g)", q, r,
                         (long long)indices[q * (size_t)k + (size_t)r], (double)similarities[q * (size_t)k + (size_t)r],
                         (long long)best[r].index, best[r].similarity);
            if (r + 1 < ranked && best[r].similarity == best[r + 1].similarity) ties++;
        }
    }
    printf("  %zu queries x %zu bank rows, k %d: exact, %zu ties decided by the lower row\n", query_count, bank_count,
           k, ties);
    assert_true(ties > 0);
    free(queries);
    free(bank);
    free(indices);
    free(similarities);
    free(best);
}

static void test_top_k_exact_with_ties_and_block_edges(void **state)
{
    (void)state;
    /* Around the query block (256) and the bank block (4096). */
    check_integer_top_k(2, 40, 3, 40, 1); /* k = the whole bank */
    check_integer_top_k(257, SIMCLR_SIMILARITY_BANK_BLOCK - 1, 6, 7, 2);
    check_integer_top_k(SIMCLR_SIMILARITY_QUERY_BLOCK, SIMCLR_SIMILARITY_BANK_BLOCK, 6, 3, 3);
    check_integer_top_k(3, SIMCLR_SIMILARITY_BANK_BLOCK + 1, 6, 40, 4);
    check_integer_top_k(70, 2 * SIMCLR_SIMILARITY_BANK_BLOCK + 17, 5, 1, 5);
}

/* The bank streamed in pieces of any size gives the one-shot result, and results may be read
 * between pieces (the heaps stay heaps). */
static void test_top_k_streamed_equals_one_shot(void **state)
{
    (void)state;
    const size_t query_count = 300, bank_count = 9000;
    const int dim = 6, k = 9;
    float *queries = integer_rows(query_count, dim, 11);
    float *bank = integer_rows(bank_count, dim, 12);
    int64_t *expected = malloc(query_count * k * sizeof *expected), *got = malloc(query_count * k * sizeof *got);
    float *expected_sim = malloc(query_count * k * sizeof *expected_sim);
    float *got_sim = malloc(query_count * k * sizeof *got_sim);
    assert_true(expected && got && expected_sim && got_sim);
    simclr_error err = {0};
    assert_int_equal(
        simclr_similarity_top_k(queries, query_count, bank, bank_count, dim, k, expected, expected_sim, &err), 0);
    simclr_top_k top;
    assert_int_equal(simclr_top_k_init(&top, queries, query_count, dim, k, &err), 0);
    const size_t pieces[] = {1, 4095, 3, 4097, 0, 804};
    size_t added = 0;
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        assert_int_equal(simclr_top_k_add(&top, bank + added * dim, pieces[p], &err), 0);
        added += pieces[p];
        simclr_top_k_results(&top, got, got_sim);
        if (added < (size_t)k) {
            assert_int_equal(got[added], -1);
            assert_true(isnan(got_sim[added]));
        }
    }
    assert_int_equal(added, bank_count);
    assert_int_equal(top.bank_rows, (int64_t)bank_count);
    simclr_top_k_results(&top, got, got_sim);
    assert_memory_equal(got, expected, query_count * k * sizeof *got);
    assert_memory_equal(got_sim, expected_sim, query_count * k * sizeof *got_sim);
    simclr_top_k_free(&top);
    free(queries);
    free(bank);
    free(expected);
    free(got);
    free(expected_sim);
    free(got_sim);
}

/* Random unit rows: similarities to float precision of a double reference, best first. */
static void test_top_k_random_unit_rows(void **state)
{
    (void)state;
    const size_t query_count = 33, bank_count = 5000;
    const int dim = 48, k = 12;
    float *queries = unit_rows(query_count, dim, 21);
    float *bank = unit_rows(bank_count, dim, 22);
    memcpy(bank + 4321 * dim, queries + 5 * dim, dim * sizeof(float)); /* query 5 is in the bank */
    int64_t indices[33 * 12];
    float similarities[33 * 12];
    scored best[12];
    simclr_error err = {0};
    assert_int_equal(
        simclr_similarity_top_k(queries, query_count, bank, bank_count, dim, k, indices, similarities, &err), 0);
    double worst = 0.0;
    for (size_t q = 0; q < query_count; q++) {
        brute_force_top_k(queries + q * dim, bank, bank_count, dim, k, -1, best);
        for (int r = 0; r < k; r++) {
            double difference = fabs((double)similarities[q * k + r] - best[r].similarity);
            if (difference > worst) worst = difference;
            assert_true(difference <= 1e-5);
            if (r > 0) assert_true(similarities[q * k + r] <= similarities[q * k + r - 1]);
        }
    }
    printf("  random unit rows: worst |similarity - double reference| %.2e\n", worst);
    assert_int_equal(indices[5 * k], 4321);
    assert_true(fabsf(similarities[5 * k] - 1.0f) <= 1e-6f);
    free(queries);
    free(bank);
}

static void test_nearest_other_row(void **state)
{
    (void)state;
    const size_t count = 600;
    const int dim = 5;
    float *rows = integer_rows(count, dim, 31);
    for (int d = 0; d < dim; d++) rows[17 * dim + d] = rows[400 * dim + d] = 3.0f; /* a pair beyond all others */
    int64_t nearest[600];
    float similarity[600];
    simclr_error err = {0};
    assert_int_equal(simclr_similarity_nearest_other(rows, count, dim, nearest, similarity, &err), 0);
    for (size_t i = 0; i < count; i++) {
        scored best;
        brute_force_top_k(rows + i * dim, rows, count, dim, 1, (int64_t)i, &best);
        assert_int_equal(nearest[i], best.index);
        assert_true(similarity[i] == (float)best.similarity);
        assert_true(nearest[i] != (int64_t)i);
    }
    assert_int_equal(nearest[17], 400);
    assert_int_equal(nearest[400], 17);
    free(rows);
}

/* Components of the graph "similarity >= threshold" by depth-first search over every pair,
 * numbered by first row. */
static size_t brute_force_groups(const float *rows, size_t count, int dim, double threshold, int64_t *group)
{
    size_t *stack = malloc(count * sizeof *stack);
    assert_non_null(stack);
    for (size_t i = 0; i < count; i++) group[i] = -1;
    size_t groups = 0;
    for (size_t start = 0; start < count; start++) {
        if (group[start] >= 0) continue;
        size_t top = 0;
        stack[top++] = start;
        group[start] = (int64_t)groups;
        while (top > 0) {
            size_t row = stack[--top];
            for (size_t j = 0; j < count; j++)
                if (group[j] < 0 && dot(rows + row * dim, rows + j * dim, dim) >= threshold) {
                    group[j] = (int64_t)groups;
                    stack[top++] = j;
                }
        }
        groups++;
    }
    free(stack);
    return groups;
}

static void test_groups_against_graph_search(void **state)
{
    (void)state;
    /* Over two blocks of 1024 rows; integer rows of width 4: dot products up to 16, thresholds that
     * join a few, many or all rows. */
    const size_t count = 1500;
    const int dim = 4;
    float *rows = integer_rows(count, dim, 41);
    int64_t *group = malloc(count * sizeof *group), *expected = malloc(count * sizeof *expected);
    assert_true(group && expected);
    const float thresholds[] = {16.0f, 12.0f, 9.0f, 5.0f, -100.0f};
    for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
        simclr_error err = {0};
        size_t groups = 0;
        assert_int_equal(simclr_similarity_groups(rows, count, dim, thresholds[t], group, &groups, &err), 0);
        size_t want = brute_force_groups(rows, count, dim, thresholds[t], expected);
        printf("  threshold %g: %zu groups of %zu rows\n", (double)thresholds[t], groups, count);
        assert_int_equal(groups, want);
        assert_memory_equal(group, expected, count * sizeof *group);
    }
    free(rows);
    free(group);
    free(expected);
}

/* a ~ b and b ~ c above the threshold, a and c below it: one group by transitivity; d alone. */
static void test_groups_are_transitive(void **state)
{
    (void)state;
    const double angle = 0.3; /* a, b, c at 0, 0.3, 0.6 radians: cos 0.955 between neighbours, 0.825 across */
    float rows[4 * 2] = {1, 0, (float)cos(angle), (float)sin(angle), (float)cos(2 * angle), (float)sin(2 * angle),
                         -1, 0};
    int64_t group[4], center[2];
    size_t groups = 0;
    simclr_error err = {0};
    assert_int_equal(simclr_similarity_groups(rows, 4, 2, 0.9f, group, &groups, &err), 0);
    assert_int_equal(groups, 2);
    assert_int_equal(group[0], 0);
    assert_int_equal(group[1], 0);
    assert_int_equal(group[2], 0);
    assert_int_equal(group[3], 1);
    /* b is the center (its mean similarity 0.955 beats a's and c's (0.955 + 0.825) / 2). */
    assert_int_equal(simclr_similarity_group_centers(rows, 4, 2, group, groups, NULL, center, &err), 0);
    assert_int_equal(center[0], 1);
    assert_int_equal(center[1], 3);
    /* c standing for 5 identical images: its mean (4 * 1 + 0.955 + 0.825) / 6 = 0.963 wins. */
    const size_t copies[4] = {1, 1, 5, 1};
    assert_int_equal(simclr_similarity_group_centers(rows, 4, 2, group, groups, copies, center, &err), 0);
    assert_int_equal(center[0], 2);
    const int64_t wrong[4] = {0, 0, 2, 1};
    assert_int_equal(simclr_similarity_group_centers(rows, 4, 2, wrong, groups, NULL, center, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "row 2 is in group 2"));
    simclr_error_clear(&err);
}

/* Greedy k-center in double precision, the way the algorithm is written down. */
static void brute_force_k_center(const float *rows, size_t count, int dim, const float *initial, size_t initial_count,
                                 size_t k, int64_t *selected, double *radii)
{
    double *nearest = malloc(count * sizeof *nearest);
    assert_non_null(nearest);
    for (size_t i = 0; i < count; i++) {
        nearest[i] = -INFINITY;
        for (size_t c = 0; c < initial_count; c++)
            nearest[i] = fmax(nearest[i], dot(rows + i * dim, initial + c * dim, dim));
    }
    for (size_t step = 0; step < k; step++) {
        size_t next = 0;
        if (step == 0 && initial_count == 0) {
            double best = -INFINITY;
            for (size_t i = 0; i < count; i++) {
                double typical = 0.0;
                for (size_t j = 0; j < count; j++) typical += dot(rows + i * dim, rows + j * dim, dim);
                if (typical > best) {
                    best = typical;
                    next = i;
                }
            }
        } else {
            double lowest = INFINITY;
            for (size_t i = 0; i < count; i++) {
                int taken = 0;
                for (size_t s = 0; s < step; s++) taken |= selected[s] == (int64_t)i;
                if (!taken && nearest[i] < lowest) {
                    lowest = nearest[i];
                    next = i;
                }
            }
        }
        selected[step] = (int64_t)next;
        double lowest = INFINITY;
        for (size_t i = 0; i < count; i++) {
            nearest[i] = fmax(nearest[i], i == next ? 1.0 : dot(rows + i * dim, rows + next * dim, dim));
            lowest = fmin(lowest, nearest[i]);
        }
        radii[step] = 1.0 - lowest;
    }
    free(nearest);
}

static void test_k_center_against_plain_greedy(void **state)
{
    (void)state;
    const size_t count = 700, k = 25;
    const int dim = 16;
    float *rows = unit_rows(count, dim, 51);
    float *initial = unit_rows(3, dim, 52);
    int64_t selected[25], expected[25];
    float radii[25];
    double expected_radii[25];
    simclr_error err = {0};
    for (size_t initial_count = 0; initial_count <= 3; initial_count += 3) {
        assert_int_equal(simclr_select_k_center(rows, count, dim, initial, initial_count, k, selected, radii, &err), 0);
        brute_force_k_center(rows, count, dim, initial, initial_count, k, expected, expected_radii);
        assert_memory_equal(selected, expected, sizeof selected);
        for (size_t s = 0; s < k; s++) {
            assert_true(fabs((double)radii[s] - expected_radii[s]) <= 1e-5);
            if (s > 0) assert_true(radii[s] <= radii[s - 1]);
        }
        printf("  %zu initial centers: radius %.4f after 1, %.4f after %zu\n", initial_count, (double)radii[0],
               (double)radii[k - 1], k);
    }
    free(rows);
    free(initial);
}

/* On the unit sphere the chord sqrt(2 - 2 s) is a metric: greedy's radius is at most twice the
 * best of all C(12, 3) subsets (Gonzalez's bound). */
static void test_k_center_within_twice_the_optimum(void **state)
{
    (void)state;
    const size_t count = 12, k = 3;
    const int dim = 3;
    float *rows = unit_rows(count, dim, 61);
    int64_t selected[3];
    float radii[3];
    simclr_error err = {0};
    assert_int_equal(simclr_select_k_center(rows, count, dim, NULL, 0, k, selected, radii, &err), 0);
    double optimum = INFINITY;
    for (size_t a = 0; a < count; a++)
        for (size_t b = a + 1; b < count; b++)
            for (size_t c = b + 1; c < count; c++) {
                double radius = 0.0;
                for (size_t i = 0; i < count; i++) {
                    const float *x = rows + i * dim;
                    double s = fmax(dot(x, rows + a * dim, dim),
                                    fmax(dot(x, rows + b * dim, dim), dot(x, rows + c * dim, dim)));
                    radius = fmax(radius, sqrt(fmax(0.0, 2.0 - 2.0 * s)));
                }
                optimum = fmin(optimum, radius);
            }
    double greedy = sqrt(2.0 * (double)radii[k - 1]);
    printf("  chord radius: greedy %.4f, optimum %.4f\n", greedy, optimum);
    assert_true(greedy <= 2.0 * optimum + 1e-6);
    free(rows);
}

/* Identical rows: every row still chosen once (the chosen are never chosen again). */
static void test_k_center_distinct_among_duplicates(void **state)
{
    (void)state;
    float rows[6 * 2];
    for (int i = 0; i < 6; i++) {
        rows[2 * i] = 0.6f;
        rows[2 * i + 1] = 0.8f;
    }
    int64_t selected[6];
    simclr_error err = {0};
    assert_int_equal(simclr_select_k_center(rows, 6, 2, NULL, 0, 6, selected, NULL, &err), 0);
    int seen[6] = {0};
    for (int i = 0; i < 6; i++) {
        assert_true(selected[i] >= 0 && selected[i] < 6);
        assert_int_equal(seen[selected[i]]++, 0);
    }
}

static void expect_input_error(int status, simclr_error *err, const char *text)
{
    assert_int_equal(status, -1);
    assert_int_equal(err->kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(simclr_error_message(err), text))
        fail_msg("expected '%s' in '%s'", text, simclr_error_message(err));
    simclr_error_clear(err);
}

/* The difference hash: a left-to-right ramp is darker on the left of every cell pair (all ones),
 * its mirror all zeros; a brightness shift or a different size of the same picture keeps the
 * bits, mirroring is undone by the mirrored hash; random images differ in about half the bits. */
static void test_difference_hash(void **state)
{
    (void)state;
    enum { H = 32, W = 32 };
    static uint8_t ramp[H * W * 3], brighter[H * W * 3], mirrored[H * W * 3], noise[H * W * 3], big[64 * 64 * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                size_t i = ((size_t)y * W + (size_t)x) * 3 + (size_t)c;
                ramp[i] = (uint8_t)(x * 7 + y % 3);
                brighter[i] = (uint8_t)(ramp[i] + 20);
                mirrored[((size_t)y * W + (size_t)(W - 1 - x)) * 3 + (size_t)c] = ramp[i];
            }
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            for (int c = 0; c < 3; c++) big[((size_t)y * 64 + (size_t)x) * 3 + (size_t)c] = ramp[((size_t)(y / 2) * W + (size_t)(x / 2)) * 3 + (size_t)c];
    uint64_t hash = simclr_image_difference_hash(ramp, H, W, 3, 0);
    assert_true(hash == ~(uint64_t)0);
    assert_true(simclr_image_difference_hash(ramp, H, W, 3, 1) == 0);
    assert_true(simclr_image_difference_hash(brighter, H, W, 3, 0) == hash);
    assert_true(simclr_image_difference_hash(big, 64, 64, 3, 0) == hash);
    assert_true(simclr_image_difference_hash(mirrored, H, W, 3, 1) == hash);
    assert_int_equal(simclr_hash_distance(simclr_image_difference_hash(mirrored, H, W, 3, 0), hash), 64);
    uint64_t state_bits = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof noise; i++) {
        state_bits ^= state_bits << 13, state_bits ^= state_bits >> 7, state_bits ^= state_bits << 17;
        noise[i] = (uint8_t)state_bits;
    }
    int distance = simclr_hash_distance(simclr_image_difference_hash(noise, H, W, 3, 0), hash);
    assert_true(distance > 16 && distance < 48);
    assert_true(simclr_image_difference_hash(ramp, 7, 8, 3, 0) == 0); /* too small */
}

/* Hash groups join embedding groups: rows 0 and 2 by their hashes, rows 1 and 3 by one mirrored. */
static void test_hash_groups(void **state)
{
    (void)state;
    uint64_t hashes[5] = {0xF0F0F0F0F0F0F0F0ULL, 0x1234ULL, 0xF0F0F0F0F0F0F0F1ULL, 0xFFFF000000000000ULL, 0xAAAAULL};
    uint64_t mirrored[5] = {0, 0xFFFF000000000001ULL, 0, 0x1234ULL, 0x5555ULL};
    int64_t group[5] = {0, 1, 2, 3, 3}; /* rows 3 and 4 grouped by their features */
    size_t group_count = 4;
    simclr_error err = {0};
    assert_int_equal(simclr_similarity_join_hash_groups(hashes, mirrored, 5, 1, group, &group_count, &err), 0);
    assert_int_equal(group_count, 2);
    int64_t expected[5] = {0, 1, 0, 1, 1};
    assert_memory_equal(group, expected, sizeof expected);
    int64_t alone[5] = {0, 1, 2, 3, 4};
    group_count = 5;
    assert_int_equal(simclr_similarity_join_hash_groups(hashes, NULL, 5, 0, alone, &group_count, &err), 0);
    assert_int_equal(group_count, 5);
    assert_int_equal(simclr_similarity_join_hash_groups(hashes, NULL, 5, 65, alone, &group_count, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "radius 65"));
    simclr_error_clear(&err);
}

/* A picture defined everywhere (u, v in [0, 1]): a few random waves of one to four periods across,
 * so that a crop rendered at the full size is the crop scaled back without resampling error. */
static double wave_picture(uint64_t seed, double u, double v)
{
    uint64_t state = seed * 2654435761u + 3;
    double grey = 128.0;
    for (int k = 0; k < 6; k++) {
        double a = (double)(next_random(&state) >> 11) / 9007199254740992.0;
        double b = (double)(next_random(&state) >> 11) / 9007199254740992.0 * 6.283185307179586;
        double c = (double)(next_random(&state) >> 11) / 9007199254740992.0;
        grey += 30.0 * sin(6.283185307179586 * ((1.0 + 3.0 * a) * (u * cos(b) + v * sin(b)) + c));
    }
    return fmin(255.0, fmax(0.0, grey));
}

/* n x n RGB pixels of the region (left, top, side x side) of the picture, pixel centres sampled;
 * mirrored: left to right. */
static void render_picture(uint64_t seed, simclr_hash_region region, int n, int mirrored, uint8_t *pixels)
{
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int source_x = mirrored ? n - 1 - x : x;
            double grey = wave_picture(seed, region.left + region.width * (source_x + 0.5) / n,
                                       region.top + region.height * (y + 0.5) / n);
            for (int c = 0; c < 3; c++) pixels[((size_t)y * (size_t)n + (size_t)x) * 3 + (size_t)c] = (uint8_t)(grey + 8.0 * (c - 1));
        }
}

/* Region hashes: the whole image's is simclr_image_difference_hash's; a 90 % crop (central or at a
 * corner) scaled back hashes within 3 bits of the original's region it was cut from, while its
 * whole-image hash is far from the original's and no hash of another picture comes near; the
 * mirrored image's top-left region, mirrored back, is the original's top-right one. */
static void test_region_hashes(void **state)
{
    (void)state;
    enum { N = 32 };
    static uint8_t original[N * N * 3], crop[N * N * 3], other[N * N * 3], mirrored[N * N * 3];
    double scales[1] = {0.9};
    simclr_hash_region regions[SIMCLR_HASH_REGIONS_MAX];
    simclr_error err = {0};
    int count = simclr_hash_regions_layout(scales, 1, 5, regions, SIMCLR_HASH_REGIONS_MAX, &err);
    assert_int_equal(count, 6);
    uint64_t hashes[12], other_hashes[12], mirrored_hashes[12];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        render_picture(seed, regions[0], N, 0, original);
        assert_int_equal(simclr_image_region_hashes(original, N, N, 3, regions, count, hashes, &err), 0);
        assert_true(hashes[0] == simclr_image_difference_hash(original, N, N, 3, 0));
        assert_true(hashes[1] == simclr_image_difference_hash(original, N, N, 3, 1));
        render_picture(seed + 100, regions[0], N, 0, other);
        assert_int_equal(simclr_image_region_hashes(other, N, N, 3, regions, count, other_hashes, &err), 0);
        for (int k = 0; k < 2 * count; k++) {
            assert_true(simclr_hash_distance(other_hashes[0], hashes[k]) > 8);
            assert_true(simclr_hash_distance(hashes[0], other_hashes[k]) > 8);
        }
        for (int r = 1; r < count; r++) { /* the centre, then the four corners */
            render_picture(seed, regions[r], N, 0, crop);
            uint64_t whole = simclr_image_difference_hash(crop, N, N, 3, 0);
            if (simclr_hash_distance(whole, hashes[2 * r]) > 3)
                fail_msg("picture %d, region %d: the crop is %d bits from its region", (int)seed, r,
                         simclr_hash_distance(whole, hashes[2 * r]));
            assert_true(simclr_hash_distance(whole, hashes[0]) > 3 + (r > 1 ? 4 : 0));
            for (int k = 0; k < 2 * count; k++) assert_true(simclr_hash_distance(whole, other_hashes[k]) > 8);
        }
        render_picture(seed, regions[0], N, 1, mirrored);
        assert_int_equal(simclr_image_region_hashes(mirrored, N, N, 3, regions, count, mirrored_hashes, &err), 0);
        assert_true(mirrored_hashes[1] == hashes[0]);
        assert_true(mirrored_hashes[2 * 2 + 1] == hashes[2 * 3]); /* top-left of the mirror: top-right */
        assert_true(mirrored_hashes[2 * 5 + 1] == hashes[2 * 4]); /* bottom-right: bottom-left */
    }
    static uint8_t flat[N * N * 3];
    memset(flat, 77, sizeof flat);
    assert_int_equal(simclr_image_region_hashes(flat, N, N, 3, regions, count, hashes, &err), 0);
    for (int k = 0; k < 2 * count; k++) assert_true(hashes[k] == 0); /* equal cells, whatever the rounding */
    double two[2] = {0.9, 0.8};
    assert_int_equal(simclr_hash_regions_layout(two, 2, 9, regions, SIMCLR_HASH_REGIONS_MAX, &err), 19);
    double expected[4][3] = {{5, 0.05, 0.05}, {9, 0.1, 0.1}, {17, 0.1, 0.2}, {18, 0.2, 0.2}}; /* (index, left, top) */
    for (int e = 0; e < 4; e++) {
        const simclr_hash_region *g = regions + (int)expected[e][0];
        assert_true(fabs(g->left - expected[e][1]) < 1e-12 && fabs(g->top - expected[e][2]) < 1e-12);
        assert_true(fabs(g->width - (e < 2 ? 0.9 : 0.8)) < 1e-12 && g->width == g->height);
    }
}

/* Originals, their crops and mirrored crops, and other pictures: with the region hashes, every copy
 * joins its original (in whichever order the rows come); with the whole images alone, the corner
 * crops do not. */
static void test_region_hash_groups_find_crops(void **state)
{
    (void)state;
    enum { N = 32, PICTURES = 3, ROWS = PICTURES * 4 + 5 };
    static uint8_t pixels[N * N * 3];
    double scales[1] = {0.9};
    simclr_hash_region regions[SIMCLR_HASH_REGIONS_MAX];
    simclr_error err = {0};
    int count = simclr_hash_regions_layout(scales, 1, 5, regions, SIMCLR_HASH_REGIONS_MAX, &err), per = 2 * count;
    static uint64_t hashes[ROWS * 12], reversed[ROWS * 12], whole[ROWS * 2];
    int64_t family[ROWS];
    for (int row = 0; row < ROWS; row++) {
        uint64_t seed = row < PICTURES * 4 ? (uint64_t)(row / 4 + 1) : (uint64_t)(row + 200);
        int kind = row < PICTURES * 4 ? row % 4 : 0; /* original, central crop, corner crop, mirrored corner */
        simclr_hash_region where = kind == 0 ? regions[0] : regions[kind == 1 ? 1 : 2 + row / 4];
        render_picture(seed, where, N, kind == 3, pixels);
        assert_int_equal(simclr_image_region_hashes(pixels, N, N, 3, regions, count, hashes + row * per, &err), 0);
        whole[2 * row] = hashes[row * per];
        whole[2 * row + 1] = hashes[row * per + 1];
        family[row] = row < PICTURES * 4 ? row / 4 : row;
    }
    for (int row = 0; row < ROWS; row++) memcpy(reversed + (ROWS - 1 - row) * per, hashes + row * per, (size_t)per * 8);
    int64_t group[ROWS], back[ROWS];
    size_t group_count = ROWS, back_count = ROWS;
    for (int row = 0; row < ROWS; row++) group[row] = back[row] = row;
    assert_int_equal(simclr_similarity_join_region_hash_groups(hashes, ROWS, per, 4, group, &group_count, &err), 0);
    assert_int_equal(simclr_similarity_join_region_hash_groups(reversed, ROWS, per, 4, back, &back_count, &err), 0);
    assert_int_equal(group_count, PICTURES + 5);
    assert_int_equal(back_count, PICTURES + 5);
    for (int a = 0; a < ROWS; a++)
        for (int b = 0; b < ROWS; b++) {
            assert_int_equal(group[a] == group[b], family[a] == family[b]);
            assert_int_equal(back[ROWS - 1 - a] == back[ROWS - 1 - b], family[a] == family[b]);
        }
    for (int row = 0; row < ROWS; row++) group[row] = row;
    group_count = ROWS;
    assert_int_equal(simclr_similarity_join_region_hash_groups(whole, ROWS, 2, 4, group, &group_count, &err), 0);
    for (int p = 0; p < PICTURES; p++) assert_true(group[4 * p] != group[4 * p + 2] && group[4 * p] != group[4 * p + 3]);
}

/* The multi-index search against every pair compared: random clusters of hashes (a few bits
 * flipped from a centre), radius 0..14 (the index up to 11, every pair above), 1..4 hashes per
 * row; and a pair found one way only (row 0's whole image near a region of row 1, not the
 * reverse) is joined in either order. */
static size_t brute_force_hash_groups(const uint64_t *hashes, size_t count, int per, int radius, int64_t *group)
{
    size_t *stack = malloc(count * sizeof *stack);
    assert_non_null(stack);
    for (size_t i = 0; i < count; i++) group[i] = -1;
    size_t groups = 0;
    for (size_t start = 0; start < count; start++) {
        if (group[start] >= 0) continue;
        size_t top = 0;
        stack[top++] = start;
        group[start] = (int64_t)groups;
        while (top > 0) {
            size_t i = stack[--top];
            for (size_t j = 0; j < count; j++) {
                int near = 0;
                for (int k = 0; k < per; k++)
                    near |= simclr_hash_distance(hashes[i * per], hashes[j * per + k]) <= radius ||
                            simclr_hash_distance(hashes[j * per], hashes[i * per + k]) <= radius;
                if (group[j] < 0 && near) {
                    group[j] = (int64_t)groups;
                    stack[top++] = j;
                }
            }
        }
        groups++;
    }
    free(stack);
    return groups;
}

static void test_region_hash_groups_against_all_pairs(void **state)
{
    (void)state;
    enum { COUNT = 240, MAX_PER = 4 };
    static uint64_t hashes[COUNT * MAX_PER], centres[12];
    int64_t group[COUNT], expected[COUNT];
    uint64_t random_state = 99;
    for (int c = 0; c < 12; c++) centres[c] = next_random(&random_state);
    simclr_error err = {0};
    for (int per = 1; per <= MAX_PER; per++)
        for (int radius = 0; radius <= 14; radius++) {
            for (size_t i = 0; i < (size_t)COUNT * per; i++) {
                uint64_t hash = centres[next_random(&random_state) % 12];
                int flips = (int)(next_random(&random_state) % 16);
                for (int f = 0; f < flips; f++) hash ^= 1ULL << (next_random(&random_state) % 64);
                hashes[i] = hash;
            }
            for (int i = 0; i < COUNT; i++) group[i] = i;
            size_t group_count = COUNT;
            assert_int_equal(simclr_similarity_join_region_hash_groups(hashes, COUNT, per, radius, group,
                                                                       &group_count, &err), 0);
            size_t expected_count = brute_force_hash_groups(hashes, COUNT, per, radius, expected);
            assert_int_equal(group_count, expected_count);
            assert_memory_equal(group, expected, sizeof group);
        }
    uint64_t one_way[6] = {0, ~0ULL, 0xFF00FF00FF00FF00ULL, 0x00FF00FF00FF00FFULL, 0x00FF00FF00FF00FEULL, 0x3};
    uint64_t swapped[6] = {0x00FF00FF00FF00FFULL, 0x00FF00FF00FF00FEULL, 0x3, 0, ~0ULL, 0xFF00FF00FF00FF00ULL};
    int64_t pair[2] = {0, 1};
    size_t pair_groups = 2;
    assert_int_equal(simclr_similarity_join_region_hash_groups(one_way, 2, 3, 2, pair, &pair_groups, &err), 0);
    assert_int_equal(pair_groups, 1);
    pair[1] = 1;
    pair_groups = 2;
    assert_int_equal(simclr_similarity_join_region_hash_groups(swapped, 2, 3, 2, pair, &pair_groups, &err), 0);
    assert_int_equal(pair_groups, 1);
}

/* The checked join: a check that accepts every pair gives the unchecked groups, one that accepts
 * none joins nothing more than the groups given, each pair is checked once, and pairs already in
 * one group are not checked. */
typedef struct pair_log {
    size_t calls;
    size_t seen[64][2];
    int accept_mod; /* accept a pair when (a + b) % accept_mod == 0; 1: all */
} pair_log;

static int logged_check(void *context, size_t a, size_t b)
{
    pair_log *log = context;
    size_t at;
#pragma omp atomic capture
    at = log->calls++;
    if (at < 64) {
        log->seen[at][0] = a;
        log->seen[at][1] = b;
    }
    return log->accept_mod > 0 && (a + b) % (size_t)log->accept_mod == 0;
}

static void test_region_hash_groups_checked(void **state)
{
    (void)state;
    enum { COUNT = 8 };
    /* Rows 0-3 one hash (near each other), 4-5 another, 6 and 7 alone; two hashes per row. */
    const uint64_t a = 0x0123456789ABCDEFULL, b = 0xFEDCBA9876543210ULL;
    uint64_t hashes[COUNT * 2] = {a, a ^ 1, a ^ 2, a, a ^ 4, a, a ^ 8, a, b, b, b ^ 3, b,
                                  0x5555555555555555ULL, 0, 0xAAAAAAAAAAAAAAAAULL, 0};
    simclr_error err = {0};
    int64_t plain[COUNT], group[COUNT];
    size_t plain_count = COUNT, group_count = COUNT, checked = 0;
    for (int i = 0; i < COUNT; i++) plain[i] = group[i] = i;
    assert_int_equal(simclr_similarity_join_region_hash_groups(hashes, COUNT, 2, 4, plain, &plain_count, &err), 0);
    assert_int_equal(plain_count, 4);
    pair_log log = {.accept_mod = 1};
    assert_int_equal(simclr_similarity_join_region_hash_groups_checked(hashes, COUNT, 2, 4, logged_check, &log, group,
                                                                       &group_count, &checked, &err),
                     0);
    assert_int_equal(group_count, plain_count);
    assert_memory_equal(group, plain, sizeof group);
    /* The candidate pairs: the 6 of rows 0-3 and the 1 of rows 4-5, each once, a < b. */
    assert_int_equal(checked, 7);
    assert_int_equal(log.calls, 7);
    for (size_t p = 0; p < log.calls; p++) {
        assert_true(log.seen[p][0] < log.seen[p][1]);
        for (size_t q = 0; q < p; q++)
            assert_false(log.seen[p][0] == log.seen[q][0] && log.seen[p][1] == log.seen[q][1]);
    }
    /* Accepting none: every row its own group, still. */
    pair_log none = {.accept_mod = 0};
    for (int i = 0; i < COUNT; i++) group[i] = i;
    group_count = COUNT;
    assert_int_equal(simclr_similarity_join_region_hash_groups_checked(hashes, COUNT, 2, 4, logged_check, &none, group,
                                                                       &group_count, &checked, &err),
                     0);
    assert_int_equal(group_count, COUNT);
    for (int i = 0; i < COUNT; i++) assert_int_equal(group[i], i);
    /* Accepting the pairs with an even sum: 0-2 and 1-3 (rows 4-5: 9, odd), two groups of two. */
    pair_log even = {.accept_mod = 2};
    group_count = COUNT;
    for (int i = 0; i < COUNT; i++) group[i] = i;
    assert_int_equal(simclr_similarity_join_region_hash_groups_checked(hashes, COUNT, 2, 4, logged_check, &even, group,
                                                                       &group_count, &checked, &err),
                     0);
    assert_int_equal(group_count, 6);
    assert_int_equal(group[0], group[2]);
    assert_int_equal(group[1], group[3]);
    assert_true(group[0] != group[1]);
    assert_true(group[4] != group[5]);
    /* Rows already in one group (by their features) are not checked: rows 0-3 given as one group. */
    int64_t given[COUNT] = {0, 0, 0, 0, 1, 2, 3, 4};
    size_t given_count = 5;
    pair_log counted = {.accept_mod = 1};
    assert_int_equal(simclr_similarity_join_region_hash_groups_checked(hashes, COUNT, 2, 4, logged_check, &counted,
                                                                       given, &given_count, &checked, &err),
                     0);
    assert_int_equal(checked, 1); /* 4-5 alone */
    assert_int_equal(given_count, 4);
}

/* The features' groups with a check: accepting all gives the unchecked groups, none joins
 * nothing. */
static void test_groups_checked(void **state)
{
    (void)state;
    enum { COUNT = 6, DIM = 2 };
    /* Rows 0, 1, 2 the same direction; 3, 4 another; 5 alone. */
    const float rows[COUNT * DIM] = {1, 0, 1, 0, 1, 0, 0, 1, 0, 1, -1, 0};
    simclr_error err = {0};
    int64_t plain[COUNT], group[COUNT];
    size_t plain_count = 0, group_count = 0, checked = 0;
    assert_int_equal(simclr_similarity_groups(rows, COUNT, DIM, 0.99f, plain, &plain_count, &err), 0);
    assert_int_equal(plain_count, 3);
    pair_log all = {.accept_mod = 1};
    assert_int_equal(simclr_similarity_groups_checked(rows, COUNT, DIM, 0.99f, logged_check, &all, group, &group_count,
                                                      &checked, &err),
                     0);
    assert_int_equal(group_count, plain_count);
    assert_memory_equal(group, plain, sizeof group);
    /* One block: its pairs are collected before any is joined, so all four are checked. */
    assert_int_equal(checked, 4);
    pair_log none = {.accept_mod = 0};
    assert_int_equal(simclr_similarity_groups_checked(rows, COUNT, DIM, 0.99f, logged_check, &none, group, &group_count,
                                                      &checked, &err),
                     0);
    assert_int_equal(group_count, COUNT);
    assert_int_equal(checked, 4); /* 0-1, 0-2, 1-2, 3-4 */
}

static void test_region_hash_bad_inputs(void **state)
{
    (void)state;
    simclr_hash_region regions[SIMCLR_HASH_REGIONS_MAX];
    double scales[3] = {0.9, 1.0, 0.0};
    uint8_t pixels[16 * 16 * 3] = {0};
    uint64_t hashes[4] = {0};
    int64_t group[2] = {0, 1};
    size_t groups = 2;
    simclr_error err = {0};
    expect_input_error(simclr_hash_regions_layout(scales + 1, 1, 5, regions, SIMCLR_HASH_REGIONS_MAX, &err), &err,
                       "scale 1, expected a fraction of the side in (0, 1)");
    expect_input_error(simclr_hash_regions_layout(scales + 2, 1, 5, regions, SIMCLR_HASH_REGIONS_MAX, &err), &err,
                       "scale 0");
    expect_input_error(simclr_hash_regions_layout(scales, 1, 4, regions, SIMCLR_HASH_REGIONS_MAX, &err), &err,
                       "4 positions, expected 5 (centre and corners) or 9");
    expect_input_error(simclr_hash_regions_layout(scales, 1, 9, regions, 9, &err), &err, "10 regions");
    expect_input_error(simclr_hash_regions_layout(scales, -1, 5, regions, 9, &err), &err, "-1 scales");
    simclr_hash_region outside[2] = {{0.0, 0.0, 1.0, 1.0}, {0.2, 0.0, 0.9, 0.9}};
    expect_input_error(simclr_image_region_hashes(pixels, 16, 16, 3, outside, 2, hashes, &err), &err,
                       "region 1 (left 0.2, top 0, width 0.9, height 0.9) is not inside the image");
    expect_input_error(simclr_image_region_hashes(pixels, 16, 16, 4, outside, 1, hashes, &err), &err,
                       "4 channels, expected 1 or 3");
    expect_input_error(simclr_image_region_hashes(pixels, 16, 16, 3, outside, 0, hashes, &err), &err,
                       "0 regions, expected at least 1");
    hashes[0] = 5;
    assert_int_equal(simclr_image_region_hashes(pixels, 7, 16, 3, outside, 1, hashes, &err), 0);
    assert_true(hashes[0] == 0 && hashes[1] == 0); /* too small */
    expect_input_error(simclr_similarity_join_region_hash_groups(hashes, 2, 2, 65, group, &groups, &err), &err,
                       "radius 65, expected 0..64 bits");
    expect_input_error(simclr_similarity_join_region_hash_groups(hashes, 2, 0, 4, group, &groups, &err), &err,
                       "0 hashes per image");
    group[1] = 2;
    expect_input_error(simclr_similarity_join_region_hash_groups(hashes, 2, 2, 4, group, &groups, &err), &err,
                       "row 1 is in group 2, expected 0..1");
}

static void test_bad_inputs(void **state)
{
    (void)state;
    float rows[3 * 2] = {1, 0, 0, 1, 0.6f, 0.8f};
    int64_t indices[8], group[3];
    float similarities[8];
    size_t groups = 0;
    simclr_error err = {0};
    simclr_top_k top;
    expect_input_error(simclr_similarity_top_k(rows, 1, rows, 3, 2, 4, indices, similarities, &err), &err,
                       "k 4 is larger than the bank's 3 rows");
    expect_input_error(simclr_similarity_top_k(rows, 1, rows, 0, 2, 1, indices, similarities, &err), &err,
                       "the bank is empty");
    expect_input_error(simclr_similarity_top_k(rows, 1, rows, 3, 2, 0, indices, similarities, &err), &err,
                       "k 0, expected at least 1");
    expect_input_error(simclr_top_k_init(&top, rows, 0, 2, 1, &err), &err, "no query");
    expect_input_error(simclr_top_k_init(&top, rows, 1, 0, 1, &err), &err, "feature width 0");
    expect_input_error(simclr_similarity_nearest_other(rows, 1, 2, indices, similarities, &err), &err,
                       "1 rows, expected at least 2");
    expect_input_error(simclr_similarity_groups(rows, 0, 2, 0.5f, group, &groups, &err), &err, "no rows");
    expect_input_error(simclr_select_k_center(rows, 3, 2, NULL, 0, 4, indices, NULL, &err), &err,
                       "4 images asked for, expected 1..3");
    expect_input_error(simclr_select_k_center(rows, 3, 2, NULL, 0, 0, indices, NULL, &err), &err,
                       "0 images asked for");
    expect_input_error(simclr_select_k_center(rows, 0, 2, NULL, 0, 1, indices, NULL, &err), &err,
                       "no rows to select from");
    expect_input_error(simclr_select_k_center(rows, 3, 2, NULL, 2, 1, indices, NULL, &err), &err,
                       "2 initial centers but no rows");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_k_exact_with_ties_and_block_edges),
        cmocka_unit_test(test_top_k_streamed_equals_one_shot),
        cmocka_unit_test(test_top_k_random_unit_rows),
        cmocka_unit_test(test_nearest_other_row),
        cmocka_unit_test(test_groups_against_graph_search),
        cmocka_unit_test(test_groups_are_transitive),
        cmocka_unit_test(test_k_center_against_plain_greedy),
        cmocka_unit_test(test_k_center_within_twice_the_optimum),
        cmocka_unit_test(test_k_center_distinct_among_duplicates),
        cmocka_unit_test(test_difference_hash),
        cmocka_unit_test(test_hash_groups),
        cmocka_unit_test(test_region_hashes),
        cmocka_unit_test(test_region_hash_groups_find_crops),
        cmocka_unit_test(test_region_hash_groups_against_all_pairs),
        cmocka_unit_test(test_region_hash_groups_checked),
        cmocka_unit_test(test_groups_checked),
        cmocka_unit_test(test_region_hash_bad_inputs),
        cmocka_unit_test(test_bad_inputs),
    };
    return test_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
