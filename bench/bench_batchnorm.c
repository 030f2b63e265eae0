/*
 * bench_batchnorm: the BatchNorm kernel choice of the backbone issue, measured. Times simclr's
 * hand-written BatchNorm2d loops (src/nn/batchnorm.c) against oneDNN's batch_normalization
 * primitive on the same tensors, at the BatchNorm layers of ResNet-18 with the CIFAR stem during
 * pretraining (512 views of 32x32x3: 64 channels at 32x32, 128 at 16x16, 256 at 8x8, 512 at 4x4),
 * fp32, oneDNN's blocked nChw16c layout (the one the network keeps between its layers), with the
 * fused ReLU both sides (oneDNN: dnnl_fuse_norm_relu, its workspace holding the mask):
 *
 *   forward   training mode: batch statistics, normalisation, scale and shift, ReLU;
 *   backward  the gradients of the input, the scale and the shift (through the statistics).
 *
 * Both sides must agree (outputs, input, scale and shift gradients within AGREEMENT_TOLERANCE
 * relative to the largest value) or the program exits 1 before printing any time. simclr's
 * forward also updates the running statistics (a per-channel step oneDNN leaves to its caller).
 *
 *   bench_batchnorm [--batch 512] [--steps 5] [--warmup 1]
 *
 * Prints a Markdown table; threads come from OMP_NUM_THREADS (bench/run.sh sets 2).
 */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simclr/nn.h"

#ifndef AGREEMENT_TOLERANCE
#define AGREEMENT_TOLERANCE 1e-3
#endif
#ifndef SUM_AGREEMENT_TOLERANCE
#define SUM_AGREEMENT_TOLERANCE 1e-2
#endif

typedef struct bn_shape {
    int channels, size;
} bn_shape;

static const bn_shape RESNET18_CIFAR_SHAPES[] = {{64, 32}, {128, 16}, {256, 8}, {512, 4}};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *alloc_floats(size_t count)
{
    float *p = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
    if (!p) {
        fprintf(stderr, "bench_batchnorm: out of memory (%zu floats)\n", count);
        exit(1);
    }
    return p;
}

static void fill_uniform(float *p, size_t count, unsigned seed, float low, float high)
{
    unsigned state = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; i++) {
        state = state * 1664525u + 1013904223u;
        p[i] = low + (high - low) * (float)(state >> 8) / 16777216.0f;
    }
}

static double max_relative_difference(const float *a, const float *b, size_t count)
{
    double largest = 0.0, difference = 0.0;
    for (size_t i = 0; i < count; i++) {
        if (fabs(a[i]) > largest) largest = fabs(a[i]);
        if (fabs(a[i] - b[i]) > difference) difference = fabs(a[i] - b[i]);
    }
    return largest > 0.0 ? difference / largest : difference;
}

#define DNNL(call)                                                                                 \
    do {                                                                                           \
        dnnl_status_t status_ = (call);                                                            \
        if (status_ != dnnl_success) {                                                             \
            fprintf(stderr, "bench_batchnorm: %s failed (status %d)\n", #call, (int)status_);      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* oneDNN's batch normalization on one shape: forward training and backward primitives. */
typedef struct onednn_bn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t forward, backward;
    dnnl_memory_t src, dst, diff_dst, diff_src, scale, shift, diff_scale, diff_shift, mean, variance,
        workspace;
} onednn_bn;

static dnnl_memory_t wrap(dnnl_engine_t engine, const dnnl_memory_desc_t *md, void *data)
{
    dnnl_memory_t memory;
    DNNL(dnnl_memory_create(&memory, md, engine, data));
    return memory;
}

static void onednn_bn_init(onednn_bn *bn, int batch, bn_shape shape, float eps, float *src, float *dst,
                           float *diff_dst, float *diff_src, float *scale, float *shift,
                           float *diff_scale, float *diff_shift, float *mean, float *variance)
{
    DNNL(dnnl_engine_create(&bn->engine, dnnl_cpu, 0));
    DNNL(dnnl_stream_create(&bn->stream, bn->engine, dnnl_stream_default_flags));
    dnnl_dims_t dims = {batch, shape.channels, shape.size, shape.size};
    dnnl_memory_desc_t data_md, channel_md;
    dnnl_format_tag_t tag = simclr_conv2d_blocked_layout() == SIMCLR_NN_LAYOUT_BLOCKED8 ? dnnl_nChw8c : dnnl_nChw16c;
    DNNL(dnnl_memory_desc_init_by_tag(&data_md, 4, dims, dnnl_f32, tag));
    dnnl_dims_t channel_dims = {shape.channels};
    DNNL(dnnl_memory_desc_init_by_tag(&channel_md, 1, channel_dims, dnnl_f32, dnnl_x));
    unsigned flags = dnnl_use_scale | dnnl_use_shift | dnnl_fuse_norm_relu;
    dnnl_batch_normalization_desc_t forward_desc, backward_desc;
    DNNL(dnnl_batch_normalization_forward_desc_init(&forward_desc, dnnl_forward_training, &data_md, eps,
                                                    flags));
    dnnl_primitive_desc_t forward_pd, backward_pd;
    DNNL(dnnl_primitive_desc_create(&forward_pd, &forward_desc, NULL, bn->engine, NULL));
    DNNL(dnnl_batch_normalization_backward_desc_init(&backward_desc, dnnl_backward, &data_md, &data_md, eps,
                                                     flags));
    DNNL(dnnl_primitive_desc_create(&backward_pd, &backward_desc, NULL, bn->engine, forward_pd));
    DNNL(dnnl_primitive_create(&bn->forward, forward_pd));
    DNNL(dnnl_primitive_create(&bn->backward, backward_pd));
    const dnnl_memory_desc_t *workspace_md = dnnl_primitive_desc_query_md(forward_pd, dnnl_query_workspace_md, 0);
    bn->src = wrap(bn->engine, &data_md, src);
    bn->dst = wrap(bn->engine, &data_md, dst);
    bn->diff_dst = wrap(bn->engine, &data_md, diff_dst);
    bn->diff_src = wrap(bn->engine, &data_md, diff_src);
    bn->scale = wrap(bn->engine, &channel_md, scale);
    bn->shift = wrap(bn->engine, &channel_md, shift);
    bn->diff_scale = wrap(bn->engine, &channel_md, diff_scale);
    bn->diff_shift = wrap(bn->engine, &channel_md, diff_shift);
    bn->mean = wrap(bn->engine, &channel_md, mean);
    bn->variance = wrap(bn->engine, &channel_md, variance);
    DNNL(dnnl_memory_create(&bn->workspace, workspace_md, bn->engine, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_destroy(forward_pd);
    dnnl_primitive_desc_destroy(backward_pd);
}

static void onednn_bn_forward(onednn_bn *bn)
{
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, bn->src},           {DNNL_ARG_DST, bn->dst},
                              {DNNL_ARG_SCALE, bn->scale},       {DNNL_ARG_SHIFT, bn->shift},
                              {DNNL_ARG_MEAN, bn->mean},         {DNNL_ARG_VARIANCE, bn->variance},
                              {DNNL_ARG_WORKSPACE, bn->workspace}};
    DNNL(dnnl_primitive_execute(bn->forward, bn->stream, (int)(sizeof args / sizeof args[0]), args));
    DNNL(dnnl_stream_wait(bn->stream));
}

static void onednn_bn_backward(onednn_bn *bn)
{
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, bn->src},
                              {DNNL_ARG_DIFF_DST, bn->diff_dst},
                              {DNNL_ARG_MEAN, bn->mean},
                              {DNNL_ARG_VARIANCE, bn->variance},
                              {DNNL_ARG_SCALE, bn->scale},
                              {DNNL_ARG_SHIFT, bn->shift},
                              {DNNL_ARG_WORKSPACE, bn->workspace},
                              {DNNL_ARG_DIFF_SRC, bn->diff_src},
                              {DNNL_ARG_DIFF_SCALE, bn->diff_scale},
                              {DNNL_ARG_DIFF_SHIFT, bn->diff_shift}};
    DNNL(dnnl_primitive_execute(bn->backward, bn->stream, (int)(sizeof args / sizeof args[0]), args));
    DNNL(dnnl_stream_wait(bn->stream));
}

static void onednn_bn_free(onednn_bn *bn)
{
    dnnl_memory_t memories[] = {bn->src,        bn->dst,        bn->diff_dst, bn->diff_src,
                                bn->scale,      bn->shift,      bn->diff_scale, bn->diff_shift,
                                bn->mean,       bn->variance,   bn->workspace};
    for (size_t i = 0; i < sizeof memories / sizeof memories[0]; i++) dnnl_memory_destroy(memories[i]);
    dnnl_primitive_destroy(bn->forward);
    dnnl_primitive_destroy(bn->backward);
    dnnl_stream_destroy(bn->stream);
    dnnl_engine_destroy(bn->engine);
}

static void fail(const simclr_error *err)
{
    fprintf(stderr, "bench_batchnorm: %s\n", err->message);
    exit(1);
}

int main(int argc, char **argv)
{
    int batch = 512, steps = 5, warmup = 1;
    for (int i = 1; i < argc; i++) {
        int *target = strcmp(argv[i], "--batch") == 0   ? &batch
                      : strcmp(argv[i], "--steps") == 0 ? &steps
                      : strcmp(argv[i], "--warmup") == 0 ? &warmup
                                                         : NULL;
        if (!target || i + 1 == argc || atoi(argv[i + 1]) < (target == &warmup ? 0 : 1)) {
            fprintf(stderr, "usage: bench_batchnorm [--batch N] [--steps N] [--warmup N]\n");
            return 2;
        }
        *target = atoi(argv[++i]);
    }
    printf("BatchNorm2d + ReLU, fp32, %s (oneDNN ISA %s), ResNet-18 (CIFAR stem) pretraining shapes, batch %d, "
           "mean of %d runs (ms):\n\n", simclr_nn_layout_name(simclr_conv2d_blocked_layout()), simclr_conv2d_cpu_isa_name(),
           batch, steps);
    printf("| channels x size | simclr fwd | oneDNN fwd | simclr bwd | oneDNN bwd | simclr / oneDNN "
           "(fwd + bwd) | max difference (d_gamma, d_beta) | ReLU masks differing |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    double total_ours = 0.0, total_onednn = 0.0;
    for (size_t s = 0; s < sizeof RESNET18_CIFAR_SHAPES / sizeof RESNET18_CIFAR_SHAPES[0]; s++) {
        bn_shape shape = RESNET18_CIFAR_SHAPES[s];
        int c = shape.channels;
        size_t count = (size_t)batch * (size_t)c * (size_t)shape.size * (size_t)shape.size;
        float *in = alloc_floats(count), *out = alloc_floats(count), *d_out = alloc_floats(count),
              *d_out_copy = alloc_floats(count), *d_in = alloc_floats(count);
        float *dnn_out = alloc_floats(count), *dnn_d_in = alloc_floats(count);
        float *gamma = alloc_floats((size_t)c), *beta = alloc_floats((size_t)c);
        float *running_mean = alloc_floats((size_t)c), *running_var = alloc_floats((size_t)c);
        float *mean = alloc_floats((size_t)c), *invstd = alloc_floats((size_t)c);
        float *d_gamma = alloc_floats((size_t)c), *d_beta = alloc_floats((size_t)c);
        float *dnn_mean = alloc_floats((size_t)c), *dnn_var = alloc_floats((size_t)c);
        float *dnn_d_gamma = alloc_floats((size_t)c), *dnn_d_beta = alloc_floats((size_t)c);
        fill_uniform(in, count, 1u + (unsigned)s, -1.0f, 2.0f);
        fill_uniform(d_out, count, 7u + (unsigned)s, -1.0f, 1.0f);
        fill_uniform(gamma, (size_t)c, 3u, 0.5f, 1.5f);
        fill_uniform(beta, (size_t)c, 4u, -0.2f, 0.2f);
        simclr_batchnorm_config config = simclr_batchnorm_config_default(c, shape.size * shape.size);
        config.layout = simclr_conv2d_blocked_layout();
        config.activation = SIMCLR_NN_ACTIVATION_RELU;
        simclr_error err = {0};
        onednn_bn bn;
        onednn_bn_init(&bn, batch, shape, config.eps, in, dnn_out, d_out, dnn_d_in, gamma, beta, dnn_d_gamma,
                       dnn_d_beta, dnn_mean, dnn_var);
        double times[4] = {0.0, 0.0, 0.0, 0.0}; /* ours fwd, oneDNN fwd, ours bwd, oneDNN bwd */
        for (int r = 0; r < warmup + steps; r++) {
            int timed = r >= warmup;
            for (int i = 0; i < c; i++) running_mean[i] = 0.0f, running_var[i] = 1.0f;
            double t0 = now_seconds();
            if (simclr_batchnorm_forward_training(&config, out, in, gamma, beta, running_mean, running_var,
                                                  mean, invstd, batch, &err) != 0)
                fail(&err);
            double t1 = now_seconds();
            onednn_bn_forward(&bn);
            double t2 = now_seconds();
            memcpy(d_out_copy, d_out, count * sizeof(float)); /* ours masks it in place */
            memset(d_gamma, 0, (size_t)c * sizeof(float));
            memset(d_beta, 0, (size_t)c * sizeof(float));
            double t3 = now_seconds();
            if (simclr_batchnorm_backward(&config, d_in, d_gamma, d_beta, d_out_copy, out, in, gamma, mean,
                                          invstd, batch, &err) != 0)
                fail(&err);
            double t4 = now_seconds();
            onednn_bn_backward(&bn);
            double t5 = now_seconds();
            if (timed) {
                times[0] += (t1 - t0) / steps;
                times[1] += (t2 - t1) / steps;
                times[2] += (t4 - t3) / steps;
                times[3] += (t5 - t4) / steps;
            }
        }
        /* An output within rounding of 0 can pass the ReLU on one side and not on the other; its
         * input gradient then differs by a whole d_out. Those few are counted, not compared. */
        size_t flipped = 0;
        for (size_t i = 0; i < count; i++)
            if ((out[i] > 0.0f) != (dnn_out[i] > 0.0f)) {
                flipped++;
                d_in[i] = dnn_d_in[i] = 0.0f;
            }
        double difference = max_relative_difference(out, dnn_out, count);
        double d = max_relative_difference(d_in, dnn_d_in, count);
        if (d > difference) difference = d;
        /* d_gamma and d_beta are sums over batch x size^2 values (16.8 M at 64 x 32x32), which
         * oneDNN accumulates in float and simclr in double: their own, looser tolerance. */
        double sums = max_relative_difference(d_gamma, dnn_d_gamma, (size_t)c);
        d = max_relative_difference(d_beta, dnn_d_beta, (size_t)c);
        if (d > sums) sums = d;
        if (difference > AGREEMENT_TOLERANCE || sums > SUM_AGREEMENT_TOLERANCE || flipped > count / 10000) {
            fprintf(stderr, "bench_batchnorm: %d x %d: simclr and oneDNN differ by %.3g (relative; d_gamma, "
                    "d_beta %.3g; %zu ReLU masks differ)\n", c, shape.size, difference, sums, flipped);
            return 1;
        }
        total_ours += times[0] + times[2];
        total_onednn += times[1] + times[3];
        printf("| %d x %dx%d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1e (sums %.1e) | %zu of %zu |\n", c,
               shape.size, shape.size, 1e3 * times[0], 1e3 * times[1], 1e3 * times[2], 1e3 * times[3],
               (times[0] + times[2]) / (times[1] + times[3]), difference, sums, flipped, count);
        onednn_bn_free(&bn);
        float *buffers[] = {in,     out,    d_out,   d_out_copy, d_in,        dnn_out,    dnn_d_in,
                            gamma,  beta,   running_mean, running_var, mean, invstd,  d_gamma,
                            d_beta, dnn_mean, dnn_var, dnn_d_gamma, dnn_d_beta};
        for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) free(buffers[i]);
    }
    printf("\nAll four shapes, forward + backward: simclr %.1f ms, oneDNN %.1f ms (simclr / oneDNN %.2f; "
           "below 1: simclr's loops are faster)\n",
           1e3 * total_ours, 1e3 * total_onednn, total_ours / total_onednn);
    return 0;
}
