#ifndef SIMCLR_DATA_FOLDER_WALK_H
#define SIMCLR_DATA_FOLDER_WALK_H
/*
 * Private to src/data: the directory walk of a folder dataset's open (issue 25). The walk goes
 * level by level (the roots, then their subfolders, ...): the directories of a level are listed
 * in parallel, then every entry of the level is looked at (stat, following links) in parallel,
 * in chunks, so that one folder of a million files is spread over the threads too. Each
 * directory's names are sorted bytewise, so folder.c reads the result in exactly the order a
 * serial depth-first walk gives, whatever the threads did.
 *
 * With an index cache (index_cache.h), a directory whose modification time and inode equal its
 * record takes its names from the record instead of reading the directory; its entries are
 * still looked at (a file changed in place does not change its directory).
 *
 * A directory that cannot be listed is not an error of the walk: its node holds the message,
 * which folder.c reports when it reaches that directory in order (as the serial walk would).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "data/index_cache.h"
#include "simclr/error.h"

enum { FOLDER_WALK_MAX_DEPTH = 16 };

typedef enum folder_walk_mode {
    FOLDER_WALK_CLASSES, /* train/ or test/: every entry looked at; subfolders listed as LEAF */
    FOLDER_WALK_LEAF,    /* a class folder: its files with an image extension looked at, no descent */
    FOLDER_WALK_TREE,    /* unlabeled images: every entry looked at, subfolders to FOLDER_WALK_MAX_DEPTH */
} folder_walk_mode;

typedef enum folder_entry_kind {
    FOLDER_ENTRY_UNCHECKED, /* not looked at (a LEAF's name without an image extension) */
    FOLDER_ENTRY_FILE,      /* a regular file (or a link to one) */
    FOLDER_ENTRY_DIR,       /* a directory (or a link to one) */
    FOLDER_ENTRY_OTHER,     /* gone, unreadable, or neither */
} folder_entry_kind;

typedef struct folder_walk_entry {
    const char *name;         /* owned by the node unless its listing came from the cache */
    uint8_t kind;             /* folder_entry_kind */
    simclr_index_facts facts; /* FILE and DIR */
    uint64_t device;          /* DIR: for the loop check */
    int32_t child;            /* the node listing this directory, or -1 */
} folder_walk_entry;

typedef struct folder_walk_node {
    char *path;               /* as opened: the root's path, '/', the relative path (owned) */
    size_t relative;          /* offset in path of the path relative to the root ("" for the root) */
    int root;                 /* index_cache.h's root of the path */
    folder_walk_mode mode;
    int depth;                /* TREE: 0 for its first folder */
    int32_t parent;           /* -1 for a root */
    folder_walk_entry *entries;
    size_t count;
    char *error;              /* why it was not listed ("folder: cannot open directory ..."), or NULL */
    simclr_index_facts facts; /* of the directory, taken before its names were read */
    uint64_t device;
    int from_cache;           /* the names are the cache record's (borrowed) */
} folder_walk_node;

typedef struct folder_walk {
    folder_walk_node *nodes;
    size_t count, capacity;
    const simclr_index_cache *cache; /* NULL: none; must outlive the walk */
} folder_walk;

/* 1 when name ends in .png, .jpg or .jpeg (any case). */
int simclr_folder_has_image_extension(const char *name);

/* Adds a directory to walk: dir (a root's path) joined with relative ("" : dir itself). Returns
 * the node's index, or -1 (out of memory, err set). */
int simclr_folder_walk_add(folder_walk *walk, const char *dir, const char *relative, int root, folder_walk_mode mode,
                           simclr_error *err);

/* Lists every node added and, level by level, the subfolders they hold. -1 only when out of
 * memory; a folder that cannot be listed keeps its message in its node. */
int simclr_folder_walk_run(folder_walk *walk, simclr_error *err);

void simclr_folder_walk_free(folder_walk *walk);

#endif
