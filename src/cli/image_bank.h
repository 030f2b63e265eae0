#ifndef SIMCLR_CLI_IMAGE_BANK_H
#define SIMCLR_CLI_IMAGE_BANK_H
/*
 * The images of the similarity commands (similar, dedup, select; issue 26): the PNG/JPEG files of
 * the folders and files given, and their features. Each file is read as folder datasets,
 * `predict` and the inference API read one (simclr_image_load_fitted: decoded, the checkpoint's
 * crop or squash to the model's input), a batch of --batch files decoded in parallel, run through
 * the model (simclr_feature_extractor: encoder or projection head, inference mode) and
 * L2-normalised, so that dot products are cosine similarities. Features stream out batch by batch.
 */
#include <stddef.h>

#include "simclr/error.h"
#include "simclr/features.h"
#include "simclr/progress.h"

typedef struct image_list {
    char **paths; /* owned */
    size_t count, capacity;
} image_list;

int image_list_add(image_list *list, const char *path, simclr_error *err);
/* A directory contributes its .png/.jpg/.jpeg files (any letter case), recursively, in name
 * order, hidden ones skipped; a file is taken as it is (the decoder says whether it is an image).
 * A path that does not exist is an input error naming flag ("--in") or, without one, the path. */
int image_list_collect(image_list *list, const char *path, const char *flag, simclr_error *err);
void image_list_free(image_list *list);
/* Adds the paths listed in the file at path: one a line (blank lines ignored; a path may hold
 * commas), or a CSV whose first column is `path` (select's subset.csv and outliers.csv). A file
 * that cannot be opened or read, or that lists no path, is an input error naming flag and path. */
int image_list_read_file(image_list *list, const char *path, const char *flag, simclr_error *err);

/* Receives the normalised features (count, fx->dim) of the kept images first..first+count-1. */
typedef int (*image_features_sink)(void *context, const float *features, size_t first, size_t count,
                                   simclr_error *err);

typedef struct image_embedding {
    simclr_feature_extractor *fx;
    int skip_unreadable;        /* 1: a file that cannot be read is reported ("simclr: PATH: why;
                                   skipped" on stderr) and left out; 0: it fails the call */
    simclr_progress *progress;  /* advanced once per batch, or NULL */
    /* Optional (NULL: every file is decoded): the normalised features of list file `file` when
     * they are already known (an embedding cache), else NULL; such a file is not decoded. */
    const float *(*cached_features)(void *cache, size_t file);
    void *cache;
    size_t skipped;             /* out: files left out */
    size_t from_cache;          /* out: rows that came from cached_features */
} image_embedding;

/* Embeds list's images in order. The files left out are removed from list, so that afterwards
 * list->paths[i] is the image of feature row i. */
int image_list_embed(image_embedding *embedding, image_list *list, image_features_sink sink, void *context,
                     simclr_error *err);

/* The same into a new (list->count, fx->dim) matrix (*features, caller frees). */
int image_list_embed_matrix(image_embedding *embedding, image_list *list, float **features, simclr_error *err);

/* Batches of fx->options.max_batch over count images, for a progress line's step count. */
int image_list_batches(const simclr_feature_extractor *fx, size_t count);

#endif
