#ifndef SIMCLR_INFERENCE_H
#define SIMCLR_INFERENCE_H
/*
 * A saved classifier (encoder + classifier, or encoder + linear probe) loaded for inference:
 * eval and predict.
 */
#include "simclr/checkpoint.h"
#include "simclr/network.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_classifier_model {
    simclr_checkpoint_info info;
    simclr_network encoder;
    simclr_network classifier;
} simclr_classifier_model;

/* Loads the encoder and the checkpoint's classifier ("classifier" or "linear_probe") for batches
 * of up to max_batch images, computing in the precision it was trained with (a bf16 model runs
 * in fp32 on a CPU without bf16 convolutions; info.model.precision says which). Release with
 * simclr_classifier_model_free. */
int simclr_classifier_model_load(simclr_classifier_model *model, const char *path, int max_batch, simclr_error *err);
void simclr_classifier_model_free(simclr_classifier_model *model);

/* inputs (batch, H, W, C) floats in [0, 1] -> logits (batch, num_classes), valid until the next
 * call. */
int simclr_classifier_model_logits(simclr_classifier_model *model, const float *inputs, int batch,
                            const float **logits, simclr_error *err);

/* Softmax of one row of logits into probabilities. */
void simclr_softmax_row(const float *logits, int classes, float *probabilities);

SIMCLR_END_DECLS
#endif
