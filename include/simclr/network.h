#ifndef SIMCLR_NETWORK_H
#define SIMCLR_NETWORK_H
/*
 * A network of Conv2D, Dense, BatchNorm, pooling and residual-add layers (conv, dense, batchnorm
 * and add with an optional fused ReLU), the building block of the encoder, the projection head
 * and the classifiers. A list of layers read top to bottom: each reads the previous layer's
 * output unless its spec says otherwise (`from`), and an add joins a skip connection
 * (`residual_from`), as darknet's [shortcut] does; a ResNet is one such list (model.h).
 *
 * Parameters live in one contiguous block (`params`), carved per layer into a kernel (Keras
 * layout: conv HWIO, dense (in, out)) and a bias; `grads` has the same layout, so an optimizer is
 * one flat loop and zeroing gradients is one memset. Activations are allocated once for
 * `max_batch` images and reused every step.
 *
 * Precision and layout: conv layers may compute in bf16 (simclr_layer_spec.precision); their
 * activations and activation gradients are then bf16, while parameters, their gradients, dense
 * layers and the network's input and output stay float32 NHWC. The feature-map layers at the
 * start of a network keep their activations in one of oneDNN's blocked layouts (nn.h,
 * simclr_nn_layout: nChw16c on AVX-512 CPUs, nChw8c on AVX2 and older, the block its jit kernels
 * take) when every one of them has a multiple of the block's output channels and a dense layer
 * or global pool follows them, because oneDNN's backward kernels are faster on it; the first of
 * them then reads its input as NCHW (fewer channels than the block) or blocked. Except for
 * bf16 on a CPU with AMX, where oneDNN's fast bf16 kernels take NHWC only
 * (simclr_conv2d_bf16_prefers_nhwc): those run NHWC. A layout whose convolutions would run on
 * oneDNN's reference kernels is passed over for the next (NHWC, then the other block);
 * reference_passes counts those left when none has jit kernels for every pass.
 * SIMCLR_CONV_LAYOUT=blocked|nhwc|nChw16c|nChw8c forces one (auto: the rule above). The network converts where formats meet (the
 * input of the first conv, the features entering the first dense layer, and the gradients going
 * back), into staging buffers allocated with the rest.
 *
 *     simclr_network encoder;
 *     simclr_network_init(&encoder, "encoder", &input_shape, specs, 5, 1050, &err);
 *     simclr_network_init_weights(&encoder, seed);
 *     simclr_network_forward(&encoder, images, batch, &err);   // output: simclr_network_output(&encoder)
 *     simclr_network_zero_grads(&encoder);
 *     simclr_network_backward(&encoder, d_output, NULL, &err); // batch: the last forward's
 *     simclr_network_free(&encoder);
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "simclr/error.h"
#include "simclr/nn.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Room for ResNet-50 (124 layers) with its projection shortcuts. */
#define SIMCLR_NETWORK_MAX_LAYERS 160

typedef enum simclr_layer_kind {
    SIMCLR_LAYER_KIND_CONV2D,
    SIMCLR_LAYER_KIND_DENSE,
    SIMCLR_LAYER_KIND_BATCHNORM,       /* BatchNorm2d on feature maps, BatchNorm1d on vectors */
    SIMCLR_LAYER_KIND_MAX_POOL,        /* kernel, stride, padding as a conv */
    SIMCLR_LAYER_KIND_GLOBAL_AVG_POOL, /* (H, W, C) -> (1, 1, C), always float32 */
    SIMCLR_LAYER_KIND_ADD,             /* the residual connection: input + layer `residual_from` */
} simclr_layer_kind;

/* How simclr_network_init_weights draws a conv or dense kernel. */
typedef enum simclr_layer_init {
    SIMCLR_LAYER_INIT_GLOROT = 0, /* Keras glorot_uniform kernel, zero bias: the seed's */
    SIMCLR_LAYER_INIT_TORCH = 1,  /* torchvision's ResNet: conv kaiming_normal (fan_out, relu),
                                     dense U(+-1/sqrt(fan_in)) for kernel and bias (nn.Linear) */
} simclr_layer_init;

typedef struct simclr_layer_spec {
    simclr_layer_kind kind;
    int units;          /* conv: output channels; dense: output features; batchnorm: channels
                           (0: those of its input) */
    int kernel, stride, padding; /* conv and max pool */
    simclr_nn_activation activation; /* fused after the layer (conv, dense, batchnorm, add) */
    simclr_nn_precision precision;   /* conv only (dense layers are fp32): of its activations;
                                        batchnorm, pools and adds take their input's */
    /* The graph, darknet's way: the layer reads the output of the layer `from` places back (0 or
     * -1: the previous one; the network's input for the first layer), and an add also that of
     * the layer `residual_from` (<= -2) places back. */
    int from, residual_from;
    int no_bias;        /* conv / dense without a bias (a batchnorm follows) */
    int zero_init;      /* batchnorm: gamma starts at 0 (ResNet's zero-init-residual) */
    simclr_layer_init init;
    char name[40];      /* tensor name ("layer1.0.conv1"); empty: Keras's "conv2d_1", "dense_1" */
} simclr_layer_spec;

/* The shape of one image's tensor: height x width x channels (a feature vector is 1 x 1 x n). */
typedef struct simclr_tensor_shape {
    int height, width, channels;
} simclr_tensor_shape;

#define SIMCLR_NETWORK_MAX_PENDING 4

typedef struct simclr_network_layer {
    simclr_layer_spec spec;
    char name[40];            /* spec.name, or "conv2d_1", "dense_1", ... as Keras numbers them */
    int input;                /* the layer whose output it reads (-1: the network's input) */
    int residual;             /* adds: the other operand's layer */
    simclr_tensor_shape in_shape, out_shape;
    size_t in_size, out_size; /* floats per image */
    size_t kernel_offset, kernel_count; /* into params/grads (batchnorm: gamma) */
    size_t bias_offset, bias_count;     /* (batchnorm: beta) */
    size_t state_offset;      /* batchnorm: running mean then running var, into state */
    size_t stats_offset;      /* batchnorm: the last batch's mean then invstd, into batch_stats */
    simclr_conv2d *conv;             /* conv layers: the oneDNN-backed kernel */
    simclr_batchnorm_config batchnorm;
    simclr_max_pool_config pool;
    size_t element_size;      /* bytes per output element: 4 (float), 2 (bf16) */
    simclr_nn_precision precision;   /* of its output */
    simclr_nn_layout in_layout;      /* of the input the layer reads (NHWC for dense layers) */
    simclr_nn_layout out_layout;     /* of output (NHWC for dense layers and the last layer) */
    int reads_staging;        /* the layer reads a converted copy of its input (see network) */
    /* Backward (network.c): the reader of an output with the lowest index "owns" its gradient
     * and writes it over the output; later readers leave theirs pending (an add in its own
     * output, any other layer in the network's side buffer), added in after the owner's. */
    int owns_input, owns_residual;
    int pending_count;
    int pending[SIMCLR_NETWORK_MAX_PENDING]; /* layers whose contributions to this output wait */
    /* A batchnorm whose only reader is the next layer keeps no output of its own: it writes into
     * the network's recompute buffer, and backward normalises its input again (bit for bit) just
     * before the reader's backward needs that output (network_plan.c). */
    int recomputed;
    void *output;             /* (max_batch, out_size) of float or uint16_t (bf16); the recompute
                                 buffer when recomputed */
    /* Inference mode keeps nothing for backward, so a layer writes into the buffer of an earlier
     * layer whose inference output has been read for the last time (network_plan.c): a process
     * that only runs inference touches a few buffers, not all. -1: its own output buffer. */
    int inference_home;
    void *inference_output;
} simclr_network_layer;

/* How a network is planned (issue 24: the caller's choice, no environment variable read below
 * the command line, which maps SIMCLR_CONV_LAYOUT and SIMCLR_KEEP_ACTIVATIONS here). Zeroed: the
 * defaults. */
typedef struct simclr_network_options {
    /* 1: the feature maps take `layout` (a blocked one that does not fit the network: NHWC);
     * 0: the planner picks the layout oneDNN has jit kernels for on this CPU. */
    int force_layout;
    simclr_nn_layout layout;
    /* 1: keep every layer's output (no batchnorm output recomputed in backward: the same results
     * bit for bit, more memory). */
    int keep_activations;
} simclr_network_options;

typedef struct simclr_network {
    char name[32];
    simclr_tensor_shape in_shape;
    int layer_count;
    simclr_network_layer layers[SIMCLR_NETWORK_MAX_LAYERS];
    int max_batch;
    int training;             /* 1 (default): batchnorm uses and updates batch statistics */
    size_t param_count;
    float *params;            /* owned, param_count */
    float *grads;             /* owned, param_count */
    size_t state_count;       /* batchnorm running statistics: not trained, but checkpointed */
    float *state;
    size_t stats_count;
    float *batch_stats;       /* batchnorm: the statistics of the last training forward */
    float *bias_zeros;        /* a zero bias and a discarded bias gradient for bias-free layers */
    float *bias_scratch;
    size_t widest_units;      /* the widest bias-free layer: the size of those two */
    void *side_gradient;      /* pending input gradients of a second reader (side_bytes) */
    size_t side_bytes;
    float *d_output;          /* (max_batch, output size): room for a caller's output gradient */
    uint64_t *relu_mask;      /* bits, backward's ReLU masks of one layer at a time */
    size_t mask_words;
    void *input_staging;      /* the input in the first conv's layout and precision, if they
                                 differ from float32 NHWC */
    float *dense_input;       /* float32 NHWC copy of bf16 or blocked features entering a dense
                                 layer */
    size_t input_staging_bytes, dense_input_count;
    void *recompute_buffer;   /* the outputs of the recomputed batchnorm layers, one at a time */
    size_t recompute_bytes;
    simclr_nn_layout feature_layout; /* of the leading run of feature-map layers (NHWC if none) */
    int layout_forced;        /* options.force_layout chose feature_layout */
    simclr_network_options options; /* what it was planned with (a clone is planned alike) */
    int reference_passes;     /* convolution passes oneDNN runs on its slow reference kernels with
                                 these layouts on this CPU (network_plan.c); 0 normally */
    /* When set and non-zero before a layer, forward and backward stop there and fail with
     * SIMCLR_ERROR_KIND_INTERRUPTED (issue 23: an interruption lands within a layer's time, not a
     * step's). The pass is then incomplete: its caller discards it. NULL (default): never. */
    const volatile sig_atomic_t *stop_requested;
    const float *last_input;  /* the input of the last forward, kept for backward */
    int last_batch;
} simclr_network;

/* Builds the network with the default options; fails naming the layer whose output would be
 * empty. Release with simclr_network_free. Parameters are zero until simclr_network_init_weights
 * or a checkpoint load. */
int simclr_network_init(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                 const simclr_layer_spec *specs, int layer_count, int max_batch, simclr_error *err);
/* The same with options (NULL: the defaults). */
int simclr_network_init_with(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                             const simclr_layer_spec *specs, int layer_count, int max_batch,
                             const simclr_network_options *options, simclr_error *err);

/* Sets options' layout choice from a SIMCLR_CONV_LAYOUT value: "auto" (or "" / NULL), "blocked"
 * (the CPU's blocked layout), "nhwc", "nChw16c" or "nChw8c"; another value is an input error
 * naming `what` (the variable or flag it came from). */
int simclr_network_options_parse_layout(simclr_network_options *options, const char *value, const char *what,
                                        simclr_error *err);
void simclr_network_free(simclr_network *net);

/* The bytes simclr_network_init would allocate (parameters, gradients, activations, gradient buffers)
 * and the parameter count (if not NULL), without allocating; fails like simclr_network_init on a shape that does not fit. */
int simclr_network_estimate_bytes(const simclr_tensor_shape *in_shape, const simclr_layer_spec *specs, int layer_count,
                           int max_batch, const simclr_network_options *options, size_t *bytes, size_t *param_count,
                           simclr_error *err);

/* Initialisation by each layer's spec.init (Keras glorot_uniform kernels and zero biases by
 * default), batchnorm gamma 1 (0 with zero_init), beta 0, running mean 0, running variance 1;
 * draws keyed by (seed, network name, layer). */
void simclr_network_init_weights(simclr_network *net, uint64_t seed);

/* Training mode (1, the default) or inference mode (0): batchnorm layers normalise by the
 * batch's statistics and update their running estimates, or by the running estimates. A
 * backward pass needs a training-mode forward. */
void simclr_network_set_training(simclr_network *net, int training);

/* Forward pass of batch images (batch <= max_batch); in is (batch, in_size), kept by pointer for
 * backward. */
int simclr_network_forward(simclr_network *net, const float *in, int batch, simclr_error *err);
const float *simclr_network_output(const simclr_network *net);
simclr_tensor_shape simclr_network_output_shape(const simclr_network *net);
size_t simclr_network_output_size(const simclr_network *net); /* floats per image */

void simclr_network_zero_grads(simclr_network *net);

/* The buffer layer `layer` reads in a forward pass whose input is `in`: `in` itself, the previous
 * layer's output, or the staging copy the forward pass converted (simclr_network_layer.reads_staging). */
const void *simclr_network_layer_input(const simclr_network *net, int layer, const float *in);

/* Backward pass of the last forward: d_output (batch, out_size) is the gradient w.r.t. the
 * network's output (not modified; it may be net->d_output); parameter gradients are ADDED to
 * grads; d_input (batch, in_size) receives the gradient w.r.t. the input unless NULL. The
 * activations (simclr_network_output included) are consumed: backward writes each layer's gradient
 * into that layer's output buffer, so a step needs no memory beyond its activations. */
int simclr_network_backward(simclr_network *net, const float *d_output, float *d_input, simclr_error *err);

/* Keras-like summary table (layer, output shape, parameters) to stream. */
void simclr_network_print_summary(const simclr_network *net, FILE *stream);

/* Issue 12: the parameter tensors of the block in order (each layer's kernel, then its bias, which
 * is flagged exclude_from_decay_and_adaptation; a normalisation layer flags its scale and shift
 * the same way), for the optimisers' per-tensor rules (optim.h). Returns the count written
 * (at most max). */
struct simclr_param_tensor;
int simclr_network_param_tensors(const simclr_network *net, struct simclr_param_tensor *tensors, int max);

/* An optimizer (optim.h) over the network's parameter tensors, with their per-tensor rules; free
 * with simclr_optimizer_free. */
struct simclr_optimizer;
struct simclr_optimizer_config;
int simclr_network_optimizer_init(struct simclr_optimizer *opt, const simclr_network *net,
                                  const struct simclr_optimizer_config *config, simclr_error *err);

/* The tensor name of a layer's kernel or bias: "<net>.<layer>.kernel" / ".bias" for the seed's
 * Keras-named layers, "<net>.<name>.weight" / ".bias" for named (torchvision-style) ones. */
void simclr_network_tensor_name(const simclr_network *net, int layer, int is_bias, char *out, size_t size);

/* ---- Every tensor of a network, for checkpoints and optimizers ---------------------------- */

typedef struct simclr_network_tensor {
    char name[96];        /* "<net>.<layer>.kernel" (seed) or "<net>.layer1.0.bn1.running_var" */
    float *values;        /* into params (trained) or state (batchnorm running statistics) */
    float *grads;         /* into grads; NULL for state */
    size_t count;
    int ndim;
    int64_t shape[4];     /* conv HWIO, dense (in, out), vectors (n) */
    int bias_or_norm;     /* a bias, or a batchnorm gamma/beta: LARS leaves them unadapted and
                             weight decay usually skips them */
} simclr_network_tensor;

/* The number of tensors, and tensor `index` of them in a fixed order (layer by layer: kernel or
 * gamma, bias or beta, running mean, running var). */
int simclr_network_tensor_count(const simclr_network *net);
void simclr_network_tensor_at(const simclr_network *net, int index, simclr_network_tensor *tensor);

SIMCLR_END_DECLS
#endif
