#ifndef SIMCLR_ATOMIC_FILE_H
#define SIMCLR_ATOMIC_FILE_H
/*
 * Atomic file writes: data goes to "<path>.tmp.<pid>" in the same directory; commit flushes,
 * fsyncs, renames it over path and fsyncs the directory, so readers see either the old file or
 * the whole new one, and a failed write (disk full, read-only directory) leaves the old one.
 *
 *     simclr_atomic_file file;
 *     if (simclr_atomic_file_open(&file, path, &err) != 0) return -1;
 *     if (fwrite(bytes, 1, size, file.stream) != size) { simclr_atomic_file_abort(&file); ... }
 *     if (simclr_atomic_file_commit(&file, &err) != 0) return -1;   // also removes the temp on failure
 */
#include <stdio.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_atomic_file {
    FILE *stream;            /* write through this */
    char path[4096];         /* final path */
    char temp_path[4200];    /* temporary path */
} simclr_atomic_file;

int simclr_atomic_file_open(simclr_atomic_file *file, const char *path, simclr_error *err);
/* Flushes, fsyncs, renames; on any failure removes the temporary file and reports which step
 * failed and that the previous file (if any) is intact. */
int simclr_atomic_file_commit(simclr_atomic_file *file, simclr_error *err);
/* Closes and removes the temporary file; the previous file is untouched. */
void simclr_atomic_file_abort(simclr_atomic_file *file);

/* Convenience: writes size bytes atomically. */
int simclr_atomic_file_write_all(const char *path, const void *bytes, size_t size, simclr_error *err);

SIMCLR_END_DECLS
#endif
