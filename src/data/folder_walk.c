/* The parallel, level by level directory walk of a folder dataset's open (folder_walk.h). */
#include "data/folder_walk.h"

#include "data/data_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Entries looked at by one task of the stat phase: a chunk of one directory's. */
enum { WALK_CHUNK = 256 };

int simclr_folder_has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static char *format_message(const char *format, const char *a, const char *b)
{
    int length = snprintf(NULL, 0, format, a, b);
    char *message = length >= 0 ? malloc((size_t)length + 1) : NULL;
    if (message) snprintf(message, (size_t)length + 1, format, a, b);
    return message;
}

/* Appends a node (the nodes array may move). */
static int walk_append(folder_walk *walk, char *path, size_t relative, int root, folder_walk_mode mode, int depth,
                       int32_t parent, simclr_error *err)
{
    if (walk->count == walk->capacity) {
        size_t grown = walk->capacity ? walk->capacity * 2 : 16;
        folder_walk_node *nodes = realloc(walk->nodes, grown * sizeof *nodes);
        if (!nodes) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", path);
            free(path);
            return -1;
        }
        walk->nodes = nodes;
        walk->capacity = grown;
    }
    folder_walk_node *node = &walk->nodes[walk->count];
    memset(node, 0, sizeof *node);
    node->path = path;
    node->relative = relative;
    node->root = root;
    node->mode = mode;
    node->depth = depth;
    node->parent = parent;
    return (int)walk->count++;
}

int simclr_folder_walk_add(folder_walk *walk, const char *dir, const char *relative, int root, folder_walk_mode mode,
                           simclr_error *err)
{
    size_t dir_length = strlen(dir), length = dir_length + (relative[0] ? 1 + strlen(relative) : 0);
    char *path = malloc(length + 1);
    if (!path) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", dir);
    if (relative[0]) snprintf(path, length + 1, "%s/%s", dir, relative);
    else memcpy(path, dir, dir_length + 1);
    return walk_append(walk, path, relative[0] ? dir_length + 1 : dir_length, root, mode, 0, -1, err);
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const folder_walk_entry *)a)->name, ((const folder_walk_entry *)b)->name);
}

/* Lists one directory: its facts, then its names (from the cache record when the facts match).
 * Returns -1 only when out of memory. */
static int list_node(const folder_walk *walk, folder_walk_node *node)
{
    int fd = open(node->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
        if (fd >= 0) close(fd);
        node->error = format_message("folder: cannot open directory %s%s", node->path, "");
        return node->error ? 0 : -1;
    }
    simclr_index_facts_of(&info, &node->facts);
    node->facts.size = 0;
    node->device = (uint64_t)info.st_dev;
    const simclr_index_cache_dir *record =
        walk->cache ? simclr_index_cache_find_dir(walk->cache, node->root, node->path + node->relative) : NULL;
    if (record && record->facts.mtime_ns == node->facts.mtime_ns && record->facts.inode == node->facts.inode) {
        close(fd);
        node->entries = calloc(record->name_count ? record->name_count : 1, sizeof *node->entries);
        if (!node->entries) return -1;
        const char *name = record->names;
        for (uint32_t i = 0; i < record->name_count; i++) {
            node->entries[i].name = name;
            node->entries[i].child = -1;
            name += strlen(name) + 1;
        }
        node->count = record->name_count;
        node->from_cache = 1;
        return 0;
    }
    DIR *handle = fdopendir(fd);
    if (!handle) {
        close(fd);
        node->error = format_message("folder: cannot open directory %s%s", node->path, "");
        return node->error ? 0 : -1;
    }
    size_t capacity = 0;
    struct dirent *entry;
    int status = 0;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        if (node->count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            folder_walk_entry *grown = realloc(node->entries, capacity * sizeof *grown);
            if (!grown) {
                status = -1;
                break;
            }
            node->entries = grown;
        }
        folder_walk_entry *item = &node->entries[node->count];
        memset(item, 0, sizeof *item);
        item->child = -1;
        item->name = strdup(entry->d_name);
        if (!item->name) {
            status = -1;
            break;
        }
        node->count++;
    }
    closedir(handle);
    if (node->count > 1) qsort(node->entries, node->count, sizeof *node->entries, compare_entries);
    return status;
}

/* Looks at entries [begin, end) of node: kind and facts (following links). */
static void stat_entries(folder_walk_node *node, size_t begin, size_t end)
{
    int fd = open(node->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = begin; i < end; i++) {
        folder_walk_entry *entry = &node->entries[i];
        if (node->mode == FOLDER_WALK_LEAF && !simclr_folder_has_image_extension(entry->name)) {
            entry->kind = FOLDER_ENTRY_UNCHECKED;
            continue;
        }
        struct stat info;
        if (fd < 0 || fstatat(fd, entry->name, &info, 0) != 0) {
            entry->kind = FOLDER_ENTRY_OTHER;
        } else if (S_ISREG(info.st_mode)) {
            entry->kind = FOLDER_ENTRY_FILE;
            simclr_index_facts_of(&info, &entry->facts);
        } else if (S_ISDIR(info.st_mode)) {
            entry->kind = FOLDER_ENTRY_DIR;
            simclr_index_facts_of(&info, &entry->facts);
            entry->facts.size = 0;
            entry->device = (uint64_t)info.st_dev;
        } else {
            entry->kind = FOLDER_ENTRY_OTHER;
        }
    }
    if (fd >= 0) close(fd);
}

/* The ancestor of a TREE folder that is the same directory as its entry, or -1. */
static int32_t loop_ancestor(const folder_walk *walk, int32_t parent, const folder_walk_entry *entry)
{
    for (int32_t at = parent; at >= 0; at = walk->nodes[at].parent) {
        const folder_walk_node *node = &walk->nodes[at];
        if (node->mode != FOLDER_WALK_TREE) break;
        if (!node->error && node->device == entry->device && node->facts.inode == entry->facts.inode) return at;
    }
    return -1;
}

/* Adds the subfolders of nodes [begin, end) as nodes of the next level, in order. */
static int add_children(folder_walk *walk, size_t begin, size_t end, simclr_error *err)
{
    for (size_t n = begin; n < end; n++) {
        if (walk->nodes[n].error || walk->nodes[n].mode == FOLDER_WALK_LEAF) continue;
        for (size_t i = 0; i < walk->nodes[n].count; i++) {
            const folder_walk_node *node = &walk->nodes[n];
            const folder_walk_entry *entry = &node->entries[i];
            if (entry->kind != FOLDER_ENTRY_DIR) continue;
            size_t length = strlen(node->path) + 1 + strlen(entry->name);
            char *path = malloc(length + 1);
            if (!path) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", node->path);
            snprintf(path, length + 1, "%s/%s", node->path, entry->name);
            size_t relative = node->path[node->relative] == '\0' ? strlen(node->path) + 1 : node->relative;
            folder_walk_mode mode = node->mode == FOLDER_WALK_CLASSES ? FOLDER_WALK_LEAF : FOLDER_WALK_TREE;
            int depth = node->mode == FOLDER_WALK_TREE ? node->depth + 1 : 0;
            int32_t loop = node->mode == FOLDER_WALK_TREE ? loop_ancestor(walk, (int32_t)n, entry) : -1;
            int root = node->root;
            int child = walk_append(walk, path, relative, root, mode, depth, (int32_t)n, err);
            if (child < 0) return -1;
            folder_walk_node *added = &walk->nodes[child];
            walk->nodes[n].entries[i].child = child;
            if (depth > FOLDER_WALK_MAX_DEPTH)
                added->error = format_message("folder: %s is nested deeper than 16 folders%s", added->path, "");
            else if (loop >= 0)
                added->error = format_message("folder: %s is a link back to %s, a folder that holds it (a loop)",
                                              added->path, walk->nodes[loop].path);
            else
                continue;
            if (!added->error) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        }
    }
    return 0;
}

typedef struct stat_task {
    size_t node, begin, end;
} stat_task;

int simclr_folder_walk_run(folder_walk *walk, simclr_error *err)
{
    _Static_assert(FOLDER_WALK_MAX_DEPTH == 16, "the depth message names 16");
    size_t begin = 0, end = walk->count;
    int io_threads = simclr_data_io_threads(); /* listings and stats wait on the disk */
    while (begin < end) {
        /* 1. The level's directories, listed in parallel. */
        int out_of_memory = 0;
        /* (A thread team only where there is work for one: small regions cost more than they give.) */
#pragma omp parallel for schedule(dynamic, 1) if (end - begin > 1) num_threads(io_threads)
        for (size_t n = begin; n < end; n++) {
            folder_walk_node *node = &walk->nodes[n];
            if (node->error) continue; /* too deep, or a loop: not listed */
            if (list_node(walk, node) != 0) {
#pragma omp atomic write
                out_of_memory = 1;
            }
        }
        if (out_of_memory) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing folders");
        /* 2. Their entries, looked at in parallel in chunks. */
        size_t task_count = 0;
        for (size_t n = begin; n < end; n++) task_count += (walk->nodes[n].count + WALK_CHUNK - 1) / WALK_CHUNK;
        stat_task *tasks = calloc(task_count ? task_count : 1, sizeof *tasks);
        if (!tasks) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing folders");
        size_t t = 0;
        for (size_t n = begin; n < end; n++)
            for (size_t at = 0; at < walk->nodes[n].count; at += WALK_CHUNK)
                tasks[t++] = (stat_task){n, at, at + WALK_CHUNK < walk->nodes[n].count ? at + WALK_CHUNK
                                                                                      : walk->nodes[n].count};
#pragma omp parallel for schedule(dynamic, 1) if (task_count > 1) num_threads(io_threads)
        for (size_t i = 0; i < task_count; i++)
            stat_entries(&walk->nodes[tasks[i].node], tasks[i].begin, tasks[i].end);
        free(tasks);
        /* 3. Their subfolders: the next level. */
        if (add_children(walk, begin, end, err) != 0) return -1;
        begin = end;
        end = walk->count;
    }
    return 0;
}

void simclr_folder_walk_free(folder_walk *walk)
{
    for (size_t n = 0; n < walk->count; n++) {
        folder_walk_node *node = &walk->nodes[n];
        if (!node->from_cache)
            for (size_t i = 0; i < node->count; i++) free((char *)node->entries[i].name);
        free(node->entries);
        free(node->path);
        free(node->error);
    }
    free(walk->nodes);
    memset(walk, 0, sizeof *walk);
}
