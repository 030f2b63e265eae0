#include "simclr/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

static const struct {
    dataset_kind kind;
    const char *name;
    const char *default_dir;
} dataset_kinds[] = {
    {DATASET_KIND_STL10, "stl10", ""},
    {DATASET_KIND_CIFAR10, "cifar10", ""},
    {DATASET_KIND_CIFAR100, "cifar100", ""},
    {DATASET_KIND_MNIST, "mnist", "/usr/share/datasets/mnist"},
    {DATASET_KIND_FASHION_MNIST, "fashion-mnist", "/usr/share/datasets/fashion-mnist"},
    {DATASET_KIND_FOLDER, "folder", ""},
};
#define DATASET_KIND_TOTAL (sizeof dataset_kinds / sizeof dataset_kinds[0])

static const char *const dataset_split_names[DATASET_SPLIT_COUNT] = {"unlabeled", "train", "test"};

dataset_options dataset_options_default(void)
{
    dataset_options options = {
        .kind = DATASET_KIND_FASHION_MNIST,
        .data_dir = NULL,
        .image_size = 96,
        .stl10_fold = -1,
        .cifar100_coarse = 0,
    };
    return options;
}

int dataset_kind_parse(const char *name, dataset_kind *kind)
{
    if (!name) return -1;
    for (size_t i = 0; i < DATASET_KIND_TOTAL; i++) {
        if (strcmp(name, dataset_kinds[i].name) == 0) {
            *kind = dataset_kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

const char *dataset_kind_name(dataset_kind kind)
{
    for (size_t i = 0; i < DATASET_KIND_TOTAL; i++)
        if (dataset_kinds[i].kind == kind) return dataset_kinds[i].name;
    return "unknown";
}

const char *dataset_default_dir(dataset_kind kind)
{
    for (size_t i = 0; i < DATASET_KIND_TOTAL; i++)
        if (dataset_kinds[i].kind == kind) return dataset_kinds[i].default_dir;
    return "";
}

const char *dataset_split_name(dataset_split_id split)
{
    if ((int)split < 0 || split >= DATASET_SPLIT_COUNT) return "unknown";
    return dataset_split_names[split];
}

int dataset_split_parse(const char *name, dataset_split_id *split)
{
    if (!name) return -1;
    for (int i = 0; i < DATASET_SPLIT_COUNT; i++) {
        if (strcmp(name, dataset_split_names[i]) == 0) {
            *split = (dataset_split_id)i;
            return 0;
        }
    }
    return -1;
}

int dataset_open(dataset *ds, const dataset_options *options, error *err)
{
    memset(ds, 0, sizeof *ds);
    error_clear(err);
    const char *name = dataset_kind_name(options->kind);
    if (strcmp(name, "unknown") == 0)
        return error_input(err, "unknown dataset kind %d; expected stl10, cifar10, cifar100, "
                                "mnist, fashion-mnist or folder",
                           (int)options->kind);
    ds->kind = options->kind;
    snprintf(ds->name, sizeof ds->name, "%s", name);

    const char *dir = options->data_dir;
    if (!dir || !*dir) dir = dataset_default_dir(options->kind);
    if (!*dir)
        return error_input(err, "%s: no default data directory; pass --data-dir DIR", name);
    if (strlen(dir) >= sizeof ds->path)
        return error_input(err, "%s: data directory path is too long (at most %zu bytes)", name,
                           sizeof ds->path - 1);
    if (!data_dir_exists(dir))
        return error_input(err, "%s: data directory %s does not exist or is not a directory%s",
                           name, dir,
                           options->data_dir && *options->data_dir
                               ? ""
                               : " (the default; pass --data-dir DIR or install the dataset)");
    snprintf(ds->path, sizeof ds->path, "%s", dir);

    int status = -1;
    switch (options->kind) {
    case DATASET_KIND_STL10: status = stl10_open(ds, options, err); break;
    case DATASET_KIND_CIFAR10:
    case DATASET_KIND_CIFAR100: status = cifar_open(ds, options, err); break;
    case DATASET_KIND_MNIST:
    case DATASET_KIND_FASHION_MNIST: status = idx_open(ds, options, err); break;
    case DATASET_KIND_FOLDER: status = folder_open(ds, options, err); break;
    }
    if (status != 0) {
        dataset_close(ds);
        return -1;
    }
    return 0;
}

void dataset_close(dataset *ds)
{
    if (!ds) return;
    for (int i = 0; i < DATASET_SPLIT_COUNT; i++) {
        dataset_split *split = &ds->splits[i];
        data_unmap(split->mapping, split->mapping_size);
        free(split->owned_pixels);
        free(split->owned_labels);
    }
    memset(ds, 0, sizeof *ds);
}

size_t dataset_image_bytes(const dataset *ds)
{
    return (size_t)ds->height * (size_t)ds->width * (size_t)ds->channels;
}

void dataset_read_image(const dataset *ds, dataset_split_id split, size_t index, uint8_t *hwc_out)
{
    const dataset_split *s = &ds->splits[split];
    const uint8_t *src = s->base + index * s->record_stride + s->pixel_offset;
    size_t height = (size_t)ds->height, width = (size_t)ds->width;
    size_t channels = (size_t)ds->channels, plane = height * width;
    switch (s->layout) {
    case DATASET_PIXELS_HWC: memcpy(hwc_out, src, plane * channels); break;
    case DATASET_PIXELS_PLANES_ROW_MAJOR:
        /* src is (C, H, W) */
        for (size_t c = 0; c < channels; c++)
            for (size_t i = 0; i < plane; i++) hwc_out[i * channels + c] = src[c * plane + i];
        break;
    case DATASET_PIXELS_PLANES_COLUMN_MAJOR:
        /* src is (C, W, H): pixel (y, x, c) at c*H*W + x*H + y */
        for (size_t c = 0; c < channels; c++)
            for (size_t x = 0; x < width; x++)
                for (size_t y = 0; y < height; y++)
                    hwc_out[(y * width + x) * channels + c] = src[c * plane + x * height + y];
        break;
    }
}

int dataset_label(const dataset *ds, dataset_split_id split, size_t index)
{
    if ((int)split < 0 || split >= DATASET_SPLIT_COUNT) return DATASET_LABEL_NONE;
    const dataset_split *s = &ds->splits[split];
    if (!s->labels || index >= s->count) return DATASET_LABEL_NONE;
    return s->labels[index];
}

dataset_split_id dataset_unlabeled_source(const dataset *ds)
{
    return ds->splits[DATASET_SPLIT_UNLABELED].count > 0 ? DATASET_SPLIT_UNLABELED
                                                         : DATASET_SPLIT_TRAIN;
}
