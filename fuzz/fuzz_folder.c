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
    return fuzz_open_dataset(&options, root, side, side, 3);
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_folder_one(data, size);
    return 0;
}
#endif
