/* .npy reader for 2-D '<f4' C-order arrays (versions 1.0 and 2.0 headers). */
#include "simclr/npy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int parse_header(const char *path, const char *dict, size_t *rows, size_t *cols, simclr_error *err)
{
    if (!strstr(dict, "'descr': '<f4'"))
        return simclr_error_input(err, "%s: expected float32 data ('descr': '<f4')", path);
    if (!strstr(dict, "'fortran_order': False"))
        return simclr_error_input(err, "%s: expected C order ('fortran_order': False)", path);
    const char *shape = strstr(dict, "'shape': (");
    unsigned long long r = 0, c = 0;
    if (!shape || sscanf(shape, "'shape': (%llu, %llu)", &r, &c) != 2)
        return simclr_error_input(err, "%s: expected a 2-D shape (rows, cols)", path);
    *rows = (size_t)r;
    *cols = (size_t)c;
    return 0;
}

int simclr_npy_reader_open(simclr_npy_reader *reader, const char *path, simclr_error *err)
{
    memset(reader, 0, sizeof *reader);
    FILE *stream = fopen(path, "rb");
    if (!stream) return simclr_error_input(err, "cannot open %s", path);
    unsigned char start[12];
    if (fread(start, 1, 10, stream) != 10 || memcmp(start, "\x93NUMPY", 6) != 0) {
        fclose(stream);
        return simclr_error_input(err, "%s is not a .npy file (no \\x93NUMPY magic)", path);
    }
    size_t header_length = 0;
    if (start[6] == 1) {
        header_length = (size_t)start[8] | (size_t)start[9] << 8;
    } else if (start[6] == 2 || start[6] == 3) {
        if (fread(start + 10, 1, 2, stream) != 2) {
            fclose(stream);
            return simclr_error_input(err, "%s: truncated .npy header", path);
        }
        header_length = (size_t)start[8] | (size_t)start[9] << 8 | (size_t)start[10] << 16 | (size_t)start[11] << 24;
    } else {
        fclose(stream);
        return simclr_error_input(err, "%s: .npy version %d.%d is not supported", path, start[6], start[7]);
    }
    if (header_length == 0 || header_length > 65536) {
        fclose(stream);
        return simclr_error_input(err, "%s: .npy header of %zu bytes", path, header_length);
    }
    char *dict = malloc(header_length + 1);
    if (!dict || fread(dict, 1, header_length, stream) != header_length) {
        free(dict);
        fclose(stream);
        return simclr_error_input(err, "%s: truncated .npy header", path);
    }
    dict[header_length] = '\0';
    int status = parse_header(path, dict, &reader->rows, &reader->cols, err);
    free(dict);
    if (status != 0) {
        fclose(stream);
        return -1;
    }
    /* The data must be exactly rows * cols float32 values, as numpy.load requires. */
    long data_start = ftell(stream);
    long end = fseek(stream, 0, SEEK_END) == 0 ? ftell(stream) : -1;
    size_t rows = reader->rows, cols = reader->cols;
    int overflows = cols != 0 && rows > SIZE_MAX / sizeof(float) / cols;
    if (data_start < 0 || end < data_start || overflows ||
        (size_t)(end - data_start) != rows * cols * sizeof(float) || fseek(stream, data_start, SEEK_SET) != 0) {
        fclose(stream);
        return simclr_error_input(err, "%s: the header's shape (%zu, %zu) does not match the %ld bytes of data",
                                  path, rows, cols, end > data_start ? end - data_start : 0L);
    }
    reader->stream = stream;
    return 0;
}

int simclr_npy_reader_read(simclr_npy_reader *reader, float *out, size_t rows, simclr_error *err)
{
    if (rows > reader->rows - reader->read)
        return simclr_error_input(err, "npy: %zu rows asked past the end (%zu of %zu read)", rows, reader->read,
                                  reader->rows);
    size_t count = rows * reader->cols;
    if (fread(out, sizeof(float), count, reader->stream) != count)
        return simclr_error_input(err, "npy: the file ends before its %zu rows", reader->rows);
    reader->read += rows;
    return 0;
}

void simclr_npy_reader_close(simclr_npy_reader *reader)
{
    if (reader->stream) fclose(reader->stream);
    reader->stream = NULL;
}
