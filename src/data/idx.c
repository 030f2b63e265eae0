/* MNIST / Fashion-MNIST IDX files, gzipped or not (zlib reads both), decoded into memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

enum {
    IDX_MAGIC_IMAGES = 0x00000803, /* unsigned bytes, 3 dimensions */
    IDX_MAGIC_LABELS = 0x00000801, /* unsigned bytes, 1 dimension */
    IDX_MAX_SIDE = 4096,
    IDX_CLASSES = 10,
};
/* Nothing real comes near this; it keeps a corrupt header from asking for absurd memory. */
#define IDX_MAX_PAYLOAD ((size_t)1 << 33)

static const char *const fashion_mnist_names[IDX_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static const char *const mnist_names[IDX_CLASSES] = {"0", "1", "2", "3", "4",
                                                     "5", "6", "7", "8", "9"};

typedef struct idx_file {
    char path[1100];
    gzFile file;
} idx_file;

/* Opens dir/base, or dir/base.gz when the plain file is absent. */
static int idx_file_open(idx_file *f, const simclr_dataset *ds, const char *base, simclr_error *err)
{
    char plain[sizeof f->path], gz[sizeof f->path];
    f->file = NULL;
    if (simclr_data_join(plain, sizeof plain, ds->path, base, err) != 0) return -1;
    if (snprintf(gz, sizeof gz, "%s.gz", plain) >= (int)sizeof gz)
        return simclr_error_input(err, "%s: path too long: %s.gz", ds->name, plain);
    if (simclr_data_file_exists(plain)) snprintf(f->path, sizeof f->path, "%s", plain);
    else if (simclr_data_file_exists(gz)) snprintf(f->path, sizeof f->path, "%s", gz);
    else
        return simclr_error_input(err, "%s: cannot find %s or %s; expected the IDX files of %s there",
                           ds->name, plain, gz, ds->name);
    f->file = gzopen(f->path, "rb");
    if (!f->file)
        return simclr_error_input(err, "%s: cannot open %s: %s", ds->name, f->path,
                           errno ? strerror(errno) : "out of memory");
    return 0;
}

static void idx_file_close(idx_file *f)
{
    if (f->file) gzclose(f->file);
    f->file = NULL;
}

/* Reads up to n bytes; returns how many (fewer only at end of file), or -1 with err set. */
static long long idx_read(idx_file *f, const char *reader, uint8_t *out, size_t n, simclr_error *err)
{
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done;
        if (chunk > ((size_t)1 << 30)) chunk = (size_t)1 << 30;
        int got = gzread(f->file, out + done, (unsigned)chunk);
        if (got < 0) {
            int code = 0;
            const char *message = gzerror(f->file, &code);
            return simclr_error_input(err, "%s: %s is corrupt (%s); expected a gzip or raw IDX file",
                               reader, f->path, message ? message : "read error");
        }
        if (got == 0) break;
        done += (size_t)got;
    }
    return (long long)done;
}

/* Reads the header: magic, then `ndims` big-endian sizes. */
static int idx_read_header(idx_file *f, const char *reader, uint32_t magic, int ndims,
                           uint32_t *dims, simclr_error *err)
{
    uint8_t header[16];
    size_t header_bytes = 4 * (size_t)(ndims + 1);
    long long got = idx_read(f, reader, header, header_bytes, err);
    if (got < 0) return -1;
    if ((size_t)got < header_bytes)
        return simclr_error_input(err, "%s: %s is truncated: %lld bytes; expected a %zu-byte IDX header",
                           reader, f->path, got, header_bytes);
    uint32_t values[4];
    for (int i = 0; i <= ndims; i++)
        values[i] = (uint32_t)header[4 * i] << 24 | (uint32_t)header[4 * i + 1] << 16 |
                    (uint32_t)header[4 * i + 2] << 8 | (uint32_t)header[4 * i + 3];
    if (values[0] != magic)
        return simclr_error_input(err, "%s: %s has magic 0x%08x; expected 0x%08x (IDX %s)", reader,
                           f->path, (unsigned)values[0], (unsigned)magic,
                           ndims == 3 ? "images: ubyte, 3 dims" : "labels: ubyte, 1 dim");
    for (int i = 0; i < ndims; i++) dims[i] = values[i + 1];
    return 0;
}

/* Reads exactly `expected` payload bytes and checks that nothing follows. The buffer grows as
 * data arrives, so a lying header on a small file never allocates its claimed size. */
static int idx_read_payload(idx_file *f, const char *reader, size_t expected, uint8_t **out,
                            simclr_error *err)
{
    size_t capacity = expected < ((size_t)16 << 20) ? expected : ((size_t)16 << 20);
    uint8_t *buffer = simclr_checked_calloc(capacity, 1, f->path, err);
    if (!buffer) return -1;
    size_t done = 0;
    for (;;) {
        long long got = idx_read(f, reader, buffer + done, capacity - done, err);
        if (got < 0) goto fail;
        done += (size_t)got;
        if (done < capacity) {
            simclr_error_input(err, "%s: %s is truncated: %zu data bytes after the header; expected %zu",
                        reader, f->path, done, expected);
            goto fail;
        }
        if (done == expected) break;
        size_t grown = capacity > expected / 2 ? expected : capacity * 2;
        uint8_t *bigger = realloc(buffer, grown);
        if (!bigger) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading %s (%zu bytes)", f->path,
                      grown);
            goto fail;
        }
        buffer = bigger;
        capacity = grown;
    }
    uint8_t extra;
    long long trailing = idx_read(f, reader, &extra, 1, err);
    if (trailing < 0) goto fail;
    if (trailing > 0) {
        simclr_error_input(err, "%s: %s has bytes after its %zu data bytes; expected exactly what the "
                         "header declares",
                    reader, f->path, expected);
        goto fail;
    }
    *out = buffer;
    return 0;
fail:
    free(buffer);
    return -1;
}

/* Loads images_base + labels_base as split id. */
static int idx_load_split(simclr_dataset *ds, simclr_dataset_split_id id, const char *images_base,
                          const char *labels_base, simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    idx_file images = {0}, labels = {0};
    uint8_t *raw_labels = NULL;
    int status = -1;
    uint32_t image_dims[3] = {0}, label_dims[1] = {0};
    if (idx_file_open(&images, ds, images_base, err) != 0) goto done;
    if (idx_read_header(&images, ds->name, IDX_MAGIC_IMAGES, 3, image_dims, err) != 0) goto done;
    uint32_t count = image_dims[0], rows = image_dims[1], cols = image_dims[2];
    if (count == 0 || rows == 0 || cols == 0 || rows > IDX_MAX_SIDE || cols > IDX_MAX_SIDE ||
        (size_t)count > IDX_MAX_PAYLOAD / ((size_t)rows * cols)) {
        simclr_error_input(err, "%s: %s declares %u images of %ux%u; expected at least one image of at "
                         "most %dx%d and at most %zu bytes in all",
                    ds->name, images.path, (unsigned)count, (unsigned)rows, (unsigned)cols,
                    IDX_MAX_SIDE, IDX_MAX_SIDE, IDX_MAX_PAYLOAD);
        goto done;
    }
    if (ds->height && (ds->height != (int)rows || ds->width != (int)cols)) {
        simclr_error_input(err, "%s: %s holds %ux%u images; expected %dx%d like the train split",
                    ds->name, images.path, (unsigned)rows, (unsigned)cols, ds->height, ds->width);
        goto done;
    }
    if (idx_file_open(&labels, ds, labels_base, err) != 0) goto done;
    if (idx_read_header(&labels, ds->name, IDX_MAGIC_LABELS, 1, label_dims, err) != 0) goto done;
    if (label_dims[0] != count) {
        simclr_error_input(err, "%s: %s declares %u labels; expected %u to match %s", ds->name,
                    labels.path, (unsigned)label_dims[0], (unsigned)count, images.path);
        goto done;
    }
    size_t pixel_bytes = (size_t)count * rows * cols;
    if (idx_read_payload(&images, ds->name, pixel_bytes, &split->owned_pixels, err) != 0)
        goto done;
    if (idx_read_payload(&labels, ds->name, count, &raw_labels, err) != 0) goto done;
    split->owned_labels = simclr_checked_calloc(count, sizeof(int32_t), "idx labels", err);
    if (!split->owned_labels) goto done;
    for (size_t i = 0; i < count; i++) {
        if (raw_labels[i] >= IDX_CLASSES) {
            simclr_error_input(err, "%s: %s: label %u at index %zu; expected 0..9", ds->name,
                        labels.path, (unsigned)raw_labels[i], i);
            goto done;
        }
        split->owned_labels[i] = raw_labels[i];
    }
    ds->height = (int)rows;
    ds->width = (int)cols;
    split->count = count;
    split->labels = split->owned_labels;
    split->base = split->owned_pixels;
    split->record_stride = (size_t)rows * cols;
    split->pixel_offset = 0;
    split->layout = SIMCLR_DATASET_PIXELS_HWC;
    status = 0;
done:
    free(raw_labels);
    idx_file_close(&images);
    idx_file_close(&labels);
    return status;
}

int simclr_idx_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    (void)options;
    ds->channels = 1;
    if (simclr_data_alloc_class_names(ds, IDX_CLASSES, err) != 0) return -1;
    if (idx_load_split(ds, SIMCLR_DATASET_SPLIT_TRAIN, "train-images-idx3-ubyte",
                       "train-labels-idx1-ubyte", err) != 0)
        return -1;
    if (idx_load_split(ds, SIMCLR_DATASET_SPLIT_TEST, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                       err) != 0)
        return -1;
    simclr_data_set_names(ds, ds->kind == SIMCLR_DATASET_KIND_FASHION_MNIST ? fashion_mnist_names : mnist_names,
                   IDX_CLASSES);
    return 0;
}
