/* simclr show: one image exactly as stored, as PNG. */
#include <stdio.h>
#include <stdlib.h>

#include "cli_common.h"
#include "commands.h"
#include "simclr/image_io.h"

int command_show(int argc, char **argv)
{
    dataset_cli data;
    dataset_cli_defaults(&data);
    const char *split_name = "train";
    long long index = 0;
    const char *out_path = NULL;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    dataset_cli_add_specs(&data, specs, &spec_count);
    specs[spec_count++] = (option_spec){"split", OPTION_TYPE_CHOICE, &split_name, 0, 0,
                                        "unlabeled|train|test", NULL, "which split", "train"};
    specs[spec_count++] = (option_spec){"index", OPTION_TYPE_INT, &index, 0, 1e15, NULL, "I",
                                        "which image of the split (0-based)", "0"};
    specs[spec_count++] = (option_spec){"out", OPTION_TYPE_STRING, &out_path, 0, 0, NULL, "FILE",
                                        "PNG file to write (required)", NULL};
    option_parser parser = {.command = "show",
                            .usage = "simclr show --split S --index I --out img.png [options]",
                            .summary = "Writes one image of a split exactly as stored (no "
                                       "rescaling or augmentation) as a PNG file.",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    if (!out_path) {
        simclr_error_input(&err, "simclr show: --out FILE is required");
        return cli_report_error(&err);
    }
    if (cli_check_output_file("--out", out_path, &err) != 0) return cli_report_error(&err);
    simclr_dataset_split_id split;
    simclr_dataset_split_parse(split_name, &split);

    simclr_dataset ds;
    if (dataset_cli_open(&data, &ds, &err) != 0) return cli_report_error(&err);
    int status = 0;
    if ((size_t)index >= ds.splits[split].count) {
        simclr_error_input(&err, "--index %lld is out of range: the %s split of %s has %zu images", index,
                    split_name, ds.name, ds.splits[split].count);
        status = cli_report_error(&err);
    } else {
        uint8_t *pixels = malloc(simclr_dataset_image_bytes(&ds));
        if (!pixels) {
            simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            status = cli_report_error(&err);
        } else {
            simclr_dataset_read_image(&ds, split, (size_t)index, pixels);
            if (cli_prepare_output_file("--out", out_path, &err) != 0 ||
                simclr_image_write_png(out_path, pixels, ds.height, ds.width, ds.channels, &err) != 0) {
                status = cli_report_error(&err);
            } else {
                int label = simclr_dataset_label(&ds, split, (size_t)index);
                printf("%s: %s image %lld, %dx%dx%d, label %s -> %s\n", ds.name, split_name,
                       index, ds.height, ds.width, ds.channels,
                       label >= 0 ? ds.class_names[label] : "(unlabeled)", out_path);
            }
            free(pixels);
        }
    }
    simclr_dataset_close(&ds);
    return status;
}
