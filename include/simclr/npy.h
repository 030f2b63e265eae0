#ifndef SIMCLR_NPY_H
#define SIMCLR_NPY_H
/*
 * NumPy's .npy format (version 1.0) for 2-D float32 matrices, so that `numpy.load(path)` gives
 * an (rows, cols) float32 array: the magic "\x93NUMPY", version 1.0, a little-endian uint16
 * header length, the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), }
 * padded with spaces and ended by '\n' so that the data start at a multiple of 64 bytes, then
 * rows * cols little-endian float32 values in C order.
 *
 * The writer streams rows in (memory bounded by the caller's batch) into a temporary file that
 * commit renames over path (simclr_atomic_file): a failure or an abort leaves no partial .npy.
 *
 *     simclr_npy_writer npy;
 *     simclr_npy_writer_open(&npy, "emb.npy", rows, cols, &err);
 *     simclr_npy_writer_append(&npy, batch, batch_rows, &err);   // ... until rows are written
 *     simclr_npy_writer_commit(&npy, &err);
 */
#include <stddef.h>
#include <stdio.h>

#include "simclr/atomic_file.h"
#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Bytes of the header (magic to '\n'): a multiple of 64. */
#define SIMCLR_NPY_ALIGNMENT 64

/* Writes the v1.0 header for a (rows, cols) float32 C-order array into out (room for `size`
 * bytes, 128 are always enough); returns its length, or 0 when it does not fit. */
size_t simclr_npy_header(char *out, size_t size, size_t rows, size_t cols);

typedef struct simclr_npy_writer {
    simclr_atomic_file file;
    size_t rows, cols;   /* the declared shape */
    size_t written;      /* rows appended so far */
} simclr_npy_writer;

/* Creates the temporary file and writes the header; err names path when it cannot be written. */
int simclr_npy_writer_open(simclr_npy_writer *writer, const char *path, size_t rows, size_t cols, simclr_error *err);
/* Appends rows rows of cols floats (row-major); more rows than declared is an error. */
int simclr_npy_writer_append(simclr_npy_writer *writer, const float *data, size_t rows, simclr_error *err);
/* Checks every declared row was written and renames the file into place. On failure nothing is
 * left at path (beyond a previous file, untouched). */
int simclr_npy_writer_commit(simclr_npy_writer *writer, simclr_error *err);
/* Removes the temporary file. */
void simclr_npy_writer_abort(simclr_npy_writer *writer);

typedef struct simclr_npy_reader {
    FILE *stream;
    size_t rows, cols;
    size_t read;         /* rows read so far */
} simclr_npy_reader;

/* Opens a 2-D '<f4' C-order .npy (as the writer makes them, or numpy.save of such an array); err
 * names the file and what is wrong otherwise. */
int simclr_npy_reader_open(simclr_npy_reader *reader, const char *path, simclr_error *err);
/* Reads the next rows rows (rows * cols floats) into out. */
int simclr_npy_reader_read(simclr_npy_reader *reader, float *out, size_t rows, simclr_error *err);
void simclr_npy_reader_close(simclr_npy_reader *reader);

SIMCLR_END_DECLS
#endif
