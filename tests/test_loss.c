/*
 * Softmax cross-entropy and both contrastive losses against double-precision references: the
 * loss, the accuracy counts, and the gradients against central differences of the reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/loss.h"
#include "simclr/rng.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries per tensor checked by finite differences in the larger cases. */
#define GRADIENT_SAMPLES 64

static void fill_uniform(float *values, size_t count, float low, float high, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 13, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform(&stream, low, high);
}

static float *float_array(size_t count)
{
    float *values = calloc(count ? count : 1, sizeof *values);
    assert_non_null(values);
    return values;
}

static double *to_double(const float *values, size_t count)
{
    double *copy = malloc((count ? count : 1) * sizeof *copy);
    assert_non_null(copy);
    for (size_t i = 0; i < count; i++) copy[i] = values[i];
    return copy;
}

static double log_sum_exp(const double *values, int count, int skip)
{
    double max_value = -INFINITY;
    for (int j = 0; j < count; j++)
        if (j != skip && values[j] > max_value) max_value = values[j];
    double sum = 0.0;
    for (int j = 0; j < count; j++)
        if (j != skip) sum += exp(values[j] - max_value);
    return max_value + log(sum);
}

/* ---- Softmax cross-entropy ---------------------------------------------------------------- */

typedef struct ce_case {
    int batch, classes;
    double *logits;
    const int32_t *labels;
} ce_case;

static double ce_reference(const void *context)
{
    const ce_case *c = context;
    double total = 0.0;
    for (int n = 0; n < c->batch; n++) {
        const double *row = c->logits + (size_t)n * c->classes;
        total += log_sum_exp(row, c->classes, -1) - row[c->labels[n]];
    }
    return total / c->batch;
}

/* Central differences of objective w.r.t. values[i] (up to GRADIENT_SAMPLES entries spread over
 * the tensor), compared with analytic. The step is relative so that tiny values stay tiny. */
static void check_gradient(const char *label, double *values, size_t count, const float *analytic,
                           double (*objective)(const void *), const void *context, double atol,
                           double rtol)
{
    size_t samples = count < GRADIENT_SAMPLES ? count : GRADIENT_SAMPLES;
    float *numeric = float_array(samples), *picked = float_array(samples);
    for (size_t s = 0; s < samples; s++) {
        size_t i = samples == count ? s : (s * 7919u) % count;
        double saved = values[i];
        double step = 1e-6 * fmax(fabs(saved), 1e-300);
        values[i] = saved + step;
        double above = objective(context);
        values[i] = saved - step;
        double below = objective(context);
        values[i] = saved;
        numeric[s] = (float)((above - below) / (2.0 * step));
        picked[s] = analytic[i];
    }
    test_assert_close(label, picked, numeric, samples, atol, rtol);
    free(numeric);
    free(picked);
}

static void test_cross_entropy_hand_computed(void **state)
{
    (void)state;
    /* Row 0: logits (1, 2, 3), label 2: loss = log(e + e^2 + e^3) - 3 = 0.40760596;
     * row 1: logits (0, 0, 0), label 0: loss = log 3 = 1.09861229 (argmax 0: counted correct).
     * Mean 0.75310912; gradient row 0 = (softmax - onehot) / 2 =
     * (0.09003057, 0.24472847, 0.66524096 - 1) / 2. */
    float logits[] = {1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f};
    int32_t labels[] = {2, 0};
    float d_logits[6];
    int correct = -1;
    float loss = simclr_softmax_cross_entropy(logits, labels, 2, 3, d_logits, &correct);
    assert_true(fabs(loss - 0.75310912) < 1e-6);
    assert_int_equal(correct, 2);
    float expected[] = {0.09003057f / 2, 0.24472847f / 2, (0.66524096f - 1) / 2,
                        (1.0f / 3 - 1) / 2,  1.0f / 6,           1.0f / 6};
    test_assert_close("ce hand gradient", d_logits, expected, 6, 1e-7, 1e-6);
    /* Huge logits stay finite through the log-softmax. */
    float huge[] = {1000.0f, -1000.0f, 0.0f};
    int32_t label = 1;
    float huge_loss = simclr_softmax_cross_entropy(huge, &label, 1, 3, NULL, NULL);
    assert_true(fabs(huge_loss - 2000.0f) < 1e-2);
}

static void run_cross_entropy(int batch, int classes, uint64_t key)
{
    size_t count = (size_t)batch * classes;
    float *logits = float_array(count), *d_logits = float_array(count);
    fill_uniform(logits, count, -4.0f, 4.0f, key);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    assert_non_null(labels);
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 1, 0, 0, 0);
    for (int n = 0; n < batch; n++) labels[n] = (int32_t)simclr_rng_below(&stream, (uint64_t)classes);
    ce_case c = {batch, classes, to_double(logits, count), labels};
    int correct = -1;
    float loss = simclr_softmax_cross_entropy(logits, labels, batch, classes, d_logits, &correct);
    double expected = ce_reference(&c);
    float loss_array[1] = {loss}, expected_array[1] = {(float)expected};
    test_assert_close("ce loss", loss_array, expected_array, 1, 1e-6, 1e-6);
    int expected_correct = 0;
    for (int n = 0; n < batch; n++) {
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (logits[(size_t)n * classes + k] > logits[(size_t)n * classes + best]) best = k;
        expected_correct += best == labels[n];
    }
    assert_int_equal(correct, expected_correct);
    check_gradient("ce d_logits", c.logits, count, d_logits, ce_reference, &c, 1e-7, 1e-4);
    free(c.logits), free(labels), free(logits), free(d_logits);
}

static void test_cross_entropy_random(void **state)
{
    (void)state;
    run_cross_entropy(7, 10, 1);
    run_cross_entropy(300, 10, 2); /* parallel path */
}

/* ---- Contrastive losses ------------------------------------------------------------------- */

typedef struct contrastive_case {
    simclr_contrastive_kind kind;
    int batch, dim;
    double temperature;
    double *z1, *z2;
} contrastive_case;

static void normalize_reference(double *p, const double *z, int rows, int dim)
{
    for (int r = 0; r < rows; r++) {
        double squares = 0.0;
        for (int k = 0; k < dim; k++) squares += z[(size_t)r * dim + k] * z[(size_t)r * dim + k];
        double inverse_norm = 1.0 / sqrt(fmax(squares, 1e-14));
        for (int k = 0; k < dim; k++) p[(size_t)r * dim + k] = z[(size_t)r * dim + k] * inverse_norm;
    }
}

/* Sum over images of the per-image loss, as the header defines it; *correct = argmax hits. */
static double contrastive_reference_counted(const contrastive_case *c, int *correct)
{
    int b = c->batch, d = c->dim, views = 2 * b;
    double *p = malloc((size_t)views * d * sizeof *p);
    double *row = malloc((size_t)views * sizeof *row);
    assert_non_null(p);
    assert_non_null(row);
    normalize_reference(p, c->z1, b, d);
    normalize_reference(p + (size_t)b * d, c->z2, b, d);
    double total = 0.0;
    int hits = 0;
    if (c->kind == SIMCLR_CONTRASTIVE_KIND_SEED) {
        /* Anchor i of view 1 against all of view 2 (rows of S), then the transpose. */
        for (int transposed = 0; transposed < 2; transposed++)
            for (int i = 0; i < b; i++) {
                const double *anchor = p + ((size_t)(transposed ? b : 0) + i) * d;
                const double *others = p + (size_t)(transposed ? 0 : b) * d;
                int best = 0;
                for (int j = 0; j < b; j++) {
                    double dot = 0.0;
                    for (int k = 0; k < d; k++) dot += anchor[k] * others[(size_t)j * d + k];
                    row[j] = dot / c->temperature;
                    if (row[j] > row[best]) best = j;
                }
                total += 0.5 * (log_sum_exp(row, b, -1) - row[i]);
                hits += best == i;
            }
    } else {
        for (int a = 0; a < views; a++) {
            int positive = (a + b) % views, best = -1;
            for (int j = 0; j < views; j++) {
                double dot = 0.0;
                for (int k = 0; k < d; k++) dot += p[(size_t)a * d + k] * p[(size_t)j * d + k];
                row[j] = dot / c->temperature;
                if (j != a && (best < 0 || row[j] > row[best])) best = j;
            }
            total += 0.5 * (log_sum_exp(row, views, a) - row[positive]);
            hits += best == positive;
        }
    }
    free(p);
    free(row);
    if (correct) *correct = hits;
    return total;
}

static double contrastive_reference(const void *context)
{
    return contrastive_reference_counted(context, NULL);
}

static void run_contrastive(simclr_contrastive_kind kind, int batch, int dim, float temperature,
                            uint64_t key, int tiny_row)
{
    size_t count = (size_t)batch * dim;
    float *z1 = float_array(count), *z2 = float_array(count);
    float *d_z1 = float_array(count), *d_z2 = float_array(count);
    fill_uniform(z1, count, -1.0f, 1.0f, key);
    fill_uniform(z2, count, -1.0f, 1.0f, key + 1);
    /* Make some pairs close so the positives win sometimes and accuracy is neither 0 nor 1. */
    for (size_t i = 0; i < count / 2; i++) z2[i] = z1[i] + 0.3f * z2[i];
    /* A row whose squared norm is below 1e-14: its normalisation is clamped. */
    if (tiny_row)
        for (int k = 0; k < dim; k++) z1[k] *= 1e-9f;
    contrastive_case c = {kind, batch, dim, temperature, to_double(z1, count),
                          to_double(z2, count)};
    float *workspace = float_array(simclr_contrastive_workspace_floats(kind, batch, dim));
    simclr_contrastive_result result = {0};
    simclr_contrastive_loss(kind, z1, z2, batch, dim, temperature, d_z1, d_z2, workspace, &result);

    int expected_correct = -1;
    double expected_sum = contrastive_reference_counted(&c, &expected_correct);
    char label[96];
    const char *name = kind == SIMCLR_CONTRASTIVE_KIND_SEED ? "seed" : "nt-xent";
    snprintf(label, sizeof label, "%s B=%d loss", name, batch);
    float loss[1] = {result.loss}, expected[1] = {(float)(expected_sum / batch)};
    test_assert_close(label, loss, expected, 1, 1e-5, 1e-5);
    assert_int_equal(result.correct, expected_correct);
    assert_int_equal(result.total, 2 * batch);
    printf("  %s B=%d: %d of %d correct\n", name, batch, result.correct, result.total);

    snprintf(label, sizeof label, "%s B=%d d_z1", name, batch);
    check_gradient(label, c.z1, count, d_z1, contrastive_reference, &c, 2e-5, 1e-3);
    snprintf(label, sizeof label, "%s B=%d d_z2", name, batch);
    check_gradient(label, c.z2, count, d_z2, contrastive_reference, &c, 2e-5, 1e-3);

    /* Only one gradient asked for: the same values, and the loss without any. */
    float *only_z2 = float_array(count);
    simclr_contrastive_loss(kind, z1, z2, batch, dim, temperature, NULL, only_z2, workspace, &result);
    test_assert_close("d_z2 alone", only_z2, d_z2, count, 0.0, 0.0);
    simclr_contrastive_result no_gradient = {0};
    simclr_contrastive_loss(kind, z1, z2, batch, dim, temperature, NULL, NULL, workspace, &no_gradient);
    assert_true(no_gradient.loss == result.loss);

    free(only_z2), free(workspace), free(c.z1), free(c.z2);
    free(z1), free(z2), free(d_z1), free(d_z2);
}

static void test_seed_loss_small(void **state)
{
    (void)state;
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_SEED, 5, 7, 0.1f, 10, 0);
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_SEED, 4, 3, 0.5f, 20, 1);
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_SEED, 1, 4, 0.1f, 25, 0);
}

static void test_nt_xent_small(void **state)
{
    (void)state;
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_NT_XENT, 5, 7, 0.1f, 30, 0);
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_NT_XENT, 4, 3, 0.5f, 40, 1);
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_NT_XENT, 1, 4, 0.1f, 45, 0);
}

/* More rows than the parallel threshold and more columns than one column block. */
static void test_contrastive_larger(void **state)
{
    (void)state;
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_SEED, 133, 16, 0.1f, 50, 0);
    run_contrastive(SIMCLR_CONTRASTIVE_KIND_NT_XENT, 70, 16, 0.1f, 60, 0);
}

static void test_contrastive_hand_computed(void **state)
{
    (void)state;
    /* B = 2, D = 2, T = 1: p1 = (1,0), (0,1); p2 = (1,0), (1,0)/|.| -> S = [[1, 1], [0, 0]].
     * Rows: CE([1,1], 0) = log 2, CE([0,0], 1) = log 2. Columns: CE([1,0], 0) = log(1 + e^-1),
     * CE([1,0], 1) = log(1 + e) . Sum = (2 log 2 + log(1 + e^-1) + log(1 + e)) / 2
     * = (1.38629436 + 0.31326169 + 1.31326169) / 2 = 1.50640887; mean over B = 0.75320443.
     * Accuracy: row 0 ties (first max wins: hit), row 1 ties (first max 0: miss), column 0 hit,
     * column 1 (1 vs 0: argmax 0) miss -> 2 of 4. The norms are scaled away: z2 row 1 = (3, 0). */
    float z1[] = {2.0f, 0.0f, 0.0f, 0.5f};
    float z2[] = {1.0f, 0.0f, 3.0f, 0.0f};
    float workspace[64];
    assert_true(simclr_contrastive_workspace_floats(SIMCLR_CONTRASTIVE_KIND_SEED, 2, 2) <= 64);
    simclr_contrastive_result result = {0};
    simclr_contrastive_loss(SIMCLR_CONTRASTIVE_KIND_SEED, z1, z2, 2, 2, 1.0f, NULL, NULL, workspace, &result);
    assert_true(fabs(result.loss - 0.75320443) < 1e-6);
    assert_int_equal(result.correct, 2);
    assert_int_equal(result.total, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_hand_computed),
        cmocka_unit_test(test_cross_entropy_random),
        cmocka_unit_test(test_seed_loss_small),
        cmocka_unit_test(test_nt_xent_small),
        cmocka_unit_test(test_contrastive_larger),
        cmocka_unit_test(test_contrastive_hand_computed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
