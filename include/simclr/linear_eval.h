#ifndef SIMCLR_LINEAR_EVAL_H
#define SIMCLR_LINEAR_EVAL_H
/*
 * The field's offline linear evaluation on frozen features: the features of the labeled training
 * images and of the test images are computed once (by the caller), standardised with the training
 * features' per-dimension mean and standard deviation (as scikit-learn's StandardScaler before
 * logistic regression in the SimCLR/BYOL evaluations), then a multinomial logistic regression
 * (softmax, bias, L2 penalty weight_decay/2 ||W||^2 on the weights) is fitted to convergence by
 * full-batch L-BFGS, and test top-1 and top-5 accuracy are reported.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/lbfgs.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_linear_eval_config {
    double weight_decay;        /* 1e-4 */
    int standardize;            /* 1 */
    simclr_lbfgs_config lbfgs;  /* history 10, 1000 iterations, |grad| <= 1e-5 */
} simclr_linear_eval_config;

simclr_linear_eval_config simclr_linear_eval_config_default(void);

typedef struct simclr_linear_eval_result {
    size_t train_count, test_count;
    double train_loss;          /* the objective at the optimum (mean cross-entropy + penalty) */
    double train_accuracy;
    double top1, top5;          /* test accuracy; top-5 is top-min(5, classes) */
    simclr_lbfgs_result optimizer;
} simclr_linear_eval_result;

/* Fits on (train_count, dim) features with labels in 0..classes-1 and evaluates on the test
 * features (test_count may be 0: top1/top5 NAN). */
int simclr_linear_eval_run(const float *train, const int32_t *train_labels, size_t train_count, const float *test,
                           const int32_t *test_labels, size_t test_count, int dim, int classes,
                           const simclr_linear_eval_config *config, simclr_linear_eval_result *result,
                           simclr_error *err);

/* The objective, exposed for its gradient check: parameters are W (dim, classes) row-major, then
 * b (classes). */
typedef struct simclr_softmax_regression {
    const double *features;     /* (count, dim) */
    const int32_t *labels;      /* (count) */
    size_t count;
    int dim, classes;
    double weight_decay;
    double *logits;             /* (count, classes) workspace */
} simclr_softmax_regression;

/* Mean cross-entropy + weight_decay / 2 ||W||^2; writes the gradient. Signature of
 * simclr_lbfgs_objective (context: a simclr_softmax_regression). */
double simclr_softmax_regression_objective(void *context, const double *parameters, double *gradient);

SIMCLR_END_DECLS
#endif
