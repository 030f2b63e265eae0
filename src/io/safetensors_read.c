/*
 * Reading safetensors files: read the whole file, check the header length, parse the JSON header
 * (safetensors_header.c), then check every tensor's offsets against its shape and the data area
 * before handing any data out.
 */
#include "io/safetensors_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct dtype_description {
    const char *name;
    size_t size;
} dtype_description;

static const dtype_description dtype_table[SIMCLR_SAFETENSORS_DTYPE_COUNT] = {
    [SIMCLR_SAFETENSORS_DTYPE_F32] = {"F32", 4},  [SIMCLR_SAFETENSORS_DTYPE_I64] = {"I64", 8},
    [SIMCLR_SAFETENSORS_DTYPE_U8] = {"U8", 1},    [SIMCLR_SAFETENSORS_DTYPE_I32] = {"I32", 4},
    [SIMCLR_SAFETENSORS_DTYPE_BF16] = {"BF16", 2}, [SIMCLR_SAFETENSORS_DTYPE_F64] = {"F64", 8},
    [SIMCLR_SAFETENSORS_DTYPE_F16] = {"F16", 2},  [SIMCLR_SAFETENSORS_DTYPE_I16] = {"I16", 2},
    [SIMCLR_SAFETENSORS_DTYPE_I8] = {"I8", 1},    [SIMCLR_SAFETENSORS_DTYPE_U16] = {"U16", 2},
    [SIMCLR_SAFETENSORS_DTYPE_U32] = {"U32", 4},  [SIMCLR_SAFETENSORS_DTYPE_U64] = {"U64", 8},
    [SIMCLR_SAFETENSORS_DTYPE_BOOL] = {"BOOL", 1},
};

const char *simclr_safetensors_dtype_name(simclr_safetensors_dtype dtype)
{
    return (unsigned)dtype < SIMCLR_SAFETENSORS_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

size_t simclr_safetensors_dtype_size(simclr_safetensors_dtype dtype)
{
    return (unsigned)dtype < SIMCLR_SAFETENSORS_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

int simclr_safetensors_dtype_from_name(const char *dtype_name, simclr_safetensors_dtype *dtype)
{
    for (int i = 0; i < SIMCLR_SAFETENSORS_DTYPE_COUNT; i++) {
        if (strcmp(dtype_table[i].name, dtype_name) == 0) {
            *dtype = (simclr_safetensors_dtype)i;
            return 0;
        }
    }
    return -1;
}

void simclr_safetensors_format_shape(char *buffer, size_t size, const int64_t *shape, int ndim)
{
    size_t used = 0;
    int written = snprintf(buffer, size, "[");
    for (int d = 0; d < ndim && written >= 0 && (used += (size_t)written) < size; d++)
        written = snprintf(buffer + used, size - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (written >= 0 && (used += (size_t)written) < size) snprintf(buffer + used, size - used, "]");
}

/* Bytes the shape needs, or -1 when the product overflows 64 bits. */
static int shape_byte_count(const simclr_safetensors_tensor *tensor, uint64_t *bytes)
{
    uint64_t count = simclr_safetensors_dtype_size(tensor->dtype);
    for (int d = 0; d < tensor->ndim; d++)
        if (__builtin_mul_overflow(count, (uint64_t)tensor->shape[d], &count)) return -1;
    *bytes = count;
    return 0;
}

static int compare_by_offsets(const void *a, const void *b)
{
    const simclr_safetensors_tensor *left = a, *right = b;
    if (left->data_begin != right->data_begin) return left->data_begin < right->data_begin ? -1 : 1;
    if (left->data_end != right->data_end) return left->data_end < right->data_end ? -1 : 1;
    return 0;
}

static int compare_by_name(const void *a, const void *b)
{
    return strcmp(((const simclr_safetensors_tensor *)a)->name, ((const simclr_safetensors_tensor *)b)->name);
}

static int compare_metadata_by_key(const void *a, const void *b)
{
    return strcmp(((const simclr_safetensors_metadata_entry *)a)->key,
                  ((const simclr_safetensors_metadata_entry *)b)->key);
}

/* Each tensor's offsets fit its shape and the data area; together they tile it exactly. */
static int validate_tensors(simclr_safetensors_file *file, const uint8_t *data, uint64_t data_size,
                            simclr_error *err)
{
    const char *name = file->name;
    for (size_t i = 0; i < file->tensor_count; i++) {
        const simclr_safetensors_tensor *tensor = &file->tensors[i];
        unsigned long long begin = tensor->data_begin, end = tensor->data_end;
        char shape[160] = "";
        if (begin > end)
            return simclr_error_input(err, "%s: tensor '%s' has data_offsets [%llu, %llu] ending before "
                               "they begin", name, tensor->name, begin, end);
        if (end > data_size)
            return simclr_error_input(err, "%s: tensor '%s' has data_offsets [%llu, %llu] beyond the "
                               "%llu bytes of data (truncated file?)", name, tensor->name, begin,
                               end, (unsigned long long)data_size);
        uint64_t expected_bytes = 0;
        int overflows = shape_byte_count(tensor, &expected_bytes) != 0;
        if (overflows || expected_bytes != end - begin)
            simclr_safetensors_format_shape(shape, sizeof shape, tensor->shape, tensor->ndim);
        if (overflows)
            return simclr_error_input(err, "%s: tensor '%s' has shape %s whose size overflows", name,
                               tensor->name, shape);
        if (expected_bytes != end - begin)
            return simclr_error_input(err, "%s: tensor '%s' of shape %s and dtype %s needs %llu bytes "
                               "but its data_offsets [%llu, %llu] hold %llu", name, tensor->name,
                               shape, simclr_safetensors_dtype_name(tensor->dtype),
                               (unsigned long long)expected_bytes, begin, end, end - begin);
    }

    if (file->tensor_count > 1)
        qsort(file->tensors, file->tensor_count, sizeof *file->tensors, compare_by_offsets);
    uint64_t covered = 0;
    for (size_t i = 0; i < file->tensor_count; i++) {
        const simclr_safetensors_tensor *tensor = &file->tensors[i];
        if (tensor->data_begin < covered)
            return simclr_error_input(err, "%s: tensors '%s' and '%s' overlap (data_offsets [%llu, %llu] "
                               "and [%llu, %llu])", name, file->tensors[i - 1].name, tensor->name,
                               (unsigned long long)file->tensors[i - 1].data_begin,
                               (unsigned long long)file->tensors[i - 1].data_end,
                               (unsigned long long)tensor->data_begin,
                               (unsigned long long)tensor->data_end);
        if (tensor->data_begin > covered)
            return simclr_error_input(err, "%s: %llu bytes of data before tensor '%s' belong to no tensor",
                               name, (unsigned long long)(tensor->data_begin - covered),
                               tensor->name);
        covered = tensor->data_end;
    }
    if (covered != data_size)
        return simclr_error_input(err, "%s: %llu bytes of data after the last tensor belong to no tensor",
                           name, (unsigned long long)(data_size - covered));

    if (file->tensor_count > 1)
        qsort(file->tensors, file->tensor_count, sizeof *file->tensors, compare_by_name);
    for (size_t i = 0; i < file->tensor_count; i++) {
        if (i > 0 && strcmp(file->tensors[i - 1].name, file->tensors[i].name) == 0)
            return simclr_error_input(err, "%s: tensor '%s' appears twice", name, file->tensors[i].name);
        file->tensors[i].data = data + file->tensors[i].data_begin;
    }
    if (file->metadata_count > 1)
        qsort(file->metadata, file->metadata_count, sizeof *file->metadata,
              compare_metadata_by_key);
    for (size_t i = 1; i < file->metadata_count; i++)
        if (strcmp(file->metadata[i - 1].key, file->metadata[i].key) == 0)
            return simclr_error_input(err, "%s: metadata key '%s' appears twice", name,
                               file->metadata[i].key);
    return 0;
}

/* Takes ownership of bytes (freed by simclr_safetensors_close, also on failure). */
static int load_from_bytes(simclr_safetensors_file *file, uint8_t *bytes, size_t size, const char *name,
                           simclr_error *err)
{
    memset(file, 0, sizeof *file);
    file->bytes = bytes;
    file->size = size;
    size_t name_length = strlen(name);
    file->name = malloc(name_length + 1);
    if (!file->name) {
        simclr_safetensors_close(file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory", name);
    }
    memcpy(file->name, name, name_length + 1);

    if (size < 8) {
        simclr_safetensors_close(file);
        return simclr_error_input(err, "%s: %zu bytes is too short for a safetensors file (it starts "
                           "with an 8-byte header length)", name, size);
    }
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--) header_length = header_length << 8 | bytes[i];
    if (header_length > SIMCLR_SAFETENSORS_MAX_HEADER_BYTES || header_length > size - 8) {
        simclr_safetensors_close(file);
        return simclr_error_input(err, "%s: header length %llu is %s (not a safetensors file, or "
                           "truncated)", name, (unsigned long long)header_length,
                           header_length > SIMCLR_SAFETENSORS_MAX_HEADER_BYTES
                               ? "over the 100000000-byte limit"
                               : "more than the file holds");
    }
    const char *json = (const char *)bytes + 8;
    const uint8_t *data = bytes + 8 + header_length;
    uint64_t data_size = size - 8 - header_length;
    if (simclr_safetensors_parse_header(json, (size_t)header_length, name, file, err) != 0 ||
        validate_tensors(file, data, data_size, err) != 0) {
        simclr_safetensors_close(file);
        return -1;
    }
    return 0;
}

int simclr_safetensors_open_memory(simclr_safetensors_file *file, const uint8_t *bytes, size_t size,
                            const char *name, simclr_error *err)
{
    memset(file, 0, sizeof *file);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory (%zu bytes)", name, size);
    if (size) memcpy(copy, bytes, size);
    return load_from_bytes(file, copy, size, name, err);
}

int simclr_safetensors_open(simclr_safetensors_file *file, const char *path, simclr_error *err)
{
    memset(file, 0, sizeof *file);
    FILE *stream = fopen(path, "rb");
    if (!stream) return simclr_error_input(err, "cannot open safetensors file %s: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(stream), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(stream);
        return simclr_error_input(err, "%s: not a regular file, expected a safetensors file", path);
    }
    size_t size = (size_t)info.st_size;
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) {
        fclose(stream);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory reading %zu bytes", path,
                         size);
    }
    size_t got = fread(bytes, 1, size, stream);
    int read_failed = ferror(stream);
    fclose(stream);
    if (got != size || read_failed) {
        free(bytes);
        return simclr_error_input(err, "%s: read %zu of %zu bytes (file changed or unreadable)", path,
                           got, size);
    }
    return load_from_bytes(file, bytes, size, path, err);
}

void simclr_safetensors_close(simclr_safetensors_file *file)
{
    for (size_t i = 0; i < file->tensor_count; i++) free(file->tensors[i].name);
    for (size_t i = 0; i < file->metadata_count; i++) {
        free(file->metadata[i].key);
        free(file->metadata[i].value);
    }
    free(file->tensors);
    free(file->metadata);
    free(file->bytes);
    free(file->name);
    memset(file, 0, sizeof *file);
}

const simclr_safetensors_tensor *simclr_safetensors_find(const simclr_safetensors_file *file, const char *name)
{
    if (file->tensor_count == 0) return NULL;
    simclr_safetensors_tensor key;
    key.name = (char *)name; /* only compared, never written */
    return bsearch(&key, file->tensors, file->tensor_count, sizeof *file->tensors,
                   compare_by_name);
}

const char *simclr_safetensors_metadata(const simclr_safetensors_file *file, const char *key)
{
    if (file->metadata_count == 0) return NULL;
    simclr_safetensors_metadata_entry wanted = {(char *)key, NULL};
    const simclr_safetensors_metadata_entry *entry =
        bsearch(&wanted, file->metadata, file->metadata_count, sizeof *file->metadata,
                compare_metadata_by_key);
    return entry ? entry->value : NULL;
}

/* " (it holds 'a', 'b', 'c', ...)" to help spot a renamed layer. */
static void describe_tensor_names(const simclr_safetensors_file *file, char *buffer, size_t size)
{
    if (file->tensor_count == 0) {
        snprintf(buffer, size, " (it holds no tensors)");
        return;
    }
    size_t used = (size_t)snprintf(buffer, size, " (it holds");
    for (size_t i = 0; i < file->tensor_count && i < 4 && used < size; i++)
        used += (size_t)snprintf(buffer + used, size - used, "%s '%s'", i ? "," : "",
                                 file->tensors[i].name);
    if (used < size)
        snprintf(buffer + used, size - used, "%s)", file->tensor_count > 4 ? ", ..." : "");
}

int simclr_safetensors_read(const simclr_safetensors_file *file, const char *name, simclr_safetensors_dtype dtype,
                     const int64_t *expected_shape, int ndim, void *out, simclr_error *err)
{
    if (ndim < 0 || ndim > SIMCLR_SAFETENSORS_MAX_DIMS)
        return simclr_error_input(err, "%s: cannot read tensor '%s' as %d dims (0 to %d)", file->name,
                           name, ndim, SIMCLR_SAFETENSORS_MAX_DIMS);
    const simclr_safetensors_tensor *tensor = simclr_safetensors_find(file, name);
    if (!tensor) {
        char names[256];
        describe_tensor_names(file, names, sizeof names);
        return simclr_error_input(err, "%s: no tensor named '%s'%s", file->name, name, names);
    }
    if (tensor->dtype != dtype)
        return simclr_error_input(err, "%s: tensor '%s' is %s, expected %s", file->name, name,
                           simclr_safetensors_dtype_name(tensor->dtype), simclr_safetensors_dtype_name(dtype));
    int same_shape = tensor->ndim == ndim;
    for (int d = 0; same_shape && d < ndim; d++) same_shape = tensor->shape[d] == expected_shape[d];
    if (!same_shape) {
        char found[160], expected[160];
        simclr_safetensors_format_shape(found, sizeof found, tensor->shape, tensor->ndim);
        simclr_safetensors_format_shape(expected, sizeof expected, expected_shape, ndim);
        return simclr_error_input(err, "%s: tensor '%s' has shape %s, expected %s", file->name, name,
                           found, expected);
    }
    size_t bytes = (size_t)(tensor->data_end - tensor->data_begin);
    if (bytes) memcpy(out, tensor->data, bytes);
    return 0;
}

int simclr_safetensors_read_f32(const simclr_safetensors_file *file, const char *name,
                         const int64_t *expected_shape, int ndim, float *out, simclr_error *err)
{
    return simclr_safetensors_read(file, name, SIMCLR_SAFETENSORS_DTYPE_F32, expected_shape, ndim, out, err);
}
