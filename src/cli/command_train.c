/* The training commands: baseline, pretrain, finetune and experiment (all three in order). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "simclr/checkpoint.h"
#include "simclr/plot.h"
#include "train_cli.h"

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
    "Contrastive pretraining (SimCLR): per step --unlabeled-batch + --labeled-batch images, two "
    "strong augmentations each, encoder and projection head trained by the contrastive loss; an "
    "online linear probe on stop-gradient encoder features. Writes pretrain_history.* and "
    "pretrain.safetensors.",
    "Supervised finetuning: the encoder of a pretraining checkpoint (--from) with a fresh Dense "
    "classifier, trained like the baseline. The architecture comes from the checkpoint. Writes "
    "finetune_history.* and finetune.safetensors.",
    "The seed's experiment: baseline, pretraining and finetuning in order, then the maximal "
    "validation accuracy of each run as a table and the plots val_accuracy.png and val_loss.png.",
};

static int write_plots(const char *out_dir, const simclr_history *runs[3], simclr_error *err)
{
    static const char *const labels[3] = {"supervised baseline", "self-supervised pretraining",
                                          "supervised finetuning"};
    static const char *const accuracy_keys[3] = {"val_acc", "val_p_acc", "val_acc"};
    static const char *const loss_keys[3] = {"val_loss", "val_p_loss", "val_loss"};
    float columns[3][2][1024];
    for (int kind = 0; kind < 2; kind++) {
        simclr_plot_series series[3];
        for (int r = 0; r < 3; r++) {
            const char *key = kind == 0 ? accuracy_keys[r] : loss_keys[r];
            int metric = simclr_history_metric_index(runs[r], key);
            int count = runs[r]->epoch_count < 1024 ? runs[r]->epoch_count : 1024;
            simclr_history h = *runs[r];
            h.epoch_count = count;
            simclr_history_column(&h, metric, columns[r][kind]);
            series[r] = (simclr_plot_series){.label = labels[r], .y = columns[r][kind], .count = count};
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out_dir, kind == 0 ? "val_accuracy.png" : "val_loss.png");
        if (simclr_plot_lines_png(path, kind == 0 ? "Classification accuracy during training"
                                           : "Classification loss during training",
                           "epochs", kind == 0 ? "validation accuracy" : "validation loss", series,
                           3, err) != 0)
            return -1;
    }
    return 0;
}

static int run_train_command(train_command command, int argc, char **argv)
{
    train_cli options;
    train_cli_defaults(&options);
    const char *from = NULL;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    train_cli_add_specs(&options, specs, &spec_count);
    if (command == TRAIN_COMMAND_FINETUNE)
        specs[spec_count++] = (option_spec){"from", OPTION_TYPE_STRING, &from, 0, 0, NULL,
                                            "CHECKPOINT",
                                            "pretraining checkpoint whose encoder to finetune "
                                            "(required)",
                                            NULL};
    if (command == TRAIN_COMMAND_EXPERIMENT) options.out = "runs/experiment";
    option_parser parser = {.command = COMMAND_NAMES[command],
                            .usage = COMMAND_USAGE[command],
                            .summary = COMMAND_SUMMARY[command],
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err;
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    if (command == TRAIN_COMMAND_FINETUNE && !from) {
        simclr_error_input(&err, "simclr finetune: --from CHECKPOINT is required (a pretrain.safetensors)");
        return cli_report_error(&err);
    }
    simclr_checkpoint_info pretrained;
    if (from && simclr_checkpoint_read_info(from, &pretrained, &err) != 0) return cli_report_error(&err);

    simclr_dataset ds;
    if (dataset_cli_open(&options.data, &ds, &err) != 0) return cli_report_error(&err);
    simclr_train_config config;
    int status = 0;
    simclr_history runs[3];
    memset(runs, 0, sizeof runs);
    if (train_cli_configure(&options, &ds, COMMAND_NAMES[command], &config, &err) != 0) goto fail;
    if (from) {
        const simclr_tensor_shape *input = &pretrained.model.input;
        if (input->height != ds.height || input->width != ds.width ||
            input->channels != ds.channels) {
            simclr_error_input(&err, "--from %s was trained on %dx%dx%d images; dataset %s has %dx%dx%d",
                        from, input->height, input->width, input->channels, ds.name, ds.height,
                        ds.width, ds.channels);
            goto fail;
        }
        if (options.backbone && simclr_model_backbone_from_name(options.backbone) != (int)pretrained.model.backbone) {
            simclr_error_input(&err, "--backbone %s: --from %s holds a %s encoder", options.backbone, from,
                               simclr_model_backbone_name(pretrained.model.backbone));
            goto fail;
        }
        /* The architecture is the checkpoint's; the classifier is sized for this dataset. */
        config.model = pretrained.model;
        config.model.num_classes = ds.num_classes;
    }
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
        char checkpoint[4096];
        snprintf(checkpoint, sizeof checkpoint, "%s/pretrain.safetensors", config.out_dir);
        if (simclr_train_finetune(&ds, &config, checkpoint, &runs[2], &err) != 0) goto fail;
        train_cli_print_maximum(&runs[2], "val_acc");
        const simclr_history *plotted[3] = {&runs[0], &runs[1], &runs[2]};
        if (write_plots(config.out_dir, plotted, &err) != 0) goto fail;
        double seconds[3] = {0, 0, 0};
        for (int r = 0; r < 3; r++)
            for (int e = 0; e < runs[r].epoch_count; e++) seconds[r] += runs[r].seconds[e];
        printf("\n| run (max test accuracy over %d epochs) | simclr | time |\n|---|---|---|\n",
               config.epochs);
        printf("| supervised baseline, random init | %.2f %% | %.0f s |\n",
               simclr_history_max(&runs[0], "val_acc") * 100.0, seconds[0]);
        printf("| online linear probe during pretraining | %.2f %% | %.0f s |\n",
               simclr_history_max(&runs[1], "val_p_acc") * 100.0, seconds[1]);
        printf("| supervised finetuning of the pretrained encoder | %.2f %% | %.0f s |\n",
               simclr_history_max(&runs[2], "val_acc") * 100.0, seconds[2]);
        printf("\nPlots: %s/val_accuracy.png, %s/val_loss.png\n", config.out_dir, config.out_dir);
        break;
    }
    }
    goto done;
fail:
    status = cli_report_error(&err);
done:
    for (int r = 0; r < 3; r++) simclr_history_free(&runs[r]);
    simclr_dataset_close(&ds);
    return status;
}

int command_baseline(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_BASELINE, argc, argv); }
int command_pretrain(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_PRETRAIN, argc, argv); }
int command_finetune(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_FINETUNE, argc, argv); }
int command_experiment(int argc, char **argv) { return run_train_command(TRAIN_COMMAND_EXPERIMENT, argc, argv); }
