#ifndef SIMCLR_NN_H
#define SIMCLR_NN_H
/*
 * Layers as forward/backward pairs of plain functions (llm.c style). Tensors are float32:
 *   images and feature maps NHWC (batch, height, width, channels), as Keras stores them, so
 *   Flatten is a no-op with Keras's (h, w, c) order;
 *   conv kernels HWIO (kh, kw, in, out) and dense kernels (in, out), Keras's layouts.
 * Backward passes ADD into parameter gradients (zeroing all gradients is one memset of the
 * gradient block) and OVERWRITE activation gradients. A fused ReLU is undone in backward from the
 * layer's own output: d_out is masked in place where out <= 0 (pass out = NULL when d_out is
 * already masked). Parameter gradients are computed before d_in is written, so d_in may be the
 * input's own buffer: training keeps no separate activation-gradient buffers.
 *
 * Convolutions run on oneDNN (primitives created once per batch size and cached); dense layers
 * on BLAS sgemm.
 *
 * Precision: a convolution can compute in bf16 (SIMCLR_NN_PRECISION_BF16). Its input, output and their
 * gradients are then bf16 tensors (uint16_t, the upper half of a float32), its kernel and bias
 * stay float32 in the caller's hands (master weights) and are rounded to bf16 by the layer, and
 * its kernel and bias gradients are accumulated in float32. Dense layers are always float32.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/rng.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef enum simclr_nn_activation {
    SIMCLR_NN_ACTIVATION_NONE = 0,
    SIMCLR_NN_ACTIVATION_RELU = 1,
} simclr_nn_activation;

typedef enum simclr_nn_precision {
    SIMCLR_NN_PRECISION_FP32 = 0,
    SIMCLR_NN_PRECISION_BF16 = 1,
} simclr_nn_precision;

/* "fp32" / "bf16". */
const char *simclr_nn_precision_name(simclr_nn_precision precision);
/* Bytes per activation element: 4 (fp32) or 2 (bf16). */
size_t simclr_nn_precision_element_size(simclr_nn_precision precision);

/* float32 -> bf16 with round-to-nearest-even (NaN stays NaN), and back (exact). */
void simclr_nn_f32_to_bf16(uint16_t *out, const float *in, size_t count);
void simclr_nn_bf16_to_f32(float *out, const uint16_t *in, size_t count);

/* ---- Activation layouts ------------------------------------------------------------------ */

/* How a batch of images' activations lies in memory. Everything outside the conv layers is NHWC
 * (Keras's channels-last); between conv layers the network may keep oneDNN's own layouts, whose
 * backward kernels are faster (docs/PERFORMANCE.md):
 *   NHWC       (N, H, W, C)
 *   NCHW       (N, C, H, W): the input of a first conv with few channels (oneDNN's "first
 *              convolution" kernels read it, and write a blocked layout)
 *   BLOCKED16  (N, C/16, H, W, 16), oneDNN's nChw16c: what its AVX-512 kernels take
 *   BLOCKED8   (N, C/8, H, W, 8), oneDNN's nChw8c: what its AVX2, AVX and SSE4.1 kernels take
 * A blocked layout needs C % block == 0, so it holds exactly N*H*W*C elements like the others
 * and element-wise code (ReLU masks) is unchanged. */
typedef enum simclr_nn_layout {
    SIMCLR_NN_LAYOUT_NHWC = 0,
    SIMCLR_NN_LAYOUT_NCHW = 1,
    SIMCLR_NN_LAYOUT_BLOCKED16 = 2,
    SIMCLR_NN_LAYOUT_BLOCKED8 = 3,
} simclr_nn_layout;

/* Channels per block of a blocked layout (16 or 8); 0 for NHWC and NCHW. */
int simclr_nn_layout_block(simclr_nn_layout layout);

/* "nhwc" / "nchw" / "nChw16c" / "nChw8c". */
const char *simclr_nn_layout_name(simclr_nn_layout layout);

/* Converts a float32 NHWC batch into `layout` and `precision` (bf16 rounds to nearest even),
 * and back; (batch, height, width, channels) are the tensor's logical sizes. */
void simclr_nn_activations_from_nhwc(void *out, simclr_nn_layout layout, simclr_nn_precision precision, const float *in,
                              int batch, int height, int width, int channels);
void simclr_nn_activations_to_nhwc(float *out, const void *in, simclr_nn_layout layout, simclr_nn_precision precision,
                            int batch, int height, int width, int channels);

/* ---- Conv2D ------------------------------------------------------------------------------- */

typedef struct simclr_conv2d_config {
    int in_height, in_width, in_channels;
    int out_channels;
    int kernel;      /* square kernel size, 3 in the seed */
    int stride;      /* 2 in the seed */
    int padding;     /* zero padding on each side; 0 = Keras "valid" */
    simclr_nn_activation activation;
    simclr_nn_precision precision; /* of in, out and their gradients (fp32 by default) */
    /* Layouts of in / d_in and out / d_out (NHWC by default). Accepted pairs: NHWC -> NHWC;
     * BLOCKEDb -> BLOCKEDb (both channel counts multiples of b, 16 or 8); NCHW -> BLOCKEDb for
     * an input of fewer than b channels, where the input gradient (never needed by a first layer
     * in training) runs oneDNN's slow reference kernel. */
    simclr_nn_layout in_layout, out_layout;
} simclr_conv2d_config;

/* Output size along one axis: (in + 2*padding - kernel) / stride + 1; <= 0 means the input is
 * too small. */
int simclr_conv2d_output_size(int in, int kernel, int stride, int padding);

typedef struct simclr_conv2d simclr_conv2d; /* opaque: oneDNN engine, stream and primitives per batch size */

/* Creates a convolution for the given config; fails (SIMCLR_ERROR_KIND_INPUT) when the output would be
 * empty. The caller owns *layer and frees it with simclr_conv2d_free. A bf16 layer fails on its first
 * call when oneDNN has no bf16 kernel for this CPU (it needs AVX-512). */
int simclr_conv2d_create(simclr_conv2d **layer, const simclr_conv2d_config *config, simclr_error *err);
void simclr_conv2d_free(simclr_conv2d *layer);
/* 1 when oneDNN has bf16 convolution kernels for this CPU (AVX-512), else 0. */
int simclr_conv2d_bf16_available(void);
/* 1 when oneDNN's bf16 convolutions here are AMX ones, which take NHWC activations only (on
 * nChw16c it falls back to its avx512_core_bf16 kernels, 2-3x slower: docs/PERFORMANCE.md), else 0.
 * ONEDNN_MAX_CPU_ISA caps it like every oneDNN dispatch. */
int simclr_conv2d_bf16_prefers_nhwc(void);
/* The blocked layout oneDNN's jit kernels take on this CPU (its effective ISA, which
 * ONEDNN_MAX_CPU_ISA may cap): BLOCKED16 with AVX-512, BLOCKED8 with AVX2, AVX or SSE4.1. */
simclr_nn_layout simclr_conv2d_blocked_layout(void);
/* The passes of a convolution, as bits. */
#define SIMCLR_CONV2D_PASS_FORWARD 1u
#define SIMCLR_CONV2D_PASS_BACKWARD_DATA 2u
#define SIMCLR_CONV2D_PASS_BACKWARD_WEIGHTS 4u
/* *passes = the passes of a layer with this config that oneDNN would run on its reference
 * implementation at this batch size on this CPU (hundreds of times slower than its jit kernels:
 * it does so when none of them takes the layouts); 0 when every pass has a jit kernel. Fails
 * like simclr_conv2d_create, or when oneDNN has no kernel at all (bf16 without AVX-512). */
int simclr_conv2d_reference_passes(const simclr_conv2d_config *config, int batch, unsigned *passes,
                                   simclr_error *err);
/* oneDNN's effective CPU ISA, as its enum names it ("avx512_core_bf16", "avx512_core_amx", ...):
 * which kernels run, recorded with every run. */
const char *simclr_conv2d_cpu_isa_name(void);
int simclr_conv2d_out_height(const simclr_conv2d *layer);
int simclr_conv2d_out_width(const simclr_conv2d *layer);

/* out (N, OH, OW, Cout) = act(conv(in (N, H, W, Cin), weight (K, K, Cin, Cout)) + bias (Cout)).
 * in and out are float or uint16_t (bf16) by the layer's precision, laid out as its config says;
 * weight and bias float. */
int simclr_conv2d_forward(simclr_conv2d *layer, void *out, const void *in, const float *weight,
                   const float *bias, int batch, simclr_error *err);

/* Given d_out (N, OH, OW, Cout), the gradient w.r.t. this layer's (activated) output, which is
 * masked in place by the activation: d_weight and d_bias += their gradients; d_in (N, H, W, Cin)
 * = gradient w.r.t. the input, unless d_in is NULL (first layer). */
int simclr_conv2d_backward(simclr_conv2d *layer, void *d_in, float *d_weight, float *d_bias, void *d_out,
                    const void *out, const void *in, const float *weight, int batch, simclr_error *err);

/* ---- Dense -------------------------------------------------------------------------------- */

/* out (N, O) = act(in (N, I) @ weight (I, O) + bias (O)). */
void simclr_dense_forward(float *out, const float *in, const float *weight, const float *bias, int batch,
                   int in_features, int out_features, simclr_nn_activation activation);

/* d_out (N, O) is masked in place by the activation; d_weight (I, O) and d_bias (O) += their
 * gradients; d_in (N, I) = gradient w.r.t. in, unless NULL. */
void simclr_dense_backward(float *d_in, float *d_weight, float *d_bias, float *d_out, const float *out,
                    const float *in, const float *weight, int batch, int in_features,
                    int out_features, simclr_nn_activation activation);

/* ---- BatchNorm ---------------------------------------------------------------------------- */

/* BatchNorm2d / BatchNorm1d with PyTorch's semantics. Training: each channel is normalised by the
 * batch's own mean and biased variance over (N, H, W), y = gamma * (x - mean) / sqrt(var + eps)
 * + beta, and the running estimates move by running = (1 - momentum) * running + momentum *
 * batch, with the UNBIASED variance (n / (n - 1)) for running_var. Inference: the running
 * estimates normalise. BatchNorm1d is the case spatial = 1 on an (N, C) tensor.
 *
 * in and out (and d_in, d_out) are float or uint16_t (bf16) by `precision`, laid out as
 * `layout` says (NHWC, NCHW, or a blocked layout with channels a multiple of its block); gamma, beta, the running and
 * the batch statistics are float32 (channels each); all arithmetic is float32 with per-channel
 * sums in double. A fused ReLU follows the normalisation. */
typedef struct simclr_batchnorm_config {
    int channels;
    int spatial;      /* height * width of one image's feature map; 1 for BatchNorm1d */
    float momentum;   /* 0.1, PyTorch's default */
    float eps;        /* 1e-5 */
    simclr_nn_activation activation;
    simclr_nn_precision precision;
    simclr_nn_layout layout;
    /* Issue 14: with a communicator of several ranks (distributed.h), the statistics are those of
     * the global batch: the per-channel sums are allreduced in forward and backward. NULL: this
     * process's batch (the default). */
    struct simclr_communicator *communicator;
} simclr_batchnorm_config;

#define SIMCLR_BATCHNORM_MOMENTUM 0.1f
#define SIMCLR_BATCHNORM_EPS 1e-5f

/* PyTorch's defaults (momentum 0.1, eps 1e-5, no activation, fp32, NHWC) for a shape. */
simclr_batchnorm_config simclr_batchnorm_config_default(int channels, int spatial);

/* Fails (SIMCLR_ERROR_KIND_INPUT) on a config the kernels cannot run: channels or spatial < 1,
 * a blocked layout with channels not a multiple of its block, a non-positive eps or a momentum outside [0, 1]. */
int simclr_batchnorm_check(const simclr_batchnorm_config *config, simclr_error *err);

/* Training-mode forward of batch images: out = act(gamma * (in - mean) * invstd + beta) with
 * the batch's statistics, which are returned in batch_mean and batch_invstd (channels each,
 * 1 / sqrt(var + eps)) for backward. running_mean / running_var are updated unless NULL. Fails
 * when batch * spatial == 1 (one value per channel has no variance, as in PyTorch) or when the
 * per-thread scratch cannot be allocated. */
int simclr_batchnorm_forward_training(const simclr_batchnorm_config *config, void *out, const void *in,
                                      const float *gamma, const float *beta, float *running_mean,
                                      float *running_var, float *batch_mean, float *batch_invstd,
                                      int batch, simclr_error *err);

/* The output of the last training-mode forward, again, from the same in, gamma, beta and the
 * batch_mean / batch_invstd it returned: bit for bit what it wrote (both normalise with the
 * scale and shift of the float statistics). A network recomputes a batchnorm's output in backward
 * instead of keeping it (network.h). Fails only when its per-channel scratch cannot be
 * allocated. */
int simclr_batchnorm_recompute_output(const simclr_batchnorm_config *config, void *out, const void *in,
                                      const float *gamma, const float *beta, const float *batch_mean,
                                      const float *batch_invstd, int batch, simclr_error *err);

/* Inference-mode forward: out = act(gamma * (in - running_mean) / sqrt(running_var + eps) +
 * beta). out may be in. Fails only when its per-channel scratch cannot be allocated. */
int simclr_batchnorm_forward_inference(const simclr_batchnorm_config *config, void *out, const void *in,
                                       const float *gamma, const float *beta,
                                       const float *running_mean, const float *running_var,
                                       int batch, simclr_error *err);

/* Backward of a training-mode forward: d_out (the gradient w.r.t. the activated output) is
 * masked in place by the ReLU from out (pass out = NULL when it is already masked or there is
 * no activation); d_gamma and d_beta += their gradients; d_in = the gradient w.r.t. in, through
 * the batch statistics, unless NULL. d_in may be in or d_out (element-wise last pass). */
int simclr_batchnorm_backward(const simclr_batchnorm_config *config, void *d_in, float *d_gamma,
                              float *d_beta, void *d_out, const void *out, const void *in,
                              const float *gamma, const float *batch_mean,
                              const float *batch_invstd, int batch, simclr_error *err);

/* ---- Pooling and the residual add ---------------------------------------------------------- */

/* Max pooling with PyTorch's semantics (windows over -inf padding, the first maximum in window
 * order wins the gradient). in (N, H, W, C) and out (N, OH, OW, C), OH by
 * simclr_conv2d_output_size, are float or bf16 by `precision`, in `layout` (NHWC, NCHW or
 * a blocked layout). */
typedef struct simclr_max_pool_config {
    int in_height, in_width, channels;
    int kernel, stride, padding; /* 3, 2, 1 in ResNet's ImageNet stem */
    simclr_nn_precision precision;
    simclr_nn_layout layout;
} simclr_max_pool_config;

/* Fails (SIMCLR_ERROR_KIND_INPUT) when the output would be empty, padding > kernel / 2 (PyTorch's
 * rule) or a blocked layout's block does not divide the channels. */
int simclr_max_pool_check(const simclr_max_pool_config *config, simclr_error *err);
void simclr_max_pool_forward(const simclr_max_pool_config *config, void *out, const void *in, int batch);
/* d_in = the gradient w.r.t. in, given d_out; d_in may be in (the maxima are found image by image
 * before that image's gradient is written). Fails only on allocation of the per-thread scratch. */
int simclr_max_pool_backward(const simclr_max_pool_config *config, void *d_in, const void *d_out,
                             const void *in, int batch, simclr_error *err);

/* Global average pooling: out (N, C) float32 = the mean of in (N, H, W, C) over H x W, in being
 * float or bf16 in `layout`; backward writes d_in = d_out / (H * W) at every position. */
void simclr_global_avg_pool_forward(float *out, const void *in, simclr_nn_layout layout,
                                    simclr_nn_precision precision, int batch, int height, int width,
                                    int channels);
void simclr_global_avg_pool_backward(void *d_in, const float *d_out, simclr_nn_layout layout,
                                     simclr_nn_precision precision, int batch, int height, int width,
                                     int channels);

/* The residual connection: out = act(a + b) element-wise over count elements of float or bf16
 * (any layout, the same for all three); out may be a or b. */
void simclr_add_forward(void *out, const void *a, const void *b, size_t count,
                        simclr_nn_precision precision, simclr_nn_activation activation);

/* ---- Activations and initialisation ------------------------------------------------------- */

void simclr_relu_forward(float *out, const float *in, size_t count);
/* d_x = d_y where y > 0, else 0 (in place allowed: d_x == d_y). */
void simclr_relu_backward(float *d_x, const float *d_y, const float *y, size_t count);

/* Keras glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)). */
void simclr_nn_glorot_uniform(float *weights, size_t count, int fan_in, int fan_out, simclr_rng_stream *stream);

SIMCLR_END_DECLS
#endif
