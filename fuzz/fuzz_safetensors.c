/*
 * Fuzzes the safetensors reader (src/io/safetensors_read.c, safetensors_header.c) and the
 * checkpoint metadata parser (src/checkpoint/checkpoint.c, simclr_checkpoint_read_info).
 *
 * The input is the file. It is opened from memory; when it opens, every tensor is looked up and
 * read (as it is, and with a wrong dtype and shape, which must fail), every metadata value is
 * looked up, and the file is written back with the writer and read again: the tensors and
 * metadata must survive the round trip. The same bytes, written to a file, go through
 * simclr_checkpoint_read_info, which must accept only files that opened.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "simclr/checkpoint.h"
#include "simclr/dataset.h"
#include "simclr/safetensors.h"

/* Reads tensor t back through the public API and checks what it promises. */
static void fuzz_safetensors_check_tensor(const simclr_safetensors_file *file,
                                          const simclr_safetensors_tensor *tensor)
{
    FUZZ_CHECK(tensor->name != NULL);
    FUZZ_CHECK(simclr_safetensors_find(file, tensor->name) == tensor);
    FUZZ_CHECK(tensor->ndim >= 0 && tensor->ndim <= SIMCLR_SAFETENSORS_MAX_DIMS);
    FUZZ_CHECK(tensor->data_begin <= tensor->data_end && tensor->data_end <= file->size);
    size_t bytes = (size_t)(tensor->data_end - tensor->data_begin);
    uint64_t expected = simclr_safetensors_dtype_size(tensor->dtype);
    for (int d = 0; d < tensor->ndim; d++) {
        FUZZ_CHECK(tensor->shape[d] >= 0);
        expected *= (uint64_t)tensor->shape[d]; /* validated not to overflow */
    }
    FUZZ_CHECK(expected == bytes);
    FUZZ_CHECK(tensor->data >= file->bytes && tensor->data + bytes <= file->bytes + file->size);

    uint8_t *out = malloc(bytes ? bytes : 1);
    FUZZ_CHECK(out != NULL);
    simclr_error err = {0};
    FUZZ_CHECK(simclr_safetensors_read(file, tensor->name, tensor->dtype, tensor->shape, tensor->ndim, out,
                                &err) == 0);
    FUZZ_CHECK(bytes == 0 || memcmp(out, tensor->data, bytes) == 0);
    if (tensor->dtype == SIMCLR_SAFETENSORS_DTYPE_F32)
        FUZZ_CHECK(simclr_safetensors_read_f32(file, tensor->name, tensor->shape, tensor->ndim,
                                        (float *)(void *)out, &err) == 0);
    /* A wrong dtype, a wrong rank and a wrong dimension are refused with a message. */
    simclr_safetensors_dtype other = tensor->dtype == SIMCLR_SAFETENSORS_DTYPE_U8 ? SIMCLR_SAFETENSORS_DTYPE_I8
                                                                    : SIMCLR_SAFETENSORS_DTYPE_U8;
    FUZZ_CHECK(simclr_safetensors_read(file, tensor->name, other, tensor->shape, tensor->ndim, out,
                                &err) == -1 && err.message[0]);
    int64_t shape[SIMCLR_SAFETENSORS_MAX_DIMS + 1];
    memcpy(shape, tensor->shape, sizeof tensor->shape);
    shape[tensor->ndim] = 1;
    if (tensor->ndim < SIMCLR_SAFETENSORS_MAX_DIMS)
        FUZZ_CHECK(simclr_safetensors_read(file, tensor->name, tensor->dtype, shape, tensor->ndim + 1,
                                    out, &err) == -1);
    if (tensor->ndim > 0) {
        shape[0] = tensor->shape[0] ^ 1;
        FUZZ_CHECK(simclr_safetensors_read(file, tensor->name, tensor->dtype, shape, tensor->ndim, out,
                                    &err) == -1);
    }
    simclr_error_clear(&err); /* frees a message too long for err.message */
    free(out);
}

/* Writes file back with the writer into dir and reads it again: same tensors, same metadata. */
static void fuzz_safetensors_round_trip(const simclr_safetensors_file *file, const char *dir)
{
    simclr_safetensors_writer writer;
    simclr_safetensors_writer_init(&writer);
    simclr_error err = {0};
    int status = 0;
    for (size_t i = 0; status == 0 && i < file->tensor_count; i++) {
        const simclr_safetensors_tensor *t = &file->tensors[i];
        status = simclr_safetensors_writer_add(&writer, t->name, t->dtype, t->shape, t->ndim, t->data,
                                        &err);
    }
    for (size_t i = 0; status == 0 && i < file->metadata_count; i++)
        status = simclr_safetensors_writer_set_metadata(&writer, file->metadata[i].key,
                                                 file->metadata[i].value, &err);
    char path[600];
    snprintf(path, sizeof path, "%s/round-trip.safetensors", dir);
    if (status == 0) status = simclr_safetensors_writer_write(&writer, path, &err);
    simclr_safetensors_writer_free(&writer);
    simclr_error_clear(&err);
    /* The writer may refuse what the reader accepts (an empty name, "__metadata__" as a tensor
     * name); anything it writes must read back the same. */
    if (status != 0) return;
    simclr_safetensors_file again;
    FUZZ_CHECK(simclr_safetensors_open(&again, path, &err) == 0);
    FUZZ_CHECK(again.tensor_count == file->tensor_count);
    FUZZ_CHECK(again.metadata_count == file->metadata_count);
    for (size_t i = 0; i < file->tensor_count; i++) {
        const simclr_safetensors_tensor *a = &file->tensors[i], *b = &again.tensors[i];
        FUZZ_CHECK(strcmp(a->name, b->name) == 0 && a->dtype == b->dtype && a->ndim == b->ndim);
        FUZZ_CHECK(memcmp(a->shape, b->shape, sizeof a->shape[0] * (size_t)a->ndim) == 0);
        size_t bytes = (size_t)(a->data_end - a->data_begin);
        FUZZ_CHECK(b->data_end - b->data_begin == bytes);
        FUZZ_CHECK(bytes == 0 || memcmp(a->data, b->data, bytes) == 0);
    }
    for (size_t i = 0; i < file->metadata_count; i++) {
        FUZZ_CHECK(strcmp(file->metadata[i].key, again.metadata[i].key) == 0);
        FUZZ_CHECK(strcmp(file->metadata[i].value, again.metadata[i].value) == 0);
    }
    simclr_safetensors_close(&again);
}

int fuzz_safetensors_one(const uint8_t *data, size_t size)
{
    char dir[512];
    fuzz_fresh_dir("safetensors", dir, sizeof dir);

    simclr_safetensors_file file;
    simclr_error err = {0};
    simclr_error_clear(&err);
    int status = simclr_safetensors_open_memory(&file, data, size, "fuzz.safetensors", &err);
    if (status != 0) {
        FUZZ_CHECK(status == -1 && err.message[0] != '\0');
        simclr_error_clear(&err);
        FUZZ_CHECK(file.tensors == NULL && file.metadata == NULL && file.bytes == NULL);
    } else {
        for (size_t i = 0; i < file.tensor_count; i++)
            fuzz_safetensors_check_tensor(&file, &file.tensors[i]);
        for (size_t i = 0; i < file.metadata_count; i++) {
            const char *value = simclr_safetensors_metadata(&file, file.metadata[i].key);
            FUZZ_CHECK(value == file.metadata[i].value);
        }
        FUZZ_CHECK(simclr_safetensors_find(&file, "no such tensor \x01") == NULL);
        FUZZ_CHECK(simclr_safetensors_metadata(&file, "no such key \x01") == NULL);
        simclr_error missing = {0};
        FUZZ_CHECK(simclr_safetensors_read(&file, "no such tensor \x01", SIMCLR_SAFETENSORS_DTYPE_F32, NULL, 0,
                                    NULL, &missing) == -1);
        simclr_error_clear(&missing);
        fuzz_safetensors_round_trip(&file, dir);
        simclr_safetensors_close(&file);
    }

    /* The checkpoint metadata parser reads the file from a path. */
    if (fuzz_write_file(dir, "checkpoint.safetensors", data, size, size) == 0) {
        char path[600];
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
        simclr_checkpoint_info info;
        simclr_error info_err = {0};
        simclr_error_clear(&info_err);
        int info_status = simclr_checkpoint_read_info(path, &info, &info_err);
        if (status != 0) FUZZ_CHECK(info_status == -1);
        if (info_status == 0) {
            FUZZ_CHECK(info.num_classes >= 1 && info.num_classes <= SIMCLR_DATASET_MAX_CLASSES);
            FUZZ_CHECK(memchr(info.run, '\0', sizeof info.run) != NULL);
            FUZZ_CHECK(memchr(info.dataset, '\0', sizeof info.dataset) != NULL);
            FUZZ_CHECK(memchr(info.classifier, '\0', sizeof info.classifier) != NULL);
            for (int c = 0; c < info.num_classes; c++)
                FUZZ_CHECK(memchr(info.class_names[c], '\0', sizeof info.class_names[c]) != NULL);
            simclr_checkpoint_info_free(&info);
        } else {
            FUZZ_CHECK(info_status == -1 && info_err.message[0] != '\0');
            simclr_error_clear(&info_err);
        }
    }
    return status;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_safetensors_one(data, size);
    return 0;
}
#endif
