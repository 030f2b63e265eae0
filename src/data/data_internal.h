#ifndef SIMCLR_DATA_INTERNAL_H
#define SIMCLR_DATA_INTERNAL_H
/*
 * Private to src/data: the per-format readers that simclr_dataset_open dispatches to, and the file
 * helpers they share. Every reader fills ds (already zeroed, with kind, name and path set) and on
 * failure may leave partial splits behind: simclr_dataset_open releases them with simclr_dataset_close.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"
#include "simclr/error.h"

int simclr_stl10_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err);
int simclr_cifar_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err);
int simclr_idx_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err);
/* Allocates ds->class_names for count classes (1..SIMCLR_DATASET_MAX_CLASSES) and sets
 * num_classes. */
int simclr_data_alloc_class_names(simclr_dataset *ds, int count, simclr_error *err);

int simclr_folder_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err);
/* The folder index of an open with defer_pixels (ds->pending): decode it, size it, free it. */
int simclr_folder_load_pixels(simclr_dataset *ds, simclr_error *err);
size_t simclr_folder_pending_bytes(const simclr_dataset *ds);
void simclr_folder_index_free(void *pending);
/* A streamed folder dataset's image, decoded now (zeros on failure, recorded for check_reads). */
void simclr_folder_read_image(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index, uint8_t *out);
int simclr_folder_check_reads(const simclr_dataset *ds, simclr_error *err);
/* A streamed folder dataset's next images, for its decoder pool (issue 25). */
void simclr_folder_prefetch(const simclr_dataset *ds, const simclr_dataset_images *groups, int group_count);

/* Threads for the open's file system work (the walk's listings and stats, the header reads):
 * waiting on the disk more than computing, so more than the cores, to keep enough requests in
 * flight on a cold cache: at least SIMCLR_DATA_IO_THREADS, or the OpenMP thread count when
 * larger. The order of what they find does not depend on it. */
enum { SIMCLR_DATA_IO_THREADS = 32 };
int simclr_data_io_threads(void);

/* Joins dir and name into out (out_size bytes); -1 with err set when it does not fit. */
int simclr_data_join(char *out, size_t out_size, const char *dir, const char *name, simclr_error *err);

/* 1 when path exists and is a regular file (or a directory, for simclr_data_dir_exists). */
int simclr_data_file_exists(const char *path);
int simclr_data_dir_exists(const char *path);

/* Where a reader's files are: dir itself when dir/probe exists, else dir/subdir when
 * dir/subdir/probe exists (the archive's extracted folder inside the given one). Writes the
 * chosen directory to ds->path; returns -1 when neither holds probe (err names both paths). */
int simclr_data_locate(simclr_dataset *ds, const char *dir, const char *subdir, const char *probe, simclr_error *err);

/* Maps a whole file read-only (PROT_READ, MAP_PRIVATE). An empty file gives *mapping NULL and
 * *size 0. A missing or unreadable file is an input error naming it. Release with simclr_data_unmap. */
int simclr_data_map_file(const char *path, const char *reader, void **mapping, size_t *size, simclr_error *err);
void simclr_data_unmap(void *mapping, size_t size);

/* Reads a whole file of at most max_size bytes into a fresh buffer (NUL-terminated, so text can
 * be parsed in place; *size excludes the NUL). Caller frees *bytes. */
int simclr_data_read_file(const char *path, const char *reader, size_t max_size, uint8_t **bytes,
                   size_t *size, simclr_error *err);

/* Fills ds->class_names[0..count) from a static list. */
void simclr_data_set_names(simclr_dataset *ds, const char *const *names, int count);

/* Reads class names, one a line (blank lines and surrounding spaces ignored), from path into
 * ds->class_names. The file must list exactly `expected` names. */
int simclr_data_read_names(simclr_dataset *ds, const char *path, const char *reader, int expected, simclr_error *err);

#endif
