/* simclr eval: test accuracy and loss of a saved classifier or probe. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "checkpoint_data.h"
#include "cli_common.h"
#include "commands.h"
#include "simclr/checkpoint.h"
#include "simclr/train.h"
#include "util/plural.h"

int command_eval(int argc, char **argv)
{
    dataset_cli data;
    dataset_cli_defaults(&data);
    const char *model_path = NULL;
    long long test_batch = 525, threads = 0;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    dataset_cli_add_specs(&data, specs, &spec_count);
    specs[spec_count++] = (option_spec){"model", OPTION_TYPE_STRING, &model_path, 0, 0, NULL,
                                        "CHECKPOINT", "checkpoint to evaluate (required)", NULL};
    specs[spec_count++] = (option_spec){"test-batch", OPTION_TYPE_INT, &test_batch, 1, 4096, NULL,
                                        "N", "images per batch", "525"};
    specs[spec_count++] = (option_spec){"threads", OPTION_TYPE_INT, &threads, 0, 1024, NULL, "N",
                                        "worker threads (0: all)", "0"};
    option_parser parser = {.command = "eval",
                            .usage = "simclr eval --model CHECKPOINT [options]",
                            .summary = "Evaluates a saved classifier (baseline or finetune) or a "
                                       "pretraining checkpoint's linear probe on the test split. "
                                       "The dataset, its directory and image size are the "
                                       "checkpoint's unless given; the dataset's class names must "
                                       "be the model's (in any order: labels are mapped by name).",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    if (!model_path) {
        simclr_error_input(&err, "simclr eval: --model CHECKPOINT is required");
        return cli_report_error(&err);
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    checkpoint_data described;
    if (dataset_cli_from_checkpoint(&data, &parser, model_path, &described, &err) != 0)
        return cli_report_error(&err);
    const simclr_checkpoint_info *info = &described.info;
    simclr_dataset ds;
    if (dataset_cli_open(&data, &ds, &err) != 0) {
        simclr_checkpoint_info_free(&described.info);
        return cli_report_error(&err);
    }
    int *map = calloc((size_t)ds.num_classes, sizeof *map), identical = 1, status = 0;
    int32_t *mapped_labels = NULL;
    if (!map) {
        simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        goto fail;
    }
    simclr_dataset evaluated = ds; /* a view of ds, with the test labels in the model's order */
    if (cli_match_class_names(info, model_path, &ds, map, &identical, &err) != 0) goto fail;
    if (!identical) {
        const simclr_dataset_split *test = &ds.splits[SIMCLR_DATASET_SPLIT_TEST];
        mapped_labels = malloc((test->count ? test->count : 1) * sizeof *mapped_labels);
        if (!mapped_labels) {
            simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < test->count; i++) mapped_labels[i] = map[test->labels[i]];
        evaluated.splits[SIMCLR_DATASET_SPLIT_TEST].labels = mapped_labels;
        printf("classes   the dataset's class order differs from the model's; labels mapped by name\n");
    }
    simclr_evaluation result;
    if (simclr_train_evaluate_checkpoint(&evaluated, model_path, (size_t)test_batch, &result, &err) != 0)
        goto fail;
    printf("model     %s (%s run, %s, %d epoch%s, trained with %s convolutions)\n", model_path,
           info->run, info->classifier, info->epochs_done, simclr_plural(info->epochs_done),
           simclr_nn_precision_name(info->model.precision));
    printf("dataset   %s test split, %zu images (%s)\n", ds.name, result.count, ds.path);
    printf("accuracy  %.4f (%.2f%%)\nloss      %.4f\n", result.accuracy, result.accuracy * 100.0,
           result.loss);
    goto done;
fail:
    status = cli_report_error(&err);
done:
    free(map);
    free(mapped_labels);
    simclr_dataset_close(&ds);
    simclr_checkpoint_info_free(&described.info);
    return status;
}
