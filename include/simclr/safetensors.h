#ifndef SIMCLR_SAFETENSORS_H
#define SIMCLR_SAFETENSORS_H
/*
 * Safetensors files (the format of Hugging Face's `safetensors`, readable by
 * safetensors.torch.load_file): named tensors plus string metadata.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of JSON padded with spaces to a multiple of
 * 8,
 *     {"__metadata__": {"epoch": "10"},
 *      "conv1.weight": {"dtype": "F32", "shape": [64, 3, 3, 3], "data_offsets": [0, 6912]}, ...}
 * then the raw little-endian tensor data; data_offsets count from the first byte after the JSON.
 * The tensors tile the data area exactly, with no gaps or overlaps.
 *
 * Writing: tensors are borrowed, not copied, until safetensors_writer_write.
 *
 *     safetensors_writer writer;
 *     safetensors_writer_init(&writer);
 *     safetensors_writer_add(&writer, "conv1.weight", SAFETENSORS_DTYPE_F32,
 *                            (int64_t[]){64, 3, 3, 3}, 4, weights, &err);
 *     safetensors_writer_set_metadata(&writer, "epoch", "10", &err);
 *     safetensors_writer_write(&writer, "model.safetensors", &err);   // atomic
 *     safetensors_writer_free(&writer);
 *
 * Reading: the whole file is read and its header validated (sizes, JSON, dtypes, offsets) before
 * any tensor is handed out, so a corrupt or hostile file gives an error, never a crash.
 *
 *     safetensors_file file;
 *     if (safetensors_open(&file, "model.safetensors", &err) != 0) { ... err.message ... }
 *     safetensors_read_f32(&file, "conv1.weight", (int64_t[]){64, 3, 3, 3}, 4, weights, &err);
 *     const char *epoch = safetensors_metadata(&file, "epoch");   // NULL when absent
 *     safetensors_close(&file);
 *
 * Errors about a file's content are ERROR_KIND_INPUT and name the file and the problem. Tensor
 * data is assumed little-endian in memory (checked at compile time).
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"

#define SAFETENSORS_MAX_DIMS 8
/* The header limit of the reference implementation. */
#define SAFETENSORS_MAX_HEADER_BYTES 100000000u

typedef enum safetensors_dtype {
    SAFETENSORS_DTYPE_F32,
    SAFETENSORS_DTYPE_I64,
    SAFETENSORS_DTYPE_U8,
    SAFETENSORS_DTYPE_I32,
    SAFETENSORS_DTYPE_BF16,
    /* Known so that files written by PyTorch parse; read them with safetensors_read. */
    SAFETENSORS_DTYPE_F64,
    SAFETENSORS_DTYPE_F16,
    SAFETENSORS_DTYPE_I16,
    SAFETENSORS_DTYPE_I8,
    SAFETENSORS_DTYPE_U16,
    SAFETENSORS_DTYPE_U32,
    SAFETENSORS_DTYPE_U64,
    SAFETENSORS_DTYPE_BOOL,
    SAFETENSORS_DTYPE_COUNT,
} safetensors_dtype;

/* "F32", "I64", ...; "?" for an out-of-range value. */
const char *safetensors_dtype_name(safetensors_dtype dtype);
/* Bytes per element; 0 for an out-of-range value. */
size_t safetensors_dtype_size(safetensors_dtype dtype);

/* One key/value pair of the "__metadata__" object (both owned by the file or writer). */
typedef struct safetensors_metadata_entry {
    char *key;
    char *value;
} safetensors_metadata_entry;

/* ---- reading ---- */

typedef struct safetensors_tensor {
    char *name;
    safetensors_dtype dtype;
    int ndim;                               /* 0 for a scalar */
    int64_t shape[SAFETENSORS_MAX_DIMS];
    uint64_t data_begin, data_end;          /* offsets into the data area, as in the file */
    const uint8_t *data;                    /* data_end - data_begin bytes, inside the file */
} safetensors_tensor;

typedef struct safetensors_file {
    char *name;                             /* the path, for messages */
    uint8_t *bytes;                         /* the whole file */
    size_t size;
    safetensors_tensor *tensors;            /* sorted by name */
    size_t tensor_count;
    safetensors_metadata_entry *metadata;   /* sorted by key */
    size_t metadata_count;
} safetensors_file;

/* Reads and validates the file at path. On success the caller owns *file (safetensors_close);
 * on failure nothing needs freeing. */
int safetensors_open(safetensors_file *file, const char *path, error *err);

/* Same, from bytes in memory (copied; name is used in messages). Entry point for fuzzing. */
int safetensors_open_memory(safetensors_file *file, const uint8_t *bytes, size_t size,
                            const char *name, error *err);

void safetensors_close(safetensors_file *file);

/* The tensor called name, or NULL. The pointer lives as long as the file. */
const safetensors_tensor *safetensors_find(const safetensors_file *file, const char *name);

/* Copies tensor `name` into out after checking that it exists, has this dtype and exactly the
 * expected shape (ndim dims); the error says which tensor and what was expected vs found. out
 * must hold product(expected_shape) elements. */
int safetensors_read(const safetensors_file *file, const char *name, safetensors_dtype dtype,
                     const int64_t *expected_shape, int ndim, void *out, error *err);
int safetensors_read_f32(const safetensors_file *file, const char *name,
                         const int64_t *expected_shape, int ndim, float *out, error *err);

/* The metadata value for key, or NULL. Lives as long as the file. */
const char *safetensors_metadata(const safetensors_file *file, const char *key);

/* ---- writing ---- */

typedef struct safetensors_writer_tensor {
    char *name;                             /* owned copy */
    safetensors_dtype dtype;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    const void *data;                       /* borrowed until write */
    uint64_t byte_count;
} safetensors_writer_tensor;

typedef struct safetensors_writer {
    safetensors_writer_tensor *tensors;
    size_t tensor_count, tensor_capacity;
    safetensors_metadata_entry *metadata;   /* insertion order */
    size_t metadata_count, metadata_capacity;
} safetensors_writer;

void safetensors_writer_init(safetensors_writer *writer);

/* Adds a tensor: name is copied, data (product(shape) elements of dtype) is only borrowed and
 * must stay valid until safetensors_writer_write. Rejects duplicate or empty names,
 * "__metadata__", negative dims and more than SAFETENSORS_MAX_DIMS dims. */
int safetensors_writer_add(safetensors_writer *writer, const char *name, safetensors_dtype dtype,
                           const int64_t *shape, int ndim, const void *data, error *err);

/* Sets metadata key to value (both copied; a second call with the same key replaces it). */
int safetensors_writer_set_metadata(safetensors_writer *writer, const char *key,
                                    const char *value, error *err);

/* Writes the file atomically (temporary file, fsync, rename): readers see the old file or the
 * whole new one. Tensors are laid out by element size, largest first, then by name, so each is
 * aligned to its element size. */
int safetensors_writer_write(const safetensors_writer *writer, const char *path, error *err);

/* Frees the copies; the borrowed tensor data is untouched. */
void safetensors_writer_free(safetensors_writer *writer);

#endif
