/* simclr predict: class name and probability for PNG/JPEG files. */
#include <stdio.h>
#include <stdlib.h>

#include "cli_common.h"
#include "commands.h"
#include "simclr/trained_model.h"

/* Prints path, then the `top` most probable classes with their probabilities. */
static int predict_one(simclr_trained_model *model, const char *path, int top, float *probabilities,
                       simclr_error *err)
{
    if (simclr_trained_model_classify_files(model, &path, 1, NULL, probabilities, err) != 0)
        return -1;
    int classes = simclr_trained_model_class_count(model);
    printf("%s", path);
    for (int rank = 0; rank < top && rank < classes; rank++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            if (probabilities[c] < 0) continue;
            if (best < 0 || probabilities[c] > probabilities[best]) best = c;
        }
        printf("%s%s %.4f", rank == 0 ? ": " : ", ", simclr_trained_model_class_name(model, best),
               (double)probabilities[best]);
        probabilities[best] = -1.0f;
    }
    printf("\n");
    return 0;
}

size_t command_predict_specs(const char **model_path, long long *top, option_spec *specs)
{
    size_t count = 0;
    specs[count++] = (option_spec){"model", OPTION_TYPE_STRING, model_path, 0, 0, NULL,
                                   "CHECKPOINT",
                                   "classifier checkpoint (baseline, finetune or pretrain's "
                                   "probe) (required)",
                                   NULL};
    specs[count++] = (option_spec){"top", OPTION_TYPE_INT, top, 1, 100, NULL, "K",
                                   "print the K most probable classes", "1"};
    return count;
}

int command_predict(int argc, char **argv)
{
    const char *model_path = NULL;
    long long top = 1;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = command_predict_specs(&model_path, &top, specs);
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
    simclr_trained_model *model = NULL;
    if (simclr_trained_model_open(model_path, &model, &err) != 0) {
        free(images);
        return cli_report_error(&err);
    }
    float *probabilities =
        simclr_checked_calloc((size_t)simclr_trained_model_class_count(model), sizeof(float),
                              "probabilities", &err);
    int status = probabilities ? 0 : cli_report_error(&err);
    for (int i = 0; probabilities && i < parser.positional_count; i++) {
        if (predict_one(model, images[i], (int)top, probabilities, &err) != 0) {
            status = cli_report_error(&err);
            break;
        }
    }
    free(probabilities);
    free(images);
    simclr_trained_model_close(model);
    return status;
}
