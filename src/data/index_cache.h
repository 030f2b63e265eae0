#ifndef SIMCLR_DATA_INDEX_CACHE_H
#define SIMCLR_DATA_INDEX_CACHE_H
/*
 * Private to src/data (and fuzz/fuzz_index_cache.c): the index cache of a folder dataset (issue 25,
 * simclr_dataset_options.index_cache_dir). One file per dataset, named after its identity (how it
 * was opened and the absolute paths it is read from), holding what the last open found:
 *
 *   - each directory it listed: the names in it (hidden ones left out, sorted bytewise), with the
 *     directory's modification time and inode. Creating, removing or renaming an entry of a
 *     directory sets its modification time, so while both are unchanged its listing is too (what
 *     is inside a subdirectory is that subdirectory's own record);
 *   - each image file it read: the size its header declares (0 x 0: not a whole PNG or JPEG),
 *     with the file's size, modification time and inode.
 *
 * Paths are relative to their root: 0, the data folder (or the list file's folder); 1, the
 * --labeled-dir folder. A record is used only when the facts of the file or directory on disk
 * equal it. Only settled ones are written: a modification time that is not at least
 * INDEX_SETTLE_NS older than the open (2 s when the time has no fraction of a second, as on FAT
 * or ext3) could be shared by a change in the same clock tick after the open read it.
 *
 * The file, little-endian:
 *   header (48 bytes): "SIMCLRIX", u32 version (1), u32 CRC-32 of every byte after this field,
 *                      u64 body bytes, u64 directories, u64 files, i64 when the open that wrote it began (ns)
 *   body:  the identity: u32 n, n bytes, NUL
 *          each directory: u8 root, u16 n, n bytes of path, NUL, i64 mtime (ns), u64 inode,
 *                          u32 names, u32 m, m bytes: the names, each NUL-terminated
 *          each file: u8 root, u16 n, n bytes of path, NUL, i64 size, i64 mtime (ns), u64 inode,
 *                     u32 height, u32 width
 * Anything else (another magic or version, a size or count that does not add up, a checksum that
 * does not match, a record running over the end, a NUL inside a path, a path twice, names not
 * sorted or not plain names, a size out of range, bytes left over) refuses the whole file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "simclr/atomic_file.h"
#include "simclr/error.h"

enum { SIMCLR_INDEX_CACHE_VERSION = 1, SIMCLR_INDEX_CACHE_HEADER_BYTES = 48, SIMCLR_INDEX_CACHE_ROOTS = 2 };

#define SIMCLR_INDEX_CACHE_MAGIC "SIMCLRIX"
#define INDEX_SETTLE_NS 50000000LL           /* 50 ms: timestamps with a fraction of a second */
#define INDEX_SETTLE_COARSE_NS 2000000000LL  /* 2 s: whole seconds (FAT's 2 s granularity) */

/* What the index compares of a file (size, mtime, inode) or a directory (mtime, inode). */
typedef struct simclr_index_facts {
    int64_t size;
    int64_t mtime_ns;
    uint64_t inode;
} simclr_index_facts;

void simclr_index_facts_of(const struct stat *info, simclr_index_facts *facts);
/* 1 when a record of these facts may be written: modified long enough before now_ns. */
int simclr_index_facts_settled(const simclr_index_facts *facts, int64_t now_ns);
int64_t simclr_index_now_ns(void);

typedef struct simclr_index_cache_dir {
    const char *path;       /* relative to the root; "" for the root itself */
    uint8_t root;
    simclr_index_facts facts; /* size unused (0) */
    uint32_t name_count;
    const char *names;      /* name_count NUL-terminated names one after the other, sorted */
} simclr_index_cache_dir;

typedef struct simclr_index_cache_file {
    const char *path;       /* relative to the root */
    uint8_t root;
    simclr_index_facts facts;
    int32_t height, width;  /* 0 x 0: not a whole image (read again for the reason) */
} simclr_index_cache_file;

/* A parsed cache: records point into bytes (owned). */
typedef struct simclr_index_cache {
    uint8_t *bytes;
    size_t size;
    const char *identity;
    int64_t written_ns;
    simclr_index_cache_dir *dirs;
    size_t dir_count;
    simclr_index_cache_file *files;
    size_t file_count;
    uint32_t *dir_table, *file_table; /* open addressing: record index + 1, 0 empty */
    size_t dir_table_size, file_table_size;
} simclr_index_cache;

/* Parses a whole cache file held in bytes (malloc'd, size bytes; owned by the cache from here on,
 * freed by simclr_index_cache_free, also when parsing fails). Returns 0, or -1 with why (a short
 * reason: "not a simclr index cache", "version 9; this build reads 1", "truncated: ...",
 * "checksum mismatch", ...) and the cache empty. */
int simclr_index_cache_parse(simclr_index_cache *cache, uint8_t *bytes, size_t size, char *why, size_t why_size);

/* Reads and parses the cache at path and checks that it is identity's. Returns 0 when loaded, 1
 * when there is no such file (or it cannot be read: why says), -1 when it is damaged, foreign
 * or of another version (why says). */
int simclr_index_cache_load(simclr_index_cache *cache, const char *path, const char *identity, char *why,
                            size_t why_size);

void simclr_index_cache_free(simclr_index_cache *cache);

/* The record of root's path, or NULL. */
const simclr_index_cache_dir *simclr_index_cache_find_dir(const simclr_index_cache *cache, int root,
                                                          const char *path);
const simclr_index_cache_file *simclr_index_cache_find_file(const simclr_index_cache *cache, int root,
                                                            const char *path);

/* The cache file of a dataset: dir/<label>-<16 hex digits of identity's hash>.index, label the
 * dataset folder's (or list's) base name, cut to 40 bytes of [A-Za-z0-9._-] ('_' for the rest).
 * -1 when it does not fit in size bytes. */
int simclr_index_cache_file_name(char *out, size_t size, const char *dir, const char *label, const char *identity);

/* Writes a cache: open (makes dir and its parents when missing), then the records, then commit
 * (the header, then an atomic rename: readers see the old file or the whole new one). */
typedef struct simclr_index_cache_writer {
    simclr_atomic_file file;
    uint32_t crc;           /* of the body so far */
    uint64_t body_bytes, dirs, files;
    int failed;             /* a write failed: commit reports it */
} simclr_index_cache_writer;

int simclr_index_cache_writer_open(simclr_index_cache_writer *writer, const char *path, const char *identity,
                                   simclr_error *err);
/* names: count names, sorted bytewise (no NULs, no '/'). */
void simclr_index_cache_writer_dir(simclr_index_cache_writer *writer, int root, const char *path,
                                   const simclr_index_facts *facts, char *const *names, size_t count);
void simclr_index_cache_writer_file(simclr_index_cache_writer *writer, int root, const char *path,
                                    const simclr_index_facts *facts, int height, int width);
int simclr_index_cache_writer_commit(simclr_index_cache_writer *writer, int64_t written_ns, simclr_error *err);
void simclr_index_cache_writer_abort(simclr_index_cache_writer *writer);

#endif
