#ifndef SIMCLR_MODEL_H
#define SIMCLR_MODEL_H
/*
 * The models, built from a config. The seed's architecture (backbone "seed", the default):
 *   encoder:          depth x [Conv2D(width, kernel, stride, padding) + ReLU] -> Flatten
 *                     -> Dense(width) + ReLU
 *   projection head:  Dense(width) + ReLU -> Dense(width)
 *   classifier/probe: Dense(num_classes)
 * The input shape comes from the dataset. Padding "auto" keeps the seed's "valid" convolutions
 * when the input is large enough for `depth` of them, and uses padding 1 otherwise (28x28
 * Fashion-MNIST: 28 -> 14 -> 7 -> 4 -> 2).
 * With a ResNet backbone the encoder is torchvision's ResNet-18/34/50 up to its global average
 * pool (src/model/resnet.c), the head Dense(head_hidden) [+ BatchNorm1d] + ReLU ->
 * Dense(head_out), and the classifier/probe Dense(num_classes) on the 512 or 2048 features.
 */
#include "simclr/network.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_MODEL_PADDING_AUTO (-1)
/* The seed's --depth limit. */
#define SIMCLR_MODEL_MAX_DEPTH 15
/* Widths of the projection head (--head-hidden, --head-out). */
#define SIMCLR_MODEL_MAX_HEAD_UNITS 8192

/* The encoder: the seed's convolutions, or a torchvision ResNet (src/model/resnet.c). */
typedef enum simclr_model_backbone {
    SIMCLR_MODEL_BACKBONE_SEED = 0,
    SIMCLR_MODEL_BACKBONE_RESNET18 = 1,
    SIMCLR_MODEL_BACKBONE_RESNET34 = 2,
    SIMCLR_MODEL_BACKBONE_RESNET50 = 3,
} simclr_model_backbone;

/* A ResNet's first layers: ImageNet's 7x7/2 conv + 3x3/2 max pool, or the CIFAR variant's 3x3/1
 * conv without pooling (for 32x32 images); AUTO picks CIFAR below 64 pixels a side. */
typedef enum simclr_model_stem {
    SIMCLR_MODEL_STEM_AUTO = 0,
    SIMCLR_MODEL_STEM_IMAGENET = 1,
    SIMCLR_MODEL_STEM_CIFAR = 2,
} simclr_model_stem;

/* The smallest image side the ImageNet stem accepts: 32x downsampling leaves layer4 2x2. */
#define SIMCLR_MODEL_IMAGENET_STEM_MIN_SIDE 64
/* ... and the CIFAR stem (8x): layer4 2x2. */
#define SIMCLR_MODEL_CIFAR_STEM_MIN_SIDE 16

typedef struct simclr_model_config {
    simclr_tensor_shape input;
    int width;        /* 128: conv channels and dense units */
    int depth;        /* 4 conv layers */
    int kernel;       /* 3 */
    int stride;       /* 2 */
    int padding;      /* SIMCLR_MODEL_PADDING_AUTO, or explicit zero padding */
    int num_classes;  /* 10 */
    simclr_nn_precision precision; /* of the encoder's convolutions: fp32, or bf16 (fp32 weights) */
    /* Real backbones (issue 11); zeros are the seed's model. */
    simclr_model_backbone backbone;
    simclr_model_stem stem;
    int zero_init_residual; /* ResNet: the last batchnorm of each block starts at gamma 0 */
    int head_hidden;        /* projection head's hidden units (0: the feature width) */
    int head_out;           /* projection head's output units (0: the seed's width, 128) */
    int head_bn;            /* BatchNorm1d after the head's hidden layer (bias-free dense) */
    simclr_network_options network; /* how its networks are planned (layout, kept activations) */
} simclr_model_config;

/* "seed", "resnet18", ... and back (-1 for an unknown name). */
const char *simclr_model_backbone_name(simclr_model_backbone backbone);
int simclr_model_backbone_from_name(const char *name);
const char *simclr_model_stem_name(simclr_model_stem stem);

/* The stem a ResNet uses for this config: the explicit one, or what AUTO resolves to. */
simclr_model_stem simclr_model_resolved_stem(const simclr_model_config *config);

/* Width of the encoder's output: the seed's `width`, 512 (ResNet-18/34) or 2048 (ResNet-50). */
int simclr_model_feature_width(const simclr_model_config *config);

/* Width of the projection head's output (the contrastive loss's vectors): head_out, or 128. */
int simclr_model_projection_width(const simclr_model_config *config);

/* Refuses (SIMCLR_ERROR_KIND_INPUT, naming the flag) a config that cannot be built, before any
 * allocation: an image too small for the stem, head widths out of range, an unknown backbone. */
int simclr_model_check(const simclr_model_config *config, simclr_error *err);

/* The ResNet encoder's layers (src/model/resnet.c), torchvision's names; returns the count. */
int simclr_model_resnet_specs(const simclr_model_config *config, simclr_layer_spec *specs);

/* The seed's defaults for an input shape and class count (padding auto). */
simclr_model_config simclr_model_config_default(simclr_tensor_shape input, int num_classes);

/* The padding actually used: the explicit one, or what "auto" resolves to. */
int simclr_model_resolved_padding(const simclr_model_config *config);

/* Layer specs of each part; return the layer count (specs has room for SIMCLR_NETWORK_MAX_LAYERS). */
int simclr_model_encoder_specs(const simclr_model_config *config, simclr_layer_spec *specs);
int simclr_model_projection_head_specs(const simclr_model_config *config, simclr_layer_spec *specs);
int simclr_model_classifier_specs(const simclr_model_config *config, simclr_layer_spec *specs);

/* Builds each part for batches of up to max_batch images. */
int simclr_model_build_encoder(simclr_network *net, const simclr_model_config *config, int max_batch, simclr_error *err);
int simclr_model_build_projection_head(simclr_network *net, const simclr_model_config *config, int max_batch,
                                simclr_error *err);
/* name: "classifier" (baseline/finetune head) or "linear_probe". */
int simclr_model_build_classifier(simclr_network *net, const char *name, const simclr_model_config *config,
                           int max_batch, simclr_error *err);

/* Floating-point operations (2 per multiply-add) of one image's forward pass through each part,
 * from the layer shapes: what the training commands' estimates are built from. */
void simclr_model_forward_flops(const simclr_model_config *config, double *encoder, double *head,
                                double *classifier);

/* Bytes the parts need (networks built for these batch sizes plus their Adam moments); a batch
 * of 0 leaves that part out. */
int simclr_model_estimate_bytes(const simclr_model_config *config, int encoder_batch, int head_batch,
                         int classifier_batch, size_t *bytes, simclr_error *err);

/* The layout the encoder's feature maps are planned in on this CPU (network.h: nChw16c with
 * AVX-512, nChw8c with AVX2, NHWC for bf16 on AMX or where the blocked layouts have no jit
 * kernels, or as SIMCLR_CONV_LAYOUT forces), without allocating: what a run records.
 * Fails like simclr_model_build_encoder (and on a bad SIMCLR_CONV_LAYOUT). */
int simclr_model_feature_layout(const simclr_model_config *config, simclr_nn_layout *layout, simclr_error *err);

/* How the encoder's convolutions will run on this CPU at this batch size (network.h). */
typedef struct simclr_encoder_kernels {
    simclr_nn_layout feature_layout;
    int layout_forced;      /* SIMCLR_CONV_LAYOUT chose it */
    int conv_passes;        /* the convolution passes of a training step (forward, backward-data
                               but for the first conv, backward-weights) */
    int reference_passes;   /* of which oneDNN has only its reference kernels (hundreds of
                               times slower): 0 unless no layout has jit kernels here, or a
                               forced one lacks them */
} simclr_encoder_kernels;
int simclr_model_encoder_kernels(const simclr_model_config *config, int batch, simclr_encoder_kernels *kernels,
                                 simclr_error *err);

SIMCLR_END_DECLS
#endif
