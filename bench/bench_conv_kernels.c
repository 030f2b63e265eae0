/*
 * bench_conv_kernels: the kernel choice of the speed issue, measured. Times the four convolutions
 * of the seed's 96x96x3 encoder two ways at one batch size, fp32, forward / backward-data /
 * backward-weights:
 *
 *   onednn    simclr's conv2d (oneDNN 2.x jit kernels) in the layouts the network gives it:
 *             conv1 NCHW -> nChw16c, conv2-4 nChw16c -> nChw16c;
 *   openblas  im2col + OpenBLAS sgemm in NHWC, the textbook alternative: forward
 *             out (N*OH*OW, Cout) = col (N*OH*OW, K*K*Cin) @ W (K*K*Cin, Cout) + bias;
 *             backward-weights dW = col^T @ dOut; backward-data dcol = dOut @ W^T, then col2im
 *             (scatter-add). im2col and col2im run in parallel over images (OpenMP).
 *
 * Both sides compute the same thing (checked: outputs, weight and input gradients must agree
 * within AGREEMENT_TOLERANCE, relative to the largest value, or the program exits 1; the
 * differences are printed) and count the same FLOPs, 2 x multiply-adds
 * per pass. conv1's backward-data is skipped on both sides: a first layer never needs it.
 * simclr_conv2d_backward always computes the weight gradient, so oneDNN's backward-data time is a call
 * with the input gradient minus one without; on the smallest layer that difference is noisy.
 *
 *   bench_conv_kernels [--batch 210] [--steps 3] [--warmup 1] [--peak-gflops 234.5]
 *
 * Prints a Markdown table; threads come from OMP_NUM_THREADS (bench/run.sh sets 2).
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simclr/nn.h"

#define DEFAULT_PEAK_GFLOPS 234.5
/* Largest relative difference between the two implementations that still counts as the same
 * result (fp32 sums in another order stay below 1e-4 on these shapes); above it the program
 * stops before timing anything else: a wrong kernel has no speed worth printing. */
#ifndef AGREEMENT_TOLERANCE
#define AGREEMENT_TOLERANCE 1e-3
#endif

typedef struct layer_shape {
    const char *name;
    int in_size, in_channels, out_channels;
} layer_shape;

/* The seed's encoder at 96x96x3: 3x3 kernels, stride 2, "valid" padding. */
static const layer_shape SEED_LAYERS[] = {
    {"conv1 3->128, 96->47", 96, 3, 128},
    {"conv2 128->128, 47->23", 47, 128, 128},
    {"conv3 128->128, 23->11", 23, 128, 128},
    {"conv4 128->128, 11->5", 11, 128, 128},
};
enum { KERNEL = 3, STRIDE = 2 };

typedef struct pass_times {
    double forward, backward_data, backward_weights; /* seconds, mean of the timed runs */
} pass_times;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *alloc_floats(size_t count, const char *what)
{
    float *p = malloc(count * sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_conv_kernels: out of memory for %s (%zu floats)\n", what, count);
        exit(1);
    }
    return p;
}

static void fill_uniform(float *p, size_t count, unsigned seed, float scale)
{
    unsigned state = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; i++) {
        state = state * 1664525u + 1013904223u;
        p[i] = scale * ((float)(state >> 8) / 16777216.0f - 0.5f);
    }
}

/* ---- im2col + sgemm (NHWC) ------------------------------------------------------------------ */

/* col row (n, oy, ox) = the K x K x Cin patch, in HWIO's (ky, kx, c) order. */
static void im2col(float *col, const float *in, int batch, int size, int channels, int out_size)
{
    size_t patch = (size_t)KERNEL * KERNEL * channels;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < batch; n++)
        for (int oy = 0; oy < out_size; oy++)
            for (int ox = 0; ox < out_size; ox++) {
                float *row = col + (((size_t)n * out_size + oy) * out_size + ox) * patch;
                for (int ky = 0; ky < KERNEL; ky++) {
                    const float *src =
                        in + (((size_t)n * size + oy * STRIDE + ky) * size + ox * STRIDE) * channels;
                    memcpy(row + (size_t)ky * KERNEL * channels, src,
                           (size_t)KERNEL * channels * sizeof(float));
                }
            }
}

/* d_in = sum of the patches of dcol back where they came from (d_in is overwritten). */
static void col2im(float *d_in, const float *dcol, int batch, int size, int channels, int out_size)
{
    size_t patch = (size_t)KERNEL * KERNEL * channels;
    size_t image = (size_t)size * size * channels;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < batch; n++) {
        float *dst_image = d_in + (size_t)n * image;
        memset(dst_image, 0, image * sizeof(float));
        for (int oy = 0; oy < out_size; oy++)
            for (int ox = 0; ox < out_size; ox++) {
                const float *row = dcol + (((size_t)n * out_size + oy) * out_size + ox) * patch;
                for (int ky = 0; ky < KERNEL; ky++) {
                    float *dst = dst_image + ((size_t)(oy * STRIDE + ky) * size + ox * STRIDE) * channels;
                    const float *src = row + (size_t)ky * KERNEL * channels;
                    for (int i = 0; i < KERNEL * channels; i++)
                        dst[i] += src[i];
                }
            }
    }
}

typedef struct gemm_conv {
    int batch, size, channels, out_size, out_channels;
    float *col; /* (N*OH*OW, K*K*Cin), kept from forward for backward-weights as training would */
    float *dcol;
} gemm_conv;

static void gemm_forward(gemm_conv *c, float *out, const float *in, const float *weight,
                         const float *bias)
{
    int rows = c->batch * c->out_size * c->out_size, patch = KERNEL * KERNEL * c->channels;
    im2col(c->col, in, c->batch, c->size, c->channels, c->out_size);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        memcpy(out + (size_t)r * c->out_channels, bias, (size_t)c->out_channels * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, c->out_channels, patch, 1.0f,
                c->col, patch, weight, c->out_channels, 1.0f, out, c->out_channels);
}

static void gemm_backward_weights(gemm_conv *c, float *d_weight, float *d_bias, const float *d_out)
{
    int rows = c->batch * c->out_size * c->out_size, patch = KERNEL * KERNEL * c->channels;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, patch, c->out_channels, rows, 1.0f,
                c->col, patch, d_out, c->out_channels, 1.0f, d_weight, c->out_channels);
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < c->out_channels; o++)
            d_bias[o] += d_out[(size_t)r * c->out_channels + o];
}

static void gemm_backward_data(gemm_conv *c, float *d_in, const float *d_out, const float *weight)
{
    int rows = c->batch * c->out_size * c->out_size, patch = KERNEL * KERNEL * c->channels;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, patch, c->out_channels, 1.0f, d_out,
                c->out_channels, weight, c->out_channels, 0.0f, c->dcol, patch);
    col2im(d_in, c->dcol, c->batch, c->size, c->channels, c->out_size);
}

/* ---- one layer, both ways -------------------------------------------------------------------- */

static double max_relative_difference(const float *a, const float *b, size_t count)
{
    double max_abs = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > max_diff)
            max_diff = d;
        if (fabs((double)b[i]) > max_abs)
            max_abs = fabs((double)b[i]);
    }
    return max_abs > 0.0 ? max_diff / max_abs : max_diff;
}

static void bench_layer(const layer_shape *shape, int batch, int steps, int warmup, pass_times *dnn,
                        pass_times *blas, double *forward_difference, double *weight_difference,
                        double *input_difference)
{
    simclr_nn_layout blocked = simclr_conv2d_blocked_layout(); /* the layout training plans here */
    int first = shape->in_channels < simclr_nn_layout_block(blocked);
    simclr_conv2d_config config = {shape->in_size, shape->in_size, shape->in_channels,
                            shape->out_channels, KERNEL, STRIDE, 0, SIMCLR_NN_ACTIVATION_NONE,
                            SIMCLR_NN_PRECISION_FP32, first ? SIMCLR_NN_LAYOUT_NCHW : blocked, blocked};
    simclr_error err = {0};
    simclr_conv2d *layer = NULL;
    if (simclr_conv2d_create(&layer, &config, &err) != 0) {
        fprintf(stderr, "bench_conv_kernels: %s\n", err.message);
        exit(1);
    }
    int out_size = simclr_conv2d_out_height(layer);
    size_t in_count = (size_t)batch * shape->in_size * shape->in_size * shape->in_channels;
    size_t out_count = (size_t)batch * out_size * out_size * shape->out_channels;
    size_t weight_count = (size_t)KERNEL * KERNEL * shape->in_channels * shape->out_channels;
    size_t col_count = (size_t)batch * out_size * out_size * KERNEL * KERNEL * shape->in_channels;

    float *in_nhwc = alloc_floats(in_count, "input"), *in_dnn = alloc_floats(in_count, "input");
    float *d_in_dnn = alloc_floats(in_count, "input gradient");
    float *d_in_blas = alloc_floats(in_count, "input gradient");
    float *d_in_check = alloc_floats(in_count, "input gradient");
    float *out_dnn = alloc_floats(out_count, "output"), *out_blas = alloc_floats(out_count, "output");
    float *out_check = alloc_floats(out_count, "output");
    float *d_out_nhwc = alloc_floats(out_count, "output gradient");
    float *d_out_dnn = alloc_floats(out_count, "output gradient");
    float *weight = alloc_floats(weight_count, "kernel");
    float *bias = alloc_floats((size_t)shape->out_channels, "bias");
    float *dw_dnn = alloc_floats(weight_count, "kernel gradient");
    float *dw_blas = alloc_floats(weight_count, "kernel gradient");
    float *db = alloc_floats((size_t)shape->out_channels, "bias gradient");
    gemm_conv gemm = {batch, shape->in_size, shape->in_channels, out_size, shape->out_channels,
                      alloc_floats(col_count, "im2col"), alloc_floats(col_count, "im2col gradient")};

    fill_uniform(in_nhwc, in_count, 1, 1.0f);
    fill_uniform(weight, weight_count, 2, 0.1f);
    fill_uniform(bias, (size_t)shape->out_channels, 3, 0.1f);
    fill_uniform(d_out_nhwc, out_count, 4, 1.0f);
    simclr_nn_activations_from_nhwc(in_dnn, config.in_layout, SIMCLR_NN_PRECISION_FP32, in_nhwc, batch,
                             shape->in_size, shape->in_size, shape->in_channels);
    simclr_nn_activations_from_nhwc(d_out_dnn, config.out_layout, SIMCLR_NN_PRECISION_FP32, d_out_nhwc, batch,
                             out_size, out_size, shape->out_channels);

    memset(dnn, 0, sizeof *dnn);
    memset(blas, 0, sizeof *blas);
    for (int run = 0; run < warmup + steps; run++) {
        double scale = run < warmup ? 0.0 : 1.0 / steps;
        double t0 = now_seconds();
        if (simclr_conv2d_forward(layer, out_dnn, in_dnn, weight, bias, batch, &err) != 0)
            goto failed;
        double t1 = now_seconds();
        memset(dw_dnn, 0, weight_count * sizeof(float));
        /* Weights only (d_in NULL), then both: backward-data is the difference. */
        if (simclr_conv2d_backward(layer, NULL, dw_dnn, db, d_out_dnn, NULL, in_dnn, weight, batch, &err) != 0)
            goto failed;
        double t2 = now_seconds();
        double t3 = t2;
        if (!first) {
            if (simclr_conv2d_backward(layer, d_in_dnn, dw_dnn, db, d_out_dnn, NULL, in_dnn, weight, batch,
                                &err) != 0)
                goto failed;
            t3 = now_seconds();
        }
        dnn->forward += scale * (t1 - t0);
        dnn->backward_weights += scale * (t2 - t1);
        dnn->backward_data += first ? 0.0 : scale * ((t3 - t2) - (t2 - t1));

        t0 = now_seconds();
        gemm_forward(&gemm, out_blas, in_nhwc, weight, bias);
        t1 = now_seconds();
        memset(dw_blas, 0, weight_count * sizeof(float));
        gemm_backward_weights(&gemm, dw_blas, db, d_out_nhwc);
        t2 = now_seconds();
        if (!first)
            gemm_backward_data(&gemm, d_in_blas, d_out_nhwc, weight);
        t3 = now_seconds();
        blas->forward += scale * (t1 - t0);
        blas->backward_weights += scale * (t2 - t1);
        blas->backward_data += scale * (t3 - t2);
    }
    /* dw_dnn holds two accumulations when backward ran twice. */
    if (!first)
        for (size_t i = 0; i < weight_count; i++)
            dw_dnn[i] *= 0.5f;
    simclr_nn_activations_to_nhwc(out_check, out_dnn, config.out_layout, SIMCLR_NN_PRECISION_FP32, batch,
                           out_size, out_size, shape->out_channels);
    *forward_difference = max_relative_difference(out_check, out_blas, out_count);
    *weight_difference = max_relative_difference(dw_dnn, dw_blas, weight_count);
    *input_difference = 0.0;
    if (!first) {
        simclr_nn_activations_to_nhwc(d_in_check, d_in_dnn, config.in_layout, SIMCLR_NN_PRECISION_FP32, batch,
                               shape->in_size, shape->in_size, shape->in_channels);
        *input_difference = max_relative_difference(d_in_check, d_in_blas, in_count);
    }

    simclr_conv2d_free(layer);
    free(in_nhwc), free(in_dnn), free(d_in_dnn), free(d_in_blas), free(d_in_check);
    free(out_dnn), free(out_blas), free(out_check);
    free(d_out_nhwc), free(d_out_dnn), free(weight), free(bias), free(dw_dnn), free(dw_blas);
    free(db), free(gemm.col), free(gemm.dcol);
    return;
failed:
    fprintf(stderr, "bench_conv_kernels: %s: %s\n", shape->name, err.message);
    exit(1);
}

static int parse_int_flag(const char *flag, const char *value, int minimum)
{
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end != '\0' || v < minimum || v > 100000) {
        fprintf(stderr, "bench_conv_kernels: %s expects an integer >= %d, got '%s'\n", flag,
                minimum, value ? value : "");
        exit(2);
    }
    return (int)v;
}

static double gflops(double flops, double seconds)
{
    return seconds > 0.0 ? flops / seconds * 1e-9 : 0.0;
}

int main(int argc, char **argv)
{
    int batch = 210, steps = 3, warmup = 1;
    double peak = DEFAULT_PEAK_GFLOPS;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--batch") == 0)
            batch = parse_int_flag(argv[i], value, 1), i++;
        else if (strcmp(argv[i], "--steps") == 0)
            steps = parse_int_flag(argv[i], value, 1), i++;
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = parse_int_flag(argv[i], value, 0), i++;
        else if (strcmp(argv[i], "--peak-gflops") == 0) {
            char *end = NULL;
            peak = value ? strtod(value, &end) : 0.0;
            if (!value || *end != '\0' || !(peak > 0.0)) {
                fprintf(stderr, "bench_conv_kernels: --peak-gflops expects a positive number\n");
                return 2;
            }
            i++;
        } else {
            fprintf(stderr,
                    "usage: bench_conv_kernels [--batch N] [--steps N] [--warmup N] "
                    "[--peak-gflops G]\n");
            return 2;
        }
    }

    printf("Convolutions of the 96x96x3 encoder, batch %d, fp32, %d threads, mean of %d runs "
           "after %d warm-up; GFLOP/s forward / backward-data / backward-weights "
           "(conv1: no backward-data)\n\n",
           batch, omp_get_max_threads(), steps, warmup);
    printf("| layer | oneDNN (simclr's conv2d) | im2col + OpenBLAS sgemm | oneDNN / OpenBLAS time | "
           "max rel. difference out / dW / d_in |\n|---|---|---|---:|---|\n");
    double total_dnn = 0.0, total_blas = 0.0, total_flops = 0.0;
    for (size_t l = 0; l < sizeof SEED_LAYERS / sizeof SEED_LAYERS[0]; l++) {
        const layer_shape *s = &SEED_LAYERS[l];
        int out_size = simclr_conv2d_output_size(s->in_size, KERNEL, STRIDE, 0);
        double flops = 2.0 * batch * out_size * out_size * KERNEL * KERNEL * s->in_channels *
                       s->out_channels;
        pass_times dnn, blas;
        double out_diff, dw_diff, din_diff;
        bench_layer(s, batch, steps, warmup, &dnn, &blas, &out_diff, &dw_diff, &din_diff);
        if (!(out_diff <= AGREEMENT_TOLERANCE && dw_diff <= AGREEMENT_TOLERANCE &&
              din_diff <= AGREEMENT_TOLERANCE)) {
            fprintf(stderr,
                    "bench_conv_kernels: %s: oneDNN and im2col + OpenBLAS disagree (max relative "
                    "difference output %.1e, kernel gradient %.1e, input gradient %.1e; expected "
                    "<= %.0e)\n",
                    s->name, out_diff, dw_diff, din_diff, AGREEMENT_TOLERANCE);
            return 1;
        }
        int first = l == 0;
        double dnn_time = dnn.forward + dnn.backward_data + dnn.backward_weights;
        double blas_time = blas.forward + blas.backward_data + blas.backward_weights;
        total_dnn += dnn_time;
        total_blas += blas_time;
        total_flops += flops * (first ? 2 : 3);
        char dnn_data[32] = "-", blas_data[32] = "-";
        if (!first) {
            snprintf(dnn_data, sizeof dnn_data, "%.0f", gflops(flops, dnn.backward_data));
            snprintf(blas_data, sizeof blas_data, "%.0f", gflops(flops, blas.backward_data));
        }
        printf("| %s | %.0f / %s / %.0f | %.0f / %s / %.0f | %.2f | %.1e / %.1e / %.1e |\n", s->name,
               gflops(flops, dnn.forward), dnn_data, gflops(flops, dnn.backward_weights),
               gflops(flops, blas.forward), blas_data, gflops(flops, blas.backward_weights),
               dnn_time / blas_time, out_diff, dw_diff, din_diff);
    }
    printf("| all four, fwd + bwd | %.1f GFLOP/s (%.0f%% of peak): %.2f s per 1050 views | "
           "%.1f GFLOP/s (%.0f%% of peak): %.2f s per 1050 views | %.2f | |\n",
           gflops(total_flops, total_dnn), 100.0 * gflops(total_flops, total_dnn) / peak,
           total_dnn * 1050.0 / batch, gflops(total_flops, total_blas),
           100.0 * gflops(total_flops, total_blas) / peak, total_blas * 1050.0 / batch,
           total_dnn / total_blas);
    return 0;
}
