/*
 * BatchNorm2d / BatchNorm1d (nn.h) as hand-written loops: two passes over the tensor in each
 * direction (statistics, then the normalisation; gradient sums, then the input gradient), split
 * across OpenMP threads by rows, with per-thread per-channel sums in double reduced in thread
 * order (the result depends on the thread count, not on scheduling).
 *
 * Any layout is seen as rows of `inner` positions of `lanes` consecutive channels, the row's
 * channel group being row % groups:
 *   NHWC       rows N*H*W, groups 1,      inner 1,   lanes C
 *   NCHW       rows N*C,   groups C,      inner H*W, lanes 1
 *   BLOCKED16  rows N*C/16, groups C/16,  inner H*W, lanes 16
 *   BLOCKED8   rows N*C/8,  groups C/8,   inner H*W, lanes 8
 */
#include "simclr/nn.h"

#include "simclr/distributed.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "bf16.h"
#include "util/multiversion.h"

/* Below this many elements a parallel region costs more than it saves. */
#define BATCHNORM_PARALLEL_MIN 65536

typedef struct bn_geometry {
    size_t rows, groups, inner, lanes;
} bn_geometry;

#define BN_TYPE float
#define BN_LOAD(x) (x)
#define BN_STORE(v) (v)
#define BN_NAME(name) name##_f32
#include "batchnorm_kernels.h"
#undef BN_TYPE
#undef BN_LOAD
#undef BN_STORE
#undef BN_NAME

#define BN_TYPE uint16_t
#define BN_LOAD(x) bf16_to_f32(x)
#define BN_STORE(v) bf16_from_f32(v)
#define BN_NAME(name) name##_bf16
#include "batchnorm_kernels.h"
#undef BN_TYPE
#undef BN_LOAD
#undef BN_STORE
#undef BN_NAME

simclr_batchnorm_config simclr_batchnorm_config_default(int channels, int spatial)
{
    simclr_batchnorm_config config = {.channels = channels,
                                      .spatial = spatial,
                                      .momentum = SIMCLR_BATCHNORM_MOMENTUM,
                                      .eps = SIMCLR_BATCHNORM_EPS,
                                      .activation = SIMCLR_NN_ACTIVATION_NONE,
                                      .precision = SIMCLR_NN_PRECISION_FP32,
                                      .layout = SIMCLR_NN_LAYOUT_NHWC};
    return config;
}

int simclr_batchnorm_check(const simclr_batchnorm_config *config, simclr_error *err)
{
    if (config->channels < 1 || config->spatial < 1)
        return simclr_error_input(err, "batchnorm: %d channels of %d positions (expected >= 1 each)",
                                  config->channels, config->spatial);
    int block = simclr_nn_layout_block(config->layout);
    if (block > 0 && config->channels % block != 0)
        return simclr_error_input(err, "batchnorm: %d channels in the %s layout (expected a multiple of %d)",
                                  config->channels, simclr_nn_layout_name(config->layout), block);
    if (!(config->eps > 0.0f) || !(config->momentum >= 0.0f && config->momentum <= 1.0f))
        return simclr_error_input(err, "batchnorm: eps %g, momentum %g (expected eps > 0, momentum in [0, 1])",
                                  (double)config->eps, (double)config->momentum);
    return 0;
}

static bn_geometry geometry_of(const simclr_batchnorm_config *config, int batch)
{
    size_t n = (size_t)batch, c = (size_t)config->channels, hw = (size_t)config->spatial;
    switch (config->layout) {
    case SIMCLR_NN_LAYOUT_NCHW: return (bn_geometry){n * c, c, hw, 1};
    case SIMCLR_NN_LAYOUT_BLOCKED16:
    case SIMCLR_NN_LAYOUT_BLOCKED8: {
        size_t block = (size_t)simclr_nn_layout_block(config->layout);
        return (bn_geometry){n * (c / block), c / block, hw, block};
    }
    default: return (bn_geometry){n * hw, 1, 1, c};
    }
}

static int runs_parallel(const simclr_batchnorm_config *config, int batch)
{
    return (size_t)batch * (size_t)config->spatial * (size_t)config->channels > BATCHNORM_PARALLEL_MIN;
}

/* The two per-channel sums of one pass: per-thread partials (first[c], second[c] after the
 * thread's share of rows), reduced in thread order into first/second. */
typedef enum bn_pass { BN_PASS_MOMENTS, BN_PASS_GRADIENTS } bn_pass;

typedef struct bn_pass_args {
    const simclr_batchnorm_config *config;
    bn_geometry geometry;
    const void *in;
    void *d_out;
    const void *out;
    const float *mean;
} bn_pass_args;

static int channel_sums(const bn_pass_args *args, bn_pass pass, int batch, double *first,
                        double *second, simclr_error *err)
{
    size_t channels = (size_t)args->config->channels;
    int parallel = runs_parallel(args->config, batch);
    int threads = parallel ? omp_get_max_threads() : 1;
    double *partials = simclr_checked_calloc((size_t)threads * 2 * channels, sizeof(double),
                                             "batchnorm sums", err);
    if (!partials) return -1;
    int bf16 = args->config->precision == SIMCLR_NN_PRECISION_BF16;
#pragma omp parallel num_threads(threads) if (parallel)
    {
        int thread = omp_get_thread_num(), count = omp_get_num_threads();
        size_t rows = args->geometry.rows;
        size_t begin = rows * (size_t)thread / (size_t)count;
        size_t end = rows * (size_t)(thread + 1) / (size_t)count;
        double *a = partials + (size_t)thread * 2 * channels, *b = a + channels;
        const bn_geometry *g = &args->geometry;
        if (pass == BN_PASS_MOMENTS) {
            if (bf16)
                accumulate_moments_bf16(g, args->in, begin, end, a, b);
            else
                accumulate_moments_f32(g, args->in, begin, end, a, b);
        } else {
            if (bf16)
                gradient_sums_bf16(g, args->d_out, args->out, args->in, args->mean, begin, end, a, b);
            else
                gradient_sums_f32(g, args->d_out, args->out, args->in, args->mean, begin, end, a, b);
        }
    }
    for (size_t c = 0; c < channels; c++) first[c] = second[c] = 0.0;
    for (int t = 0; t < threads; t++) {
        const double *a = partials + (size_t)t * 2 * channels, *b = a + channels;
        for (size_t c = 0; c < channels; c++) {
            first[c] += a[c];
            second[c] += b[c];
        }
    }
    free(partials);
    return 0;
}

static void normalize_all(const simclr_batchnorm_config *config, void *out, const void *in,
                          const float *scale, const float *shift, int batch)
{
    bn_geometry g = geometry_of(config, batch);
    int relu = config->activation == SIMCLR_NN_ACTIVATION_RELU;
    int bf16 = config->precision == SIMCLR_NN_PRECISION_BF16;
#pragma omp parallel if (runs_parallel(config, batch))
    {
        int thread = omp_get_thread_num(), count = omp_get_num_threads();
        size_t begin = g.rows * (size_t)thread / (size_t)count;
        size_t end = g.rows * (size_t)(thread + 1) / (size_t)count;
        if (bf16)
            normalize_bf16(&g, out, in, scale, shift, relu, begin, end);
        else
            normalize_f32(&g, out, in, scale, shift, relu, begin, end);
    }
}

/* The per-channel scale gamma * invstd and shift beta - mean * gamma * invstd of a training
 * forward, from the float statistics it returns (so that simclr_batchnorm_recompute_output
 * repeats the normalisation bit for bit). */
static void affine_of_statistics(float *scale, float *shift, const float *gamma, const float *beta,
                                 const float *mean, const float *invstd, size_t channels)
{
    for (size_t c = 0; c < channels; c++) {
        double a = (double)gamma[c] * (double)invstd[c];
        scale[c] = (float)a;
        shift[c] = (float)((double)beta[c] - (double)mean[c] * a);
    }
}

int simclr_batchnorm_forward_training(const simclr_batchnorm_config *config, void *out, const void *in,
                                      const float *gamma, const float *beta, float *running_mean,
                                      float *running_var, float *batch_mean, float *batch_invstd,
                                      int batch, simclr_error *err)
{
    size_t channels = (size_t)config->channels;
    double values = (double)batch * (double)config->spatial;
    /* 2C sums, then (global BN) the value count. */
    double *sums = simclr_checked_calloc(2 * channels + 1, sizeof(double), "batchnorm sums", err);
    float *scale = simclr_checked_calloc(2 * channels, sizeof(float), "batchnorm scales", err);
    bn_pass_args args = {.config = config, .geometry = geometry_of(config, batch), .in = in};
    if (!sums || !scale || channel_sums(&args, BN_PASS_MOMENTS, batch, sums, sums + channels, err) != 0) {
        free(sums);
        free(scale);
        return -1;
    }
    if (simclr_communicator_size(config->communicator) > 1) { /* issue 14: global BN */
        sums[2 * channels] = values;
        simclr_communicator_allreduce_doubles(config->communicator, sums, 2 * channels + 1);
        values = sums[2 * channels];
    }
    if (values < 2.0) {
        free(sums);
        free(scale);
        return simclr_error_input(err, "batchnorm: training needs more than one value per channel "
                                       "(batch %d of %d positions)",
                                  batch, config->spatial);
    }
    float *shift = scale + channels;
    for (size_t c = 0; c < channels; c++) {
        double mean = sums[c] / values;
        double variance = sums[channels + c] / values - mean * mean;
        if (variance < 0.0) variance = 0.0;
        batch_mean[c] = (float)mean;
        batch_invstd[c] = (float)(1.0 / sqrt(variance + (double)config->eps));
        if (running_mean) {
            double m = (double)config->momentum;
            running_mean[c] = (float)((1.0 - m) * running_mean[c] + m * mean);
            running_var[c] = (float)((1.0 - m) * running_var[c] + m * variance * values / (values - 1.0));
        }
    }
    affine_of_statistics(scale, shift, gamma, beta, batch_mean, batch_invstd, channels);
    normalize_all(config, out, in, scale, shift, batch);
    free(sums);
    free(scale);
    return 0;
}

int simclr_batchnorm_recompute_output(const simclr_batchnorm_config *config, void *out, const void *in,
                                      const float *gamma, const float *beta, const float *batch_mean,
                                      const float *batch_invstd, int batch, simclr_error *err)
{
    size_t channels = (size_t)config->channels;
    float *scale = simclr_checked_calloc(2 * channels, sizeof(float), "batchnorm scales", err);
    if (!scale) return -1;
    affine_of_statistics(scale, scale + channels, gamma, beta, batch_mean, batch_invstd, channels);
    normalize_all(config, out, in, scale, scale + channels, batch);
    free(scale);
    return 0;
}

int simclr_batchnorm_forward_inference(const simclr_batchnorm_config *config, void *out, const void *in,
                                       const float *gamma, const float *beta,
                                       const float *running_mean, const float *running_var,
                                       int batch, simclr_error *err)
{
    size_t channels = (size_t)config->channels;
    float *scale = simclr_checked_calloc(2 * channels, sizeof(float), "batchnorm scales", err);
    if (!scale) return -1;
    float *shift = scale + channels;
    for (size_t c = 0; c < channels; c++) {
        double invstd = 1.0 / sqrt((double)running_var[c] + (double)config->eps);
        scale[c] = (float)((double)gamma[c] * invstd);
        shift[c] = (float)((double)beta[c] - (double)running_mean[c] * (double)gamma[c] * invstd);
    }
    normalize_all(config, out, in, scale, shift, batch);
    free(scale);
    return 0;
}

int simclr_batchnorm_backward(const simclr_batchnorm_config *config, void *d_in, float *d_gamma,
                              float *d_beta, void *d_out, const void *out, const void *in,
                              const float *gamma, const float *batch_mean,
                              const float *batch_invstd, int batch, simclr_error *err)
{
    size_t channels = (size_t)config->channels;
    double values = (double)batch * (double)config->spatial;
    const void *mask = config->activation == SIMCLR_NN_ACTIVATION_RELU ? out : NULL;
    /* 2C sums, the value count, and (global BN) this rank's 2C sums for d_gamma and d_beta. */
    double *sums = simclr_checked_calloc(4 * channels + 1, sizeof(double), "batchnorm sums", err);
    float *coefficients = simclr_checked_calloc(3 * channels, sizeof(float), "batchnorm coefficients", err);
    bn_pass_args args = {.config = config,
                         .geometry = geometry_of(config, batch),
                         .in = in,
                         .d_out = d_out,
                         .out = mask,
                         .mean = batch_mean};
    if (!sums || !coefficients ||
        channel_sums(&args, BN_PASS_GRADIENTS, batch, sums, sums + channels, err) != 0) {
        free(sums);
        free(coefficients);
        return -1;
    }
    const double *local = sums;
    if (simclr_communicator_size(config->communicator) > 1) { /* issue 14: global BN */
        double *own = sums + 2 * channels + 1;
        for (size_t c = 0; c < 2 * channels; c++) own[c] = sums[c];
        sums[2 * channels] = values;
        simclr_communicator_allreduce_doubles(config->communicator, sums, 2 * channels + 1);
        values = sums[2 * channels];
        local = own; /* the parameter gradients are summed over the ranks later */
    }
    float *a = coefficients, *b = a + channels, *k = b + channels;
    for (size_t c = 0; c < channels; c++) {
        double sum_dy = sums[c], sum_dy_centered = sums[channels + c];
        double invstd = batch_invstd[c];
        d_beta[c] += (float)local[c];
        d_gamma[c] += (float)(local[channels + c] * invstd);
        double scale = (double)gamma[c] * invstd;
        a[c] = (float)scale;
        b[c] = (float)(-scale * invstd * invstd * sum_dy_centered / values);
        k[c] = (float)(-scale * sum_dy / values);
    }
    if (d_in) {
        bn_geometry g = geometry_of(config, batch);
        int bf16 = config->precision == SIMCLR_NN_PRECISION_BF16;
#pragma omp parallel if (runs_parallel(config, batch))
        {
            int thread = omp_get_thread_num(), count = omp_get_num_threads();
            size_t begin = g.rows * (size_t)thread / (size_t)count;
            size_t end = g.rows * (size_t)(thread + 1) / (size_t)count;
            if (bf16)
                input_gradient_bf16(&g, d_in, d_out, in, batch_mean, a, b, k, begin, end);
            else
                input_gradient_f32(&g, d_in, d_out, in, batch_mean, a, b, k, begin, end);
        }
    }
    free(sums);
    free(coefficients);
    return 0;
}
