/* simclr info: the splits, their counts, the image shape and the class names. */
#include <stdio.h>
#include <stdlib.h>

#include "cli_common.h"
#include "commands.h"

int command_info(int argc, char **argv)
{
    dataset_cli data;
    dataset_cli_defaults(&data);
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    dataset_cli_add_specs(&data, specs, &spec_count);
    option_parser parser = {.command = "info",
                            .usage = "simclr info [options]",
                            .summary = "Shows a dataset's splits (unlabeled / train / test), their "
                                       "counts, the image shape and the class names.",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);

    simclr_dataset ds;
    data.defer_pixels = 1; /* issue 25: the splits, sizes and classes come from the index; no pixel is decoded */
    if (dataset_cli_open(&data, &ds, &err) != 0) return cli_report_error(&err);

    printf("dataset      %s (%s)\n", ds.name, ds.path);
    printf("image shape  %d x %d x %d (height x width x channels)\n", ds.height, ds.width,
           ds.channels);
    printf("splits\n");
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        const simclr_dataset_split *split = &ds.splits[s];
        const char *note = split->labels ? "labeled" : "unlabeled";
        if (s == SIMCLR_DATASET_SPLIT_UNLABELED && split->count == 0)
            note = "none: the train images serve as the unlabeled stream";
        printf("  %-10s %8zu  %s\n", simclr_dataset_split_name((simclr_dataset_split_id)s), split->count, note);
    }
    size_t *per_class = calloc((size_t)ds.num_classes, sizeof *per_class);
    const simclr_dataset_split *train = &ds.splits[SIMCLR_DATASET_SPLIT_TRAIN];
    for (size_t i = 0; per_class && train->labels && i < train->count; i++)
        per_class[train->labels[i]]++;
    printf("classes (%d)   train images\n", ds.num_classes);
    for (int c = 0; c < ds.num_classes; c++)
        printf("  %3d %-24s %8zu\n", c, ds.class_names[c], per_class ? per_class[c] : 0);
    free(per_class);
    simclr_dataset_close(&ds);
    return 0;
}
