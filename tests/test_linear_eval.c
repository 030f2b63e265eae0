/*
 * Linear evaluation: the softmax-regression objective's gradient against central finite
 * differences, L-BFGS on the Rosenbrock function and on the objective, the whole evaluation on
 * separable clusters (top-1 and top-5), and the class-balanced label fractions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/label_fraction.h"
#include "simclr/lbfgs.h"
#include "simclr/linear_eval.h"
#include "simclr/sampler.h"
#include "test_support.h"

static double uniform(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return ((*state >> 8) + 0.5) / 16777216.0;
}

static void test_objective_gradient(void **state)
{
    (void)state;
    enum { N = 7, D = 4, C = 3, P = D * C + C };
    double features[N * D], logits[N * C], parameters[P], gradient[P], ignored[P];
    int32_t labels[N];
    unsigned seed = 3;
    for (int i = 0; i < N * D; i++) features[i] = uniform(&seed) * 4 - 2;
    for (int i = 0; i < N; i++) labels[i] = i % C;
    for (int i = 0; i < P; i++) parameters[i] = uniform(&seed) - 0.5;
    simclr_softmax_regression problem = {.features = features, .labels = labels, .count = N, .dim = D,
                                         .classes = C, .weight_decay = 0.3, .logits = logits};
    simclr_softmax_regression_objective(&problem, parameters, gradient);
    double worst = 0.0;
    for (int i = 0; i < P; i++) {
        double saved = parameters[i], h = 1e-5;
        parameters[i] = saved + h;
        double up = simclr_softmax_regression_objective(&problem, parameters, ignored);
        parameters[i] = saved - h;
        double down = simclr_softmax_regression_objective(&problem, parameters, ignored);
        parameters[i] = saved;
        double numeric = (up - down) / (2 * h);
        if (fabs(numeric - gradient[i]) > worst) worst = fabs(numeric - gradient[i]);
    }
    printf("  worst |analytic - finite difference| over %d parameters: %.3g\n", P, worst);
    assert_true(worst < 1e-8);
    /* At zero parameters the loss is log(C). */
    memset(parameters, 0, sizeof parameters);
    problem.weight_decay = 0.0;
    assert_true(fabs(simclr_softmax_regression_objective(&problem, parameters, gradient) - log(3.0)) < 1e-12);
}

static double rosenbrock(void *context, const double *x, double *grad)
{
    (void)context;
    double a = 1 - x[0], b = x[1] - x[0] * x[0];
    grad[0] = -2 * a - 400 * x[0] * b;
    grad[1] = 200 * b;
    return a * a + 100 * b * b;
}

static void test_lbfgs_rosenbrock(void **state)
{
    (void)state;
    double x[2] = {-1.2, 1.0};
    simclr_lbfgs_config config = simclr_lbfgs_config_default();
    config.gradient_tolerance = 1e-8;
    config.value_tolerance = 0.0;
    simclr_lbfgs_result result;
    simclr_error err = {0};
    assert_int_equal(simclr_lbfgs_minimize(rosenbrock, NULL, x, 2, &config, &result, &err), 0);
    printf("  Rosenbrock from (-1.2, 1): (%.8f, %.8f) after %d iterations, %d evaluations\n", x[0], x[1],
           result.iterations, result.evaluations);
    assert_true(result.converged);
    assert_true(fabs(x[0] - 1) < 1e-6 && fabs(x[1] - 1) < 1e-6);
    assert_true(result.iterations < 200);
}

/* Three well separated clusters in 6 dimensions (plus two constant features, which the
 * standardisation must survive): the classifier gets every test point. */
static void test_separable_clusters(void **state)
{
    (void)state;
    enum { TRAIN = 60, TEST = 30, D = 6, C = 3 };
    float train[TRAIN * D], test[TEST * D];
    int32_t train_labels[TRAIN], test_labels[TEST];
    unsigned seed = 11;
    for (int i = 0; i < TRAIN + TEST; i++) {
        float *row = i < TRAIN ? train + i * D : test + (i - TRAIN) * D;
        int32_t label = i % C;
        if (i < TRAIN) train_labels[i] = label;
        else test_labels[i - TRAIN] = label;
        for (int j = 0; j < D; j++) row[j] = (float)(uniform(&seed) - 0.5) + (j == label ? 3.0f : 0.0f);
        row[4] = 2.5f;
        row[5] = 0.0f;
    }
    simclr_linear_eval_config config = simclr_linear_eval_config_default();
    simclr_linear_eval_result result;
    simclr_error err = {0};
    assert_int_equal(simclr_linear_eval_run(train, train_labels, TRAIN, test, test_labels, TEST, D, C, &config,
                                            &result, &err),
                     0);
    printf("  %d iterations (converged %d), train loss %.5f, top-1 %.3f, top-5 %.3f\n", result.optimizer.iterations,
           result.optimizer.converged, result.train_loss, result.top1, result.top5);
    assert_true(result.optimizer.converged);
    assert_true(result.top1 == 1.0 && result.top5 == 1.0 && result.train_accuracy == 1.0);
    /* Swapping the test labels of two classes: top-1 falls to a third, top-5 (top-3 here) stays. */
    for (int i = 0; i < TEST; i++) test_labels[i] = test_labels[i] == 0 ? 1 : test_labels[i] == 1 ? 0 : 2;
    assert_int_equal(simclr_linear_eval_run(train, train_labels, TRAIN, test, test_labels, TEST, D, C, &config,
                                            &result, &err),
                     0);
    assert_true(fabs(result.top1 - 1.0 / 3.0) < 1e-12);
    assert_true(result.top5 == 1.0);
    /* A training label outside the classes is refused. */
    train_labels[0] = 3;
    assert_int_equal(simclr_linear_eval_run(train, train_labels, TRAIN, test, test_labels, TEST, D, C, &config,
                                            &result, &err),
                     -1);
}

static void test_label_fraction(void **state)
{
    (void)state;
    /* A train split of 3 classes with 100, 50 and 7 images (only labels are read). */
    enum { N = 157 };
    static int32_t labels[N];
    for (int i = 0; i < N; i++) labels[i] = i < 100 ? 0 : (i < 150 ? 1 : 2);
    simclr_dataset ds;
    memset(&ds, 0, sizeof ds);
    snprintf(ds.name, sizeof ds.name, "toy");
    ds.num_classes = 3;
    ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count = N;
    ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].labels = labels;
    size_t *indices = NULL, count = 0;
    simclr_error err = {0};
    assert_int_equal(simclr_label_fraction_subset(&ds, 0.1, 5, &indices, &count, &err), 0);
    int per_class[3] = {0, 0, 0};
    for (size_t i = 0; i < count; i++) {
        per_class[labels[indices[i]]]++;
        if (i > 0) assert_true(indices[i] > indices[i - 1]); /* sorted, no repeats */
    }
    printf("  10 %% of (100, 50, 7): (%d, %d, %d)\n", per_class[0], per_class[1], per_class[2]);
    assert_int_equal(per_class[0], 10);
    assert_int_equal(per_class[1], 5);
    assert_int_equal(per_class[2], 1); /* round(0.7), at least one */
    free(indices);
    /* With equal classes the fraction picks what --labeled-per-class picks for the same seed. */
    for (int i = 0; i < 150; i++) labels[i] = i % 3;
    ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count = 150;
    size_t *by_fraction = NULL, *by_count = NULL, n_fraction = 0, n_count = 0;
    assert_int_equal(simclr_label_fraction_subset(&ds, 0.2, 9, &by_fraction, &n_fraction, &err), 0);
    assert_int_equal(simclr_sampler_labeled_subset(&ds, 10, 9, &by_count, &n_count, &err), 0);
    assert_int_equal(n_fraction, 30);
    assert_int_equal(n_count, 30);
    assert_memory_equal(by_fraction, by_count, 30 * sizeof(size_t));
    free(by_fraction);
    free(by_count);
    /* The whole split at 1.0; outside (0, 1] refused, naming the flag. */
    assert_int_equal(simclr_label_fraction_subset(&ds, 1.0, 0, &indices, &count, &err), 0);
    assert_int_equal(count, 150);
    free(indices);
    const double bad[3] = {0.0, -0.5, 1.5};
    for (int b = 0; b < 3; b++) {
        assert_int_equal(simclr_label_fraction_subset(&ds, bad[b], 0, &indices, &count, &err), -1);
        assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
        assert_non_null(strstr(err.message, "--label-fraction"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objective_gradient),
        cmocka_unit_test(test_lbfgs_rosenbrock),
        cmocka_unit_test(test_separable_clusters),
        cmocka_unit_test(test_label_fraction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
