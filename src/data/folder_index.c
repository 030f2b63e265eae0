/* A folder dataset's index: the header reads, in parallel, and the index cache's use (folder_index.h). */
#include "data/folder_index.h"

#include "data/data_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simclr/image_io.h"

void simclr_path_list_free(path_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    free(list->labels);
    free(list->facts);
    memset(list, 0, sizeof *list);
}

int simclr_path_list_add(path_list *list, const char *dir, const char *name, int32_t label,
                         const simclr_index_facts *facts, simclr_error *err)
{
    if (list->count == list->capacity) {
        size_t grown = list->capacity ? list->capacity * 2 : 64;
        char **items = realloc(list->items, grown * sizeof *items);
        if (items) list->items = items;
        int32_t *labels = items ? realloc(list->labels, grown * sizeof *labels) : NULL;
        if (labels) list->labels = labels;
        simclr_index_facts *grown_facts = labels ? realloc(list->facts, grown * sizeof *grown_facts) : NULL;
        if (!grown_facts)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", name);
        list->facts = grown_facts;
        list->capacity = grown;
    }
    size_t dir_length = dir ? strlen(dir) : 0, name_length = strlen(name);
    char *item = malloc(dir_length + (dir ? 1 : 0) + name_length + 1);
    if (!item) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", name);
    if (dir) {
        memcpy(item, dir, dir_length);
        item[dir_length++] = '/';
    }
    memcpy(item + dir_length, name, name_length + 1);
    list->items[list->count] = item;
    list->labels[list->count] = label;
    list->facts[list->count] = facts ? *facts : (simclr_index_facts){.size = -1}; /* -1: not known yet */
    list->count++;
    return 0;
}

int simclr_folder_note(simclr_dataset *ds, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (length < 0) return -1;
    size_t used = ds->index_notes ? strlen(ds->index_notes) : 0;
    char *grown = realloc(ds->index_notes, used + (size_t)length + 2);
    if (!grown) return -1;
    va_start(args, format);
    vsnprintf(grown + used, (size_t)length + 1, format, args);
    va_end(args);
    grown[used + (size_t)length] = '\n';
    grown[used + (size_t)length + 1] = '\0';
    ds->index_notes = grown;
    return 0;
}

/* "dir/" for a root folder, or a list's folder part ("" or "lists/"). */
static char *prefix_of(const char *path, int is_folder)
{
    size_t length = strlen(path);
    if (!is_folder) {
        const char *slash = strrchr(path, '/');
        length = slash ? (size_t)(slash - path) + 1 : 0;
    }
    char *prefix = malloc(length + 2);
    if (!prefix) return NULL;
    memcpy(prefix, path, length);
    if (is_folder) prefix[length++] = '/';
    prefix[length] = '\0';
    return prefix;
}

/* How the dataset is opened and from where: what the cache is named after and must hold. */
static char *identity_of(const simclr_dataset_options *options, const char *own, const char *labeled)
{
    const char *how = options->file_list ? "list" : options->labeled_dir ? "unlabeled" : "folder";
    const char *other = labeled ? labeled : "";
    int length = snprintf(NULL, 0, "simclr folder index: %s %zu:%s %zu:%s", how, strlen(own), own, strlen(other),
                          other);
    char *identity = length > 0 ? malloc((size_t)length + 1) : NULL;
    if (identity)
        snprintf(identity, (size_t)length + 1, "simclr folder index: %s %zu:%s %zu:%s", how, strlen(own), own,
                 strlen(other), other);
    return identity;
}

int simclr_folder_cache_open(folder_cache *cache, simclr_dataset *ds, const simclr_dataset_options *options,
                             simclr_error *err)
{
    memset(cache, 0, sizeof *cache);
    cache->now_ns = simclr_index_now_ns();
    cache->root_prefix[0] = prefix_of(ds->path, !options->file_list);
    cache->root_prefix[1] = prefix_of(options->labeled_dir ? options->labeled_dir : "", 1);
    if (!cache->root_prefix[0] || !cache->root_prefix[1])
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    cache->split_root[SIMCLR_DATASET_SPLIT_UNLABELED] = 0;
    cache->split_root[SIMCLR_DATASET_SPLIT_TRAIN] = cache->split_root[SIMCLR_DATASET_SPLIT_TEST] =
        options->labeled_dir ? 1 : 0;
    if (!options->index_cache_dir || !options->index_cache_dir[0]) return 0;
    /* Named after the absolute paths: the same cache from any working directory or spelling. A
     * folder that has none (gone) opens without a cache, and fails as it would without one. */
    char *own = realpath(ds->path, NULL);
    char *labeled = options->labeled_dir ? realpath(options->labeled_dir, NULL) : NULL;
    int status = 0;
    if (own && (labeled || !options->labeled_dir)) {
        cache->identity = identity_of(options, own, labeled);
        const char *slash = strrchr(own, '/');
        char name[PATH_MAX + 64];
        if (!cache->identity) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        } else if (simclr_index_cache_file_name(name, sizeof name, options->index_cache_dir, slash ? slash + 1 : own,
                                                cache->identity) != 0) {
            simclr_folder_note(ds, "index cache directory %s: the path is too long; no index cache",
                               options->index_cache_dir);
        } else if (!(cache->path = strdup(name)) || !(ds->index_cache_path = strdup(name))) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        } else {
            char why[600] = "";
            int loaded = simclr_index_cache_load(&cache->old, cache->path, cache->identity, why, sizeof why);
            cache->loaded = loaded == 0;
            if (loaded != 0 && why[0]) simclr_folder_note(ds, "index cache %s: %s; rebuilding it", cache->path, why);
        }
    }
    free(own);
    free(labeled);
    return status;
}

void simclr_folder_cache_close(folder_cache *cache)
{
    for (int r = 0; r < SIMCLR_INDEX_CACHE_ROOTS; r++) free(cache->root_prefix[r]);
    free(cache->path);
    free(cache->identity);
    simclr_index_cache_free(&cache->old);
    memset(cache, 0, sizeof *cache);
}

/* The path of a file relative to its root: the key of its record. */
static const char *file_key(const folder_cache *cache, int root, const char *path)
{
    const char *prefix = cache->root_prefix[root];
    size_t length = strlen(prefix);
    return strncmp(path, prefix, length) == 0 ? path + length : path;
}

static int same_file(const simclr_index_facts *a, const simclr_index_facts *b)
{
    return a->size == b->size && a->mtime_ns == b->mtime_ns && a->inode == b->inode;
}

int simclr_folder_read_headers(simclr_dataset *ds, folder_index *index, const folder_cache *cache, simclr_error *err)
{
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        path_list *files = &index->files[s];
        size_t count = files->count;
        index->heights[s] = simclr_checked_calloc(count, sizeof(int), "folder image sizes", err);
        index->widths[s] = simclr_checked_calloc(count, sizeof(int), "folder image sizes", err);
        index->cache_state[s] = simclr_checked_calloc(count, 1, "folder index", err);
        if (!index->heights[s] || !index->widths[s] || !index->cache_state[s]) return -1;
        int *heights = index->heights[s], *widths = index->widths[s];
        uint8_t *state = index->cache_state[s];
        int root = cache->split_root[s];
        const simclr_index_cache *old = cache->loaded ? &cache->old : NULL;
        int64_t now_ns = cache->now_ns;
        size_t cached = 0;
        int io_threads = simclr_data_io_threads();
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : cached) if (count > 16) num_threads(io_threads)
        for (size_t i = 0; i < count; i++) {
            const char *path = files->items[i];
            simclr_index_facts *facts = &files->facts[i];
            struct stat info;
            /* For the cache only: without one, the header read below takes the facts itself. */
            if (old && facts->size < 0 && stat(path, &info) == 0 && S_ISREG(info.st_mode)) simclr_index_facts_of(&info, facts);
            const simclr_index_cache_file *record =
                old && facts->size >= 0 ? simclr_index_cache_find_file(old, root, file_key(cache, root, path)) : NULL;
            if (record && same_file(&record->facts, facts)) {
                heights[i] = record->height; /* 0: a bad file, read again below for the reason */
                widths[i] = record->width;
                state[i] = 1;
                cached++;
                continue;
            }
            simclr_error local = {0};
            info.st_mode = 0;
            if (simclr_image_read_header(path, &heights[i], &widths[i], &info, &local) != 0) heights[i] = widths[i] = 0;
            simclr_error_clear(&local);
            if (S_ISREG(info.st_mode)) { /* the facts of what was read, taken before reading */
                simclr_index_facts_of(&info, facts);
                state[i] = simclr_index_facts_settled(facts, now_ns) ? 2 : 0;
            }
        }
        ds->index_files += count;
        ds->index_cached_files += cached;
    }
    return 0;
}

void simclr_folder_cache_write(simclr_dataset *ds, const folder_index *index, const folder_walk *walk,
                               const folder_cache *cache)
{
    if (!cache->path) return;
    /* Written only when it would differ: a record new or changed, or one gone. */
    size_t dirs = 0, files = 0, most_names = 0;
    int changed = !cache->loaded;
    for (size_t n = 0; n < walk->count; n++) {
        const folder_walk_node *node = &walk->nodes[n];
        if (node->error || !simclr_index_facts_settled(&node->facts, cache->now_ns)) continue;
        dirs++;
        changed |= !node->from_cache;
        if (node->count > most_names) most_names = node->count;
    }
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        for (size_t i = 0; i < index->files[s].count; i++) {
            files += index->cache_state[s][i] != 0;
            changed |= index->cache_state[s][i] == 2;
        }
    if (cache->loaded) changed |= dirs != cache->old.dir_count || files != cache->old.file_count;
    if (!changed) return;
    const char **names = malloc((most_names ? most_names : 1) * sizeof *names);
    simclr_error err = {0};
    simclr_index_cache_writer writer;
    if (!names) {
        simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    } else if (simclr_index_cache_writer_open(&writer, cache->path, cache->identity, &err) == 0) {
        for (size_t n = 0; n < walk->count; n++) {
            const folder_walk_node *node = &walk->nodes[n];
            if (node->error || !simclr_index_facts_settled(&node->facts, cache->now_ns)) continue;
            for (size_t i = 0; i < node->count; i++) names[i] = node->entries[i].name;
            simclr_index_cache_writer_dir(&writer, node->root, node->path + node->relative, &node->facts,
                                          (char *const *)names, node->count);
        }
        for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
            int root = cache->split_root[s];
            for (size_t i = 0; i < index->files[s].count; i++)
                if (index->cache_state[s][i])
                    simclr_index_cache_writer_file(&writer, root, file_key(cache, root, index->files[s].items[i]),
                                                   &index->files[s].facts[i], index->heights[s][i],
                                                   index->widths[s][i]);
        }
        if (simclr_index_cache_writer_commit(&writer, cache->now_ns, &err) == 0) ds->index_cache_written = 1;
    }
    free(names);
    if (!ds->index_cache_written)
        simclr_folder_note(ds, "index cache not written: %s; the next open reads every header again",
                           simclr_error_message(&err));
    simclr_error_clear(&err);
}
