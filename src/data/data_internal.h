#ifndef SIMCLR_DATA_INTERNAL_H
#define SIMCLR_DATA_INTERNAL_H
/*
 * Private to src/data: the per-format readers that dataset_open dispatches to, and the file
 * helpers they share. Every reader fills ds (already zeroed, with kind, name and path set) and on
 * failure may leave partial splits behind: dataset_open releases them with dataset_close.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"
#include "simclr/error.h"

int stl10_open(dataset *ds, const dataset_options *options, error *err);
int cifar_open(dataset *ds, const dataset_options *options, error *err);
int idx_open(dataset *ds, const dataset_options *options, error *err);
int folder_open(dataset *ds, const dataset_options *options, error *err);

/* Joins dir and name into out (out_size bytes); -1 with err set when it does not fit. */
int data_join(char *out, size_t out_size, const char *dir, const char *name, error *err);

/* 1 when path exists and is a regular file (or a directory, for data_dir_exists). */
int data_file_exists(const char *path);
int data_dir_exists(const char *path);

/* Where a reader's files are: dir itself when dir/probe exists, else dir/subdir when
 * dir/subdir/probe exists (the archive's extracted folder inside the given one). Writes the
 * chosen directory to ds->path; returns -1 when neither holds probe (err names both paths). */
int data_locate(dataset *ds, const char *dir, const char *subdir, const char *probe, error *err);

/* Maps a whole file read-only (PROT_READ, MAP_PRIVATE). An empty file gives *mapping NULL and
 * *size 0. A missing or unreadable file is an input error naming it. Release with data_unmap. */
int data_map_file(const char *path, const char *reader, void **mapping, size_t *size, error *err);
void data_unmap(void *mapping, size_t size);

/* Reads a whole file of at most max_size bytes into a fresh buffer (NUL-terminated, so text can
 * be parsed in place; *size excludes the NUL). Caller frees *bytes. */
int data_read_file(const char *path, const char *reader, size_t max_size, uint8_t **bytes,
                   size_t *size, error *err);

/* Fills ds->class_names[0..count) from a static list. */
void data_set_names(dataset *ds, const char *const *names, int count);

/* Reads class names, one a line (blank lines and surrounding spaces ignored), from path into
 * ds->class_names. The file must list exactly `expected` names. */
int data_read_names(dataset *ds, const char *path, const char *reader, int expected, error *err);

#endif
