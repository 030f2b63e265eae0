/* simclr augment: the seed's figure (original, weakly augmented, strongly augmented twice), or
 * for --augment simclr|byol the original and three views (view 1, view 2, view 1 drawn again). */
#include <stdio.h>
#include <stdlib.h>

#include "augment_cli.h"
#include "cli_common.h"
#include "commands.h"
#include "simclr/augment.h"
#include "simclr/plot.h"
#include "simclr/rng.h"

int command_augment(int argc, char **argv)
{
    dataset_cli data;
    dataset_cli_defaults(&data);
    const char *out_path = NULL;
    long long columns = 8, seed = 0, scale = 0;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    dataset_cli_add_specs(&data, specs, &spec_count);
    augment_cli augment;
    augment_cli_defaults(&augment);
    augment_cli_add_specs(&augment, specs, &spec_count);
    specs[spec_count++] = (option_spec){"out", OPTION_TYPE_STRING, &out_path, 0, 0, NULL, "FILE",
                                        "PNG file to write (required)", NULL};
    specs[spec_count++] = (option_spec){"n", OPTION_TYPE_INT, &columns, 1, 64, NULL, "N",
                                        "images per row", "8"};
    specs[spec_count++] = (option_spec){"seed", OPTION_TYPE_INT, &seed, 0, 9.2e18, NULL, "S",
                                        "picks the images and the augmentations", "0"};
    specs[spec_count++] = (option_spec){"scale", OPTION_TYPE_INT, &scale, 0, 16, NULL, "K",
                                        "upscale each pixel K x K (0: about 200 px per image)",
                                        "0"};
    option_parser parser = {.command = "augment",
                            .usage = "simclr augment --out grid.png [--n 8] [--seed S] [options]",
                            .summary = "Writes the augmentation figure: 4 rows x n columns of "
                                       "images drawn at random from the unlabeled stream. --augment "
                                       "seed (the seed's figure): original, weakly augmented, "
                                       "strongly augmented, strongly augmented again with another "
                                       "draw; simclr or byol: original, view 1, view 2 of a pair, "
                                       "view 1 drawn again.",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    if (!out_path) {
        simclr_error_input(&err, "simclr augment: --out FILE is required");
        return cli_report_error(&err);
    }
    if (cli_check_output_file("--out", out_path, &err) != 0) return cli_report_error(&err);

    simclr_dataset ds;
    if (dataset_cli_open(&data, &ds, &err) != 0) return cli_report_error(&err);
    simclr_augment_policy policy;
    if (augment_cli_policy(&augment, SIMCLR_AUGMENT_POLICY_KIND_SEED, 1.0f, ds.channels, &policy, &err) !=
        0) {
        simclr_dataset_close(&ds);
        return cli_report_error(&err);
    }
    simclr_dataset_split_id source = simclr_dataset_unlabeled_source(&ds);
    size_t available = ds.splits[source].count;
    size_t n = (size_t)columns;
    if (available < n) n = available;
    size_t image_bytes = simclr_dataset_image_bytes(&ds);
    size_t image_floats = image_bytes;
    uint8_t *originals = malloc(n * image_bytes);
    float *grid = malloc(4 * n * image_floats * sizeof(float));
    int status = 0;
    if (!originals || !grid) {
        simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        status = cli_report_error(&err);
        goto done;
    }
    /* Distinct random images of the unlabeled stream, as the seed's first shuffled batch. */
    simclr_rng_stream pick = simclr_rng_stream_make((uint64_t)seed, SIMCLR_RNG_PURPOSE_SHUFFLE_UNLABELED, 0, 0, 0, 1);
    for (size_t i = 0; i < n; i++) {
        size_t index = (size_t)simclr_rng_below(&pick, available);
        simclr_dataset_read_image(&ds, source, index, originals + i * image_bytes);
    }
    const simclr_augment_strength *row_strength[4] = {NULL, &SIMCLR_AUGMENT_CLASSIFICATION, &SIMCLR_AUGMENT_CONTRASTIVE,
                                               &SIMCLR_AUGMENT_CONTRASTIVE};
    int seed_policy = policy.kind == SIMCLR_AUGMENT_POLICY_KIND_SEED;
    for (int row = 0; row < 4; row++) {
        float *rows = grid + (size_t)row * n * image_floats;
        if (seed_policy)
            simclr_augment_batch(originals, n, ds.height, ds.width, ds.channels, row_strength[row],
                                 (uint64_t)seed, 0, 0, (uint64_t)row, rows);
        else if (row == 0)
            simclr_augment_rescale(originals, n * image_bytes, rows);
        else /* view 1 and view 2 of step 0, then view 1 of step 1 */
            simclr_augment_policy_batch(&policy, originals, n, ds.height, ds.width, ds.channels,
                                        (uint64_t)seed, 0, row == 3 ? 1 : 0, row == 2 ? 2 : 1, rows);
    }
    int pixel_scale = (int)scale;
    if (pixel_scale == 0) {
        pixel_scale = 200 / (ds.height > ds.width ? ds.height : ds.width);
        if (pixel_scale < 1) pixel_scale = 1;
    }
    const char *seed_titles[4] = {"Original:", "Weakly augmented:", "Strongly augmented:",
                                  "Strongly augmented:"};
    const char *policy_titles[4] = {"Original:", "View 1:", "View 2:", "View 1, another draw:"};
    const char **titles = seed_policy ? seed_titles : policy_titles;
    if (cli_prepare_output_file("--out", out_path, &err) != 0 ||
        simclr_plot_image_grid_png(out_path, grid, 4, (int)n, ds.height, ds.width, ds.channels, titles,
                                   pixel_scale, &err) != 0) {
        status = cli_report_error(&err);
        goto done;
    }
    printf("%s: 4 x %zu augmentation grid (--augment %s, seed %lld) -> %s\n", ds.name, n,
           simclr_augment_policy_kind_name(policy.kind), seed, out_path);
done:
    free(originals);
    free(grid);
    simclr_dataset_close(&ds);
    return status;
}
