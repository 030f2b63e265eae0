#include "simclr/inference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/loss.h"
#include "simclr/train.h"
#include "train_internal.h"

int classifier_model_load(classifier_model *model, const char *path, int max_batch, error *err)
{
    memset(model, 0, sizeof *model);
    if (checkpoint_read_info(path, &model->info, err) != 0) return -1;
    /* The weights are fp32 whatever the training precision: a bf16-trained model runs in fp32
     * where oneDNN has no bf16 convolution. */
    if (model->info.model.precision == NN_PRECISION_BF16 && !conv2d_bf16_available())
        model->info.model.precision = NN_PRECISION_FP32;
    if (model_build_encoder(&model->encoder, &model->info.model, max_batch, err) != 0) return -1;
    if (model_build_classifier(&model->classifier, model->info.classifier, &model->info.model,
                               max_batch, err) != 0 ||
        checkpoint_load_part(path, &model->encoder, NULL, err) != 0 ||
        checkpoint_load_part(path, &model->classifier, NULL, err) != 0) {
        classifier_model_free(model);
        return -1;
    }
    return 0;
}

void classifier_model_free(classifier_model *model)
{
    network_free(&model->encoder);
    network_free(&model->classifier);
}

int classifier_model_logits(classifier_model *model, const float *inputs, int batch,
                            const float **logits, error *err)
{
    if (network_forward(&model->encoder, inputs, batch, err) != 0) return -1;
    if (network_forward(&model->classifier, network_output(&model->encoder), batch, err) != 0)
        return -1;
    *logits = network_output(&model->classifier);
    return 0;
}

void softmax_row(const float *logits, int classes, float *probabilities)
{
    float largest = logits[0];
    for (int c = 1; c < classes; c++)
        if (logits[c] > largest) largest = logits[c];
    double total = 0.0;
    for (int c = 0; c < classes; c++) total += exp((double)(logits[c] - largest));
    for (int c = 0; c < classes; c++)
        probabilities[c] = (float)(exp((double)(logits[c] - largest)) / total);
}

int train_evaluate_checkpoint(const dataset *ds, const char *checkpoint, size_t test_batch,
                              evaluation *result, error *err)
{
    classifier_model model;
    if (classifier_model_load(&model, checkpoint, (int)test_batch, err) != 0) return -1;
    int status = -1;
    uint8_t *pixels = NULL;
    float *inputs = NULL;
    const tensor_shape *input = &model.info.model.input;
    if (input->height != ds->height || input->width != ds->width ||
        input->channels != ds->channels) {
        error_input(err, "%s expects %dx%dx%d images but dataset %s has %dx%dx%d", checkpoint,
                    input->height, input->width, input->channels, ds->name, ds->height, ds->width,
                    ds->channels);
        goto done;
    }
    if (model.info.num_classes != ds->num_classes) {
        error_input(err, "%s has %d classes but dataset %s has %d", checkpoint,
                    model.info.num_classes, ds->name, ds->num_classes);
        goto done;
    }
    if (ds->splits[DATASET_SPLIT_TEST].count == 0) {
        error_input(err, "dataset %s has no test split to evaluate on", ds->name);
        goto done;
    }
    pixels = checked_calloc(test_batch, dataset_image_bytes(ds), "image batch", err);
    inputs = checked_calloc(test_batch * dataset_image_bytes(ds), sizeof(float), "input batch", err);
    if (!pixels || !inputs) goto done;
    status = evaluate_classifier(ds, &model.encoder, &model.classifier, test_batch, pixels, inputs,
                                 result, err);
done:
    free(pixels);
    free(inputs);
    classifier_model_free(&model);
    return status;
}
