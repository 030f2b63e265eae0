/*
 * kNN classification (src/eval/knn.c): a tiny hand-checked bank with the exact expected votes
 * exp(cos / T), agreement with a brute-force double-precision reference on random features for
 * several chunk sizes, and the bad inputs (k outside the bank, temperature, empty bank).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/knn.h"
#include "test_support.h"

/* Bank (unnormalised on purpose): (1,0) c0, (0,1) c1, (2,2) c1, (-1,0) c0. */
static void make_tiny_bank(simclr_knn_bank *bank)
{
    simclr_error err = {0};
    assert_int_equal(simclr_knn_bank_init(bank, 4, 2, 2, &err), 0);
    const float rows[8] = {1, 0, 0, 1, 2, 2, -1, 0};
    const int32_t labels[4] = {0, 1, 1, 0};
    memcpy(bank->features, rows, sizeof rows);
    memcpy(bank->labels, labels, sizeof labels);
    bank->count = 4;
    simclr_knn_bank_normalize(bank);
}

static void test_hand_checked_votes(void **state)
{
    (void)state;
    simclr_knn_bank bank;
    make_tiny_bank(&bank);
    simclr_error err = {0};
    /* Query (1, 0.2): cosines 1/sqrt(1.04) with row 0, 0.2/sqrt(1.04) with row 1,
     * 1.2/(sqrt(2) sqrt(1.04)) with row 2, -1/sqrt(1.04) with row 3. k = 3 keeps rows 0, 2, 1:
     * one neighbour of class 0 against two of class 1. */
    double n = sqrt(1.04);
    double cos0 = 1.0 / n, cos1 = 0.2 / n, cos2 = 1.2 / (sqrt(2.0) * n);
    const double temperatures[2] = {0.1, 10.0};
    const int32_t winners[2] = {0, 1}; /* T = 0.1: the closest neighbour dominates; T = 10: the majority */
    for (int t = 0; t < 2; t++) {
        simclr_knn_config config = simclr_knn_config_default();
        config.k = 3;
        config.temperature = (float)temperatures[t];
        float query[2] = {1.0f, 0.2f};
        int32_t prediction = -1;
        double votes[2];
        assert_int_equal(simclr_knn_classify(&bank, &config, query, 1, &prediction, votes, &err), 0);
        double want0 = exp(cos0 / temperatures[t]);
        double want1 = exp(cos1 / temperatures[t]) + exp(cos2 / temperatures[t]);
        printf("  T=%g: votes %.6f %.6f (expected %.6f %.6f) -> class %d\n", temperatures[t], votes[0],
               votes[1], want0, want1, prediction);
        assert_true(fabs(votes[0] - want0) <= 1e-5 * want0);
        assert_true(fabs(votes[1] - want1) <= 1e-5 * want1);
        assert_int_equal(prediction, winners[t]);
    }
    /* k = 1: only row 0 votes; k = 4: row 3 (cos -1/sqrt(1.04)) adds to class 0. */
    simclr_knn_config config = simclr_knn_config_default();
    config.k = 4;
    config.temperature = 1.0f;
    float query[2] = {1.0f, 0.2f};
    int32_t prediction = -1;
    double votes[2];
    assert_int_equal(simclr_knn_classify(&bank, &config, query, 1, &prediction, votes, &err), 0);
    assert_true(fabs(votes[0] - (exp(cos0) + exp(-1.0 / n))) < 1e-5);
    assert_true(fabs(votes[1] - (exp(cos1) + exp(cos2))) < 1e-5);
    assert_int_equal(prediction, 1);
    config.k = 1;
    float again[2] = {1.0f, 0.2f};
    assert_int_equal(simclr_knn_classify(&bank, &config, again, 1, &prediction, votes, &err), 0);
    assert_true(fabs(votes[0] - exp(cos0)) < 1e-5);
    assert_true(votes[1] == 0.0);
    assert_int_equal(prediction, 0);
    simclr_knn_bank_free(&bank);
}

static double uniform(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return ((*state >> 8) + 0.5) / 16777216.0;
}

typedef struct scored {
    double sim;
    size_t index;
} scored;

static int by_similarity_descending(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->sim != y->sim) return x->sim < y->sim ? 1 : -1;
    return x->index < y->index ? -1 : 1;
}

static void test_agrees_with_brute_force(void **state)
{
    (void)state;
    enum { BANK = 300, DIM = 16, CLASSES = 5, QUERIES = 97, K = 17 };
    const double temperature = 0.1;
    unsigned seed = 12345u;
    simclr_knn_bank bank;
    simclr_error err = {0};
    assert_int_equal(simclr_knn_bank_init(&bank, BANK, DIM, CLASSES, &err), 0);
    for (size_t i = 0; i < (size_t)BANK * DIM; i++) bank.features[i] = (float)(uniform(&seed) * 2.0 - 1.0);
    for (size_t i = 0; i < BANK; i++) bank.labels[i] = (int32_t)(uniform(&seed) * CLASSES);
    bank.count = BANK;
    float *queries = malloc(sizeof(float) * QUERIES * DIM);
    for (size_t i = 0; i < (size_t)QUERIES * DIM; i++) queries[i] = (float)(uniform(&seed) * 2.0 - 1.0);

    /* The reference: double precision cosines, a full sort, the votes summed in double. */
    double reference_votes[QUERIES][CLASSES];
    int32_t reference[QUERIES];
    scored all[BANK];
    for (int q = 0; q < QUERIES; q++) {
        double qn = 0.0;
        for (int d = 0; d < DIM; d++) qn += (double)queries[q * DIM + d] * queries[q * DIM + d];
        for (int b = 0; b < BANK; b++) {
            double dot = 0.0, bn = 0.0;
            for (int d = 0; d < DIM; d++) {
                dot += (double)queries[q * DIM + d] * bank.features[b * DIM + d];
                bn += (double)bank.features[b * DIM + d] * bank.features[b * DIM + d];
            }
            all[b] = (scored){dot / sqrt(qn * bn), (size_t)b};
        }
        qsort(all, BANK, sizeof all[0], by_similarity_descending);
        memset(reference_votes[q], 0, sizeof reference_votes[q]);
        for (int n = 0; n < K; n++) reference_votes[q][bank.labels[all[n].index]] += exp(all[n].sim / temperature);
        reference[q] = 0;
        for (int c = 1; c < CLASSES; c++)
            if (reference_votes[q][c] > reference_votes[q][reference[q]]) reference[q] = c;
    }
    simclr_knn_bank_normalize(&bank);

    /* Default chunks, uneven ones, one query row at a time, one bank row at a time. */
    const size_t chunks[4][2] = {{0, 0}, {7, 50}, {1, 300}, {97, 1}};
    for (int c = 0; c < 4; c++) {
        simclr_knn_config config = simclr_knn_config_default();
        config.k = K;
        config.temperature = (float)temperature;
        config.query_chunk = chunks[c][0];
        config.bank_chunk = chunks[c][1];
        float *copy = malloc(sizeof(float) * QUERIES * DIM);
        memcpy(copy, queries, sizeof(float) * QUERIES * DIM);
        int32_t predictions[QUERIES];
        double *votes = malloc(sizeof(double) * QUERIES * CLASSES);
        assert_int_equal(simclr_knn_classify(&bank, &config, copy, QUERIES, predictions, votes, &err), 0);
        double worst = 0.0;
        for (int q = 0; q < QUERIES; q++) {
            assert_int_equal(predictions[q], reference[q]);
            for (int k = 0; k < CLASSES; k++) {
                double diff = fabs(votes[q * CLASSES + k] - reference_votes[q][k]);
                double relative = diff / (reference_votes[q][k] > 1.0 ? reference_votes[q][k] : 1.0);
                if (relative > worst) worst = relative;
            }
        }
        printf("  chunks (%zu, %zu): predictions equal, worst relative vote difference %.3g\n", chunks[c][0],
               chunks[c][1], worst);
        assert_true(worst < 1e-4);
        free(copy);
        free(votes);
    }
    free(queries);
    simclr_knn_bank_free(&bank);
}

static void test_bad_input(void **state)
{
    (void)state;
    simclr_knn_bank bank;
    make_tiny_bank(&bank);
    simclr_error err = {0};
    float query[2] = {1.0f, 0.0f};
    int32_t prediction;
    simclr_knn_config config = simclr_knn_config_default();
    config.k = 5; /* the bank has 4 rows */
    assert_int_equal(simclr_knn_classify(&bank, &config, query, 1, &prediction, NULL, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, "--knn-k"));
    config.k = 0;
    assert_int_equal(simclr_knn_classify(&bank, &config, query, 1, &prediction, NULL, &err), -1);
    config.k = 2;
    config.temperature = 0.0f;
    assert_int_equal(simclr_knn_classify(&bank, &config, query, 1, &prediction, NULL, &err), -1);
    assert_non_null(strstr(err.message, "--knn-temperature"));
    config.temperature = 0.1f;
    bank.count = 0;
    assert_int_equal(simclr_knn_classify(&bank, &config, query, 1, &prediction, NULL, &err), -1);
    assert_non_null(strstr(err.message, "empty"));
    simclr_knn_bank_free(&bank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_checked_votes),
        cmocka_unit_test(test_agrees_with_brute_force),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
