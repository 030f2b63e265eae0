#ifndef SIMCLR_CLI_TRAIN_CLI_H
#define SIMCLR_CLI_TRAIN_CLI_H
/* The options shared by the training commands (baseline, pretrain, finetune, experiment), and the
 * preparation of a run: every check before anything is written, the run record, the estimate,
 * then the output directory and its <command>_config.json. */
#include "augment_cli.h"
#include "checkpoint_data.h"
#include "cli_common.h"
#include "run_record.h"
#include "simclr/train.h"

typedef struct train_cli {
    dataset_cli data;
    long long epochs, steps_per_epoch, labeled_per_class;
    long long unlabeled_batch, labeled_batch, test_batch;
    long long seed, threads, width, depth, padding;
    double temperature, learning_rate;
    long long knn_k;        /* --knn-k: 0 turns the kNN monitor off */
    double knn_temperature; /* --knn-temperature */
    const char *loss;
    const char *precision; /* "fp32" or "bf16" */
    const char *backbone;  /* "seed", "resnet18", "resnet34", "resnet50"; NULL: not given */
    const char *stem;      /* "auto", "imagenet", "cifar" */
    int zero_init_residual, head_bn, no_head_bn;
    long long head_hidden, head_out;
    const char *out;       /* NULL: a fresh runs/<command>-<UTC time> */
    const char *resume;
    int overwrite, force;
    int strict; /* warnings that would be refusals (a batch larger than its images) */
    const char *cache_budget; /* --cache-budget: "auto" or a size */
    const char *decode_threads; /* --decode-threads: "auto" or a count (0: no decoder pool) */
    int quiet;
    long long stop_after_steps; /* 0: run to the end */
    long long checkpoint_every_steps; /* 0: off */
    double checkpoint_every_minutes;  /* 0: off */
    int knn_k_given;        /* --knn-k was given: a k above the bank's size is an error, not clamped */
    /* Issue 12, the paper's recipe: */
    augment_cli augment;
    const char *recipe;          /* seed|simclr */
    const char *optimizer;       /* NULL: the recipe's */
    const char *lr_schedule, *lr_scaling;
    double weight_decay, warmup_epochs, momentum, probe_learning_rate; /* < 0: the recipe's */
    int nesterov;
    /* Issue 13, the other self-supervised methods: */
    const char *method;          /* simclr|moco|byol|simsiam|barlow|vicreg */
    double ema_momentum;         /* < 0: the method's */
    long long queue_size, predictor_hidden;
    double barlow_lambda;
    const char *vicreg_weights;  /* "INV,VAR,COV" */
} train_cli;

void train_cli_defaults(train_cli *options);
void train_cli_add_specs(train_cli *options, option_spec *specs, size_t *count);

/* A prepared run: the train config and the record it is described by. */
typedef struct train_run {
    simclr_train_config config;
    run_record record;
    char out_dir[4096];
    char command[32];
    char config_path[4200];
    int old_run_replaced; /* --overwrite: the old run's files removed, the new record written */
} train_run;

/* What a run starts from besides its options. */
typedef struct train_start {
    const char *command;          /* "baseline", ..., "experiment" */
    int argc;                     /* the arguments after the command name */
    char **argv;
    const option_parser *parser;  /* which options were given */
    const char *from;             /* finetune's --from, or NULL */
    const simclr_checkpoint_info *from_info;
} train_start;

/* The run's settings from the options (recipe first, then every flag given), the dataset and, for
 * finetune, start->from_info's architecture: what the bench steps with, and the first part of
 * train_cli_prepare. Checks the options among themselves; writes nothing. */
int train_cli_config(const train_cli *options, const train_start *start, const simclr_dataset *ds,
                     simclr_train_config *config, simclr_error *err);

/* Issue 25: a folder dataset opened with defer_pixels is decoded into memory when it fits
 * --cache-budget, streamed otherwise (simclr_dataset_choose_storage); said either way. */
int train_cli_choose_storage(const train_cli *options, simclr_dataset *ds, const simclr_train_config *config,
                             simclr_error *err);

/* Validates everything (dataset classes and test split, --from's architecture against the given
 * options, --precision, --out / --resume / --overwrite, the resumed run's record, memory and the
 * time estimate), prints the estimate, decodes a folder dataset's pixels (deferred at open, so
 * that the size checks come first), then creates the output directory and writes
 * <out>/<command>_config.json. Nothing is written when any check fails. */
int train_cli_prepare(const train_cli *options, const train_start *start, simclr_dataset *ds,
                      train_run *run, simclr_error *err);
void train_run_free(train_run *run);

/* Prints the seed's "Maximal validation accuracy: NN.NN%" for a metric of a history. */
void train_cli_print_maximum(const simclr_history *hist, const char *metric);

#endif
