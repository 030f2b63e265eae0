/* simclr eval: test accuracy and loss of a saved classifier or probe. */
#include <omp.h>
#include <stdio.h>

#include "cli_common.h"
#include "commands.h"
#include "simclr/checkpoint.h"
#include "simclr/train.h"

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
                                       "pretraining checkpoint's linear probe on the test split.",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err;
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    if (!model_path) {
        simclr_error_input(&err, "simclr eval: --model CHECKPOINT is required");
        return cli_report_error(&err);
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    simclr_checkpoint_info info;
    if (simclr_checkpoint_read_info(model_path, &info, &err) != 0) return cli_report_error(&err);
    simclr_dataset ds;
    if (dataset_cli_open(&data, &ds, &err) != 0) return cli_report_error(&err);
    simclr_evaluation result;
    int status = 0;
    if (simclr_train_evaluate_checkpoint(&ds, model_path, (size_t)test_batch, &result, &err) != 0) {
        status = cli_report_error(&err);
    } else {
        printf("model     %s (%s run, %s, %d epochs, trained with %s convolutions)\n",
               model_path, info.run, info.classifier, info.epochs_done,
               simclr_nn_precision_name(info.model.precision));
        printf("dataset   %s test split, %zu images\n", ds.name, result.count);
        printf("accuracy  %.4f (%.2f%%)\nloss      %.4f\n", result.accuracy,
               result.accuracy * 100.0, result.loss);
    }
    simclr_dataset_close(&ds);
    return status;
}
