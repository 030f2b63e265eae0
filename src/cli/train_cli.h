#ifndef SIMCLR_CLI_TRAIN_CLI_H
#define SIMCLR_CLI_TRAIN_CLI_H
/* The options shared by the training commands (baseline, pretrain, finetune, experiment). */
#include "cli_common.h"
#include "simclr/train.h"

typedef struct train_cli {
    dataset_cli data;
    long long epochs, steps_per_epoch, labeled_per_class;
    long long unlabeled_batch, labeled_batch, test_batch;
    long long seed, threads, width, depth, padding;
    double temperature, learning_rate;
    const char *loss;
    const char *precision; /* "fp32" or "bf16" */
    const char *backbone;  /* "seed", "resnet18", "resnet34", "resnet50"; NULL: not given */
    const char *stem;      /* "auto", "imagenet", "cifar" */
    int zero_init_residual, head_bn;
    long long head_hidden, head_out;
    const char *out;
    const char *resume;
    int quiet;
} train_cli;

void train_cli_defaults(train_cli *options);
void train_cli_add_specs(train_cli *options, option_spec *specs, size_t *count);

/* Builds the run's config from the options and the dataset, sets the thread count, creates the
 * output directory and writes <out>/<run>_config.json there. */
int train_cli_configure(const train_cli *options, const simclr_dataset *ds, const char *run,
                        simclr_train_config *config, simclr_error *err);

/* Prints the seed's "Maximal validation accuracy: NN.NN%" for a metric of a history. */
void train_cli_print_maximum(const simclr_history *hist, const char *metric);

#endif
