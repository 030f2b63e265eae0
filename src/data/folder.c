/* Folders of PNG/JPEG images: train/<class>/, test/<class>/, optional unlabeled/ (any depth).
 * Every image is decoded as RGB and resized to image_size x image_size at open. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_internal.h"
#include "simclr/image_io.h"

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
    ds->num_classes = (int)classes->count;
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

/* Decodes files into split id (HWC, size x size x 3). */
static int folder_decode(simclr_dataset *ds, simclr_dataset_split_id id, const path_list *files, int keep_labels,
                         simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    if (files->count > SIZE_MAX / image_bytes)
        return simclr_error_input(err, "folder: %zu images do not fit in memory", files->count);
    split->owned_pixels = simclr_checked_calloc(files->count, image_bytes, "folder images", err);
    if (!split->owned_pixels) return -1;
    if (keep_labels) {
        split->owned_labels = simclr_checked_calloc(files->count, sizeof(int32_t), "folder labels", err);
        if (!split->owned_labels) return -1;
    }
    for (size_t i = 0; i < files->count; i++) {
        uint8_t *pixels = NULL;
        int height = 0, width = 0;
        if (simclr_image_decode_file(files->items[i], 3, &pixels, &height, &width, err) != 0) {
            if (err && !strstr(simclr_error_message(err), files->items[i]))
                simclr_error_set(err, err->kind, "folder: %s: %s", files->items[i], simclr_error_message(err));
            return -1;
        }
        uint8_t *out = split->owned_pixels + i * image_bytes;
        if (height == ds->height && width == ds->width)
            memcpy(out, pixels, image_bytes);
        else {
            simclr_image_resize_bilinear(pixels, height, width, 3, out, ds->height, ds->width);
            if (ds->resized_count++ == 0) {
                ds->resized_from_height = height;
                ds->resized_from_width = width;
            }
        }
        free(pixels);
        if (keep_labels) split->owned_labels[i] = files->labels[i];
    }
    split->count = files->count;
    split->labels = split->owned_labels;
    split->base = split->owned_pixels;
    split->record_stride = image_bytes;
    split->pixel_offset = 0;
    split->layout = SIMCLR_DATASET_PIXELS_HWC;
    return 0;
}

int simclr_folder_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    int size = options->image_size ? options->image_size : 96;
    if (size < 1 || size > FOLDER_MAX_SIZE)
        return simclr_error_input(err, "--image-size %d: expected 1..%d", options->image_size,
                           FOLDER_MAX_SIZE);
    ds->height = size;
    ds->width = size;
    ds->channels = 3;

    char train_dir[sizeof ds->path + 16], test_dir[sizeof ds->path + 16];
    char unlabeled_dir[sizeof ds->path + 16];
    if (simclr_data_join(train_dir, sizeof train_dir, ds->path, "train", err) != 0 ||
        simclr_data_join(test_dir, sizeof test_dir, ds->path, "test", err) != 0 ||
        simclr_data_join(unlabeled_dir, sizeof unlabeled_dir, ds->path, "unlabeled", err) != 0)
        return -1;
    if (!simclr_data_dir_exists(train_dir) || !simclr_data_dir_exists(test_dir))
        return simclr_error_input(err, "folder: %s needs train/<class>/ and test/<class>/ subfolders of "
                                "images; %s is missing",
                           ds->path, simclr_data_dir_exists(train_dir) ? test_dir : train_dir);

    path_list classes = {0}, train = {0}, test = {0}, unlabeled = {0};
    int status = -1;
    if (folder_read_classes(ds, train_dir, &classes, err) != 0) goto done;
    if (folder_list_labeled(train_dir, &classes, 1, &train, err) != 0) goto done;
    if (folder_list_labeled(test_dir, &classes, 0, &test, err) != 0) goto done;
    if (simclr_data_dir_exists(unlabeled_dir) &&
        collect_images(unlabeled_dir, SIMCLR_DATASET_LABEL_NONE, 0, 1, &unlabeled, err) != 0)
        goto done;
    if (folder_decode(ds, SIMCLR_DATASET_SPLIT_TRAIN, &train, 1, err) != 0) goto done;
    if (folder_decode(ds, SIMCLR_DATASET_SPLIT_TEST, &test, 1, err) != 0) goto done;
    if (folder_decode(ds, SIMCLR_DATASET_SPLIT_UNLABELED, &unlabeled, 0, err) != 0) goto done;
    status = 0;
done:
    path_list_free(&classes);
    path_list_free(&train);
    path_list_free(&test);
    path_list_free(&unlabeled);
    return status;
}
