#ifndef SIMCLR_DATA_FOLDER_INDEX_H
#define SIMCLR_DATA_FOLDER_INDEX_H
/*
 * Private to src/data: the index of a folder dataset's open (folder.c) and its cache (issue 25):
 * each split's files, labels and the sizes their headers declare, read in parallel, and taken
 * from the index cache (index_cache.h) for the files whose size, modification time and inode are
 * the ones recorded. folder_index.c holds the header reads and the cache's use; folder.c the
 * listing (folder_walk.h), the checks and the pixels.
 */
#include <stddef.h>
#include <stdint.h>

#include "data/folder_walk.h"
#include "data/image_prefetch.h"
#include "data/index_cache.h"
#include "simclr/dataset.h"
#include "simclr/error.h"

/* A growable list of owned strings (names or paths) with their labels and, for files, their
 * facts (from the walk, or found by the header read for the files a list names). */
typedef struct path_list {
    char **items;
    int32_t *labels;
    simclr_index_facts *facts;
    size_t count, capacity;
} path_list;

void simclr_path_list_free(path_list *list);
/* Appends dir/name (name alone when dir is NULL) with label and facts (NULL: not known yet). */
int simclr_path_list_add(path_list *list, const char *dir, const char *name, int32_t label,
                         const simclr_index_facts *facts, simclr_error *err);

/* What an open lists: each split's files, labels and declared sizes. Kept (ds->pending) until the
 * pixels are decoded when the open deferred them. */
typedef struct folder_index {
    path_list files[SIMCLR_DATASET_SPLIT_COUNT];
    int *heights[SIMCLR_DATASET_SPLIT_COUNT];
    int *widths[SIMCLR_DATASET_SPLIT_COUNT];
    /* During the open: per file, 0 not for the cache (unreadable, or modified too recently), 1
     * taken from it, 2 read and to be recorded. */
    uint8_t *cache_state[SIMCLR_DATASET_SPLIT_COUNT];
    /* Streamed: the first image that failed to decode, as split << 48 | index, plus 1 (0: none). */
    uint64_t first_failure;
    /* Streamed: the decoder pool (made by the first simclr_dataset_prefetch; NULL until then, or
     * when decode_threads is 0) and its size. */
    image_prefetch *prefetch;
    int decode_threads;
} folder_index;

/* The index cache of one open. Roots (index_cache.h): 0 the data folder, or the list file's
 * folder; 1 the --labeled-dir folder. */
typedef struct folder_cache {
    char *root_prefix[SIMCLR_INDEX_CACHE_ROOTS]; /* the root's path and '/' (a list's folder: "" or "dir/") */
    int split_root[SIMCLR_DATASET_SPLIT_COUNT];
    int64_t now_ns;           /* when the open began (what "modified too recently" compares with) */
    char *path;               /* the cache file; NULL: no cache */
    char *identity;
    simclr_index_cache old;   /* the cache as found */
    int loaded;               /* old holds it */
} folder_cache;

/* Sets up the roots of the open and, with options->index_cache_dir, finds and reads the cache: a
 * damaged or foreign one is a note in ds->index_notes (and rebuilt). -1 only when out of memory. */
int simclr_folder_cache_open(folder_cache *cache, simclr_dataset *ds, const simclr_dataset_options *options,
                             simclr_error *err);
void simclr_folder_cache_close(folder_cache *cache);

/* Reads the declared size of every file of every split (in parallel), or takes it from the cache;
 * a file that fails gets height 0. Counts ds->index_files and ds->index_cached_files. */
int simclr_folder_read_headers(simclr_dataset *ds, folder_index *index, const folder_cache *cache, simclr_error *err);

/* Writes the cache when what was found differs from it (the walk's directories, every split's
 * files); a cache that cannot be written is a note. */
void simclr_folder_cache_write(simclr_dataset *ds, const folder_index *index, const folder_walk *walk,
                               const folder_cache *cache);

/* Appends one line to ds->index_notes (printf format). -1 when out of memory. */
int simclr_folder_note(simclr_dataset *ds, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
