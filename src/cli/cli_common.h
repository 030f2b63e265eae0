#ifndef SIMCLR_CLI_COMMON_H
#define SIMCLR_CLI_COMMON_H
/*
 * What every command shares: the dataset options, opening the dataset from them, and turning an
 * error into a message and an exit status (2 for bad input, 1 for anything else).
 */
#include <stdio.h>

#include "options.h"
#include "simclr/dataset.h"
#include "simclr/error.h"
#include "simclr/network.h"

#define CLI_MAX_SPECS 128

typedef struct dataset_cli {
    const char *dataset;   /* --dataset */
    const char *data_dir;  /* --data-dir */
    long long image_size;  /* --image-size (folder datasets; 0: from the images) */
    const char *resize;    /* --resize crop|squash (folder datasets) */
    const char *labeled_dir; /* --labeled-dir (a folder of unlabeled images only) */
    const char *file_list; /* --file-list (folder datasets: the images a list names, issue 25) */
    int defer_pixels;      /* folder datasets: index only; the caller decodes (simclr_dataset_load_pixels) */
    int strict;            /* folder datasets: a bad file is refused, not skipped (training's --strict) */
    const char *index_cache; /* --index-cache DIR (folder datasets; NULL: the default, below) */
    int no_index_cache;    /* --no-index-cache */
    long long stl10_fold;  /* --stl10-fold */
    int cifar100_coarse;   /* --cifar100-coarse */
    int quiet;             /* the command's --quiet: the index line unsaid (its notes are said) */
} dataset_cli;

/* Defaults: fashion-mnist, its default directory. */
void dataset_cli_defaults(dataset_cli *options);

/* Appends the dataset option specs to specs (at *count, which is advanced). */
void dataset_cli_add_specs(dataset_cli *options, option_spec *specs, size_t *count);

/* Opens the dataset the options name; on failure err explains which flag or file. A folder
 * dataset's index cache is --index-cache DIR, else $XDG_CACHE_HOME/simclr/index, else
 * ~/.cache/simclr/index (none with --no-index-cache, or without HOME); stderr says how much of the
 * index came from it, and the notes of the open (a cache rebuilt or not written). */
int dataset_cli_open(const dataset_cli *options, simclr_dataset *ds, simclr_error *err);

/* The network planning options from the environment (issue 24: read here, not in the library):
 * SIMCLR_CONV_LAYOUT (auto, blocked, nhwc, nChw16c, nChw8c) and SIMCLR_KEEP_ACTIVATIONS=1. */
int cli_network_options(simclr_network_options *options, simclr_error *err);

/* Whether progress lines may be redrawn in place: not under mpirun (Open MPI sets
 * OMPI_COMM_WORLD_SIZE), whose forwarded output is a terminal to each rank but a log to the
 * reader; the progress line itself also asks isatty. */
int cli_progress_redraw(void);

/* Prints "simclr: <message>" (whole, however long), clears err and returns the exit status. */
int cli_report_error(simclr_error *err);

/* Creates directory path (and parents) if missing; err names the flag and the path on failure. */
int cli_make_directory(const char *flag, const char *path, simclr_error *err);

/* Output files (issue 27): every --out makes the folders it needs, as training's --out does.
 * cli_check_output_file, before any work: the file's folder exists and is writable, or the
 * nearest folder of its path that exists is a writable directory (the rest can be made); nothing
 * is created, so a refused command leaves nothing behind. cli_prepare_output_file, just before
 * the file is written: the same check, then the missing folders. err names the flag and path. */
int cli_check_output_file(const char *flag, const char *path, simclr_error *err);
int cli_prepare_output_file(const char *flag, const char *path, simclr_error *err);

#endif
