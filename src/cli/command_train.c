/* The training commands: baseline, pretrain, finetune and experiment (all three in order). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "resume_options.h"
#include "simclr/checkpoint.h"
#include "simclr/embedding_plot.h"
#include "simclr/plot.h"
#include "signals.h"
#include "train_cli.h"
#include "util/plural.h"

typedef enum train_command {
    TRAIN_COMMAND_BASELINE,
    TRAIN_COMMAND_PRETRAIN,
    TRAIN_COMMAND_FINETUNE,
    TRAIN_COMMAND_EXPERIMENT,
} train_command;

static const char *const COMMAND_NAMES[] = {"baseline", "pretrain", "finetune", "experiment"};
static const char *const COMMAND_USAGE[] = {
    "simclr baseline [options]",
    "simclr pretrain [options]",
    "simclr finetune --from CHECKPOINT [options]",
    "simclr experiment [options]",
};
static const char *const COMMAND_SUMMARY[] = {
    "Supervised baseline: weak augmentation, a randomly initialised encoder and a Dense "
    "classifier trained on the labeled images in batches of --labeled-batch; test loss and "
    "accuracy after every epoch. Writes baseline_history.csv/.json and baseline.safetensors.",
    "Self-supervised pretraining (SimCLR by default; --method moco, byol, simsiam, barlow or vicreg): "
    "per step --unlabeled-batch + --labeled-batch images, two strong augmentations each, encoder "
    "and projection head trained by the method's loss; an online linear probe on stop-gradient "
    "encoder features. Writes pretrain_history.* and pretrain.safetensors.",
    "Supervised finetuning: the encoder of a pretraining checkpoint (--from) with a fresh Dense "
    "classifier, trained like the baseline. The architecture comes from the checkpoint (--width, "
    "--depth and --padding may only repeat it; --precision chooses the arithmetic, the "
    "checkpoint's by default). Writes "
    "finetune_history.* and finetune.safetensors.",
    "The seed's experiment: baseline, pretraining and finetuning in order, then the maximal "
    "validation accuracy of each run as a table and the plots val_accuracy.png and val_loss.png.",
};

typedef struct plot_figure {
    const char *file, *title, *y_label;
    const char *keys[3]; /* metric of each run: baseline, pretraining, finetuning */
} plot_figure;

static const plot_figure FIGURES[] = {
    {"val_accuracy.png", "Classification accuracy during training", "validation accuracy",
     {"val_acc", "val_p_acc", "val_acc"}},
    {"val_loss.png", "Classification loss during training", "validation loss",
     {"val_loss", "val_p_loss", "val_loss"}},
    /* Only when the kNN monitor ran (--knn-k above 0). */
    {"val_knn_accuracy.png", "kNN accuracy of the encoder's features during training",
     "validation kNN accuracy", {"val_knn_acc", "val_knn_acc", "val_knn_acc"}},
};

static int write_plots(const char *out_dir, const simclr_history *runs[3], simclr_error *err)
{
    static const char *const labels[3] = {"supervised baseline", "self-supervised pretraining",
                                          "supervised finetuning"};
    float columns[3][1024];
    for (size_t figure = 0; figure < sizeof FIGURES / sizeof FIGURES[0]; figure++) {
        const plot_figure *f = &FIGURES[figure];
        simclr_plot_series series[3];
        int present = 1;
        for (int r = 0; r < 3; r++) {
            int metric = simclr_history_metric_index(runs[r], f->keys[r]);
            if (metric < 0) present = 0;
            if (!present) break;
            int count = runs[r]->epoch_count < 1024 ? runs[r]->epoch_count : 1024;
            simclr_history h = *runs[r];
            h.epoch_count = count;
            simclr_history_column(&h, metric, columns[r]);
            series[r] = (simclr_plot_series){.label = labels[r], .y = columns[r], .count = count};
        }
        if (!present) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out_dir, f->file);
        if (simclr_plot_lines_png(path, f->title, "epochs", f->y_label, series, 3, err) != 0) return -1;
    }
    return 0;
}

size_t command_train_specs(int finetune, train_cli *options, const char **from, option_spec *specs)
{
    size_t count = 0;
    train_cli_add_specs(options, specs, &count);
    if (finetune)
        specs[count++] = (option_spec){"from", OPTION_TYPE_STRING, from, 0, 0, NULL, "CHECKPOINT",
                                       "pretraining checkpoint whose encoder to finetune "
                                       "(required); its dataset, directory and image size are "
                                       "used unless given",
                                       NULL};
    return count;
}

/* argv[0 .. recorded) are a resumed run's recorded options, the rest this command line's. */
static int run_train_command_line(train_command command, int argc, char **argv, int recorded)
{
    train_cli options;
    train_cli_defaults(&options);
    const char *from = NULL;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = command_train_specs(command == TRAIN_COMMAND_FINETUNE, &options, &from, specs);
    option_parser parser = {.command = COMMAND_NAMES[command],
                            .usage = COMMAND_USAGE[command],
                            .summary = COMMAND_SUMMARY[command],
                            .specs = specs,
                            .spec_count = spec_count,
                            .first_own_argument = recorded};
    simclr_error err;
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    options.knn_k_given = options_given(&parser, "knn-k");
    /* The stop handlers before the dataset opens (seconds on a busy machine): a Ctrl-C or SIGTERM
     * arriving meanwhile stops the run after its first step with a checkpoint, as later ones do. */
    (void)cli_stop_flag();
    if (command == TRAIN_COMMAND_FINETUNE && !from) {
        simclr_error_input(&err, "simclr finetune: --from CHECKPOINT is required (a pretrain.safetensors)");
        return cli_report_error(&err);
    }
    checkpoint_data pretrained;
    if (from && dataset_cli_from_checkpoint(&options.data, &parser, from, &pretrained, &err) != 0)
        return cli_report_error(&err);
    if (from) simclr_checkpoint_info_free(&pretrained.info); /* its class names are not needed here */

    simclr_dataset ds;
    options.data.defer_pixels = 1; /* decoded by train_cli_prepare after its checks (issue 27) */
    options.data.strict = options.strict;
    options.data.quiet = options.quiet;
    if (dataset_cli_open(&options.data, &ds, &err) != 0) {
        if (err.kind == SIMCLR_ERROR_KIND_INPUT && options_given(&parser, "resume"))
            simclr_error_append(&err, "; if the run's dataset has moved, give its new place with --data-dir "
                                      "(its files are checked against the run's)");
        return cli_report_error(&err);
    }
    train_run prepared;
    int status = 0, have_run = 0;
    simclr_history runs[3];
    memset(runs, 0, sizeof runs);
    if (from && options.backbone &&
        simclr_model_backbone_from_name(options.backbone) != (int)pretrained.info.model.backbone) {
        simclr_error_input(&err, "--backbone %s: --from %s holds a %s encoder", options.backbone, from,
                           simclr_model_backbone_name(pretrained.info.model.backbone));
        goto fail;
    }
    train_start start = {.command = COMMAND_NAMES[command],
                         .argc = argc,
                         .argv = argv,
                         .parser = &parser,
                         .from = from,
                         .from_info = from ? &pretrained.info : NULL};
    if (train_cli_prepare(&options, &start, &ds, &prepared, &err) != 0) goto fail;
    have_run = 1;
    simclr_train_config config = prepared.config;
    switch (command) {
    case TRAIN_COMMAND_BASELINE:
        if (simclr_train_baseline(&ds, &config, &runs[0], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[0], "val_acc");
        break;
    case TRAIN_COMMAND_PRETRAIN:
        if (simclr_train_pretrain(&ds, &config, &runs[1], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[1], "val_p_acc");
        break;
    case TRAIN_COMMAND_FINETUNE:
        if (simclr_train_finetune(&ds, &config, from, &runs[2], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[2], "val_acc");
        break;
    case TRAIN_COMMAND_EXPERIMENT: {
        if (!config.quiet) printf("== Supervised baseline ==\n");
        if (simclr_train_baseline(&ds, &config, &runs[0], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[0], "val_acc");
        if (!config.quiet) printf("== Contrastive pretraining ==\n");
        if (simclr_train_pretrain(&ds, &config, &runs[1], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[1], "val_p_acc");
        if (!config.quiet) printf("== Supervised finetuning ==\n");
        /* Issue 14: every rank reads the checkpoint rank 0 has finished writing. */
        simclr_communicator_barrier(config.communicator);
        char checkpoint[4096];
        snprintf(checkpoint, sizeof checkpoint, "%s/pretrain.safetensors", config.out_dir);
        if (simclr_train_finetune(&ds, &config, checkpoint, &runs[2], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[2], "val_acc");
        if (!simclr_communicator_is_root(config.communicator)) break; /* issue 14: rank 0 writes */
        const simclr_history *plotted[3] = {&runs[0], &runs[1], &runs[2]};
        if (write_plots(config.out_dir, plotted, &err) != 0) goto fail;
        /* The embedding space of the pretrained and the finetuned encoder. */
        static const char *const embedded[2] = {"pretrain", "finetune"};
        for (int r = 0; r < 2; r++) {
            char model[4096], picture[4096];
            snprintf(model, sizeof model, "%s/%s.safetensors", config.out_dir, embedded[r]);
            snprintf(picture, sizeof picture, "%s/pca_%s.png", config.out_dir, embedded[r]);
            if (simclr_embedding_plot_checkpoint_png(picture, model, &ds, SIMCLR_DATASET_SPLIT_TEST,
                                                     (int)config.test_batch, &err) != 0)
                goto fail;
        }
        double seconds[3] = {0, 0, 0};
        for (int r = 0; r < 3; r++)
            for (int e = 0; e < runs[r].epoch_count; e++) seconds[r] += runs[r].seconds[e];
        printf("\n| run (max test accuracy over %d epoch%s) | simclr | time |\n|---|---|---|\n",
               config.epochs, simclr_plural(config.epochs));
        printf("| supervised baseline, random init | %.2f %% | %.0f s |\n",
               simclr_history_max(&runs[0], "val_acc") * 100.0, seconds[0]);
        printf("| online linear probe during pretraining | %.2f %% | %.0f s |\n",
               simclr_history_max(&runs[1], "val_p_acc") * 100.0, seconds[1]);
        printf("| supervised finetuning of the pretrained encoder | %.2f %% | %.0f s |\n",
               simclr_history_max(&runs[2], "val_acc") * 100.0, seconds[2]);
        if (config.knn_k > 0)
            printf("\nMaximal kNN accuracy of the encoder (k=%d, T=%g): baseline %.2f %%, pretraining "
                   "%.2f %%, finetuning %.2f %%\n",
                   config.knn_k, (double)config.knn_temperature,
                   simclr_history_max(&runs[0], "val_knn_acc") * 100.0,
                   simclr_history_max(&runs[1], "val_knn_acc") * 100.0,
                   simclr_history_max(&runs[2], "val_knn_acc") * 100.0);
        printf("\nPlots: %s/val_accuracy.png, %s/val_loss.png%s%s%s, %s/pca_pretrain.png, %s/pca_finetune.png\n",
               config.out_dir, config.out_dir, config.knn_k > 0 ? ", " : "", config.knn_k > 0 ? config.out_dir : "",
               config.knn_k > 0 ? "/val_knn_accuracy.png" : "", config.out_dir, config.out_dir);
        break;
    }
    }
    if (ds.skipped_files > 0) /* issue 25: the count again at the end */
        fprintf(stderr, "simclr: %zu unreadable file%s of %s %s skipped (named at the start)\n", ds.skipped_files,
                ds.skipped_files == 1 ? "" : "s", ds.path, ds.skipped_files == 1 ? "was" : "were");
    goto done;
fail:
    status = cli_report_error(&err);
done:
    for (int r = 0; r < 3; r++) simclr_history_free(&runs[r]);
    if (have_run) train_run_free(&prepared);
    simclr_dataset_close(&ds);
    return status;
}

/* Issue 27: `--resume DIR` continues the run with the options it recorded, then those given. */
static int run_train_command(train_command command, int argc, char **argv)
{
    resume_options resumed;
    simclr_error err = {0};
    if (resume_options_merge(COMMAND_NAMES[command], argc, argv, &resumed, &err) != 0) return cli_report_error(&err);
    int status = run_train_command_line(command, resumed.argc, resumed.argv, resumed.recorded);
    resume_options_free(&resumed);
    return status;
}

int command_baseline(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_BASELINE, argc, argv); }
int command_pretrain(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_PRETRAIN, argc, argv); }
int command_finetune(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_FINETUNE, argc, argv); }
int command_experiment(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_EXPERIMENT, argc, argv); }
