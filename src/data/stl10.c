/* STL-10 binary (stl10_binary/): 96x96x3 images as column-major R, G, B planes, labels 1..10. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum {
    STL10_SIDE = 96,
    STL10_CHANNELS = 3,
    STL10_IMAGE_BYTES = STL10_SIDE * STL10_SIDE * STL10_CHANNELS, /* 27648 */
    STL10_CLASSES = 10,
};

static const char *const stl10_standard_names[STL10_CLASSES] = {
    "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"};

/* Maps x_name as split `id`; with y_name also reads and checks its labels. */
static int stl10_load_split(simclr_dataset *ds, simclr_dataset_split_id id, const char *x_name,
                            const char *y_name, simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    char x_path[sizeof ds->path + 64], y_path[sizeof ds->path + 64];
    if (simclr_data_join(x_path, sizeof x_path, ds->path, x_name, err) != 0) return -1;

    uint8_t *raw_labels = NULL;
    size_t label_count = 0;
    if (y_name) {
        if (simclr_data_join(y_path, sizeof y_path, ds->path, y_name, err) != 0) return -1;
        if (simclr_data_read_file(y_path, "stl10", (size_t)1 << 30, &raw_labels, &label_count, err) != 0)
            return -1;
        if (label_count == 0) {
            free(raw_labels);
            return simclr_error_input(err, "stl10: %s is empty; expected one label byte (1..10) per "
                                    "image of %s",
                               y_path, x_name);
        }
    }
    if (simclr_data_map_file(x_path, "stl10", &split->mapping, &split->mapping_size, err) != 0) {
        free(raw_labels);
        return -1;
    }
    size_t size = split->mapping_size;
    if (size == 0 || size % STL10_IMAGE_BYTES != 0 ||
        (y_name && size / STL10_IMAGE_BYTES != label_count)) {
        free(raw_labels);
        if (y_name && size != 0 && size % STL10_IMAGE_BYTES == 0)
            return simclr_error_input(err,
                               "stl10: %s holds %zu images (%zu bytes); expected %zu images to "
                               "match the %zu labels in %s",
                               x_path, size / STL10_IMAGE_BYTES, size, label_count, label_count,
                               y_name);
        if (y_name)
            return simclr_error_input(err,
                               "stl10: %s is %zu bytes; expected a multiple of %d (96x96x3 "
                               "images) matching %zu labels in %s",
                               x_path, size, STL10_IMAGE_BYTES, label_count, y_name);
        return simclr_error_input(err,
                           "stl10: %s is %zu bytes; expected a non-zero multiple of %d (96x96x3 "
                           "images)",
                           x_path, size, STL10_IMAGE_BYTES);
    }
    split->count = size / STL10_IMAGE_BYTES;
    split->base = split->mapping;
    split->record_stride = STL10_IMAGE_BYTES;
    split->pixel_offset = 0;
    split->layout = SIMCLR_DATASET_PIXELS_PLANES_COLUMN_MAJOR;
    if (!y_name) return 0;

    split->owned_labels = simclr_checked_calloc(label_count, sizeof(int32_t), "stl10 labels", err);
    if (!split->owned_labels) {
        free(raw_labels);
        return -1;
    }
    for (size_t i = 0; i < label_count; i++) {
        if (raw_labels[i] < 1 || raw_labels[i] > STL10_CLASSES) {
            unsigned bad = raw_labels[i];
            free(raw_labels);
            return simclr_error_input(err, "stl10: %s: label %u at index %zu; expected 1..10", y_path,
                               bad, i);
        }
        split->owned_labels[i] = (int32_t)raw_labels[i] - 1;
    }
    free(raw_labels);
    split->labels = split->owned_labels;
    return 0;
}

/* Keeps only fold `fold` of fold_indices.txt in the train split, copied out of the mapping. */
static int stl10_select_fold(simclr_dataset *ds, int fold, simclr_error *err)
{
    char path[sizeof ds->path + 64];
    if (simclr_data_join(path, sizeof path, ds->path, "fold_indices.txt", err) != 0) return -1;
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (simclr_data_read_file(path, "stl10", (size_t)64 << 20, &bytes, &size, err) != 0) return -1;
    char *text = (char *)bytes;
    char *line = text;
    int line_number = 0;
    while (line_number < fold && line < text + size) {
        char *end = memchr(line, '\n', (size_t)(text + size - line));
        if (!end) {
            line = text + size;
            break;
        }
        line = end + 1;
        line_number++;
    }
    if (line >= text + size) {
        free(bytes);
        return simclr_error_input(err, "stl10: %s has no line %d; --stl10-fold %d expects 10 lines of "
                                "train indices (folds 0..9)",
                           path, fold + 1, fold);
    }
    char *line_end = memchr(line, '\n', (size_t)(text + size - line));
    if (!line_end) line_end = text + size;
    *line_end = '\0';

    simclr_dataset_split *train = &ds->splits[SIMCLR_DATASET_SPLIT_TRAIN];
    size_t capacity = (size_t)(line_end - line) / 2 + 1; /* each index takes >= 2 chars */
    size_t *indices = simclr_checked_calloc(capacity, sizeof(size_t), "stl10 fold indices", err);
    if (!indices) {
        free(bytes);
        return -1;
    }
    size_t count = 0;
    char *cursor = line;
    for (;;) {
        while (*cursor == ' ' || *cursor == '\t' || *cursor == '\r') cursor++;
        if (!*cursor) break;
        char *after = NULL;
        errno = 0;
        unsigned long long value = strtoull(cursor, &after, 10);
        if (after == cursor || errno != 0 || *cursor == '-' || *cursor == '+' ||
            value >= train->count || count >= capacity) {
            simclr_error_input(err, "stl10: %s line %d: \"%.20s\" is not a train index; expected "
                             "integers 0..%zu separated by spaces",
                        path, fold + 1, cursor, train->count - 1);
            free(indices);
            free(bytes);
            return -1;
        }
        indices[count++] = (size_t)value;
        cursor = after;
    }
    free(bytes);
    if (count == 0) {
        free(indices);
        return simclr_error_input(err, "stl10: %s line %d is empty; expected the fold's train indices",
                           path, fold + 1);
    }

    uint8_t *pixels = simclr_checked_calloc(count, STL10_IMAGE_BYTES, "stl10 fold images", err);
    int32_t *labels = pixels ? simclr_checked_calloc(count, sizeof(int32_t), "stl10 fold labels", err)
                             : NULL;
    if (!labels) {
        free(pixels);
        free(indices);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        memcpy(pixels + i * STL10_IMAGE_BYTES, train->base + indices[i] * STL10_IMAGE_BYTES,
               STL10_IMAGE_BYTES);
        labels[i] = train->labels[indices[i]];
    }
    free(indices);
    simclr_data_unmap(train->mapping, train->mapping_size);
    free(train->owned_labels);
    train->mapping = NULL;
    train->mapping_size = 0;
    train->owned_pixels = pixels;
    train->owned_labels = labels;
    train->base = pixels;
    train->labels = labels;
    train->count = count;
    return 0;
}

int simclr_stl10_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    if (options->stl10_fold < -1)
        return simclr_error_input(err, "--stl10-fold %d: expected -1 (the whole train split) or 0..9",
                           options->stl10_fold);
    if (simclr_data_locate(ds, ds->path, "stl10_binary", "train_X.bin", err) != 0) return -1;
    ds->height = STL10_SIDE;
    ds->width = STL10_SIDE;
    ds->channels = STL10_CHANNELS;
    if (simclr_data_alloc_class_names(ds, STL10_CLASSES, err) != 0) return -1;

    if (stl10_load_split(ds, SIMCLR_DATASET_SPLIT_TRAIN, "train_X.bin", "train_y.bin", err) != 0)
        return -1;
    if (stl10_load_split(ds, SIMCLR_DATASET_SPLIT_TEST, "test_X.bin", "test_y.bin", err) != 0) return -1;
    char path[sizeof ds->path + 64];
    if (simclr_data_join(path, sizeof path, ds->path, "unlabeled_X.bin", err) != 0) return -1;
    if (simclr_data_file_exists(path) &&
        stl10_load_split(ds, SIMCLR_DATASET_SPLIT_UNLABELED, "unlabeled_X.bin", NULL, err) != 0)
        return -1;
    if (options->stl10_fold >= 0 && stl10_select_fold(ds, options->stl10_fold, err) != 0)
        return -1;

    if (simclr_data_join(path, sizeof path, ds->path, "class_names.txt", err) != 0) return -1;
    if (simclr_data_file_exists(path))
        return simclr_data_read_names(ds, path, "stl10", STL10_CLASSES, err);
    simclr_data_set_names(ds, stl10_standard_names, STL10_CLASSES);
    return 0;
}
