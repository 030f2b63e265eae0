#ifndef SIMCLR_MODEL_H
#define SIMCLR_MODEL_H
/*
 * The seed's architecture, built from a config:
 *   encoder:          depth x [Conv2D(width, kernel, stride, padding) + ReLU] -> Flatten
 *                     -> Dense(width) + ReLU
 *   projection head:  Dense(width) + ReLU -> Dense(width)
 *   classifier/probe: Dense(num_classes)
 * The input shape comes from the dataset. Padding "auto" keeps the seed's "valid" convolutions
 * when the input is large enough for `depth` of them, and uses padding 1 otherwise (28x28
 * Fashion-MNIST: 28 -> 14 -> 7 -> 4 -> 2).
 */
#include "simclr/network.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_MODEL_PADDING_AUTO (-1)

typedef struct simclr_model_config {
    simclr_tensor_shape input;
    int width;        /* 128: conv channels and dense units */
    int depth;        /* 4 conv layers */
    int kernel;       /* 3 */
    int stride;       /* 2 */
    int padding;      /* SIMCLR_MODEL_PADDING_AUTO, or explicit zero padding */
    int num_classes;  /* 10 */
    simclr_nn_precision precision; /* of the encoder's convolutions: fp32, or bf16 (fp32 weights) */
} simclr_model_config;

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

SIMCLR_END_DECLS
#endif
