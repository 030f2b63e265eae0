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
 * Writing: tensors are borrowed, not copied, until simclr_safetensors_writer_write.
 *
 *     simclr_safetensors_writer writer;
 *     simclr_safetensors_writer_init(&writer);
 *     simclr_safetensors_writer_add(&writer, "conv1.weight", SIMCLR_SAFETENSORS_DTYPE_F32,
 *                            (int64_t[]){64, 3, 3, 3}, 4, weights, &err);
 *     simclr_safetensors_writer_set_metadata(&writer, "epoch", "10", &err);
 *     simclr_safetensors_writer_write(&writer, "model.safetensors", &err);   // atomic
 *     simclr_safetensors_writer_free(&writer);
 *
 * Reading: the whole file is read and its header validated (sizes, JSON, dtypes, offsets) before
 * any tensor is handed out, so a corrupt or hostile file gives an error, never a crash.
 *
 *     simclr_safetensors_file file;
 *     if (simclr_safetensors_open(&file, "model.safetensors", &err) != 0) { puts(err.message); ... }
 *     simclr_safetensors_read_f32(&file, "conv1.weight", (int64_t[]){64, 3, 3, 3}, 4, weights, &err);
 *     const char *epoch = simclr_safetensors_metadata(&file, "epoch");   // NULL when absent
 *     simclr_safetensors_close(&file);
 *
 * Errors about a file's content are SIMCLR_ERROR_KIND_INPUT and name the file and the problem. Tensor
 * data is assumed little-endian in memory (checked at compile time).
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_SAFETENSORS_MAX_DIMS 8
/* The header limit of the reference implementation. */
#define SIMCLR_SAFETENSORS_MAX_HEADER_BYTES 100000000u

typedef enum simclr_safetensors_dtype {
    SIMCLR_SAFETENSORS_DTYPE_F32,
    SIMCLR_SAFETENSORS_DTYPE_I64,
    SIMCLR_SAFETENSORS_DTYPE_U8,
    SIMCLR_SAFETENSORS_DTYPE_I32,
    SIMCLR_SAFETENSORS_DTYPE_BF16,
    /* Known so that files written by PyTorch parse; read them with simclr_safetensors_read. */
    SIMCLR_SAFETENSORS_DTYPE_F64,
    SIMCLR_SAFETENSORS_DTYPE_F16,
    SIMCLR_SAFETENSORS_DTYPE_I16,
    SIMCLR_SAFETENSORS_DTYPE_I8,
    SIMCLR_SAFETENSORS_DTYPE_U16,
    SIMCLR_SAFETENSORS_DTYPE_U32,
    SIMCLR_SAFETENSORS_DTYPE_U64,
    SIMCLR_SAFETENSORS_DTYPE_BOOL,
    SIMCLR_SAFETENSORS_DTYPE_COUNT,
} simclr_safetensors_dtype;

/* "F32", "I64", ...; "?" for an out-of-range value. */
const char *simclr_safetensors_dtype_name(simclr_safetensors_dtype dtype);
/* Bytes per element; 0 for an out-of-range value. */
size_t simclr_safetensors_dtype_size(simclr_safetensors_dtype dtype);

/* One key/value pair of the "__metadata__" object (both owned by the file or writer). */
typedef struct simclr_safetensors_metadata_entry {
    char *key;
    char *value;
} simclr_safetensors_metadata_entry;

/* ---- reading ---- */

typedef struct simclr_safetensors_tensor {
    char *name;
    simclr_safetensors_dtype dtype;
    int ndim;                               /* 0 for a scalar */
    int64_t shape[SIMCLR_SAFETENSORS_MAX_DIMS];
    uint64_t data_begin, data_end;          /* offsets into the data area, as in the file */
    const uint8_t *data;                    /* data_end - data_begin bytes, inside the file */
} simclr_safetensors_tensor;

typedef struct simclr_safetensors_file {
    char *name;                             /* the path, for messages */
    uint8_t *bytes;                         /* the whole file */
    size_t size;
    simclr_safetensors_tensor *tensors;            /* sorted by name */
    size_t tensor_count;
    simclr_safetensors_metadata_entry *metadata;   /* sorted by key */
    size_t metadata_count;
} simclr_safetensors_file;

/* Reads and validates the file at path. On success the caller owns *file (simclr_safetensors_close);
 * on failure nothing needs freeing. */
int simclr_safetensors_open(simclr_safetensors_file *file, const char *path, simclr_error *err);

/* Same, from bytes in memory (copied; name is used in messages). Entry point for fuzzing. */
int simclr_safetensors_open_memory(simclr_safetensors_file *file, const uint8_t *bytes, size_t size,
                            const char *name, simclr_error *err);

void simclr_safetensors_close(simclr_safetensors_file *file);

/* The tensor called name, or NULL. The pointer lives as long as the file. */
const simclr_safetensors_tensor *simclr_safetensors_find(const simclr_safetensors_file *file, const char *name);

/* Copies tensor `name` into out after checking that it exists, has this dtype and exactly the
 * expected shape (ndim dims); the error says which tensor and what was expected vs found. out
 * must hold product(expected_shape) elements. */
int simclr_safetensors_read(const simclr_safetensors_file *file, const char *name, simclr_safetensors_dtype dtype,
                     const int64_t *expected_shape, int ndim, void *out, simclr_error *err);
int simclr_safetensors_read_f32(const simclr_safetensors_file *file, const char *name,
                         const int64_t *expected_shape, int ndim, float *out, simclr_error *err);

/* The metadata value for key, or NULL. Lives as long as the file. */
const char *simclr_safetensors_metadata(const simclr_safetensors_file *file, const char *key);

/* ---- writing ---- */

typedef struct simclr_safetensors_writer_tensor {
    char *name;                             /* owned copy */
    simclr_safetensors_dtype dtype;
    int ndim;
    int64_t shape[SIMCLR_SAFETENSORS_MAX_DIMS];
    const void *data;                       /* borrowed until write */
    uint64_t byte_count;
} simclr_safetensors_writer_tensor;

typedef struct simclr_safetensors_writer {
    simclr_safetensors_writer_tensor *tensors;
    size_t tensor_count, tensor_capacity;
    simclr_safetensors_metadata_entry *metadata;   /* insertion order */
    size_t metadata_count, metadata_capacity;
} simclr_safetensors_writer;

void simclr_safetensors_writer_init(simclr_safetensors_writer *writer);

/* Adds a tensor: name is copied, data (product(shape) elements of dtype) is only borrowed and
 * must stay valid until simclr_safetensors_writer_write. Rejects duplicate or empty names,
 * "__metadata__", negative dims and more than SIMCLR_SAFETENSORS_MAX_DIMS dims. */
int simclr_safetensors_writer_add(simclr_safetensors_writer *writer, const char *name, simclr_safetensors_dtype dtype,
                           const int64_t *shape, int ndim, const void *data, simclr_error *err);

/* Sets metadata key to value (both copied; a second call with the same key replaces it). */
int simclr_safetensors_writer_set_metadata(simclr_safetensors_writer *writer, const char *key,
                                    const char *value, simclr_error *err);

/* Writes the file atomically (temporary file, fsync, rename): readers see the old file or the
 * whole new one. Tensors are laid out by element size, largest first, then by name, so each is
 * aligned to its element size. */
int simclr_safetensors_writer_write(const simclr_safetensors_writer *writer, const char *path, simclr_error *err);

/* Frees the copies; the borrowed tensor data is untouched. */
void simclr_safetensors_writer_free(simclr_safetensors_writer *writer);

SIMCLR_END_DECLS
#endif
