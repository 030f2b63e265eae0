#ifndef SIMCLR_CLI_EVAL_CLI_H
#define SIMCLR_CLI_EVAL_CLI_H
/*
 * What the representation commands (knn, embed, linear-eval) share: the model options
 * (--model, --features, --random-init, --seed, --batch, --threads), loading the feature
 * extractor, choosing the dataset, and the labeled subset (--labeled-per-class / --label-fraction).
 */
#include "checkpoint_data.h"
#include "cli_common.h"
#include "simclr/features.h"

typedef struct eval_cli {
    dataset_cli data;
    const char *model;          /* --model (required) */
    const char *features;       /* --features encoder|projection */
    int random_init;            /* --random-init */
    long long seed;             /* --seed: subset choice and --random-init weights */
    long long batch;            /* --batch */
    long long threads;          /* --threads */
    checkpoint_data described;  /* the checkpoint's data description (storage for `data`) */
} eval_cli;

void eval_cli_defaults(eval_cli *options);
/* Appends the dataset and model option specs. */
void eval_cli_add_specs(eval_cli *options, option_spec *specs, size_t *count);

/* After parsing: --model given, threads set; loads the extractor. */
int eval_cli_load(const eval_cli *options, const char *command, simclr_feature_extractor *fx, simclr_error *err);

/* The dataset to evaluate on: the checkpoint's (dataset, directory, image size) for every
 * dataset option the parser did not see on the command line, as `eval` does. */
int eval_cli_open_dataset(eval_cli *options, const option_parser *parser, simclr_dataset *ds,
                          simclr_error *err);

/* The labeled training images: --label-fraction F when fraction > 0, else --labeled-per-class K
 * (0: the whole train split), chosen by --seed as in training. Caller frees *indices. */
int eval_cli_labeled_subset(const simclr_dataset *ds, long long labeled_per_class, double label_fraction,
                            uint64_t seed, size_t **indices, size_t *count, simclr_error *err);

/* "random init (seed S)" or the checkpoint's run and epochs, for the report. */
void eval_cli_describe_model(const eval_cli *options, const simclr_feature_extractor *fx, char *out, size_t size);

#endif
