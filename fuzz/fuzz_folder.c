/*
 * Fuzzes the image-folder reader (src/data/folder.c) through simclr_dataset_open: listing train/<class>/,
 * test/<class>/ and unlabeled/ (any depth), decoding every image and resizing it.
 *
 * Input:
 *   u8 size      --image-size: size % 18, where 0 is the default (96) and 17 is 5000 (refused)
 *   then up to 32 entries, until the input ends:
 *     u8 kind    % 2: 0 = a directory, 1 = a file
 *     u8 n       the path's length (% 64), then n bytes of path relative to the dataset root
 *                ('/' separates folders, created as needed; empty, "." and ".." parts are
 *                dropped, NUL bytes become 'x')
 *     file only: u16 m, then m bytes of content
 *
 * Then (issue 25) the index cache: with every file and folder's time set in the past (so that an
 * open records them), two opens with an index cache must give what an open without one gives,
 * the second taking every file from the cache and writing nothing; or fail with the same message.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "fuzz_dataset.h"
#include "simclr/dataset.h"

enum { FUZZ_FOLDER_MAX_ENTRIES = 32 };

/* Builds root/<path parts>, creating the folders on the way (and the last part too when
 * last_is_dir); writes the full path to out. Returns -1 when the path is unusable. */
static int fuzz_folder_path(const char *root, const uint8_t *raw, size_t length, int last_is_dir,
                            char *out, size_t out_size)
{
    char parts[64];
    for (size_t i = 0; i < length; i++) parts[i] = raw[i] ? (char)raw[i] : 'x';
    parts[length] = '\0';
    size_t used = (size_t)snprintf(out, out_size, "%s", root);
    int any = 0;
    char *save = NULL;
    for (char *part = strtok_r(parts, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0) continue;
        if (any && mkdir(out, 0700) != 0 && errno != EEXIST) return -1;
        int wrote = snprintf(out + used, out_size - used, "/%s", part);
        if (wrote < 0 || (size_t)wrote >= out_size - used) return -1;
        used += (size_t)wrote;
        any = 1;
    }
    if (!any) return -1;
    if (last_is_dir && mkdir(out, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* Sets the times of everything under path (and path) to a fixed time in the past. */
static void fuzz_folder_age(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *entry;
        while (dir && (entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            char child[1100];
            if (snprintf(child, sizeof child, "%s/%s", path, entry->d_name) < (int)sizeof child) fuzz_folder_age(child);
        }
        if (dir) closedir(dir);
    }
    struct timespec times[2] = {{.tv_sec = 1600000000, .tv_nsec = 7000}, {.tv_sec = 1600000000, .tv_nsec = 7000}};
    utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
}

int fuzz_folder_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    int selector = fuzz_u8(&in) % 18;
    char root[512];
    fuzz_fresh_dir("folder", root, sizeof root);
    for (int e = 0; e < FUZZ_FOLDER_MAX_ENTRIES && in.position < in.size; e++) {
        int is_file = fuzz_u8(&in) % 2;
        size_t length = 0;
        const uint8_t *raw = fuzz_take(&in, fuzz_u8(&in) % 64, &length);
        size_t content_length = 0;
        const uint8_t *content = is_file ? fuzz_take(&in, fuzz_u16(&in), &content_length) : NULL;
        char path[1024];
        if (fuzz_folder_path(root, raw, length, !is_file, path, sizeof path) != 0) continue;
        if (is_file) {
            char *slash = strrchr(path, '/');
            *slash = '\0';
            fuzz_write_file(path, slash + 1, content, content_length, content_length);
        }
    }

    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.image_size = selector == 17 ? 5000 : selector;
    int side = selector; /* 0: the images' own size or their median shorter side, any */
    int status = fuzz_open_dataset(&options, root, side, side, 3);

    /* The index cache: the same dataset, or the same refusal, from it. */
    char cache[512];
    fuzz_fresh_dir("folder_cache", cache, sizeof cache);
    fuzz_folder_age(root);
    options.defer_pixels = 1;
    simclr_dataset plain, ds;
    simclr_error plain_err = {0}, err = {0};
    int plain_status = simclr_dataset_open(&plain, &options, &plain_err);
    options.index_cache_dir = cache;
    for (int round = 0; round < 2; round++) {
        int cached_status = simclr_dataset_open(&ds, &options, &err);
        FUZZ_CHECK(cached_status == plain_status);
        if (cached_status != 0) {
            FUZZ_CHECK(strcmp(simclr_error_message(&err), simclr_error_message(&plain_err)) == 0);
            simclr_error_clear(&err);
            continue;
        }
        fuzz_check_same_folder(&plain, &ds);
        if (round == 1) FUZZ_CHECK(ds.index_cached_files == ds.index_files && !ds.index_cache_written);
        simclr_dataset_close(&ds);
    }
    if (plain_status == 0) simclr_dataset_close(&plain);
    simclr_error_clear(&plain_err);
    return status;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_folder_one(data, size);
    return 0;
}
#endif
