/* .npy v1.0 writer for (rows, cols) float32, streamed into an atomic file. */
#include "simclr/npy.h"

#include <stdint.h>
#include <string.h>

size_t simclr_npy_header(char *out, size_t size, size_t rows, size_t cols)
{
    char dict[96];
    int dict_length = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                               rows, cols);
    if (dict_length < 0 || (size_t)dict_length >= sizeof dict) return 0;
    /* magic (6) + version (2) + header length (2) + dict + spaces + '\n' = k * 64 */
    size_t unpadded = 10 + (size_t)dict_length + 1;
    size_t total = (unpadded + SIMCLR_NPY_ALIGNMENT - 1) / SIMCLR_NPY_ALIGNMENT * SIMCLR_NPY_ALIGNMENT;
    if (total > size) return 0;
    size_t header_length = total - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(header_length & 0xff);
    out[9] = (char)((header_length >> 8) & 0xff);
    memcpy(out + 10, dict, (size_t)dict_length);
    memset(out + 10 + dict_length, ' ', total - unpadded);
    out[total - 1] = '\n';
    return total;
}

int simclr_npy_writer_open(simclr_npy_writer *writer, const char *path, size_t rows, size_t cols, simclr_error *err)
{
    memset(writer, 0, sizeof *writer);
    writer->rows = rows;
    writer->cols = cols;
    char header[128];
    size_t length = simclr_npy_header(header, sizeof header, rows, cols);
    if (length == 0) return simclr_error_input(err, "%s: shape (%zu, %zu) does not fit a .npy header", path, rows, cols);
    if (simclr_atomic_file_open(&writer->file, path, err) != 0) return -1;
    if (fwrite(header, 1, length, writer->file.stream) != length) {
        simclr_atomic_file_abort(&writer->file);
        return simclr_error_system(err, "cannot write %s", path);
    }
    return 0;
}

int simclr_npy_writer_append(simclr_npy_writer *writer, const float *data, size_t rows, simclr_error *err)
{
    if (rows > writer->rows - writer->written) {
        simclr_atomic_file_abort(&writer->file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: %zu rows appended to a (%zu, %zu) array",
                                writer->file.path, writer->written + rows, writer->rows, writer->cols);
    }
    /* float32 is little-endian on every machine this builds for (x86-64, aarch64). */
    size_t count = rows * writer->cols;
    if (fwrite(data, sizeof(float), count, writer->file.stream) != count) {
        simclr_atomic_file_abort(&writer->file);
        return simclr_error_system(err, "cannot write %s", writer->file.path);
    }
    writer->written += rows;
    return 0;
}

int simclr_npy_writer_commit(simclr_npy_writer *writer, simclr_error *err)
{
    if (writer->written != writer->rows) {
        simclr_atomic_file_abort(&writer->file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: %zu of %zu rows written; nothing saved",
                                writer->file.path, writer->written, writer->rows);
    }
    return simclr_atomic_file_commit(&writer->file, err);
}

void simclr_npy_writer_abort(simclr_npy_writer *writer)
{
    if (writer->file.stream) simclr_atomic_file_abort(&writer->file);
}
