/*
 * Writing safetensors files: collect borrowed tensors and copied metadata, then lay out the JSON
 * header and the data and write them through an simclr_atomic_file.
 */
#include "io/safetensors_internal.h"
#include "simclr/atomic_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_string(const char *text, const char *what, simclr_error *err)
{
    size_t length = strlen(text);
    char *copy = simclr_checked_calloc(length + 1, 1, what, err);
    if (copy) memcpy(copy, text, length);
    return copy;
}

/* Names and metadata must be valid UTF-8, as the JSON header is. */
static int is_valid_utf8(const char *text)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t remaining = strlen(text);
    while (remaining) {
        size_t sequence = simclr_safetensors_utf8_sequence_length(bytes, remaining);
        if (sequence == 0) return 0;
        bytes += sequence;
        remaining -= sequence;
    }
    return 1;
}

void simclr_safetensors_writer_init(simclr_safetensors_writer *writer) { memset(writer, 0, sizeof *writer); }

void simclr_safetensors_writer_free(simclr_safetensors_writer *writer)
{
    for (size_t i = 0; i < writer->tensor_count; i++) free(writer->tensors[i].name);
    for (size_t i = 0; i < writer->metadata_count; i++) {
        free(writer->metadata[i].key);
        free(writer->metadata[i].value);
    }
    free(writer->tensors);
    free(writer->metadata);
    memset(writer, 0, sizeof *writer);
}

int simclr_safetensors_writer_add(simclr_safetensors_writer *writer, const char *name, simclr_safetensors_dtype dtype,
                           const int64_t *shape, int ndim, const void *data, simclr_error *err)
{
    if (!name || !*name || strcmp(name, "__metadata__") == 0 || !is_valid_utf8(name))
        return simclr_error_input(err, "safetensors: invalid tensor name '%s' (empty, __metadata__ or "
                           "not UTF-8)", name ? name : "(null)");
    if ((unsigned)dtype >= SIMCLR_SAFETENSORS_DTYPE_COUNT)
        return simclr_error_input(err, "safetensors: tensor '%s' has an unknown dtype (%d)", name,
                           (int)dtype);
    if (ndim < 0 || ndim > SIMCLR_SAFETENSORS_MAX_DIMS)
        return simclr_error_input(err, "safetensors: tensor '%s' has %d dims (0 to %d)", name, ndim,
                           SIMCLR_SAFETENSORS_MAX_DIMS);
    for (size_t i = 0; i < writer->tensor_count; i++)
        if (strcmp(writer->tensors[i].name, name) == 0)
            return simclr_error_input(err, "safetensors: tensor '%s' added twice", name);

    simclr_safetensors_writer_tensor tensor;
    memset(&tensor, 0, sizeof tensor);
    tensor.dtype = dtype;
    tensor.ndim = ndim;
    tensor.data = data;
    tensor.byte_count = simclr_safetensors_dtype_size(dtype);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return simclr_error_input(err, "safetensors: tensor '%s' has negative dim %lld", name,
                               (long long)shape[d]);
        tensor.shape[d] = shape[d];
        if (__builtin_mul_overflow(tensor.byte_count, (uint64_t)shape[d], &tensor.byte_count))
            return simclr_error_input(err, "safetensors: tensor '%s' is too large", name);
    }
    if (tensor.byte_count && !data)
        return simclr_error_input(err, "safetensors: tensor '%s' has no data", name);
    if (simclr_safetensors_grow_array((void **)&writer->tensors, &writer->tensor_capacity,
                               writer->tensor_count + 1, sizeof *writer->tensors,
                               "safetensors writer tensors", err) != 0)
        return -1;
    tensor.name = copy_string(name, "safetensors tensor name", err);
    if (!tensor.name) return -1;
    writer->tensors[writer->tensor_count++] = tensor;
    return 0;
}

int simclr_safetensors_writer_set_metadata(simclr_safetensors_writer *writer, const char *key,
                                    const char *value, simclr_error *err)
{
    if (!key || !value || !is_valid_utf8(key) || !is_valid_utf8(value))
        return simclr_error_input(err, "safetensors: metadata key and value must be UTF-8 strings "
                           "(key '%s')", key ? key : "(null)");
    char *value_copy = copy_string(value, "safetensors metadata value", err);
    if (!value_copy) return -1;
    for (size_t i = 0; i < writer->metadata_count; i++) {
        if (strcmp(writer->metadata[i].key, key) == 0) {
            free(writer->metadata[i].value);
            writer->metadata[i].value = value_copy;
            return 0;
        }
    }
    char *key_copy = copy_string(key, "safetensors metadata key", err);
    if (!key_copy ||
        simclr_safetensors_grow_array((void **)&writer->metadata, &writer->metadata_capacity,
                               writer->metadata_count + 1, sizeof *writer->metadata,
                               "safetensors writer metadata", err) != 0) {
        free(key_copy);
        free(value_copy);
        return -1;
    }
    writer->metadata[writer->metadata_count].key = key_copy;
    writer->metadata[writer->metadata_count].value = value_copy;
    writer->metadata_count++;
    return 0;
}

/* ---- the header text ---- */

typedef struct text_buffer {
    char *data;
    size_t length, capacity;
    int out_of_memory;
} text_buffer;

static void text_append(text_buffer *text, const char *bytes, size_t length)
{
    if (text->out_of_memory) return;
    if (text->length + length + 1 > text->capacity) {
        size_t capacity = text->capacity ? text->capacity : 256;
        while (text->length + length + 1 > capacity) capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->out_of_memory = 1;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
    memcpy(text->data + text->length, bytes, length);
    text->length += length;
    text->data[text->length] = '\0';
}

static void text_append_format(text_buffer *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void text_append_format(text_buffer *text, const char *format, ...)
{
    char piece[64];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(piece, sizeof piece, format, args);
    va_end(args);
    if (length > 0) text_append(text, piece, (size_t)length < sizeof piece ? (size_t)length : sizeof piece - 1);
}

/* A JSON string: quotes, backslashes and control characters escaped, other UTF-8 as is. */
static void text_append_json_string(text_buffer *text, const char *value)
{
    text_append(text, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char escaped[2] = {'\\', (char)*c};
            text_append(text, escaped, 2);
        } else if (*c < 0x20) {
            text_append_format(text, "\\u%04x", *c);
        } else {
            text_append(text, (const char *)c, 1);
        }
    }
    text_append(text, "\"", 1);
}

/* Largest element size first keeps every tensor aligned to its element size (the data area
 * starts at a multiple of 8); then by name, so the layout does not depend on insertion order. */
static int compare_for_layout(const void *a, const void *b)
{
    const simclr_safetensors_writer_tensor *left = *(const simclr_safetensors_writer_tensor *const *)a;
    const simclr_safetensors_writer_tensor *right = *(const simclr_safetensors_writer_tensor *const *)b;
    size_t left_size = simclr_safetensors_dtype_size(left->dtype);
    size_t right_size = simclr_safetensors_dtype_size(right->dtype);
    if (left_size != right_size) return left_size > right_size ? -1 : 1;
    return strcmp(left->name, right->name);
}

static void build_header(const simclr_safetensors_writer *writer,
                         const simclr_safetensors_writer_tensor *const *layout, text_buffer *header)
{
    text_append(header, "{", 1);
    int first = 1;
    if (writer->metadata_count) {
        text_append(header, "\"__metadata__\":{", 16);
        for (size_t i = 0; i < writer->metadata_count; i++) {
            if (i) text_append(header, ",", 1);
            text_append_json_string(header, writer->metadata[i].key);
            text_append(header, ":", 1);
            text_append_json_string(header, writer->metadata[i].value);
        }
        text_append(header, "}", 1);
        first = 0;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < writer->tensor_count; i++) {
        const simclr_safetensors_writer_tensor *tensor = layout[i];
        if (!first) text_append(header, ",", 1);
        first = 0;
        text_append_json_string(header, tensor->name);
        text_append_format(header, ":{\"dtype\":\"%s\",\"shape\":[",
                           simclr_safetensors_dtype_name(tensor->dtype));
        for (int d = 0; d < tensor->ndim; d++)
            text_append_format(header, "%s%lld", d ? "," : "", (long long)tensor->shape[d]);
        text_append_format(header, "],\"data_offsets\":[%llu,", (unsigned long long)offset);
        offset += tensor->byte_count;
        text_append_format(header, "%llu]}", (unsigned long long)offset);
    }
    text_append(header, "}", 1);
    while (header->length % 8) text_append(header, " ", 1);
}

int simclr_safetensors_writer_write(const simclr_safetensors_writer *writer, const char *path, simclr_error *err)
{
    const simclr_safetensors_writer_tensor **layout =
        simclr_checked_calloc(writer->tensor_count, sizeof *layout, "safetensors layout", err);
    if (!layout) return -1;
    for (size_t i = 0; i < writer->tensor_count; i++) layout[i] = &writer->tensors[i];
    qsort(layout, writer->tensor_count, sizeof *layout, compare_for_layout);

    text_buffer header = {NULL, 0, 0, 0};
    build_header(writer, layout, &header);
    if (header.out_of_memory) {
        free(header.data);
        free(layout);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory building the header", path);
    }
    if (header.length > SIMCLR_SAFETENSORS_MAX_HEADER_BYTES) {
        free(header.data);
        free(layout);
        return simclr_error_input(err, "%s: safetensors header of %zu bytes is over the 100000000-byte "
                           "limit (too many tensors or too much metadata)", path, header.length);
    }

    uint8_t length_bytes[8];
    for (int i = 0; i < 8; i++) length_bytes[i] = (uint8_t)((uint64_t)header.length >> (8 * i));
    simclr_atomic_file file;
    int status = simclr_atomic_file_open(&file, path, err);
    if (status == 0) {
        int written = fwrite(length_bytes, 1, 8, file.stream) == 8 &&
                      fwrite(header.data, 1, header.length, file.stream) == header.length;
        for (size_t i = 0; written && i < writer->tensor_count; i++) {
            size_t bytes = (size_t)layout[i]->byte_count;
            written = bytes == 0 || fwrite(layout[i]->data, 1, bytes, file.stream) == bytes;
        }
        if (!written) {
            int saved_errno = errno;
            simclr_atomic_file_abort(&file);
            errno = saved_errno;
            status = simclr_error_system(err, "cannot write %s (previous file intact)", path);
        } else {
            status = simclr_atomic_file_commit(&file, err);
        }
    }
    free(header.data);
    free(layout);
    return status;
}
