#include "cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dataset_cli_defaults(dataset_cli *options)
{
    memset(options, 0, sizeof *options);
    options->dataset = "fashion-mnist";
    options->data_dir = NULL;
    options->image_size = 96;
    options->stl10_fold = -1;
}

void dataset_cli_add_specs(dataset_cli *options, option_spec *specs, size_t *count)
{
    specs[(*count)++] = (option_spec){"dataset", OPTION_TYPE_CHOICE, &options->dataset, 0, 0,
                                      "stl10|cifar10|cifar100|mnist|fashion-mnist|folder", NULL,
                                      "which dataset to read", "fashion-mnist"};
    specs[(*count)++] = (option_spec){
        "data-dir", OPTION_TYPE_STRING, &options->data_dir, 0, 0, NULL, "DIR",
        "where the dataset's files are",
        "fashion-mnist: /usr/share/datasets/fashion-mnist, mnist: /usr/share/datasets/mnist"};
    specs[(*count)++] = (option_spec){"image-size", OPTION_TYPE_INT, &options->image_size, 8, 1024,
                                      NULL, "N", "folder datasets: resize images to N x N", "96"};
    specs[(*count)++] = (option_spec){"stl10-fold", OPTION_TYPE_INT, &options->stl10_fold, -1, 9,
                                      NULL, "K",
                                      "STL-10: use fold K of fold_indices.txt as the labeled "
                                      "split (-1: all 5000 train images)",
                                      "-1"};
    specs[(*count)++] = (option_spec){"cifar100-coarse", OPTION_TYPE_FLAG, &options->cifar100_coarse,
                                      0, 0, NULL, NULL,
                                      "CIFAR-100: use the 20 coarse labels instead of the 100 fine",
                                      NULL};
}

int dataset_cli_open(const dataset_cli *options, simclr_dataset *ds, simclr_error *err)
{
    simclr_dataset_options open_options = simclr_dataset_options_default();
    if (simclr_dataset_kind_parse(options->dataset, &open_options.kind) != 0)
        return simclr_error_input(err, "--dataset: unknown dataset '%s'", options->dataset);
    open_options.data_dir = options->data_dir;
    open_options.image_size = (int)options->image_size;
    open_options.stl10_fold = (int)options->stl10_fold;
    open_options.cifar100_coarse = options->cifar100_coarse;
    if (simclr_dataset_open(ds, &open_options, err) != 0) return -1;
    if (ds->resized_count > 0) {
        size_t total = 0;
        for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) total += ds->splits[s].count;
        fprintf(stderr,
                "simclr: note: %zu of the %zu images of %s are resized from %dx%d to %dx%d "
                "(--image-size %d)\n",
                ds->resized_count, total, ds->path, ds->resized_from_height, ds->resized_from_width,
                ds->height, ds->width, ds->height);
    }
    return 0;
}

int cli_report_error(const simclr_error *err)
{
    fprintf(stderr, "simclr: %s%s\n", err->kind == SIMCLR_ERROR_KIND_INTERRUPTED ? "" : "error: ",
            err->message[0] ? err->message : "unknown failure");
    if (err->kind == SIMCLR_ERROR_KIND_INTERRUPTED) return 130;
    return err->kind == SIMCLR_ERROR_KIND_INPUT ? 2 : 1;
}

int cli_make_directory(const char *path, simclr_error *err)
{
    char partial[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof partial)
        return simclr_error_input(err, "--out: invalid directory '%s'", path);
    memcpy(partial, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] == '/' || partial[i] == '\0') {
            char saved = partial[i];
            partial[i] = '\0';
            if (mkdir(partial, 0777) != 0 && errno != EEXIST)
                return simclr_error_input(err, "--out %s: cannot create directory %s: %s", path,
                                          partial, strerror(errno));
            partial[i] = saved;
        }
    }
    struct stat info;
    if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode))
        return simclr_error_input(err, "--out: %s exists and is not a directory", path);
    if (access(path, W_OK | X_OK) != 0)
        return simclr_error_input(err, "--out %s: cannot write there: %s", path, strerror(errno));
    return 0;
}
