/*
 * Fuzzes the folder index cache (src/data/index_cache.c): simclr_index_cache_parse on the bytes,
 * then simclr_dataset_open of a small folder dataset with those bytes in its cache's place, which
 * must open exactly as without a cache (a cache that is damaged, foreign or of another version is
 * rebuilt, never trusted; one whose records name no file as it is on disk changes nothing), and
 * leave a cache the next open takes every file from.
 *
 * Input:
 *   u8 flags     bit 0: the harness writes the 48-byte header (magic, version, sizes and the
 *                checksum) before the bytes, so that the records are parsed; then u16 directories
 *                and u16 files, the counts it records. bit 1 (with bit 0): the body starts with
 *                this dataset's identity, and the bytes are the records after it.
 *   then the bytes: the whole cache file, or (bit 0) its body, or (bit 1) its records
 *
 * The dataset, in the scratch folder: train/x/a.png, test/x/b.png (4x4), unlabeled/u/c.png (6x4)
 * and unlabeled/bad.png (cut short), every time set in the past so that the open records them.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "data/folder_index.h"
#include "data/index_cache.h"
#include "fuzz_common.h"
#include "fuzz_dataset.h"
#include "simclr/dataset.h"

/* What index_cache.h promises of a parsed cache: every record found again by its key, names
 * sorted plain names, sizes in range. */
static void fuzz_index_cache_check(const simclr_index_cache *cache)
{
    FUZZ_CHECK(cache->identity != NULL);
    for (size_t i = 0; i < cache->dir_count; i++) {
        const simclr_index_cache_dir *dir = &cache->dirs[i];
        FUZZ_CHECK(dir->root < SIMCLR_INDEX_CACHE_ROOTS);
        FUZZ_CHECK(simclr_index_cache_find_dir(cache, dir->root, dir->path) == dir);
        const char *name = dir->names, *previous = NULL;
        for (uint32_t n = 0; n < dir->name_count; n++) {
            FUZZ_CHECK(name[0] != '\0' && name[0] != '.' && !strchr(name, '/'));
            FUZZ_CHECK(!previous || strcmp(previous, name) < 0);
            previous = name;
            name += strlen(name) + 1;
        }
        FUZZ_CHECK((const uint8_t *)name <= cache->bytes + cache->size);
    }
    for (size_t i = 0; i < cache->file_count; i++) {
        const simclr_index_cache_file *file = &cache->files[i];
        FUZZ_CHECK(file->root < SIMCLR_INDEX_CACHE_ROOTS && file->path[0] != '\0');
        FUZZ_CHECK(simclr_index_cache_find_file(cache, file->root, file->path) == file);
        FUZZ_CHECK((file->height == 0 && file->width == 0) ||
                   (file->height >= 1 && file->height <= 16384 && file->width >= 1 && file->width <= 16384));
    }
}

static void fuzz_index_cache_put32(uint8_t *p, uint64_t value)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static void fuzz_index_cache_put64(uint8_t *p, uint64_t value)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(value >> (8 * i));
}

/* The cache file the input describes, for a dataset of identity (malloc'd; *size its bytes). */
static uint8_t *fuzz_index_cache_compose(int flags, unsigned dirs, unsigned files, const uint8_t *bytes,
                                         size_t length, const char *identity, size_t *size)
{
    size_t identity_length = flags & 2 ? strlen(identity) : 0;
    size_t prefix = flags & 1 ? SIMCLR_INDEX_CACHE_HEADER_BYTES + (flags & 2 ? 4 + identity_length + 1 : 0) : 0;
    *size = prefix + length;
    uint8_t *file = malloc(*size ? *size : 1);
    FUZZ_CHECK(file != NULL);
    if (length) memcpy(file + prefix, bytes, length);
    if (!(flags & 1)) return file;
    if (flags & 2) {
        fuzz_index_cache_put32(file + SIMCLR_INDEX_CACHE_HEADER_BYTES, identity_length);
        memcpy(file + SIMCLR_INDEX_CACHE_HEADER_BYTES + 4, identity, identity_length + 1);
    }
    memcpy(file, SIMCLR_INDEX_CACHE_MAGIC, 8);
    fuzz_index_cache_put32(file + 8, SIMCLR_INDEX_CACHE_VERSION);
    fuzz_index_cache_put64(file + 16, *size - SIMCLR_INDEX_CACHE_HEADER_BYTES);
    fuzz_index_cache_put64(file + 24, dirs);
    fuzz_index_cache_put64(file + 32, files);
    fuzz_index_cache_put64(file + 40, 0);
    fuzz_index_cache_put32(file + 12, (uint32_t)crc32_z(0L, file + 16, *size - 16));
    return file;
}

/* Opens the scratch dataset with the cache in cache_dir (NULL: none); must succeed. */
static void fuzz_index_cache_open(simclr_dataset *ds, const char *root, const char *cache_dir)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = root;
    options.defer_pixels = 1;
    options.index_cache_dir = cache_dir;
    simclr_error err = {0};
    int status = simclr_dataset_open(ds, &options, &err);
    if (status != 0) fprintf(stderr, "fuzz_index_cache: %s\n", simclr_error_message(&err));
    FUZZ_CHECK(status == 0);
}

/* Sets the modification time of path to a fixed time in the past. */
static void fuzz_index_cache_age(const char *root, const char *relative)
{
    char path[1100];
    if (snprintf(path, sizeof path, "%s%s%s", root, relative[0] ? "/" : "", relative) >= (int)sizeof path) return;
    struct timespec times[2] = {{.tv_sec = 1600000000, .tv_nsec = 5000}, {.tv_sec = 1600000000, .tv_nsec = 5000}};
    utimensat(AT_FDCWD, path, times, 0);
}

int fuzz_index_cache_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    int flags = fuzz_u8(&in) & 3;
    if (!(flags & 1)) flags = 0;
    unsigned dirs = 0, files = 0;
    if (flags & 1) {
        dirs = fuzz_u16(&in);
        files = fuzz_u16(&in);
    }
    size_t length = 0;
    const uint8_t *bytes = fuzz_rest(&in, &length);

    /* The dataset, and its cache as an open writes it (for the identity and the file's name). */
    char root[512], cache_dir[600], dir[700];
    fuzz_fresh_dir("index_cache", root, sizeof root);
    static const char *const folders[] = {"data", "data/train", "data/train/x", "data/test", "data/test/x",
                                          "data/unlabeled", "data/unlabeled/u", "cache"};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, folders[i]);
        mkdir(dir, 0700);
    }
    snprintf(dir, sizeof dir, "%s/data/train/x", root);
    fuzz_write_file(dir, "a.png", fuzz_png_4x4, sizeof fuzz_png_4x4, sizeof fuzz_png_4x4);
    snprintf(dir, sizeof dir, "%s/data/test/x", root);
    fuzz_write_file(dir, "b.png", fuzz_png_4x4, sizeof fuzz_png_4x4, sizeof fuzz_png_4x4);
    snprintf(dir, sizeof dir, "%s/data/unlabeled/u", root);
    fuzz_write_file(dir, "c.png", fuzz_png_6x4, sizeof fuzz_png_6x4, sizeof fuzz_png_6x4);
    snprintf(dir, sizeof dir, "%s/data/unlabeled", root);
    fuzz_write_file(dir, "bad.png", fuzz_png_4x4, 40, 40);
    static const char *const aged[] = {"train/x/a.png", "test/x/b.png", "unlabeled/u/c.png", "unlabeled/bad.png",
                                       "train/x", "test/x", "unlabeled/u", "unlabeled", "train", "test", ""};
    snprintf(dir, sizeof dir, "%s/data", root);
    for (size_t i = 0; i < sizeof aged / sizeof aged[0]; i++) fuzz_index_cache_age(dir, aged[i]);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", root);

    simclr_dataset plain, ds;
    fuzz_index_cache_open(&plain, dir, NULL);
    fuzz_index_cache_open(&ds, dir, cache_dir);
    FUZZ_CHECK(ds.index_cache_written == 1 && ds.index_cache_path != NULL);
    char cache_path[1100];
    snprintf(cache_path, sizeof cache_path, "%s", ds.index_cache_path);
    simclr_dataset_close(&ds);
    simclr_index_cache written;
    char why[600] = "";
    size_t written_size = 0;
    uint8_t *written_bytes = fuzz_read_file(cache_path, &written_size);
    FUZZ_CHECK(written_bytes != NULL);
    FUZZ_CHECK(simclr_index_cache_parse(&written, written_bytes, written_size, why, sizeof why) == 0);
    fuzz_index_cache_check(&written);
    FUZZ_CHECK(written.file_count == 4 && written.dir_count == 6); /* train, test, unlabeled and x, x, u */

    /* The parser alone, on the input. */
    size_t cache_size = 0;
    uint8_t *composed = fuzz_index_cache_compose(flags, dirs, files, bytes, length, written.identity, &cache_size);
    uint8_t *copy = malloc(cache_size ? cache_size : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, composed, cache_size);
    simclr_index_cache parsed;
    int status = simclr_index_cache_parse(&parsed, copy, cache_size, why, sizeof why);
    if (status == 0) fuzz_index_cache_check(&parsed);
    else FUZZ_CHECK(status == -1 && why[0] != '\0' && parsed.bytes == NULL);
    simclr_index_cache_free(&parsed);
    simclr_index_cache_free(&written);

    /* The open with it in the cache's place: the same dataset, and a cache the next open uses. */
    if (fuzz_write_file(cache_dir, strrchr(cache_path, '/') + 1, composed, cache_size, cache_size) == 0) {
        fuzz_index_cache_open(&ds, dir, cache_dir);
        fuzz_check_same_folder(&plain, &ds);
        simclr_dataset_close(&ds);
        fuzz_index_cache_open(&ds, dir, cache_dir);
        fuzz_check_same_folder(&plain, &ds);
        FUZZ_CHECK(ds.index_cached_files == ds.index_files && !ds.index_cache_written && !ds.index_notes);
        simclr_dataset_close(&ds);
    }
    free(composed);
    simclr_dataset_close(&plain);
    return status;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_index_cache_one(data, size);
    return 0;
}
#endif
