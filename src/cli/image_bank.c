#include "image_bank.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "csv_fields.h"
#include "simclr/augment.h"
#include "simclr/image_io.h"
#include "simclr/knn.h"

#define IMAGE_LIST_MAX_DEPTH 32

int image_list_add(image_list *list, const char *path, simclr_error *err)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 64;
        char **grown = realloc(list->paths, capacity * sizeof *grown);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (image list)");
        list->paths = grown;
        list->capacity = capacity;
    }
    list->paths[list->count] = strdup(path);
    if (!list->paths[list->count]) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    list->count++;
    return 0;
}

void image_list_free(image_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->paths[i]);
    free(list->paths);
    memset(list, 0, sizeof *list);
}

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int skip_hidden(const struct dirent *entry) { return entry->d_name[0] != '.'; }

static int add_directory(image_list *list, const char *directory, int depth, simclr_error *err)
{
    if (depth > IMAGE_LIST_MAX_DEPTH)
        return simclr_error_input(err, "%s: directories nested deeper than %d", directory, IMAGE_LIST_MAX_DEPTH);
    struct dirent **entries = NULL;
    int count = scandir(directory, &entries, skip_hidden, alphasort);
    if (count < 0) return simclr_error_input(err, "cannot read directory %s: %s", directory, strerror(errno));
    int status = 0;
    for (int i = 0; i < count; i++) {
        if (status == 0) {
            char path[4096];
            int length = snprintf(path, sizeof path, "%s/%s", directory, entries[i]->d_name);
            struct stat info;
            if (length < 0 || (size_t)length >= sizeof path)
                status = simclr_error_input(err, "%s/%s: path too long", directory, entries[i]->d_name);
            else if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
                status = add_directory(list, path, depth + 1, err);
            else if (has_image_extension(entries[i]->d_name))
                status = image_list_add(list, path, err);
        }
        free(entries[i]);
    }
    free(entries);
    return status;
}

int image_list_collect(image_list *list, const char *path, const char *flag, simclr_error *err)
{
    struct stat info;
    if (stat(path, &info) != 0)
        return flag ? simclr_error_input(err, "%s %s: no such file or directory", flag, path)
                    : simclr_error_input(err, "%s: no such image file or directory", path);
    if (S_ISDIR(info.st_mode)) return add_directory(list, path, 0, err);
    return image_list_add(list, path, err);
}

int image_list_read_file(image_list *list, const char *path, const char *flag, simclr_error *err)
{
    FILE *stream = fopen(path, "r");
    if (!stream) return simclr_error_input(err, "%s %s: cannot open it: %s", flag, path, strerror(errno));
    size_t first = list->count;
    csv_record record = {0};
    size_t line = 0;
    int got = csv_record_read(&record, stream, path, &line, err), status = 0;
    int csv = got == 1 && strcmp(csv_record_field(&record, 0), "path") == 0;
    if (!csv) {
        /* Plain lines: read again, whole lines (a path may hold commas). */
        rewind(stream);
        char *text = NULL;
        size_t capacity = 0;
        ssize_t length;
        for (size_t number = 0; status == 0 && (length = getline(&text, &capacity, stream)) >= 0; number++) {
            while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r')) text[--length] = '\0';
            size_t bom = number == 0 && length >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
            if ((size_t)length > bom) status = image_list_add(list, text + bom, err);
        }
        free(text);
    } else {
        while (status == 0 && (got = csv_record_read(&record, stream, path, &line, err)) == 1)
            if (csv_record_field(&record, 0)[0]) status = image_list_add(list, csv_record_field(&record, 0), err);
        if (got < 0) status = -1;
    }
    if (got < 0 && !csv) status = -1;
    csv_record_free(&record);
    if (status == 0 && ferror(stream)) status = simclr_error_input(err, "%s %s: cannot read it", flag, path);
    fclose(stream);
    if (status == 0 && list->count == first)
        status = simclr_error_input(err, "%s %s: no image path in it (one a line)", flag, path);
    return status;
}

int image_list_batches(const simclr_feature_extractor *fx, size_t count)
{
    size_t batch = (size_t)fx->options.max_batch;
    return (int)((count + batch - 1) / batch);
}

/* Removes the NULL entries (files left out), keeping the order. */
static void compact(image_list *list)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list->paths[i]) list->paths[kept++] = list->paths[i];
    list->count = kept;
}

/* Decodes files [first, first + n) of list into fx->pixels, in parallel, but those with cached[i]
 * features; failed[i] is set when file first + i could not be read, and messages[i] receives why
 * (owned; NULL if out of memory). */
static void decode_batch(simclr_feature_extractor *fx, const image_list *list, size_t first, size_t n,
                         const float *const *cached, unsigned char *failed, char **messages)
{
    const simclr_tensor_shape *input = &fx->info.model.input;
    size_t image_bytes = (size_t)input->height * (size_t)input->width * (size_t)input->channels;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        simclr_error local = {0};
        const char *path = list->paths[first + i];
        failed[i] = 0;
        if (cached[i]) continue;
        if (simclr_image_load_fitted(path, fx->pixels + i * image_bytes, input->height, input->width,
                                     input->channels, fx->info.resize, &local) != 0) {
            failed[i] = 1;
            const char *why = simclr_error_message(&local);
            size_t size = strlen(path) + strlen(why) + 3;
            messages[i] = malloc(size);
            if (messages[i]) {
                if (strstr(why, path)) snprintf(messages[i], size, "%s", why);
                else snprintf(messages[i], size, "%s: %s", path, why);
            }
        }
        simclr_error_clear(&local);
    }
}

int image_list_embed(image_embedding *embedding, image_list *list, image_features_sink sink, void *context,
                     simclr_error *err)
{
    simclr_feature_extractor *fx = embedding->fx;
    const simclr_tensor_shape *input = &fx->info.model.input;
    size_t image_bytes = (size_t)input->height * (size_t)input->width * (size_t)input->channels;
    size_t batch = (size_t)fx->options.max_batch, dim = (size_t)fx->dim;
    char **messages = simclr_checked_calloc(batch, sizeof(char *), "decode messages", err);
    const float **cached = messages ? simclr_checked_calloc(batch, sizeof(float *), "cached features", err) : NULL;
    unsigned char *failed = cached ? simclr_checked_calloc(batch, 1, "decode status", err) : NULL;
    float *normalized = failed ? simclr_checked_calloc(batch * dim, sizeof(float), "feature batch", err) : NULL;
    if (!normalized) {
        free(messages);
        free(cached);
        free(failed);
        return -1;
    }
    embedding->skipped = 0;
    embedding->from_cache = 0;
    size_t kept = 0;
    int status = 0, done = 0;
    for (size_t first = 0; status == 0 && first < list->count; first += batch) {
        size_t n = list->count - first < batch ? list->count - first : batch;
        for (size_t i = 0; i < n; i++)
            cached[i] = embedding->cached_features ? embedding->cached_features(embedding->cache, first + i) : NULL;
        decode_batch(fx, list, first, n, (const float *const *)cached, failed, messages);
        size_t decoded = 0, good = 0;
        for (size_t i = 0; i < n; i++) {
            if (cached[i]) {
                good++;
                continue;
            }
            if (!failed[i]) {
                if (decoded != i)
                    memmove(fx->pixels + decoded * image_bytes, fx->pixels + i * image_bytes, image_bytes);
                decoded++;
                good++;
                continue;
            }
            if (status == 0 && !embedding->skip_unreadable) {
                status = messages[i] ? simclr_error_input(err, "%s", messages[i])
                                     : simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            } else if (status == 0) {
                fflush(stdout);
                if (messages[i]) fprintf(stderr, "simclr: %s; skipped\n", messages[i]);
                else fprintf(stderr, "simclr: %s: out of memory; skipped\n", list->paths[first + i]);
                free(list->paths[first + i]);
                list->paths[first + i] = NULL;
                embedding->skipped++;
            }
            free(messages[i]);
            messages[i] = NULL;
        }
        if (status != 0 || good == 0) continue;
        const float *features = NULL;
        if (decoded > 0) {
            simclr_augment_rescale(fx->pixels, decoded * image_bytes, fx->inputs);
            status = simclr_feature_extractor_run(fx, fx->inputs, (int)decoded, &features, err);
            if (status != 0) break;
        }
        /* The batch's rows in file order: cached ones as stored, the others normalised here. */
        size_t row = 0, from_model = 0;
        for (size_t i = 0; i < n; i++) {
            if (cached[i]) {
                memcpy(normalized + row++ * dim, cached[i], dim * sizeof(float));
                embedding->from_cache++;
            } else if (!failed[i]) {
                float *out = normalized + row++ * dim;
                memcpy(out, features + from_model++ * dim, dim * sizeof(float));
                simclr_l2_normalize_rows(out, 1, (int)dim);
            }
        }
        status = sink(context, normalized, kept, good, err);
        kept += good;
        if (embedding->progress) simclr_progress_update(embedding->progress, ++done, "");
    }
    compact(list);
    free(messages);
    free(cached);
    free(failed);
    free(normalized);
    return status;
}

typedef struct matrix_sink {
    float *rows;
    size_t dim;
} matrix_sink;

static int copy_rows(void *context, const float *features, size_t first, size_t count, simclr_error *err)
{
    (void)err;
    matrix_sink *matrix = context;
    memcpy(matrix->rows + first * matrix->dim, features, count * matrix->dim * sizeof(float));
    return 0;
}

int image_list_embed_matrix(image_embedding *embedding, image_list *list, float **features, simclr_error *err)
{
    *features = NULL;
    size_t dim = (size_t)embedding->fx->dim;
    matrix_sink matrix = {simclr_checked_calloc(list->count ? list->count * dim : 1, sizeof(float), "features", err),
                          dim};
    if (!matrix.rows) return -1;
    if (image_list_embed(embedding, list, copy_rows, &matrix, err) != 0) {
        free(matrix.rows);
        return -1;
    }
    *features = matrix.rows;
    return 0;
}
