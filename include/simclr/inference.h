#ifndef SIMCLR_INFERENCE_H
#define SIMCLR_INFERENCE_H
/*
 * A saved classifier (encoder + classifier, or encoder + linear probe) loaded for inference:
 * eval and predict.
 */
#include "simclr/checkpoint.h"
#include "simclr/network.h"

typedef struct classifier_model {
    checkpoint_info info;
    network encoder;
    network classifier;
} classifier_model;

/* Loads the encoder and the checkpoint's classifier ("classifier" or "linear_probe") for batches
 * of up to max_batch images, computing in the precision it was trained with (a bf16 model runs
 * in fp32 on a CPU without bf16 convolutions; info.model.precision says which). Release with
 * classifier_model_free. */
int classifier_model_load(classifier_model *model, const char *path, int max_batch, error *err);
void classifier_model_free(classifier_model *model);

/* inputs (batch, H, W, C) floats in [0, 1] -> logits (batch, num_classes), valid until the next
 * call. */
int classifier_model_logits(classifier_model *model, const float *inputs, int batch,
                            const float **logits, error *err);

/* Softmax of one row of logits into probabilities. */
void softmax_row(const float *logits, int classes, float *probabilities);

#endif
