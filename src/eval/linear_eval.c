/* Offline linear evaluation: standardised frozen features, L2-regularised softmax regression fitted
 * by full-batch L-BFGS, test top-1 / top-5. */
#include "simclr/linear_eval.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

simclr_linear_eval_config simclr_linear_eval_config_default(void)
{
    simclr_linear_eval_config config = {.weight_decay = 1e-4, .standardize = 1,
                                        .lbfgs = simclr_lbfgs_config_default()};
    return config;
}

double simclr_softmax_regression_objective(void *context, const double *parameters, double *gradient)
{
    const simclr_softmax_regression *problem = context;
    size_t n = problem->count, d = (size_t)problem->dim, c = (size_t)problem->classes;
    const double *weights = parameters, *bias = parameters + d * c;
    double *logits = problem->logits;
    for (size_t i = 0; i < n; i++) memcpy(logits + i * c, bias, c * sizeof(double));
    /* logits (n, c) += features (n, d) . W (d, c) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)c, (int)d, 1.0, problem->features, (int)d,
                weights, (int)c, 1.0, logits, (int)c);
    double loss = 0.0;
    /* logits become d loss / d logits = (softmax - onehot) / n */
    for (size_t i = 0; i < n; i++) {
        double *row = logits + i * c;
        double largest = row[0];
        for (size_t k = 1; k < c; k++)
            if (row[k] > largest) largest = row[k];
        double total = 0.0;
        for (size_t k = 0; k < c; k++) total += exp(row[k] - largest);
        size_t label = (size_t)problem->labels[i];
        loss += log(total) - (row[label] - largest);
        for (size_t k = 0; k < c; k++) row[k] = exp(row[k] - largest) / total / (double)n;
        row[label] -= 1.0 / (double)n;
    }
    loss /= (double)n;
    /* dW (d, c) = features^T (d, n) . dlogits (n, c) + weight_decay W */
    memcpy(gradient, weights, d * c * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)c, (int)n, 1.0, problem->features, (int)d,
                logits, (int)c, problem->weight_decay, gradient, (int)c);
    double *d_bias = gradient + d * c;
    memset(d_bias, 0, c * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < c; k++) d_bias[k] += logits[i * c + k];
    double penalty = 0.0;
    for (size_t j = 0; j < d * c; j++) penalty += weights[j] * weights[j];
    return loss + 0.5 * problem->weight_decay * penalty;
}

/* out (count, dim) = (in - mean) / std in double; mean and std from the training rows. */
static void standardize(const float *in, size_t count, size_t dim, const double *mean, const double *scale,
                        double *out)
{
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < dim; j++) out[i * dim + j] = ((double)in[i * dim + j] - mean[j]) * scale[j];
}

/* Top-1 and top-k hits of logits (count, classes) against labels. */
static void count_hits(const double *logits, const int32_t *labels, size_t count, size_t classes, size_t k,
                       size_t *top1, size_t *topk)
{
    *top1 = *topk = 0;
    for (size_t i = 0; i < count; i++) {
        const double *row = logits + i * classes;
        double truth = row[labels[i]];
        size_t above = 0;
        for (size_t c = 0; c < classes; c++) above += row[c] > truth || (row[c] == truth && c < (size_t)labels[i]);
        *top1 += above == 0;
        *topk += above < k;
    }
}

int simclr_linear_eval_run(const float *train, const int32_t *train_labels, size_t train_count, const float *test,
                           const int32_t *test_labels, size_t test_count, int dim, int classes,
                           const simclr_linear_eval_config *config, simclr_linear_eval_result *result,
                           simclr_error *err)
{
    memset(result, 0, sizeof *result);
    if (train_count == 0) return simclr_error_input(err, "linear evaluation: no labeled training images");
    if (dim < 1 || classes < 2)
        return simclr_error_input(err, "linear evaluation: %d-wide features and %d classes", dim, classes);
    for (size_t i = 0; i < train_count; i++)
        if (train_labels[i] < 0 || train_labels[i] >= classes)
            return simclr_error_input(err, "linear evaluation: training label %d outside 0..%d", train_labels[i],
                                      classes - 1);
    size_t d = (size_t)dim, c = (size_t)classes;
    size_t rows = train_count > test_count ? train_count : test_count;
    double *mean = simclr_checked_calloc(2 * d, sizeof(double), "feature statistics", err);
    double *features = mean ? simclr_checked_calloc(rows * d, sizeof(double), "standardised features", err) : NULL;
    double *logits = features ? simclr_checked_calloc(rows * c, sizeof(double), "logits", err) : NULL;
    double *parameters = logits ? simclr_checked_calloc((d + 1) * c, sizeof(double), "linear classifier", err) : NULL;
    double *gradient = parameters ? simclr_checked_calloc((d + 1) * c, sizeof(double), "gradient", err) : NULL;
    int status = -1;
    if (!gradient) goto done;
    double *scale = mean + d;
    for (size_t j = 0; j < d; j++) scale[j] = 1.0;
    if (config->standardize) {
        for (size_t i = 0; i < train_count; i++)
            for (size_t j = 0; j < d; j++) mean[j] += train[i * d + j];
        for (size_t j = 0; j < d; j++) mean[j] /= (double)train_count;
        double *variance = gradient; /* (d + 1) * c >= d: scratch until the fit */
        memset(variance, 0, d * sizeof(double));
        for (size_t i = 0; i < train_count; i++)
            for (size_t j = 0; j < d; j++) {
                double centred = train[i * d + j] - mean[j];
                variance[j] += centred * centred;
            }
        /* A constant feature (a ReLU unit that never fires) stays 0 after centring. */
        for (size_t j = 0; j < d; j++) {
            double std = sqrt(variance[j] / (double)train_count);
            scale[j] = std > 1e-12 ? 1.0 / std : 0.0;
        }
    }
    standardize(train, train_count, d, mean, scale, features);
    simclr_softmax_regression problem = {.features = features, .labels = train_labels, .count = train_count,
                                         .dim = dim, .classes = classes, .weight_decay = config->weight_decay,
                                         .logits = logits};
    if (simclr_lbfgs_minimize(simclr_softmax_regression_objective, &problem, parameters, (d + 1) * c, &config->lbfgs,
                              &result->optimizer, err) != 0)
        goto done;
    result->train_count = train_count;
    result->train_loss = result->optimizer.value;
    size_t k = c < 5 ? c : 5, top1 = 0, topk = 0;
    /* The logits of the final parameters (the objective's workspace holds gradients). */
    for (size_t i = 0; i < train_count; i++) memcpy(logits + i * c, parameters + d * c, c * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)train_count, (int)c, (int)d, 1.0, features, (int)d,
                parameters, (int)c, 1.0, logits, (int)c);
    count_hits(logits, train_labels, train_count, c, k, &top1, &topk);
    result->train_accuracy = (double)top1 / (double)train_count;
    result->test_count = test_count;
    result->top1 = result->top5 = NAN;
    if (test_count > 0) {
        standardize(test, test_count, d, mean, scale, features);
        for (size_t i = 0; i < test_count; i++) memcpy(logits + i * c, parameters + d * c, c * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)test_count, (int)c, (int)d, 1.0, features,
                    (int)d, parameters, (int)c, 1.0, logits, (int)c);
        count_hits(logits, test_labels, test_count, c, k, &top1, &topk);
        result->top1 = (double)top1 / (double)test_count;
        result->top5 = (double)topk / (double)test_count;
    }
    status = 0;
done:
    free(mean);
    free(features);
    free(logits);
    free(parameters);
    free(gradient);
    return status;
}
