/*
 * Fuzzes the .npy reader (src/io/npy_read.c): the input is the file. When it opens, every row
 * is read (the data must be exactly rows x cols float32), reading past the end fails, and the
 * array written back by the .npy writer reads back bit for bit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "simclr/npy.h"

int fuzz_npy_one(const uint8_t *data, size_t size)
{
    char dir[512];
    fuzz_fresh_dir("npy", dir, sizeof dir);
    if (fuzz_write_file(dir, "input.npy", data, size, size) != 0) return -1;
    char path[600], again_path[600];
    snprintf(path, sizeof path, "%s/input.npy", dir);
    snprintf(again_path, sizeof again_path, "%s/again.npy", dir);
    simclr_npy_reader reader;
    simclr_error err = {0};
    simclr_error_clear(&err);
    if (simclr_npy_reader_open(&reader, path, &err) != 0) {
        FUZZ_CHECK(err.message[0] != '\0' && reader.stream == NULL);
        simclr_error_clear(&err); /* frees a message too long for err.message */
        return -1;
    }
    size_t count = reader.rows * reader.cols; /* the file holds exactly this many floats */
    FUZZ_CHECK(count * sizeof(float) <= size);
    float *values = malloc(count ? count * sizeof(float) : 1);
    FUZZ_CHECK(values != NULL);
    FUZZ_CHECK(simclr_npy_reader_read(&reader, values, reader.rows, &err) == 0);
    float extra[1];
    FUZZ_CHECK(reader.cols == 0 || simclr_npy_reader_read(&reader, extra, 1, &err) == -1);
    size_t rows = reader.rows, cols = reader.cols;
    simclr_npy_reader_close(&reader);
    /* Round trip through the writer (the shapes it can write). */
    simclr_npy_writer writer;
    if (simclr_npy_writer_open(&writer, again_path, rows, cols, &err) == 0) {
        FUZZ_CHECK(simclr_npy_writer_append(&writer, values, rows, &err) == 0);
        FUZZ_CHECK(simclr_npy_writer_commit(&writer, &err) == 0);
        simclr_npy_reader again;
        FUZZ_CHECK(simclr_npy_reader_open(&again, again_path, &err) == 0);
        FUZZ_CHECK(again.rows == rows && again.cols == cols);
        float *back = malloc(count ? count * sizeof(float) : 1);
        FUZZ_CHECK(back != NULL);
        FUZZ_CHECK(simclr_npy_reader_read(&again, back, rows, &err) == 0);
        FUZZ_CHECK(count == 0 || memcmp(back, values, count * sizeof(float)) == 0);
        simclr_npy_reader_close(&again);
        free(back);
    }
    free(values);
    simclr_error_clear(&err);
    return 0;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_npy_one(data, size);
    return 0;
}
#endif
