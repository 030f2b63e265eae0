/* CIFAR-10 (cifar-10-batches-bin/) and CIFAR-100 (cifar-100-binary/) binary formats: records of
 * label byte(s) then 32x32 R, G, B planes, each row-major. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum {
    CIFAR_SIDE = 32,
    CIFAR_CHANNELS = 3,
    CIFAR_PIXEL_BYTES = CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS, /* 3072 */
    CIFAR10_RECORD = 1 + CIFAR_PIXEL_BYTES,                       /* label, pixels */
    CIFAR100_RECORD = 2 + CIFAR_PIXEL_BYTES,                      /* coarse, fine, pixels */
    CIFAR10_TRAIN_FILES = 5,
};

static const char *const cifar10_standard_names[10] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

/* How one flavour lays out its records. */
typedef struct cifar_format {
    size_t record_bytes;
    size_t pixel_offset;
    size_t label_offset;   /* the label byte used */
    int num_classes;       /* its range */
    size_t check_offset;   /* another label byte to range-check (CIFAR-100's other label) */
    int check_classes;     /* 0: none */
    const char *label_name, *check_name; /* for messages */
} cifar_format;

/* Checks that size holds a whole, non-zero number of records. */
static int cifar_check_size(const char *reader, const char *path, size_t size,
                            const cifar_format *format, simclr_error *err)
{
    if (size == 0 || size % format->record_bytes != 0)
        return simclr_error_input(err,
                           "%s: %s is %zu bytes; expected a non-zero multiple of %zu (records of "
                           "%zu label byte(s) + 32x32x3 pixels)",
                           reader, path, size, format->record_bytes, format->pixel_offset);
    return 0;
}

/* Range-checks the labels of `count` records at records and writes the used ones to labels. */
static int cifar_read_labels(const char *reader, const char *path, const uint8_t *records,
                             size_t count, const cifar_format *format, int32_t *labels, simclr_error *err)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *record = records + i * format->record_bytes;
        unsigned label = record[format->label_offset];
        if (label >= (unsigned)format->num_classes)
            return simclr_error_input(err, "%s: %s: record %zu has %s %u; expected 0..%d", reader,
                               path, i, format->label_name, label, format->num_classes - 1);
        if (format->check_classes) {
            unsigned other = record[format->check_offset];
            if (other >= (unsigned)format->check_classes)
                return simclr_error_input(err, "%s: %s: record %zu has %s %u; expected 0..%d", reader,
                                   path, i, format->check_name, other, format->check_classes - 1);
        }
        labels[i] = (int32_t)label;
    }
    return 0;
}

/* Maps one file as split `id`, pixels read straight from the mapping. */
static int cifar_load_mapped(simclr_dataset *ds, simclr_dataset_split_id id, const char *name,
                             const cifar_format *format, simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    char path[sizeof ds->path + 64];
    if (simclr_data_join(path, sizeof path, ds->path, name, err) != 0) return -1;
    if (simclr_data_map_file(path, ds->name, &split->mapping, &split->mapping_size, err) != 0) return -1;
    if (cifar_check_size(ds->name, path, split->mapping_size, format, err) != 0) return -1;
    size_t count = split->mapping_size / format->record_bytes;
    split->owned_labels = simclr_checked_calloc(count, sizeof(int32_t), "cifar labels", err);
    if (!split->owned_labels) return -1;
    if (cifar_read_labels(ds->name, path, split->mapping, count, format, split->owned_labels,
                          err) != 0)
        return -1;
    split->count = count;
    split->labels = split->owned_labels;
    split->base = split->mapping;
    split->record_stride = format->record_bytes;
    split->pixel_offset = format->pixel_offset;
    split->layout = SIMCLR_DATASET_PIXELS_PLANES_ROW_MAJOR;
    return 0;
}

/* CIFAR-10's train split: data_batch_1..5.bin, mapped one by one and copied into one buffer of
 * records (150 MB for the real data). */
static int cifar10_load_train(simclr_dataset *ds, const cifar_format *format, simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[SIMCLR_DATASET_SPLIT_TRAIN];
    void *mappings[CIFAR10_TRAIN_FILES] = {0};
    size_t sizes[CIFAR10_TRAIN_FILES] = {0};
    char paths[CIFAR10_TRAIN_FILES][sizeof ds->path + 64];
    size_t total = 0;
    int status = -1;
    for (int f = 0; f < CIFAR10_TRAIN_FILES; f++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", f + 1);
        if (simclr_data_join(paths[f], sizeof paths[f], ds->path, name, err) != 0) goto done;
        if (simclr_data_map_file(paths[f], ds->name, &mappings[f], &sizes[f], err) != 0) goto done;
        if (cifar_check_size(ds->name, paths[f], sizes[f], format, err) != 0) goto done;
        total += sizes[f]; /* five files that each fit in memory cannot overflow size_t */
    }
    size_t count = total / format->record_bytes;
    split->owned_pixels = simclr_checked_calloc(total, 1, "cifar10 train records", err);
    split->owned_labels = simclr_checked_calloc(count, sizeof(int32_t), "cifar10 train labels", err);
    if (!split->owned_pixels || !split->owned_labels) goto done;
    size_t offset = 0;
    for (int f = 0; f < CIFAR10_TRAIN_FILES; f++) {
        size_t records = sizes[f] / format->record_bytes;
        if (cifar_read_labels(ds->name, paths[f], mappings[f], records, format,
                              split->owned_labels + offset / format->record_bytes, err) != 0)
            goto done;
        memcpy(split->owned_pixels + offset, mappings[f], sizes[f]);
        offset += sizes[f];
    }
    split->count = count;
    split->labels = split->owned_labels;
    split->base = split->owned_pixels;
    split->record_stride = format->record_bytes;
    split->pixel_offset = format->pixel_offset;
    split->layout = SIMCLR_DATASET_PIXELS_PLANES_ROW_MAJOR;
    status = 0;
done:
    for (int f = 0; f < CIFAR10_TRAIN_FILES; f++) simclr_data_unmap(mappings[f], sizes[f]);
    return status;
}

static int cifar10_open(simclr_dataset *ds, simclr_error *err)
{
    if (simclr_data_locate(ds, ds->path, "cifar-10-batches-bin", "data_batch_1.bin", err) != 0) return -1;
    cifar_format format = {.record_bytes = CIFAR10_RECORD,
                           .pixel_offset = 1,
                           .label_offset = 0,
                           .num_classes = 10,
                           .label_name = "label"};
    if (simclr_data_alloc_class_names(ds, 10, err) != 0) return -1;
    if (cifar10_load_train(ds, &format, err) != 0) return -1;
    if (cifar_load_mapped(ds, SIMCLR_DATASET_SPLIT_TEST, "test_batch.bin", &format, err) != 0) return -1;
    char path[sizeof ds->path + 64];
    if (simclr_data_join(path, sizeof path, ds->path, "batches.meta.txt", err) != 0) return -1;
    if (simclr_data_file_exists(path)) return simclr_data_read_names(ds, path, ds->name, 10, err);
    simclr_data_set_names(ds, cifar10_standard_names, 10);
    return 0;
}

static int cifar100_open(simclr_dataset *ds, int coarse, simclr_error *err)
{
    if (simclr_data_locate(ds, ds->path, "cifar-100-binary", "train.bin", err) != 0) return -1;
    cifar_format format = {.record_bytes = CIFAR100_RECORD,
                           .pixel_offset = 2,
                           .label_offset = coarse ? 0 : 1,
                           .num_classes = coarse ? 20 : 100,
                           .check_offset = coarse ? 1 : 0,
                           .check_classes = coarse ? 100 : 20,
                           .label_name = coarse ? "coarse label" : "fine label",
                           .check_name = coarse ? "fine label" : "coarse label"};
    if (simclr_data_alloc_class_names(ds, format.num_classes, err) != 0) return -1;
    if (cifar_load_mapped(ds, SIMCLR_DATASET_SPLIT_TRAIN, "train.bin", &format, err) != 0) return -1;
    if (cifar_load_mapped(ds, SIMCLR_DATASET_SPLIT_TEST, "test.bin", &format, err) != 0) return -1;
    char path[sizeof ds->path + 64];
    const char *names_file = coarse ? "coarse_label_names.txt" : "fine_label_names.txt";
    if (simclr_data_join(path, sizeof path, ds->path, names_file, err) != 0) return -1;
    if (simclr_data_file_exists(path)) return simclr_data_read_names(ds, path, ds->name, ds->num_classes, err);
    for (int c = 0; c < ds->num_classes; c++)
        snprintf(ds->class_names[c], SIMCLR_DATASET_CLASS_NAME_MAX, "class_%d", c);
    return 0;
}

int simclr_cifar_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    ds->height = CIFAR_SIDE;
    ds->width = CIFAR_SIDE;
    ds->channels = CIFAR_CHANNELS;
    if (ds->kind == SIMCLR_DATASET_KIND_CIFAR100) return cifar100_open(ds, options->cifar100_coarse, err);
    return cifar10_open(ds, err);
}
