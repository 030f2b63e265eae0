/* Folders of PNG/JPEG images: train/<class>/, test/<class>/, optional unlabeled/ (any depth), or
 * the images a list file names (--file-list, file_list.h). Opening lists the files and reads their
 * sizes from their headers; the pixels are decoded as RGB and brought to image_size x image_size
 * (crop or squash) at open, or later with defer_pixels (simclr_dataset_load_pixels), in parallel. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_internal.h"
#include "data/file_list.h"
#include "simclr/image_io.h"

_Static_assert(SIMCLR_DATASET_DEFAULT_SIZE_CAP == 224, "the size rule's text names the cap");

enum { FOLDER_MAX_DEPTH = 16, FOLDER_MAX_SIZE = 4096 };

/* A growable list of owned strings (names or paths) with their labels. */
typedef struct path_list {
    char **items;
    int32_t *labels;
    size_t count, capacity;
} path_list;

static void path_list_free(path_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    free(list->labels);
    memset(list, 0, sizeof *list);
}

static int path_list_add(path_list *list, const char *dir, const char *name, int32_t label,
                         simclr_error *err)
{
    if (list->count == list->capacity) {
        size_t grown = list->capacity ? list->capacity * 2 : 64;
        char **items = realloc(list->items, grown * sizeof *items);
        if (items) list->items = items;
        int32_t *labels = items ? realloc(list->labels, grown * sizeof *labels) : NULL;
        if (!labels)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", name);
        list->labels = labels;
        list->capacity = grown;
    }
    size_t length = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char *item = malloc(length);
    if (!item) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", name);
    if (dir) snprintf(item, length, "%s/%s", dir, name);
    else snprintf(item, length, "%s", name);
    list->items[list->count] = item;
    list->labels[list->count] = label;
    list->count++;
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

/* The names in dir (hidden ones skipped), sorted bytewise so the order is the same everywhere. */
static int list_names(const char *dir, path_list *names, simclr_error *err)
{
    DIR *handle = opendir(dir);
    if (!handle) return simclr_error_input(err, "folder: cannot open directory %s", dir);
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        if (path_list_add(names, NULL, entry->d_name, SIMCLR_DATASET_LABEL_NONE, err) != 0) {
            closedir(handle);
            return -1;
        }
    }
    closedir(handle);
    if (names->count > 1) qsort(names->items, names->count, sizeof(char *), compare_strings);
    return 0;
}

/* Appends dir's image files to out with `label`, descending into subfolders when recurse. */
static int collect_images(const char *dir, int32_t label, int depth, int recurse, path_list *out,
                          simclr_error *err)
{
    if (depth > FOLDER_MAX_DEPTH)
        return simclr_error_input(err, "folder: %s is nested deeper than %d folders", dir,
                           FOLDER_MAX_DEPTH);
    path_list names = {0};
    if (list_names(dir, &names, err) != 0) return -1;
    for (size_t i = 0; i < names.count; i++) {
        size_t length = strlen(dir) + strlen(names.items[i]) + 2;
        char *path = malloc(length);
        if (!path) {
            path_list_free(&names);
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", dir);
        }
        snprintf(path, length, "%s/%s", dir, names.items[i]);
        struct stat st;
        int status = 0;
        if (stat(path, &st) == 0) {
            if (S_ISREG(st.st_mode) && has_image_extension(names.items[i]))
                status = path_list_add(out, dir, names.items[i], label, err);
            else if (S_ISDIR(st.st_mode) && recurse)
                status = collect_images(path, label, depth + 1, recurse, out, err);
        }
        free(path);
        if (status != 0) {
            path_list_free(&names);
            return -1;
        }
    }
    path_list_free(&names);
    return 0;
}

/* Class names: the sorted subfolders of train/. */
static int folder_read_classes(simclr_dataset *ds, const char *train_dir, path_list *classes,
                               simclr_error *err)
{
    path_list names = {0};
    if (list_names(train_dir, &names, err) != 0) return -1;
    for (size_t i = 0; i < names.count; i++) {
        char path[sizeof ds->path + 512];
        if (snprintf(path, sizeof path, "%s/%s", train_dir, names.items[i]) >= (int)sizeof path)
            continue;
        if (!simclr_data_dir_exists(path)) continue;
        if (path_list_add(classes, NULL, names.items[i], (int32_t)classes->count, err) != 0) {
            path_list_free(&names);
            return -1;
        }
    }
    path_list_free(&names);
    if (classes->count == 0)
        return simclr_error_input(err, "folder: %s has no class subfolders; expected train/<class>/"
                                "*.png|jpg|jpeg",
                           train_dir);
    if (classes->count > SIMCLR_DATASET_MAX_CLASSES)
        return simclr_error_input(err, "folder: %s has %zu class subfolders; at most %d are supported",
                           train_dir, classes->count, SIMCLR_DATASET_MAX_CLASSES);
    if (simclr_data_alloc_class_names(ds, (int)classes->count, err) != 0) return -1;
    for (size_t c = 0; c < classes->count; c++)
        snprintf(ds->class_names[c], SIMCLR_DATASET_CLASS_NAME_MAX, "%s", classes->items[c]);
    return 0;
}

/* Lists split_dir/<class>/ images; every subfolder must be one of classes. */
static int folder_list_labeled(const char *split_dir, const path_list *classes, int is_train,
                               path_list *files, simclr_error *err)
{
    path_list names = {0};
    if (list_names(split_dir, &names, err) != 0) return -1;
    int status = 0;
    for (size_t i = 0; i < names.count && status == 0; i++) {
        size_t length = strlen(split_dir) + strlen(names.items[i]) + 2;
        char *path = malloc(length);
        if (!path) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", split_dir);
            break;
        }
        snprintf(path, length, "%s/%s", split_dir, names.items[i]);
        if (simclr_data_dir_exists(path)) {
            char **found = bsearch(&names.items[i], classes->items, classes->count,
                                   sizeof(char *), compare_strings);
            if (!found) {
                status = simclr_error_input(err, "folder: %s is not a class of train/; the test split "
                                          "must use the train split's class folders",
                                     path);
            } else {
                size_t before = files->count;
                status = collect_images(path, (int32_t)(found - classes->items), 0, 0, files,
                                        err);
                if (status == 0 && is_train && files->count == before)
                    status = simclr_error_input(err, "folder: %s holds no .png/.jpg/.jpeg images", path);
            }
        }
        free(path);
    }
    path_list_free(&names);
    return status;
}

/* What an open lists: each split's files, labels and declared sizes. Kept (ds->pending) until the
 * pixels are decoded when the open deferred them. */
typedef struct folder_index {
    path_list files[SIMCLR_DATASET_SPLIT_COUNT];
    int *heights[SIMCLR_DATASET_SPLIT_COUNT];
    int *widths[SIMCLR_DATASET_SPLIT_COUNT];
    /* Streamed: the first image that failed to decode, as split << 48 | index, plus 1 (0: none). */
    uint64_t first_failure;
} folder_index;

void simclr_folder_index_free(void *pending)
{
    folder_index *index = pending;
    if (!index) return;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        path_list_free(&index->files[s]);
        free(index->heights[s]);
        free(index->widths[s]);
    }
    free(index);
}

/* Adds one line, "path: reason", to ds->skipped_report and counts the file as skipped. */
static int folder_report_skipped(simclr_dataset *ds, const char *reason, simclr_error *err)
{
    size_t used = ds->skipped_report ? strlen(ds->skipped_report) : 0, length = strlen(reason);
    char *grown = realloc(ds->skipped_report, used + length + 2);
    if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    memcpy(grown + used, reason, length);
    grown[used + length] = '\n';
    grown[used + length + 1] = '\0';
    ds->skipped_report = grown;
    ds->skipped_files++;
    return 0;
}

/* Reads every file's declared size from its headers and checks that it ends as a whole image
 * does (in parallel: a few reads per file). A file that fails is skipped and reported in
 * ds->skipped_report, or with strict refused: the first in listing order, whatever the threads. */
static int folder_read_sizes(simclr_dataset *ds, folder_index *index, simclr_dataset_split_id id, int strict,
                             simclr_error *err)
{
    path_list *files = &index->files[id];
    index->heights[id] = simclr_checked_calloc(files->count, sizeof(int), "folder image sizes", err);
    index->widths[id] = simclr_checked_calloc(files->count, sizeof(int), "folder image sizes", err);
    if (!index->heights[id] || !index->widths[id]) return -1;
    size_t count = files->count;
    int *heights = index->heights[id], *widths = index->widths[id];
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < count; i++) {
        simclr_error local = {0};
        if (simclr_image_read_size(files->items[i], &heights[i], &widths[i], &local) != 0 ||
            simclr_image_check_ending(files->items[i], &local) != 0)
            heights[i] = 0;
        simclr_error_clear(&local);
    }
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (heights[i] > 0) {
            files->items[kept] = files->items[i];
            files->labels[kept] = files->labels[i];
            heights[kept] = heights[i];
            widths[kept] = widths[i];
            kept++;
            continue;
        }
        /* Again, serially, for the reason. */
        int height = 0, width = 0;
        if (simclr_image_read_size(files->items[i], &height, &width, err) == 0)
            simclr_image_check_ending(files->items[i], err);
        if (err && !strstr(simclr_error_message(err), files->items[i]))
            simclr_error_set(err, err->kind, "%s: %s", files->items[i], simclr_error_message(err));
        if (strict) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_INPUT, "folder: %s (--strict refuses a dataset with a bad file; "
                             "without it the file is skipped)", simclr_error_message(err));
            for (size_t j = i; j < count; j++) free(files->items[j]);
            files->count = kept;
            return -1;
        }
        if (folder_report_skipped(ds, err ? simclr_error_message(err) : files->items[i], err) != 0) {
            for (size_t j = i; j < count; j++) free(files->items[j]);
            files->count = kept;
            return -1;
        }
        simclr_error_clear(err);
        free(files->items[i]);
    }
    files->count = kept;
    return 0;
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The square size images are brought to, and how it was chosen (see dataset.h). */
static int folder_choose_size(simclr_dataset *ds, const folder_index *index, int requested, simclr_error *err)
{
    if (requested > 0) {
        ds->height = ds->width = requested;
        snprintf(ds->image_size_rule, sizeof ds->image_size_rule, "--image-size %d", requested);
        return 0;
    }
    size_t total = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) total += index->files[s].count;
    int *shorter = simclr_checked_calloc(total ? total : 1, sizeof(int), "folder image sizes", err);
    if (!shorter) return -1;
    int shared = 1, first_height = 0, first_width = 0;
    size_t used = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        for (size_t i = 0; i < index->files[s].count; i++) {
            int height = index->heights[s][i], width = index->widths[s][i];
            if (used == 0) {
                first_height = height;
                first_width = width;
            } else if (height != first_height || width != first_width) {
                shared = 0;
            }
            shorter[used++] = height < width ? height : width;
        }
    int size;
    if (shared && first_height == first_width) {
        size = first_height;
        snprintf(ds->image_size_rule, sizeof ds->image_size_rule, "the images' own size");
    } else {
        qsort(shorter, used, sizeof *shorter, compare_ints);
        size = shorter[used / 2];
        int capped = size > SIMCLR_DATASET_DEFAULT_SIZE_CAP;
        if (capped) size = SIMCLR_DATASET_DEFAULT_SIZE_CAP;
        snprintf(ds->image_size_rule, sizeof ds->image_size_rule,
                 "the median shorter side of the images%s, as their sizes differ",
                 capped ? " capped at 224" : "");
    }
    free(shorter);
    if (size > FOLDER_MAX_SIZE) size = FOLDER_MAX_SIZE;
    ds->height = ds->width = size;
    return 0;
}

/* How many images are resized, from which sizes (smallest and largest area, distinct count). */
static void folder_count_resized(simclr_dataset *ds, const folder_index *index)
{
    long long smallest = -1, largest = -1;
    int seen_height[64], seen_width[64];
    size_t seen = 0, distinct = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        for (size_t i = 0; i < index->files[s].count; i++) {
            int height = index->heights[s][i], width = index->widths[s][i];
            if (height == ds->height && width == ds->width) continue;
            ds->resized_count++;
            long long area = (long long)height * width;
            if (smallest < 0 || area < smallest) {
                smallest = area;
                ds->resized_from_height = height;
                ds->resized_from_width = width;
            }
            if (area > largest) {
                largest = area;
                ds->resized_largest_height = height;
                ds->resized_largest_width = width;
            }
            size_t k = 0;
            while (k < seen && (seen_height[k] != height || seen_width[k] != width)) k++;
            if (k == seen) {
                distinct++;
                if (seen < 64) {
                    seen_height[seen] = height;
                    seen_width[seen] = width;
                    seen++;
                }
            }
        }
    ds->source_size_count = distinct; /* exact up to 64 distinct sizes, a lower bound beyond */
}

/* Labels and counts from the index: known before any pixel is decoded. */
static int folder_fill_splits(simclr_dataset *ds, const folder_index *index, simclr_error *err)
{
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        simclr_dataset_split *split = &ds->splits[s];
        const path_list *files = &index->files[s];
        split->count = files->count;
        if (s != SIMCLR_DATASET_SPLIT_UNLABELED && files->count > 0) {
            split->owned_labels = simclr_checked_calloc(files->count, sizeof(int32_t), "folder labels", err);
            if (!split->owned_labels) return -1;
            memcpy(split->owned_labels, files->labels, files->count * sizeof(int32_t));
        }
        split->labels = split->owned_labels;
        split->record_stride = simclr_dataset_image_bytes(ds);
        split->pixel_offset = 0;
        split->layout = SIMCLR_DATASET_PIXELS_HWC;
    }
    return 0;
}

size_t simclr_folder_pending_bytes(const simclr_dataset *ds)
{
    const folder_index *index = ds->pending;
    size_t images = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) images += index->files[s].count;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    return images > SIZE_MAX / image_bytes ? SIZE_MAX : images * image_bytes;
}

/* Decodes split id's files to size x size x 3 (in parallel; the first failure in listing order
 * is the one reported). */
static int folder_decode(simclr_dataset *ds, simclr_dataset_split_id id, const path_list *files, simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    if (files->count > SIZE_MAX / image_bytes)
        return simclr_error_input(err, "folder: %zu images do not fit in memory", files->count);
    split->owned_pixels = simclr_checked_calloc(files->count, image_bytes, "folder images", err);
    if (!split->owned_pixels) return -1;
    size_t count = files->count;
    const int height = ds->height, width = ds->width;
    const simclr_image_resize_mode resize = ds->resize;
    uint8_t *failed = simclr_checked_calloc(count, 1, "folder decode status", err);
    if (!failed) return -1;
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t i = 0; i < count; i++) {
        simclr_error local = {0};
        failed[i] = simclr_image_load_fitted(files->items[i], split->owned_pixels + i * image_bytes, height, width, 3,
                                             resize, &local) != 0;
        simclr_error_clear(&local);
    }
    size_t first_bad = 0;
    while (first_bad < count && !failed[first_bad]) first_bad++;
    free(failed);
    if (first_bad < count) {
        free(split->owned_pixels);
        split->owned_pixels = NULL;
        uint8_t *probe = malloc(image_bytes);
        if (!probe) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        if (simclr_image_load_fitted(files->items[first_bad], probe, height, width, 3, resize, err) == 0)
            simclr_error_input(err, "folder: %s: changed while it was read", files->items[first_bad]);
        free(probe);
        if (err && !strstr(simclr_error_message(err), files->items[first_bad]))
            simclr_error_set(err, err->kind, "folder: %s: %s", files->items[first_bad], simclr_error_message(err));
        return -1;
    }
    split->base = split->owned_pixels;
    return 0;
}

void simclr_folder_read_image(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index, uint8_t *out)
{
    folder_index *folder = ds->pending;
    simclr_error local = {0};
    if (simclr_image_load_fitted(folder->files[split].items[index], out, ds->height, ds->width, 3, ds->resize,
                                 &local) != 0) {
        memset(out, 0, simclr_dataset_image_bytes(ds));
        uint64_t expected = 0, failure = ((uint64_t)split << 48 | (uint64_t)index) + 1;
        __atomic_compare_exchange_n(&folder->first_failure, &expected, failure, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
    }
    simclr_error_clear(&local);
}

int simclr_folder_check_reads(const simclr_dataset *ds, simclr_error *err)
{
    const folder_index *folder = ds->pending;
    uint64_t failure = __atomic_load_n(&folder->first_failure, __ATOMIC_SEQ_CST);
    if (failure == 0) return 0;
    failure--;
    const char *path = folder->files[failure >> 48].items[failure & ((1ull << 48) - 1)];
    uint8_t *probe = malloc(simclr_dataset_image_bytes(ds));
    if (!probe) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    if (simclr_image_load_fitted(path, probe, ds->height, ds->width, 3, ds->resize, err) == 0)
        simclr_error_input(err, "%s changed while it was read", path);
    free(probe);
    if (err && !strstr(simclr_error_message(err), path))
        simclr_error_set(err, err->kind, "%s: %s", path, simclr_error_message(err));
    if (err)
        simclr_error_set(err, err->kind, "folder (streamed): %s; remove or repair the file, and continue with "
                         "--resume", simclr_error_message(err));
    return -1;
}

int simclr_folder_load_pixels(simclr_dataset *ds, simclr_error *err)
{
    folder_index *index = ds->pending;
    if (!index) return 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        if (index->files[s].count > 0 && folder_decode(ds, (simclr_dataset_split_id)s, &index->files[s], err) != 0) {
            for (int t = 0; t < SIMCLR_DATASET_SPLIT_COUNT; t++) {
                free(ds->splits[t].owned_pixels);
                ds->splits[t].owned_pixels = NULL;
                ds->splits[t].base = NULL;
            }
            return -1;
        }
    simclr_folder_index_free(index);
    ds->pending = NULL;
    return 0;
}

/* The labeled images of labeled_root: train/<class>/ and test/<class>/ (train_dir receives the
 * train folder, for messages). */
static int folder_index_labeled(simclr_dataset *ds, const char *labeled_root, folder_index *index, path_list *classes,
                                char *train_dir, size_t train_dir_size, simclr_error *err)
{
    char test_dir[sizeof ds->path + 16];
    if (simclr_data_join(train_dir, train_dir_size, labeled_root, "train", err) != 0 ||
        simclr_data_join(test_dir, sizeof test_dir, labeled_root, "test", err) != 0)
        return -1;
    if (!simclr_data_dir_exists(train_dir) || !simclr_data_dir_exists(test_dir))
        return simclr_error_input(err, "folder: %s needs train/<class>/ and test/<class>/ subfolders of "
                                       "images; %s is missing",
                                  labeled_root, simclr_data_dir_exists(train_dir) ? test_dir : train_dir);
    if (folder_read_classes(ds, train_dir, classes, err) != 0 ||
        folder_list_labeled(train_dir, classes, 1, &index->files[SIMCLR_DATASET_SPLIT_TRAIN], err) != 0 ||
        folder_list_labeled(test_dir, classes, 0, &index->files[SIMCLR_DATASET_SPLIT_TEST], err) != 0)
        return -1;
    return 0;
}

/* Issue 25: the images of data_dir (train/, test/, unlabeled/), or, with labeled_dir, data_dir's
 * images as the unlabeled split and labeled_dir's as the labeled ones. */
static int folder_index_dirs(simclr_dataset *ds, const simclr_dataset_options *options, folder_index *index,
                             path_list *classes, char *train_dir, size_t train_dir_size, simclr_error *err)
{
    char own_train[sizeof ds->path + 16], own_test[sizeof ds->path + 16], unlabeled_dir[sizeof ds->path + 16];
    if (simclr_data_join(own_train, sizeof own_train, ds->path, "train", err) != 0 ||
        simclr_data_join(own_test, sizeof own_test, ds->path, "test", err) != 0)
        return -1;
    int has_own_splits = simclr_data_dir_exists(own_train) || simclr_data_dir_exists(own_test);
    const char *labeled_root = ds->path;
    if (options->labeled_dir) {
        if (has_own_splits)
            return simclr_error_input(err, "--labeled-dir %s: %s has train/ and test/ folders of its own; "
                                           "--labeled-dir is for a folder of unlabeled images only",
                                      options->labeled_dir, ds->path);
        if (!simclr_data_dir_exists(options->labeled_dir))
            return simclr_error_input(err, "--labeled-dir %s: not a directory", options->labeled_dir);
        labeled_root = options->labeled_dir;
    } else if (!has_own_splits) {
        return simclr_error_input(err, "folder: %s has no train/ and test/ subfolders: for a folder of unlabeled "
                                       "images give --labeled-dir DIR, a folder with train/<class>/ and "
                                       "test/<class>/ images for the linear probe and the evaluation",
                                  ds->path);
    }
    if (options->labeled_dir) snprintf(unlabeled_dir, sizeof unlabeled_dir, "%s", ds->path);
    else if (simclr_data_join(unlabeled_dir, sizeof unlabeled_dir, ds->path, "unlabeled", err) != 0)
        return -1;
    if (folder_index_labeled(ds, labeled_root, index, classes, train_dir, train_dir_size, err) != 0) return -1;
    if (simclr_data_dir_exists(unlabeled_dir) &&
        collect_images(unlabeled_dir, SIMCLR_DATASET_LABEL_NONE, 0, 1, &index->files[SIMCLR_DATASET_SPLIT_UNLABELED],
                       err) != 0)
        return -1;
    return 0;
}

/* Issue 25: the images a list file names (file_list.h), in list order. A path listed again is
 * left out, a line "path: listed again ..." appended to *repeated (owned by the caller), or with
 * strict refused. A list of unlabeled images only takes its labeled ones from labeled_dir
 * (train_dir then names its train folder). */
static int folder_index_file_list(simclr_dataset *ds, const simclr_dataset_options *options, folder_index *index,
                                  path_list *classes, char *train_dir, size_t train_dir_size, char **repeated,
                                  simclr_error *err)
{
    simclr_file_list list;
    if (simclr_file_list_read(&list, options->file_list, err) != 0) return -1;
    int status = -1;
    if (list.labeled_rows > 0 && options->labeled_dir) {
        simclr_error_input(err, "--labeled-dir %s: %s has labeled rows of its own; --labeled-dir is for a list of "
                                "unlabeled images only",
                           options->labeled_dir, options->file_list);
        goto done;
    }
    if (list.labeled_rows == 0 && !options->labeled_dir) {
        simclr_error_input(err, "--file-list %s names unlabeled images only (%s): for the linear probe, the kNN "
                                "monitor and the evaluation give it a label column (and a split column for the "
                                "test rows), or --labeled-dir DIR, a folder with train/<class>/ and test/<class>/ "
                                "images",
                           options->file_list, !list.csv ? "one path a line" : "no row has a label");
        goto done;
    }
    if (options->labeled_dir) {
        if (!simclr_data_dir_exists(options->labeled_dir)) {
            simclr_error_input(err, "--labeled-dir %s: not a directory", options->labeled_dir);
            goto done;
        }
        if (folder_index_labeled(ds, options->labeled_dir, index, classes, train_dir, train_dir_size, err) != 0)
            goto done;
    } else {
        if (simclr_data_alloc_class_names(ds, (int)list.class_count, err) != 0) goto done;
        for (size_t c = 0; c < list.class_count; c++)
            snprintf(ds->class_names[c], SIMCLR_DATASET_CLASS_NAME_MAX, "%s", list.classes[c]);
    }
    size_t used = 0;
    for (size_t i = 0; i < list.count; i++) {
        const simclr_file_list_entry *entry = &list.entries[i];
        if (!entry->duplicate_of) {
            if (path_list_add(&index->files[entry->split], NULL, entry->path, entry->class_index, err) != 0) goto done;
            continue;
        }
        if (options->strict) {
            simclr_error_input(err, "folder: %s: listed again on line %zu of %s (first on line %zu; --strict "
                                    "refuses a list that names a file twice; without it the later row is skipped)",
                               entry->path, entry->line, options->file_list, entry->duplicate_of);
            goto done;
        }
        int length = snprintf(NULL, 0, "%s: listed again on line %zu of %s (first on line %zu)\n", entry->path,
                              entry->line, options->file_list, entry->duplicate_of);
        char *grown = length > 0 ? realloc(*repeated, used + (size_t)length + 1) : NULL;
        if (!grown) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            goto done;
        }
        *repeated = grown;
        snprintf(grown + used, (size_t)length + 1, "%s: listed again on line %zu of %s (first on line %zu)\n",
                 entry->path, entry->line, options->file_list, entry->duplicate_of);
        used += (size_t)length;
    }
    status = 0;
done:
    simclr_file_list_free(&list);
    return status;
}

int simclr_folder_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    if (options->image_size < 0 || options->image_size > FOLDER_MAX_SIZE)
        return simclr_error_input(err, "--image-size %d: expected 1..%d (or 0: from the images)", options->image_size,
                                  FOLDER_MAX_SIZE);
    ds->channels = 3;
    ds->resize = options->resize;

    folder_index *index = simclr_checked_calloc(1, sizeof *index, "folder index", err);
    if (!index) return -1;
    ds->pending = index; /* freed by simclr_dataset_close, also on failure */
    path_list classes = {0};
    char train_dir[sizeof ds->path + 16] = "";
    char *repeated = NULL; /* a list's rows naming a file again: reported after the bad files */
    int status = -1;
    if (options->file_list
            ? folder_index_file_list(ds, options, index, &classes, train_dir, sizeof train_dir, &repeated, err)
            : folder_index_dirs(ds, options, index, &classes, train_dir, sizeof train_dir, err))
        goto done;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        if (folder_read_sizes(ds, index, (simclr_dataset_split_id)s, options->strict, err) != 0) goto done;
    /* What the list gave: all three splits, or the unlabeled one beside --labeled-dir. */
    size_t listed = index->files[SIMCLR_DATASET_SPLIT_UNLABELED].count;
    if (options->file_list && !options->labeled_dir)
        listed += index->files[SIMCLR_DATASET_SPLIT_TRAIN].count + index->files[SIMCLR_DATASET_SPLIT_TEST].count;
    const char *subject = NULL, *verb = "names", *noun = "image";
    if (options->file_list && listed == 0) {
        subject = options->file_list;
    } else if (index->files[SIMCLR_DATASET_SPLIT_TRAIN].count == 0 && train_dir[0]) {
        subject = train_dir;
        verb = "holds";
    } else if (index->files[SIMCLR_DATASET_SPLIT_TRAIN].count == 0) {
        subject = options->file_list;
        noun = "train image";
    }
    if (subject) {
        const char *report = ds->skipped_report ? ds->skipped_report : "";
        simclr_error_input(err, "folder: %s %s no readable %s (%zu skipped; the first: %.*s)", subject, verb, noun,
                           ds->skipped_files, (int)strcspn(report, "\n"), report);
        goto done;
    }
    if (repeated) { /* in the report, not in skipped_files: the file itself is in the dataset */
        size_t used = ds->skipped_report ? strlen(ds->skipped_report) : 0, length = strlen(repeated);
        char *grown = realloc(ds->skipped_report, used + length + 1);
        if (!grown) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            goto done;
        }
        memcpy(grown + used, repeated, length + 1);
        ds->skipped_report = grown;
    }
    if (folder_choose_size(ds, index, options->image_size, err) != 0) goto done;
    folder_count_resized(ds, index);
    if (folder_fill_splits(ds, index, err) != 0) goto done;
    status = options->defer_pixels ? 0 : simclr_folder_load_pixels(ds, err);
done:
    free(repeated);
    path_list_free(&classes);
    return status;
}
