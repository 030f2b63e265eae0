/* FILE.json beside an embed --out FILE.npy: the checkpoint (path and SHA-256) and features that
 * made the rows, written by embed and checked by similar --embeddings. */
#include "embedding_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download/download_internal.h" /* SHA-256 through OpenSSL */
#include "run_record.h"
#include "simclr/atomic_file.h"

#define RECORD_FORMAT "simclr embeddings 1"

static int record_path(const char *npy_path, char *out, size_t size, simclr_error *err)
{
    size_t length = strlen(npy_path);
    if (length < 5 || strcmp(npy_path + length - 4, ".npy") != 0 || length + 2 > size)
        return simclr_error_input(err, "%s: expected a .npy file name", npy_path);
    snprintf(out, size, "%.*s.json", (int)(length - 4), npy_path);
    return 0;
}

int embedding_record_write(const char *npy_path, const char *model_path, const char *features, size_t rows, int dim,
                           simclr_error *err)
{
    char path[4200], sha[SIMCLR_DIGEST_HEX_MAX];
    if (record_path(npy_path, path, sizeof path, err) != 0 ||
        simclr_digest_file(model_path, SIMCLR_DIGEST_SHA256, sha, err) != 0)
        return -1;
    size_t quoted_size = 6 * strlen(model_path) + 3;
    char *quoted = malloc(quoted_size), *text = malloc(quoted_size + 512);
    int status = -1;
    if (!quoted || !text || run_record_json_string(quoted, quoted_size, 0, model_path) < 0) {
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (%s)", path);
    } else {
        int length = snprintf(text, quoted_size + 512,
                              "{\n  \"format\": \"%s\",\n  \"model\": %s,\n  \"model_sha256\": \"%s\",\n"
                              "  \"features\": \"%s\",\n  \"rows\": %zu,\n  \"dim\": %d\n}\n",
                              RECORD_FORMAT, quoted, sha, features, rows, dim);
        status = simclr_atomic_file_write_all(path, text, (size_t)length, err);
    }
    free(quoted);
    free(text);
    return status;
}

/* The string value of "key" in text (the simple JSON this file writes: \" and \\ escapes),
 * copied into out; 0, or -1 when absent. */
static int string_value(const char *text, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *at = strstr(text, pattern);
    if (!at) return -1;
    size_t used = 0;
    for (at += strlen(pattern); *at && *at != '"'; at++) {
        if (*at == '\\' && at[1]) at++;
        if (used + 1 < size) out[used++] = *at;
    }
    out[used] = '\0';
    return *at == '"' ? 0 : -1;
}

int embedding_record_check(const char *npy_path, const char *model_path, const char *features, simclr_error *err)
{
    char path[4200];
    if (record_path(npy_path, path, sizeof path, err) != 0) return -1;
    FILE *file = fopen(path, "rb");
    if (!file) {
        if (errno == ENOENT) return 1;
        return simclr_error_input(err, "%s: cannot read it: %s", path, strerror(errno));
    }
    char text[16384];
    size_t got = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[got] = '\0';
    char format[64], made_by[4096], made_sha[SIMCLR_DIGEST_HEX_MAX + 8], made_features[64];
    if (string_value(text, "format", format, sizeof format) != 0 || strcmp(format, RECORD_FORMAT) != 0 ||
        string_value(text, "model", made_by, sizeof made_by) != 0 ||
        string_value(text, "model_sha256", made_sha, sizeof made_sha) != 0 ||
        string_value(text, "features", made_features, sizeof made_features) != 0)
        return simclr_error_input(err, "%s: not the record simclr embed writes beside %s (expected \"format\": "
                                       "\"%s\", \"model\", \"model_sha256\" and \"features\")",
                                  path, npy_path, RECORD_FORMAT);
    char sha[SIMCLR_DIGEST_HEX_MAX];
    if (simclr_digest_file(model_path, SIMCLR_DIGEST_SHA256, sha, err) != 0) return -1;
    if (strcmp(sha, made_sha) != 0)
        return simclr_error_input(err, "--embeddings %s was made by the model %s (SHA-256 %.16s...), but --model %s "
                                       "is another checkpoint (SHA-256 %.16s...): give --model %s, or embed the "
                                       "images again with this one (simclr embed --model %s)",
                                  npy_path, made_by, made_sha, model_path, sha, made_by, model_path);
    if (strcmp(made_features, features) != 0)
        return simclr_error_input(err, "--embeddings %s holds %s features, but --features %s was asked for: give "
                                       "--features %s, or embed the images again with --features %s",
                                  npy_path, made_features, features, made_features, features);
    return 0;
}
