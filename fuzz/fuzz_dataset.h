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
