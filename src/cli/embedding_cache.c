/* The embedding cache of a folder (see embedding_cache.h): read and checked whole at open, matched
 * by path, size and mtime through a hash table (the rows mapped), rewritten atomically as the new rows stream by. */
#include "embedding_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download/download_internal.h" /* SHA-256 through OpenSSL */
#include "simclr/atomic_file.h"

#define CACHE_FORMAT "simclr embedding cache 1"

/* One path: its row in the old cache (-1: none) and its size and mtime then and now. */
typedef struct cache_entry {
    char *path;            /* NULL: empty slot */
    int64_t old_row;
    long long old_size, old_mtime;
    long long size, mtime; /* now (set by match; -1 until then) */
} cache_entry;

struct embedding_cache {
    embedding_cache_options options; /* directory and folder: only during open */
    char input[64];        /* the options' input, kept */
    char name[4096];       /* directory/KEY */
    char model_sha[SIMCLR_DIGEST_HEX_MAX];
    /* the old cache */
    float *old_rows;       /* (old_count, dim) mapped from KEY.f32, or NULL */
    size_t mapped_bytes;
    size_t old_count;
    cache_entry *table;
    size_t table_size;     /* a power of two */
    const float **row_of_file; /* per file of the matched list: its reusable row, or NULL */
    /* the new rows, as they stream by */
    simclr_atomic_file rows_file;
    int rows_open;
    simclr_digest rows_hash;
    int hash_open;
    size_t new_count;
    image_features_sink forward;
    void *forward_context;
};

static uint64_t path_hash(const char *path)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) h = (h ^ *c) * 1099511628211ULL;
    return h;
}

/* The entry of path, inserted (old_row -1) when absent; NULL when out of memory. */
static cache_entry *table_entry(embedding_cache *cache, const char *path, int insert)
{
    size_t mask = cache->table_size - 1;
    for (size_t slot = (size_t)path_hash(path) & mask;; slot = (slot + 1) & mask) {
        cache_entry *entry = &cache->table[slot];
        if (!entry->path) {
            if (!insert) return NULL;
            entry->path = strdup(path);
            if (!entry->path) return NULL;
            entry->old_row = -1;
            entry->old_size = entry->old_mtime = entry->size = entry->mtime = -1;
            return entry;
        }
        if (strcmp(entry->path, path) == 0) return entry;
    }
}

static int table_reserve(embedding_cache *cache, size_t entries, simclr_error *err)
{
    size_t wanted = 64;
    while (wanted < 2 * entries) wanted *= 2;
    if (wanted <= cache->table_size) return 0;
    cache_entry *old = cache->table;
    size_t old_size = cache->table_size;
    cache->table = simclr_checked_calloc(wanted, sizeof *cache->table, "embedding cache table", err);
    if (!cache->table) {
        cache->table = old;
        return -1;
    }
    cache->table_size = wanted;
    for (size_t i = 0; i < old_size; i++) {
        if (!old[i].path) continue;
        size_t mask = wanted - 1, slot = (size_t)path_hash(old[i].path) & mask;
        while (cache->table[slot].path) slot = (slot + 1) & mask;
        cache->table[slot] = old[i];
    }
    free(old);
    return 0;
}

static int make_directories(const char *directory, simclr_error *err)
{
    char path[4096];
    int length = snprintf(path, sizeof path, "%s", directory);
    if (length < 0 || (size_t)length >= sizeof path) return simclr_error_input(err, "%s: path too long", directory);
    for (char *slash = path + 1;; slash++) {
        slash = strchr(slash, '/');
        if (slash) *slash = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot create the embedding cache directory %s: %s",
                                    path, strerror(errno));
        if (!slash) return 0;
        *slash = '/';
    }
}

/* Reads a whole file into memory (NUL-terminated). */
static char *read_text(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *text = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long length = ftell(file);
        if (length >= 0 && fseek(file, 0, SEEK_SET) == 0 && (text = malloc((size_t)length + 1)) != NULL) {
            if (fread(text, 1, (size_t)length, file) != (size_t)length) {
                free(text);
                text = NULL;
            } else {
                text[length] = '\0';
                *size = (size_t)length;
            }
        }
    }
    fclose(file);
    return text;
}

/* The next line of *cursor (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **cursor)
{
    if (!*cursor || !**cursor) return NULL;
    char *line = *cursor, *end = strchr(line, '\n');
    if (end) {
        *end = '\0';
        *cursor = end + 1;
    } else {
        *cursor = NULL;
    }
    return line;
}

/* Loads the old cache. Returns 0 when loaded, 1 when there is none or it belongs to another
 * model or features (rebuilt silently), 2 when it is damaged (why in *why). */
static int load_old(embedding_cache *cache, char *why, size_t why_size, simclr_error *err)
{
    char index_path[4200], rows_path[4200];
    snprintf(index_path, sizeof index_path, "%s.index", cache->name);
    snprintf(rows_path, sizeof rows_path, "%s.f32", cache->name);
    size_t size = 0;
    char *text = read_text(index_path, &size);
    if (!text) {
        if (errno == ENOENT) return 1;
        snprintf(why, why_size, "%s: %s", index_path, strerror(errno));
        return 2;
    }
    int result = 2;
    char *cursor = text, *line;
    char model[128] = "", features[64] = "", input[64] = "", rows_sha[128] = "";
    int dim = 0;
    unsigned long long rows = 0;
    if (!(line = next_line(&cursor)) || strcmp(line, CACHE_FORMAT) != 0) {
        snprintf(why, why_size, "%s: not a simclr embedding cache", index_path);
        goto done;
    }
    if (!(line = next_line(&cursor)) || sscanf(line, "model %127s", model) != 1 ||
        !(line = next_line(&cursor)) || sscanf(line, "features %63s", features) != 1 ||
        !(line = next_line(&cursor)) || strncmp(line, "input ", 6) != 0 ||
        snprintf(input, sizeof input, "%s", line + 6) < 0 || !(line = next_line(&cursor)) ||
        sscanf(line, "dim %d", &dim) != 1 || !(line = next_line(&cursor)) || sscanf(line, "rows %llu", &rows) != 1 ||
        !(line = next_line(&cursor)) || sscanf(line, "rows_sha256 %127s", rows_sha) != 1) {
        snprintf(why, why_size, "%s: the header does not parse", index_path);
        goto done;
    }
    if (strcmp(model, cache->model_sha) != 0 || strcmp(features, cache->options.features) != 0 ||
        strcmp(input, cache->options.input) != 0 || dim != cache->options.dim) {
        result = 1;
        goto done;
    }
    struct stat info;
    size_t expected = (size_t)rows * (size_t)dim * sizeof(float);
    if (stat(rows_path, &info) != 0 || (size_t)info.st_size != expected) {
        snprintf(why, why_size, "%s: expected %zu bytes (%llu rows of %d floats)", rows_path, expected, rows, dim);
        goto done;
    }
    if (table_reserve(cache, (size_t)rows, err) != 0) {
        result = -1;
        goto done;
    }
    for (unsigned long long row = 0; row < rows; row++) {
        long long file_size, mtime;
        int offset = 0;
        if (!(line = next_line(&cursor)) || sscanf(line, "%lld\t%lld\t%n", &file_size, &mtime, &offset) != 2 ||
            offset == 0 || !line[offset]) {
            snprintf(why, why_size, "%s: row %llu of %llu does not parse", index_path, row, rows);
            goto done;
        }
        cache_entry *entry = table_entry(cache, line + offset, 1);
        if (!entry) {
            result = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (embedding cache)");
            goto done;
        }
        entry->old_row = (int64_t)row;
        entry->old_size = file_size;
        entry->old_mtime = mtime;
    }
    if (next_line(&cursor)) {
        snprintf(why, why_size, "%s: more lines than its %llu rows", index_path, rows);
        goto done;
    }
    /* Mapped, not copied: the rows stay in the page cache, so a large cache costs no heap. */
    int fd = open(rows_path, O_RDONLY);
    void *mapped = fd >= 0 && expected > 0 ? mmap(NULL, expected, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (fd >= 0) close(fd);
    char actual[SIMCLR_DIGEST_HEX_MAX];
    simclr_digest hash;
    simclr_error ignored = {0};
    if ((expected > 0 && mapped == MAP_FAILED) || simclr_digest_begin(&hash, SIMCLR_DIGEST_SHA256, &ignored) != 0) {
        if (mapped != MAP_FAILED) munmap(mapped, expected);
        simclr_error_clear(&ignored);
        snprintf(why, why_size, "%s: cannot be read", rows_path);
        goto done;
    }
    cache->old_rows = mapped == MAP_FAILED ? NULL : mapped;
    cache->mapped_bytes = mapped == MAP_FAILED ? 0 : expected;
    simclr_digest_update(&hash, cache->old_rows, expected);
    simclr_digest_end(&hash, actual);
    if (strcmp(actual, rows_sha) != 0) {
        snprintf(why, why_size, "%s: its SHA-256 is not the one recorded", rows_path);
        goto done;
    }
    cache->old_count = (size_t)rows;
    result = 0;
done:
    free(text);
    if (result != 0) {
        if (cache->old_rows) munmap(cache->old_rows, cache->mapped_bytes);
        cache->old_rows = NULL;
        for (size_t i = 0; i < cache->table_size; i++) {
            free(cache->table[i].path);
            cache->table[i].path = NULL;
        }
    }
    return result;
}

int embedding_cache_open(embedding_cache **out, const embedding_cache_options *options, simclr_error *err)
{
    *out = NULL;
    embedding_cache *cache = simclr_checked_calloc(1, sizeof *cache, "embedding cache", err);
    if (!cache) return -1;
    cache->options = *options;
    snprintf(cache->input, sizeof cache->input, "%s", options->input);
    cache->options.input = cache->input;
    char folder[PATH_MAX], key[SIMCLR_DIGEST_HEX_MAX];
    if (!realpath(options->folder, folder)) snprintf(folder, sizeof folder, "%s", options->folder);
    simclr_digest hash;
    if (make_directories(options->directory, err) != 0 ||
        simclr_digest_file(options->model_path, SIMCLR_DIGEST_SHA256, cache->model_sha, err) != 0 ||
        simclr_digest_begin(&hash, SIMCLR_DIGEST_SHA256, err) != 0) {
        free(cache);
        return -1;
    }
    simclr_digest_update(&hash, folder, strlen(folder) + 1);
    simclr_digest_update(&hash, options->features, strlen(options->features));
    simclr_digest_end(&hash, key);
    key[24] = '\0';
    int length = snprintf(cache->name, sizeof cache->name, "%s/%s", options->directory, key);
    if (length < 0 || (size_t)length >= sizeof cache->name) {
        free(cache);
        return simclr_error_input(err, "%s: path too long", options->directory);
    }
    char why[8400] = "";
    int loaded = load_old(cache, why, sizeof why, err);
    if (loaded < 0) {
        embedding_cache_close(cache);
        return -1;
    }
    if (loaded == 2 && !options->quiet) {
        fflush(stdout);
        fprintf(stderr, "simclr: embedding cache %s; rebuilding it\n", why);
    }
    *out = cache;
    return 0;
}

static const float *cached_row(void *context, size_t file)
{
    embedding_cache *cache = context;
    return cache->row_of_file ? cache->row_of_file[file] : NULL;
}

int embedding_cache_match(embedding_cache *cache, const image_list *list, image_embedding *embedding,
                          simclr_error *err)
{
    free(cache->row_of_file);
    cache->row_of_file = simclr_checked_calloc(list->count ? list->count : 1, sizeof(float *), "embedding cache",
                                               err);
    if (!cache->row_of_file || table_reserve(cache, cache->old_count + list->count, err) != 0) return -1;
    for (size_t i = 0; i < list->count; i++) {
        cache_entry *entry = table_entry(cache, list->paths[i], 1);
        if (!entry) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (embedding cache)");
        struct stat info;
        if (stat(list->paths[i], &info) != 0) continue; /* the reader names it */
        entry->size = (long long)info.st_size;
        entry->mtime = (long long)info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
        if (entry->old_row >= 0 && entry->old_size == entry->size && entry->old_mtime == entry->mtime)
            cache->row_of_file[i] = cache->old_rows + (size_t)entry->old_row * (size_t)cache->options.dim;
    }
    embedding->cached_features = cached_row;
    embedding->cache = cache;
    return 0;
}

void embedding_cache_forward_to(embedding_cache *cache, image_features_sink sink, void *context)
{
    cache->forward = sink;
    cache->forward_context = context;
}

int embedding_cache_sink(void *context, const float *features, size_t first, size_t count, simclr_error *err)
{
    embedding_cache *cache = context;
    if (!cache->rows_open) {
        char rows_path[4200];
        snprintf(rows_path, sizeof rows_path, "%s.f32", cache->name);
        if (simclr_atomic_file_open(&cache->rows_file, rows_path, err) != 0) return -1;
        cache->rows_open = 1;
        if (simclr_digest_begin(&cache->rows_hash, SIMCLR_DIGEST_SHA256, err) != 0) return -1;
        cache->hash_open = 1;
    }
    size_t values = count * (size_t)cache->options.dim;
    if (fwrite(features, sizeof(float), values, cache->rows_file.stream) != values)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot write %s: %s", cache->rows_file.temp_path,
                                strerror(errno));
    simclr_digest_update(&cache->rows_hash, features, values * sizeof(float));
    cache->new_count += count;
    return cache->forward ? cache->forward(cache->forward_context, features, first, count, err) : 0;
}

/* Whether the kept list is exactly the old cache: same rows in the same order, files unchanged. */
static int same_as_before(embedding_cache *cache, const image_list *list)
{
    if (!cache->old_rows || list->count != cache->old_count) return 0;
    for (size_t i = 0; i < list->count; i++) {
        cache_entry *entry = table_entry(cache, list->paths[i], 0);
        if (!entry || entry->old_row != (int64_t)i || entry->old_size != entry->size ||
            entry->old_mtime != entry->mtime)
            return 0;
    }
    return 1;
}

int embedding_cache_commit(embedding_cache *cache, const image_list *list, int *rewritten, simclr_error *err)
{
    if (rewritten) *rewritten = 0;
    if (cache->hash_open) {
        char rows_sha[SIMCLR_DIGEST_HEX_MAX];
        simclr_digest_end(&cache->rows_hash, rows_sha);
        cache->hash_open = 0;
        if (same_as_before(cache, list) || cache->new_count != list->count) {
            simclr_atomic_file_abort(&cache->rows_file);
            cache->rows_open = 0;
            return 0;
        }
        for (size_t i = 0; i < list->count; i++) {
            if (strchr(list->paths[i], '\n')) { /* a name the index cannot hold: no cache */
                simclr_atomic_file_abort(&cache->rows_file);
                cache->rows_open = 0;
                return 0;
            }
        }
        cache->rows_open = 0;
        if (simclr_atomic_file_commit(&cache->rows_file, err) != 0) return -1;
        simclr_atomic_file index;
        char index_path[4200];
        snprintf(index_path, sizeof index_path, "%s.index", cache->name);
        if (simclr_atomic_file_open(&index, index_path, err) != 0) return -1;
        fprintf(index.stream, "%s\nmodel %s\nfeatures %s\ninput %s\ndim %d\nrows %zu\nrows_sha256 %s\n", CACHE_FORMAT,
                cache->model_sha, cache->options.features, cache->options.input, cache->options.dim, list->count,
                rows_sha);
        for (size_t i = 0; i < list->count; i++) {
            cache_entry *entry = table_entry(cache, list->paths[i], 0);
            fprintf(index.stream, "%lld\t%lld\t%s\n", entry ? entry->size : -1LL, entry ? entry->mtime : -1LL,
                    list->paths[i]);
        }
        if (simclr_atomic_file_commit(&index, err) != 0) return -1;
        if (rewritten) *rewritten = 1;
    }
    return 0;
}

const char *embedding_cache_name(const embedding_cache *cache) { return cache->name; }

void embedding_cache_close(embedding_cache *cache)
{
    if (!cache) return;
    if (cache->hash_open) simclr_digest_abort(&cache->rows_hash);
    if (cache->rows_open) simclr_atomic_file_abort(&cache->rows_file);
    for (size_t i = 0; i < cache->table_size; i++) free(cache->table[i].path);
    free(cache->table);
    if (cache->old_rows) munmap(cache->old_rows, cache->mapped_bytes);
    free(cache->row_of_file);
    free(cache);
}
