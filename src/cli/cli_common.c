#include "cli_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dataset_cli_defaults(dataset_cli *options)
{
    memset(options, 0, sizeof *options);
    options->dataset = "fashion-mnist";
    options->data_dir = NULL;
    options->image_size = 0;
    options->resize = "crop";
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
                                      NULL, "N", "folder datasets: bring images to N x N (see --resize)",
                                      "the images' own size when they all share one square size, otherwise "
                                      "the median of their shorter sides capped at 224"};
    specs[(*count)++] = (option_spec){"resize", OPTION_TYPE_CHOICE, &options->resize, 0, 0, "crop|squash", NULL,
                                      "folder datasets: how an image of another size is brought to N x N: crop "
                                      "(the centred square, then resized, as torchvision's Resize + CenterCrop) "
                                      "or squash (the whole image resized, its aspect ratio lost)",
                                      "crop"};
    specs[(*count)++] = (option_spec){"labeled-dir", OPTION_TYPE_STRING, &options->labeled_dir, 0, 0, NULL, "DIR",
                                      "folder datasets: --data-dir holds unlabeled images only (any depth); "
                                      "DIR holds the labeled ones, train/<class>/ and test/<class>/, for the "
                                      "linear probe, the kNN monitor and the evaluation",
                                      NULL};
    specs[(*count)++] = (option_spec){"file-list", OPTION_TYPE_STRING, &options->file_list, 0, 0, NULL, "FILE",
                                      "folder datasets: the images FILE names instead of a folder's: one path a "
                                      "line (unlabeled), or a CSV with a header naming a path column and optionally "
                                      "label and split (train|test|unlabeled) columns; relative paths are relative "
                                      "to FILE's folder, the classes are the train rows' sorted labels",
                                      NULL};
    specs[(*count)++] = (option_spec){"index-cache", OPTION_TYPE_STRING, &options->index_cache, 0, 0, NULL, "DIR",
                                      "folder datasets: keep the index (each folder's listing, each image's size "
                                      "from its header) in DIR, so that the next open reads only the files that are "
                                      "new or changed (size, modification time) and lists only the folders that "
                                      "changed",
                                      "$XDG_CACHE_HOME/simclr/index, or ~/.cache/simclr/index"};
    specs[(*count)++] = (option_spec){"no-index-cache", OPTION_TYPE_FLAG, &options->no_index_cache, 0, 0, NULL, NULL,
                                      "folder datasets: neither read nor write the index cache (every header is read)",
                                      NULL};
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

/* 1 when dir holds a PNG or JPEG file within `depth` levels of subfolders (looking at the first
 * 64 entries of each folder): a folder of images, class folders or train/ and test/ of them. */
static int holds_images(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0, seen = 0;
    struct dirent *entry;
    while (!found && seen < 64 && (entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        seen++;
        const char *dot = strrchr(entry->d_name, '.');
        if (dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)) {
            found = 1;
        } else if (depth > 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
            struct stat info;
            if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) found = holds_images(path, depth - 1);
        }
    }
    closedir(d);
    return found;
}

/* The index cache directory (issue 25: the library reads no environment, the command line does):
 * --index-cache DIR, else $XDG_CACHE_HOME/simclr/index (an absolute XDG_CACHE_HOME only, as the
 * XDG base directory specification says), else $HOME/.cache/simclr/index; NULL for none. */
static const char *index_cache_dir(const dataset_cli *options, char *buffer, size_t size, simclr_error *err)
{
    if (options->no_index_cache && options->index_cache) {
        simclr_error_input(err, "--index-cache %s and --no-index-cache: give one of them", options->index_cache);
        return NULL;
    }
    if (options->no_index_cache) return NULL;
    if (options->index_cache) {
        if (!options->index_cache[0]) simclr_error_input(err, "--index-cache: expected a directory, got ''");
        return options->index_cache[0] ? options->index_cache : NULL;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int length = -1;
    if (xdg && xdg[0] == '/') length = snprintf(buffer, size, "%s/simclr/index", xdg);
    else if (home && home[0] == '/') length = snprintf(buffer, size, "%s/.cache/simclr/index", home);
    return length > 0 && (size_t)length < size ? buffer : NULL;
}

/* Issue 25: the index of a folder dataset, where it came from. */
static void report_index(const simclr_dataset *ds, int quiet)
{
    for (const char *line = ds->index_notes; line && *line;) {
        size_t length = strcspn(line, "\n");
        fprintf(stderr, "simclr: note: %.*s\n", (int)length, line);
        line += length + (line[length] == '\n');
    }
    if (!ds->index_cache_path || quiet) return;
    fprintf(stderr, "simclr: index of %s: %zu of %zu files from the cache %s, %zu read, %.2f s%s\n", ds->path,
            ds->index_cached_files, ds->index_files, ds->index_cache_path, ds->index_files - ds->index_cached_files,
            ds->index_seconds, ds->index_cache_written ? " (cache updated)" : "");
}

int dataset_cli_open(const dataset_cli *options, simclr_dataset *ds, simclr_error *err)
{
    simclr_dataset_options open_options = simclr_dataset_options_default();
    char cache_buffer[4096];
    if (simclr_dataset_kind_parse(options->dataset, &open_options.kind) != 0)
        return simclr_error_input(err, "--dataset: unknown dataset '%s'", options->dataset);
    open_options.data_dir = options->data_dir;
    open_options.image_size = (int)options->image_size;
    if (simclr_image_resize_mode_parse(options->resize, &open_options.resize) != 0)
        return simclr_error_input(err, "--resize: expected crop or squash, got '%s'", options->resize);
    open_options.defer_pixels = options->defer_pixels;
    open_options.labeled_dir = options->labeled_dir;
    open_options.file_list = options->file_list;
    open_options.strict = options->strict;
    open_options.stl10_fold = (int)options->stl10_fold;
    open_options.cifar100_coarse = options->cifar100_coarse;
    simclr_error_clear(err);
    open_options.index_cache_dir = index_cache_dir(options, cache_buffer, sizeof cache_buffer, err);
    if (err->kind != SIMCLR_ERROR_KIND_NONE) return -1;
    if (simclr_dataset_open(ds, &open_options, err) != 0) {
        /* Issue 27: a folder of images opened as another dataset (--dataset forgotten). */
        if (err->kind == SIMCLR_ERROR_KIND_INPUT && open_options.kind != SIMCLR_DATASET_KIND_FOLDER &&
            options->data_dir && holds_images(options->data_dir, 2)) {
            simclr_error_append(err,
                     "; %s holds PNG/JPEG images: for a folder of images give --dataset folder (and "
                     "--image-size)",
                     options->data_dir);
        }
        return -1;
    }
    if (ds->kind != SIMCLR_DATASET_KIND_FOLDER) return 0;
    report_index(ds, options->quiet);
    /* Issue 25: each bad file named once, with the reason, and the count. */
    for (const char *line = ds->skipped_report; line && *line;) {
        size_t length = strcspn(line, "\n");
        fprintf(stderr, "simclr: warning: skipped %.*s\n", (int)length, line);
        line += length + (line[length] == '\n');
    }
    if (ds->skipped_files > 0)
        fprintf(stderr, "simclr: warning: %zu file%s of %s skipped as unreadable (--strict refuses instead)\n",
                ds->skipped_files, ds->skipped_files == 1 ? "" : "s", ds->path);
    /* Issue 27: how the size was chosen, and how many images are resized, from which sizes, how. */
    if (options->image_size == 0)
        fprintf(stderr, "simclr: note: images of %s are brought to %dx%d: %s (--image-size N to choose)\n", ds->path,
                ds->height, ds->width, ds->image_size_rule);
    if (ds->resized_count > 0) {
        size_t total = 0;
        for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) total += ds->splits[s].count;
        char sizes[96];
        if (ds->source_size_count > 1)
            snprintf(sizes, sizeof sizes, "%zu%s sizes from %dx%d to %dx%d", ds->source_size_count,
                     ds->source_size_count >= 64 ? " or more" : "", ds->resized_from_height,
                     ds->resized_from_width, ds->resized_largest_height, ds->resized_largest_width);
        else
            snprintf(sizes, sizeof sizes, "%dx%d", ds->resized_from_height, ds->resized_from_width);
        fprintf(stderr, "simclr: note: %zu of the %zu images of %s are resized from %s to %dx%d (%s)\n",
                ds->resized_count, total, ds->path, sizes, ds->height, ds->width,
                ds->resize == SIMCLR_IMAGE_RESIZE_CROP ? "--resize crop: the centred square; squash keeps the whole "
                                                         "image"
                                                       : "--resize squash: aspect ratios are not kept");
    }
    return 0;
}

int cli_network_options(simclr_network_options *options, simclr_error *err)
{
    memset(options, 0, sizeof *options);
    if (simclr_network_options_parse_layout(options, getenv("SIMCLR_CONV_LAYOUT"), "SIMCLR_CONV_LAYOUT", err) != 0)
        return -1;
    const char *keep = getenv("SIMCLR_KEEP_ACTIVATIONS");
    options->keep_activations = keep && keep[0] != '\0' && strcmp(keep, "0") != 0;
    return 0;
}

int cli_progress_redraw(void) { return getenv("OMPI_COMM_WORLD_SIZE") == NULL; }

int cli_report_error(simclr_error *err)
{
    fprintf(stderr, "simclr: %s%s\n", err->kind == SIMCLR_ERROR_KIND_INTERRUPTED ? "" : "error: ",
            err->message[0] ? simclr_error_message(err) : "unknown failure");
    int status = err->kind == SIMCLR_ERROR_KIND_INTERRUPTED ? 130 : err->kind == SIMCLR_ERROR_KIND_INPUT ? 2 : 1;
    simclr_error_clear(err);
    return status;
}

/* The folder part of an output file's path ("." when it has none); fails on an empty name or a
 * path that ends in '/'. */
static int output_folder(const char *flag, const char *path, char *folder, size_t size, simclr_error *err)
{
    size_t length = strlen(path);
    if (length == 0 || length >= size || path[length - 1] == '/')
        return simclr_error_input(err, "%s '%s': expected a file name", flag, path);
    snprintf(folder, size, "%s", path);
    char *slash = strrchr(folder, '/');
    if (!slash) snprintf(folder, size, ".");
    else if (slash == folder) folder[1] = '\0';
    else *slash = '\0';
    return 0;
}

int cli_check_output_file(const char *flag, const char *path, simclr_error *err)
{
    char folder[4096];
    if (output_folder(flag, path, folder, sizeof folder, err) != 0) return -1;
    /* The nearest folder that exists must be one, and writable: the rest can be made. */
    for (;;) {
        struct stat info;
        if (stat(folder, &info) == 0) {
            if (!S_ISDIR(info.st_mode))
                return simclr_error_input(err, "%s %s: %s is not a directory", flag, path, folder);
            if (access(folder, W_OK | X_OK) != 0)
                return simclr_error_input(err, "%s %s: cannot write in %s: %s", flag, path, folder, strerror(errno));
            return 0;
        }
        if (errno != ENOENT)
            return simclr_error_input(err, "%s %s: cannot use %s: %s", flag, path, folder, strerror(errno));
        char *slash = strrchr(folder, '/');
        if (!slash) snprintf(folder, sizeof folder, ".");
        else if (slash == folder) folder[1] = '\0';
        else *slash = '\0';
    }
}

int cli_prepare_output_file(const char *flag, const char *path, simclr_error *err)
{
    char folder[4096];
    if (cli_check_output_file(flag, path, err) != 0 ||
        output_folder(flag, path, folder, sizeof folder, err) != 0)
        return -1;
    return cli_make_directory(flag, folder, err);
}

int cli_make_directory(const char *flag, const char *path, simclr_error *err)
{
    char partial[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof partial)
        return simclr_error_input(err, "%s: invalid directory '%s'", flag, path);
    memcpy(partial, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] == '/' || partial[i] == '\0') {
            char saved = partial[i];
            partial[i] = '\0';
            if (mkdir(partial, 0777) != 0 && errno != EEXIST)
                return simclr_error_input(err, "%s %s: cannot create directory %s: %s", flag, path,
                                          partial, strerror(errno));
            partial[i] = saved;
        }
    }
    struct stat info;
    if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode))
        return simclr_error_input(err, "%s: %s exists and is not a directory", flag, path);
    if (access(path, W_OK | X_OK) != 0)
        return simclr_error_input(err, "%s %s: cannot write there: %s", flag, path, strerror(errno));
    return 0;
}
