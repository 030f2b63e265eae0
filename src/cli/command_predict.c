/* simclr predict: class name and probability for PNG/JPEG files. */
#include <stdio.h>
#include <stdlib.h>

#include "cli_common.h"
#include "commands.h"
#include "simclr/augment.h"
#include "simclr/image_io.h"
#include "simclr/inference.h"

static int predict_one(simclr_classifier_model *model, const char *path, int top, float *inputs,
                       simclr_error *err)
{
    const simclr_tensor_shape *input = &model->info.model.input;
    uint8_t *decoded = NULL;
    int height = 0, width = 0;
    if (simclr_image_decode_file(path, input->channels, &decoded, &height, &width, err) != 0) return -1;
    size_t image_bytes = (size_t)input->height * (size_t)input->width * (size_t)input->channels;
    uint8_t *pixels = decoded;
    uint8_t *resized = NULL;
    if (height != input->height || width != input->width) {
        resized = malloc(image_bytes);
        if (!resized) {
            free(decoded);
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        }
        simclr_image_resize_bilinear(decoded, height, width, input->channels, resized, input->height,
                              input->width);
        pixels = resized;
    }
    simclr_augment_rescale(pixels, image_bytes, inputs);
    free(decoded);
    free(resized);
    const float *logits = NULL;
    if (simclr_classifier_model_logits(model, inputs, 1, &logits, err) != 0) return -1;
    int classes = model->info.num_classes;
    float probabilities[100];
    simclr_softmax_row(logits, classes, probabilities);
    printf("%s", path);
    for (int rank = 0; rank < top && rank < classes; rank++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            if (probabilities[c] < 0) continue;
            if (best < 0 || probabilities[c] > probabilities[best]) best = c;
        }
        printf("%s%s %.4f", rank == 0 ? ": " : ", ", model->info.class_names[best],
               (double)probabilities[best]);
        probabilities[best] = -1.0f;
    }
    printf("\n");
    return 0;
}

int command_predict(int argc, char **argv)
{
    const char *model_path = NULL;
    long long top = 1;
    option_spec specs[4];
    size_t spec_count = 0;
    specs[spec_count++] = (option_spec){"model", OPTION_TYPE_STRING, &model_path, 0, 0, NULL,
                                        "CHECKPOINT",
                                        "classifier checkpoint (baseline, finetune or pretrain's "
                                        "probe) (required)",
                                        NULL};
    specs[spec_count++] = (option_spec){"top", OPTION_TYPE_INT, &top, 1, 100, NULL, "K",
                                        "print the K most probable classes", "1"};
    const char **images = calloc((size_t)argc + 1, sizeof *images);
    option_parser parser = {.command = "predict",
                            .usage = "simclr predict --model CHECKPOINT IMAGE...",
                            .summary = "Prints the most probable class and its probability for "
                                       "each PNG or JPEG image (resized to the model's input).",
                            .specs = specs,
                            .spec_count = spec_count,
                            .allow_positional = 1,
                            .positional = images};
    simclr_error err;
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) {
        free(images);
        return parsed > 0 ? 0 : cli_report_error(&err);
    }
    if (!model_path || parser.positional_count == 0) {
        free(images);
        simclr_error_input(&err, "simclr predict: expected --model CHECKPOINT and at least one IMAGE");
        return cli_report_error(&err);
    }
    simclr_classifier_model model;
    if (simclr_classifier_model_load(&model, model_path, 1, &err) != 0) {
        free(images);
        return cli_report_error(&err);
    }
    const simclr_tensor_shape *input = &model.info.model.input;
    float *inputs = malloc((size_t)input->height * (size_t)input->width * (size_t)input->channels *
                           sizeof(float));
    int status = 0;
    for (int i = 0; inputs && i < parser.positional_count; i++) {
        if (predict_one(&model, images[i], (int)top, inputs, &err) != 0) {
            status = cli_report_error(&err);
            break;
        }
    }
    free(inputs);
    free(images);
    simclr_classifier_model_free(&model);
    return status;
}
