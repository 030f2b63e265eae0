#include "simclr/inference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/loss.h"
#include "simclr/train.h"
#include "train_internal.h"

int simclr_classifier_model_load(simclr_classifier_model *model, const char *path, int max_batch, simclr_error *err)
{
    memset(model, 0, sizeof *model);
    if (simclr_checkpoint_read_info(path, &model->info, err) != 0) return -1;
    /* The weights are fp32 whatever the training precision: a bf16-trained model runs in fp32
     * where oneDNN has no bf16 convolution. */
    if (model->info.model.precision == SIMCLR_NN_PRECISION_BF16 && !simclr_conv2d_bf16_available())
        model->info.model.precision = SIMCLR_NN_PRECISION_FP32;
    if (simclr_model_build_encoder(&model->encoder, &model->info.model, max_batch, err) != 0) {
        simclr_classifier_model_free(model);
        return -1;
    }
    int classifier = model->info.classifier[0] != '\0'; /* issue 25: none without labeled images */
    if ((classifier && simclr_model_build_classifier(&model->classifier, model->info.classifier, &model->info.model,
                                                     max_batch, err) != 0) ||
        simclr_checkpoint_load_part(path, &model->encoder, NULL, err) != 0 ||
        (classifier && simclr_checkpoint_load_part(path, &model->classifier, NULL, err) != 0)) {
        simclr_classifier_model_free(model);
        return -1;
    }
    /* Predictions in inference mode: batchnorm layers use their running statistics. */
    simclr_network_set_training(&model->encoder, 0);
    if (classifier) simclr_network_set_training(&model->classifier, 0);
    return 0;
}

void simclr_classifier_model_free(simclr_classifier_model *model)
{
    simclr_network_free(&model->encoder);
    simclr_network_free(&model->classifier);
    simclr_checkpoint_info_free(&model->info);
}

int simclr_classifier_model_logits(simclr_classifier_model *model, const float *inputs, int batch,
                            const float **logits, simclr_error *err)
{
    if (simclr_network_forward(&model->encoder, inputs, batch, err) != 0) return -1;
    if (simclr_network_forward(&model->classifier, simclr_network_output(&model->encoder), batch, err) != 0)
        return -1;
    *logits = simclr_network_output(&model->classifier);
    return 0;
}

void simclr_softmax_row(const float *logits, int classes, float *probabilities)
{
    float largest = logits[0];
    for (int c = 1; c < classes; c++)
        if (logits[c] > largest) largest = logits[c];
    double total = 0.0;
    for (int c = 0; c < classes; c++) total += exp((double)(logits[c] - largest));
    for (int c = 0; c < classes; c++)
        probabilities[c] = (float)(exp((double)(logits[c] - largest)) / total);
}

int simclr_train_evaluate_checkpoint(const simclr_dataset *ds, const char *checkpoint, size_t test_batch,
                              simclr_evaluation *result, simclr_error *err)
{
    simclr_classifier_model model;
    if (simclr_classifier_model_load(&model, checkpoint, (int)test_batch, err) != 0) return -1;
    if (!model.info.classifier[0]) {
        simclr_classifier_model_free(&model);
        return simclr_error_input(err, "%s: pretrained without labeled images, it has no classifier to evaluate; "
                                       "evaluate its encoder with `simclr knn --model` or `simclr linear-eval "
                                       "--model` on a labeled dataset",
                                  checkpoint);
    }
    int status = -1;
    uint8_t *pixels = NULL;
    float *inputs = NULL;
    const simclr_tensor_shape *input = &model.info.model.input;
    if (input->height != ds->height || input->width != ds->width ||
        input->channels != ds->channels) {
        simclr_error_input(err, "%s expects %dx%dx%d images but dataset %s has %dx%dx%d", checkpoint,
                    input->height, input->width, input->channels, ds->name, ds->height, ds->width,
                    ds->channels);
        goto done;
    }
    if (model.info.num_classes != ds->num_classes) {
        simclr_error_input(err, "%s has %d classes but dataset %s has %d", checkpoint,
                    model.info.num_classes, ds->name, ds->num_classes);
        goto done;
    }
    if (ds->splits[SIMCLR_DATASET_SPLIT_TEST].count == 0) {
        simclr_error_input(err, "dataset %s has no test split to evaluate on", ds->name);
        goto done;
    }
    pixels = simclr_checked_calloc(test_batch, simclr_dataset_image_bytes(ds), "image batch", err);
    inputs = simclr_checked_calloc(test_batch * simclr_dataset_image_bytes(ds), sizeof(float), "input batch", err);
    if (!pixels || !inputs) goto done;
    status = simclr_evaluate_classifier(ds, &model.encoder, &model.classifier, test_batch, pixels, inputs,
                                 NULL, result, err);
done:
    free(pixels);
    free(inputs);
    simclr_classifier_model_free(&model);
    return status;
}
