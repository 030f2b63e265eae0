#ifndef SIMCLR_FUZZ_DATASET_H
#define SIMCLR_FUZZ_DATASET_H
/*
 * Shared by the dataset fuzz targets: opening a dataset from the scratch directory and checking
 * what dataset.h promises about an opened one, reading every image and label on the way (so
 * AddressSanitizer sees every byte a reader hands out).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/folder_index.h"
#include "fuzz_common.h"
#include "simclr/dataset.h"

/* Two RGB PNGs, 4x4 and 6x4 (stored zlib blocks), the images the folder-reading targets write. */
static FUZZ_UNUSED const uint8_t fuzz_png_4x4[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09, 0x29, 0x00, 0x00, 0x00,
    0x3f, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x01, 0x34, 0x00, 0xcb, 0xff, 0x00, 0x01, 0x5b, 0xb5, 0x29, 0x83,
    0xdd, 0x51, 0xab, 0x05, 0x79, 0xd3, 0x2d, 0x00, 0x47, 0xa1, 0xfb, 0x6f, 0xc9, 0x23, 0x97, 0xf1, 0x4b, 0xbf,
    0x19, 0x73, 0x00, 0x8d, 0xe7, 0x41, 0xb5, 0x0f, 0x69, 0xdd, 0x37, 0x91, 0x05, 0x5f, 0xb9, 0x00, 0xd3, 0x2d,
    0x87, 0xfb, 0x55, 0xaf, 0x23, 0x7d, 0xd7, 0x4b, 0xa5, 0xff, 0x51, 0xaa, 0x18, 0x01, 0x02, 0xf8, 0xd8, 0x99,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static FUZZ_UNUSED const uint8_t fuzz_png_6x4[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x22, 0x66, 0xd9, 0x14, 0x00, 0x00, 0x00,
    0x57, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x01, 0x4c, 0x00, 0xb3, 0xff, 0x00, 0x02, 0x5c, 0xb6, 0x2a, 0x84,
    0xde, 0x52, 0xac, 0x06, 0x7a, 0xd4, 0x2e, 0xa2, 0xfc, 0x56, 0xca, 0x24, 0x7e, 0x00, 0x48, 0xa2, 0xfc, 0x70,
    0xca, 0x24, 0x98, 0xf2, 0x4c, 0xc0, 0x1a, 0x74, 0xe8, 0x42, 0x9c, 0x10, 0x6a, 0xc4, 0x00, 0x8e, 0xe8, 0x42,
    0xb6, 0x10, 0x6a, 0xde, 0x38, 0x92, 0x06, 0x60, 0xba, 0x2e, 0x88, 0xe2, 0x56, 0xb0, 0x0a, 0x00, 0xd4, 0x2e,
    0x88, 0xfc, 0x56, 0xb0, 0x24, 0x7e, 0xd8, 0x4c, 0xa6, 0x00, 0x74, 0xce, 0x28, 0x9c, 0xf6, 0x50, 0x3e, 0xe3,
    0x23, 0x89, 0x18, 0x25, 0x1f, 0xac, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* Checks an open dataset: its shape (height or width 0: any), class names, and every image and
 * label of every split. */
static FUZZ_UNUSED void fuzz_check_dataset(const simclr_dataset *ds, int height, int width, int channels)
{
    FUZZ_CHECK(height ? ds->height == height : ds->height >= 1);
    FUZZ_CHECK(width ? ds->width == width : ds->width >= 1);
    FUZZ_CHECK(ds->channels == channels);
    /* Issue 25: a folder (or list) of unlabeled images only has no classes and no labeled images. */
    int unlabeled_only = ds->num_classes == 0;
    FUZZ_CHECK(unlabeled_only ? ds->kind == SIMCLR_DATASET_KIND_FOLDER
                              : ds->num_classes >= 1 && ds->num_classes <= SIMCLR_DATASET_MAX_CLASSES);
    for (int c = 0; c < ds->num_classes; c++)
        FUZZ_CHECK(memchr(ds->class_names[c], '\0', SIMCLR_DATASET_CLASS_NAME_MAX) != NULL);
    FUZZ_CHECK(unlabeled_only ? ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count == 0 &&
                                    ds->splits[SIMCLR_DATASET_SPLIT_TEST].count == 0
                              : ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count > 0);
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    FUZZ_CHECK(image_bytes == (size_t)ds->height * (size_t)ds->width * (size_t)channels);
    uint8_t *pixels = malloc(image_bytes);
    FUZZ_CHECK(pixels != NULL);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        simclr_dataset_split_id id = (simclr_dataset_split_id)s;
        const simclr_dataset_split *split = &ds->splits[s];
        if (split->count > 0 && id != SIMCLR_DATASET_SPLIT_UNLABELED) FUZZ_CHECK(split->labels != NULL);
        unsigned checksum = 0;
        for (size_t i = 0; i < split->count; i++) {
            simclr_dataset_read_image(ds, id, i, pixels);
            for (size_t b = 0; b < image_bytes; b++) checksum += pixels[b];
            int label = simclr_dataset_label(ds, id, i);
            if (split->labels) FUZZ_CHECK(label >= 0 && label < ds->num_classes);
            else FUZZ_CHECK(label == SIMCLR_DATASET_LABEL_NONE);
        }
        (void)checksum;
        FUZZ_CHECK(simclr_dataset_label(ds, id, split->count) == SIMCLR_DATASET_LABEL_NONE);
    }
    simclr_dataset_split_id source = simclr_dataset_unlabeled_source(ds);
    FUZZ_CHECK(ds->splits[source].count > 0);
    free(pixels);
}

/* Opens `kind` from dir with options and, when it opens, checks it and closes it. Returns what
 * simclr_dataset_open returned; a failure must come with a message. */
static FUZZ_UNUSED int fuzz_open_dataset(simclr_dataset_options *options, const char *dir, int height,
                                         int width, int channels)
{
    options->data_dir = dir;
    simclr_dataset ds;
    simclr_error err = {0};
    int status = simclr_dataset_open(&ds, options, &err);
    if (status == 0) {
        fuzz_check_dataset(&ds, height, width, channels);
        simclr_dataset_close(&ds);
    } else {
        FUZZ_CHECK(status == -1);
        FUZZ_CHECK(err.kind != SIMCLR_ERROR_KIND_NONE && err.message[0] != '\0');
        simclr_error_clear(&err); /* frees a message too long for err.message */
    }
    return status;
}

/* Two opens of a folder dataset with defer_pixels give the same dataset: shape, classes, each
 * split's files in the same order with the same labels and declared sizes (the private index). */
static FUZZ_UNUSED void fuzz_check_same_folder(const simclr_dataset *a, const simclr_dataset *b)
{
    FUZZ_CHECK(a->height == b->height && a->width == b->width && a->num_classes == b->num_classes);
    for (int c = 0; c < a->num_classes; c++) FUZZ_CHECK(strcmp(a->class_names[c], b->class_names[c]) == 0);
    FUZZ_CHECK(a->skipped_files == b->skipped_files && a->index_files == b->index_files);
    const folder_index *x = a->pending, *y = b->pending;
    FUZZ_CHECK(x != NULL && y != NULL);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        FUZZ_CHECK(a->splits[s].count == b->splits[s].count && x->files[s].count == y->files[s].count);
        for (size_t i = 0; i < x->files[s].count; i++) {
            FUZZ_CHECK(strcmp(x->files[s].items[i], y->files[s].items[i]) == 0);
            FUZZ_CHECK(x->files[s].labels[i] == y->files[s].labels[i]);
            FUZZ_CHECK(x->heights[s][i] == y->heights[s][i] && x->widths[s][i] == y->widths[s][i]);
        }
    }
}

#endif
