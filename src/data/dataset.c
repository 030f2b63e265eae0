#include "simclr/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/folder_index.h"

static const struct {
    simclr_dataset_kind kind;
    const char *name;
    const char *default_dir;
} dataset_kinds[] = {
    {SIMCLR_DATASET_KIND_STL10, "stl10", ""},
    {SIMCLR_DATASET_KIND_CIFAR10, "cifar10", ""},
    {SIMCLR_DATASET_KIND_CIFAR100, "cifar100", ""},
    {SIMCLR_DATASET_KIND_MNIST, "mnist", "/usr/share/datasets/mnist"},
    {SIMCLR_DATASET_KIND_FASHION_MNIST, "fashion-mnist", "/usr/share/datasets/fashion-mnist"},
    {SIMCLR_DATASET_KIND_FOLDER, "folder", ""},
};
#define DATASET_KIND_TOTAL (sizeof dataset_kinds / sizeof dataset_kinds[0])

static const char *const dataset_split_names[SIMCLR_DATASET_SPLIT_COUNT] = {"unlabeled", "train", "test"};

simclr_dataset_options simclr_dataset_options_default(void)
{
    simclr_dataset_options options = {
        .kind = SIMCLR_DATASET_KIND_FASHION_MNIST,
        .data_dir = NULL,
        .image_size = 0,
        .resize = SIMCLR_IMAGE_RESIZE_CROP,
        .stl10_fold = -1,
        .cifar100_coarse = 0,
    };
    return options;
}

int simclr_dataset_kind_parse(const char *name, simclr_dataset_kind *kind)
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

const char *simclr_dataset_kind_name(simclr_dataset_kind kind)
{
    for (size_t i = 0; i < DATASET_KIND_TOTAL; i++)
        if (dataset_kinds[i].kind == kind) return dataset_kinds[i].name;
    return "unknown";
}

const char *simclr_dataset_default_dir(simclr_dataset_kind kind)
{
    for (size_t i = 0; i < DATASET_KIND_TOTAL; i++)
        if (dataset_kinds[i].kind == kind) return dataset_kinds[i].default_dir;
    return "";
}

const char *simclr_dataset_split_name(simclr_dataset_split_id split)
{
    if ((int)split < 0 || split >= SIMCLR_DATASET_SPLIT_COUNT) return "unknown";
    return dataset_split_names[split];
}

int simclr_dataset_split_parse(const char *name, simclr_dataset_split_id *split)
{
    if (!name) return -1;
    for (int i = 0; i < SIMCLR_DATASET_SPLIT_COUNT; i++) {
        if (strcmp(name, dataset_split_names[i]) == 0) {
            *split = (simclr_dataset_split_id)i;
            return 0;
        }
    }
    return -1;
}

int simclr_dataset_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    memset(ds, 0, sizeof *ds);
    simclr_error_clear(err);
    const char *name = simclr_dataset_kind_name(options->kind);
    if (strcmp(name, "unknown") == 0)
        return simclr_error_input(err, "unknown dataset kind %d; expected stl10, cifar10, cifar100, "
                                "mnist, fashion-mnist or folder",
                           (int)options->kind);
    ds->kind = options->kind;
    snprintf(ds->name, sizeof ds->name, "%s", name);

    if (options->file_list) {
        /* Issue 25: a folder dataset's images named by a list file; ds->path is the list. */
        const char *list = options->file_list;
        if (options->kind != SIMCLR_DATASET_KIND_FOLDER)
            return simclr_error_input(err, "--file-list %s: a list of image files is read by --dataset folder, "
                                           "not %s",
                                      list, name);
        if (options->data_dir && *options->data_dir)
            return simclr_error_input(err, "--file-list %s: give --file-list or --data-dir, not both (the list's "
                                           "relative paths are relative to its own folder)",
                                      list);
        if (!*list || strlen(list) >= sizeof ds->path)
            return simclr_error_input(err, "--file-list '%s': expected a file name of at most %zu bytes", list,
                                      sizeof ds->path - 1);
        if (!simclr_data_file_exists(list))
            return simclr_error_input(err, "--file-list %s: no such file (or not a regular file)", list);
        snprintf(ds->path, sizeof ds->path, "%s", list);
        if (simclr_folder_open(ds, options, err) != 0) {
            simclr_dataset_close(ds);
            return -1;
        }
        return 0;
    }
    const char *dir = options->data_dir;
    if (!dir || !*dir) dir = simclr_dataset_default_dir(options->kind);
    if (!*dir)
        return simclr_error_input(err, "%s: no default data directory; pass --data-dir DIR", name);
    if (strlen(dir) >= sizeof ds->path)
        return simclr_error_input(err, "%s: data directory path is too long (at most %zu bytes)", name,
                           sizeof ds->path - 1);
    if (!simclr_data_dir_exists(dir))
        return simclr_error_input(err, "%s: data directory %s does not exist or is not a directory%s",
                           name, dir,
                           options->data_dir && *options->data_dir
                               ? ""
                               : " (the default; pass --data-dir DIR or install the dataset)");
    snprintf(ds->path, sizeof ds->path, "%s", dir);

    int status = -1;
    switch (options->kind) {
    case SIMCLR_DATASET_KIND_STL10: status = simclr_stl10_open(ds, options, err); break;
    case SIMCLR_DATASET_KIND_CIFAR10:
    case SIMCLR_DATASET_KIND_CIFAR100: status = simclr_cifar_open(ds, options, err); break;
    case SIMCLR_DATASET_KIND_MNIST:
    case SIMCLR_DATASET_KIND_FASHION_MNIST: status = simclr_idx_open(ds, options, err); break;
    case SIMCLR_DATASET_KIND_FOLDER: status = simclr_folder_open(ds, options, err); break;
    }
    if (status != 0) {
        simclr_dataset_close(ds);
        return -1;
    }
    return 0;
}

void simclr_dataset_close(simclr_dataset *ds)
{
    if (!ds) return;
    for (int i = 0; i < SIMCLR_DATASET_SPLIT_COUNT; i++) {
        simclr_dataset_split *split = &ds->splits[i];
        simclr_data_unmap(split->mapping, split->mapping_size);
        free(split->owned_pixels);
        free(split->owned_labels);
    }
    simclr_folder_index_free(ds->pending);
    free(ds->class_names);
    free(ds->skipped_report);
    free(ds->index_cache_path);
    free(ds->index_notes);
    memset(ds, 0, sizeof *ds);
}

int simclr_dataset_load_pixels(simclr_dataset *ds, simclr_error *err)
{
    return ds->pending && !ds->streamed ? simclr_folder_load_pixels(ds, err) : 0;
}

size_t simclr_dataset_pending_bytes(const simclr_dataset *ds)
{
    return ds->pending && !ds->streamed ? simclr_folder_pending_bytes(ds) : 0;
}

int simclr_dataset_choose_storage(simclr_dataset *ds, size_t budget)
{
    if (!ds->pending || ds->streamed) return ds->streamed;
    ds->streamed = simclr_folder_pending_bytes(ds) > budget;
    return ds->streamed;
}

void simclr_dataset_set_decode_threads(simclr_dataset *ds, int threads)
{
    if (ds->streamed && ds->pending) ((folder_index *)ds->pending)->decode_threads = threads > 0 ? threads : 0;
}

int simclr_dataset_decode_threads(const simclr_dataset *ds)
{
    return ds->streamed && ds->pending ? ((const folder_index *)ds->pending)->decode_threads : 0;
}

void simclr_dataset_decode_counts(const simclr_dataset *ds, size_t *prefetched, size_t *decoded_when_read)
{
    const folder_index *folder = ds->streamed ? ds->pending : NULL;
    simclr_image_prefetch_counts(folder ? folder->prefetch : NULL, prefetched, decoded_when_read);
}

void simclr_dataset_prefetch(const simclr_dataset *ds, const simclr_dataset_images *groups, int group_count)
{
    if (ds->streamed && ds->pending) simclr_folder_prefetch(ds, groups, group_count);
}

int simclr_dataset_check_reads(const simclr_dataset *ds, simclr_error *err)
{
    return ds->streamed ? simclr_folder_check_reads(ds, err) : 0;
}

size_t simclr_dataset_image_bytes(const simclr_dataset *ds)
{
    return (size_t)ds->height * (size_t)ds->width * (size_t)ds->channels;
}

void simclr_dataset_read_image(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index, uint8_t *hwc_out)
{
    const simclr_dataset_split *s = &ds->splits[split];
    if (ds->streamed) {
        simclr_folder_read_image(ds, split, index, hwc_out);
        return;
    }
    const uint8_t *src = s->base + index * s->record_stride + s->pixel_offset;
    size_t height = (size_t)ds->height, width = (size_t)ds->width;
    size_t channels = (size_t)ds->channels, plane = height * width;
    switch (s->layout) {
    case SIMCLR_DATASET_PIXELS_HWC: memcpy(hwc_out, src, plane * channels); break;
    case SIMCLR_DATASET_PIXELS_PLANES_ROW_MAJOR:
        /* src is (C, H, W) */
        for (size_t c = 0; c < channels; c++)
            for (size_t i = 0; i < plane; i++) hwc_out[i * channels + c] = src[c * plane + i];
        break;
    case SIMCLR_DATASET_PIXELS_PLANES_COLUMN_MAJOR:
        /* src is (C, W, H): pixel (y, x, c) at c*H*W + x*H + y */
        for (size_t c = 0; c < channels; c++)
            for (size_t x = 0; x < width; x++)
                for (size_t y = 0; y < height; y++)
                    hwc_out[(y * width + x) * channels + c] = src[c * plane + x * height + y];
        break;
    }
}

int simclr_dataset_label(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index)
{
    if ((int)split < 0 || split >= SIMCLR_DATASET_SPLIT_COUNT) return SIMCLR_DATASET_LABEL_NONE;
    const simclr_dataset_split *s = &ds->splits[split];
    if (!s->labels || index >= s->count) return SIMCLR_DATASET_LABEL_NONE;
    return s->labels[index];
}

simclr_dataset_split_id simclr_dataset_unlabeled_source(const simclr_dataset *ds)
{
    return ds->splits[SIMCLR_DATASET_SPLIT_UNLABELED].count > 0 ? SIMCLR_DATASET_SPLIT_UNLABELED
                                                         : SIMCLR_DATASET_SPLIT_TRAIN;
}
