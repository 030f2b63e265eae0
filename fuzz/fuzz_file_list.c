/*
 * Fuzzes the --file-list reader (src/data/file_list.c, its CSV records in src/data/csv_record.c):
 * simclr_file_list_parse on the bytes, then simclr_dataset_open of a folder dataset from them as
 * a list file beside a few images, reading every image and label.
 *
 * Input:
 *   u8 flags     bit 0: strict; bit 1: labeled_dir (a folder with train/x/ and test/x/ images);
 *                bit 2: --image-size 4 (else from the images)
 *   then the list file's bytes (text or CSV)
 *
 * The list sits in the scratch folder next to a.png (4x4), b.png (6x4), sub/c.png (4x4) and
 * bad.png (cut short). A list naming an absolute path, or one with a ".." part, is parsed but not
 * opened: the harness reads the scratch folder only (a FIFO elsewhere would block it).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/file_list.h"
#include "fuzz_common.h"
#include "fuzz_dataset.h"
#include "simclr/dataset.h"

/* Two RGB PNGs, 4x4 and 6x4 (stored zlib blocks). */
static const uint8_t fuzz_file_list_png4[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09, 0x29, 0x00, 0x00, 0x00,
    0x3f, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x01, 0x34, 0x00, 0xcb, 0xff, 0x00, 0x01, 0x5b, 0xb5, 0x29, 0x83,
    0xdd, 0x51, 0xab, 0x05, 0x79, 0xd3, 0x2d, 0x00, 0x47, 0xa1, 0xfb, 0x6f, 0xc9, 0x23, 0x97, 0xf1, 0x4b, 0xbf,
    0x19, 0x73, 0x00, 0x8d, 0xe7, 0x41, 0xb5, 0x0f, 0x69, 0xdd, 0x37, 0x91, 0x05, 0x5f, 0xb9, 0x00, 0xd3, 0x2d,
    0x87, 0xfb, 0x55, 0xaf, 0x23, 0x7d, 0xd7, 0x4b, 0xa5, 0xff, 0x51, 0xaa, 0x18, 0x01, 0x02, 0xf8, 0xd8, 0x99,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static const uint8_t fuzz_file_list_png6[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x22, 0x66, 0xd9, 0x14, 0x00, 0x00, 0x00,
    0x57, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x01, 0x4c, 0x00, 0xb3, 0xff, 0x00, 0x02, 0x5c, 0xb6, 0x2a, 0x84,
    0xde, 0x52, 0xac, 0x06, 0x7a, 0xd4, 0x2e, 0xa2, 0xfc, 0x56, 0xca, 0x24, 0x7e, 0x00, 0x48, 0xa2, 0xfc, 0x70,
    0xca, 0x24, 0x98, 0xf2, 0x4c, 0xc0, 0x1a, 0x74, 0xe8, 0x42, 0x9c, 0x10, 0x6a, 0xc4, 0x00, 0x8e, 0xe8, 0x42,
    0xb6, 0x10, 0x6a, 0xde, 0x38, 0x92, 0x06, 0x60, 0xba, 0x2e, 0x88, 0xe2, 0x56, 0xb0, 0x0a, 0x00, 0xd4, 0x2e,
    0x88, 0xfc, 0x56, 0xb0, 0x24, 0x7e, 0xd8, 0x4c, 0xa6, 0x00, 0x74, 0xce, 0x28, 0x9c, 0xf6, 0x50, 0x3e, 0xe3,
    0x23, 0x89, 0x18, 0x25, 0x1f, 0xac, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* What file_list.h promises of a parsed list. */
static void fuzz_file_list_check(const simclr_file_list *list, const char *base)
{
    FUZZ_CHECK(list->count > 0);
    size_t labeled = 0;
    for (size_t i = 0; i < list->count; i++) {
        const simclr_file_list_entry *entry = &list->entries[i];
        FUZZ_CHECK(entry->path != NULL && entry->path[0] != '\0');
        FUZZ_CHECK(entry->path[0] == '/' || strncmp(entry->path, base, strlen(base)) == 0);
        FUZZ_CHECK((int)entry->split >= 0 && entry->split < SIMCLR_DATASET_SPLIT_COUNT);
        FUZZ_CHECK(entry->line >= 1 && (i == 0 || entry->line > list->entries[i - 1].line));
        FUZZ_CHECK(entry->duplicate_of < entry->line);
        if (entry->split == SIMCLR_DATASET_SPLIT_UNLABELED) {
            FUZZ_CHECK(entry->label == NULL);
            FUZZ_CHECK(entry->class_index == SIMCLR_DATASET_LABEL_NONE);
            continue;
        }
        labeled++;
        FUZZ_CHECK(entry->label != NULL && entry->label[0] != '\0');
        FUZZ_CHECK(strlen(entry->label) < SIMCLR_DATASET_CLASS_NAME_MAX);
        if (!entry->duplicate_of) {
            FUZZ_CHECK(entry->class_index >= 0 && (size_t)entry->class_index < list->class_count);
            FUZZ_CHECK(strcmp(list->classes[entry->class_index], entry->label) == 0);
        }
    }
    FUZZ_CHECK(labeled == list->labeled_rows);
    FUZZ_CHECK(list->class_count <= SIMCLR_DATASET_MAX_CLASSES);
    FUZZ_CHECK(labeled == 0 || list->class_count >= 1);
    for (size_t c = 1; c < list->class_count; c++) FUZZ_CHECK(strcmp(list->classes[c - 1], list->classes[c]) < 0);
}

/* 1 when every path the list names stays in the scratch folder root (no absolute path elsewhere,
 * no ".." part). */
static int fuzz_file_list_stays_inside(const simclr_file_list *list, const char *root)
{
    size_t length = strlen(root);
    for (size_t i = 0; i < list->count; i++) {
        const char *path = list->entries[i].path;
        size_t path_length = strlen(path);
        if (strncmp(path, root, length) != 0 || path[length] != '/' || strstr(path, "/../") ||
            (path_length >= 3 && strcmp(path + path_length - 3, "/..") == 0))
            return 0;
    }
    return 1;
}

int fuzz_file_list_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    int flags = fuzz_u8(&in);
    size_t length = 0;
    const char *text = (const char *)fuzz_rest(&in, &length);

    char root[512], base[600], list_path[600], sub[600], labeled[600], dir[700];
    fuzz_fresh_dir("file_list", root, sizeof root);
    snprintf(base, sizeof base, "%s/", root);

    /* The parser alone, on memory. */
    simclr_file_list list;
    simclr_error err = {0};
    int parsed = simclr_file_list_parse(&list, text, length, "list.csv", base, &err);
    if (parsed == 0) {
        fuzz_file_list_check(&list, base);
    } else {
        FUZZ_CHECK(parsed == -1 && err.message[0] != '\0' && list.count == 0 && list.entries == NULL);
        simclr_error_clear(&err);
        return -1;
    }
    int inside = fuzz_file_list_stays_inside(&list, root);
    simclr_file_list_free(&list);
    if (!inside) return 0;

    /* The dataset: the list among the images. */
    snprintf(sub, sizeof sub, "%s/sub", root);
    snprintf(labeled, sizeof labeled, "%s/labeled", root);
    mkdir(sub, 0700);
    fuzz_write_file(root, "a.png", fuzz_file_list_png4, sizeof fuzz_file_list_png4, sizeof fuzz_file_list_png4);
    fuzz_write_file(root, "b.png", fuzz_file_list_png6, sizeof fuzz_file_list_png6, sizeof fuzz_file_list_png6);
    fuzz_write_file(sub, "c.png", fuzz_file_list_png4, sizeof fuzz_file_list_png4, sizeof fuzz_file_list_png4);
    fuzz_write_file(root, "bad.png", fuzz_file_list_png4, 40, 40);
    if (flags & 2) {
        static const char *const folders[] = {"", "/train", "/train/x", "/test", "/test/x"};
        for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
            snprintf(dir, sizeof dir, "%s%s", labeled, folders[i]);
            mkdir(dir, 0700);
        }
        snprintf(dir, sizeof dir, "%s/train/x", labeled);
        fuzz_write_file(dir, "e.png", fuzz_file_list_png4, sizeof fuzz_file_list_png4, sizeof fuzz_file_list_png4);
        snprintf(dir, sizeof dir, "%s/test/x", labeled);
        fuzz_write_file(dir, "f.png", fuzz_file_list_png6, sizeof fuzz_file_list_png6, sizeof fuzz_file_list_png6);
    }
    if (fuzz_write_file(root, "list.csv", text, length, length) != 0) return 0;
    snprintf(list_path, sizeof list_path, "%s/list.csv", root);

    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.file_list = list_path;
    options.strict = flags & 1;
    options.labeled_dir = flags & 2 ? labeled : NULL;
    options.image_size = flags & 4 ? 4 : 0;
    simclr_dataset ds;
    int status = simclr_dataset_open(&ds, &options, &err);
    if (status == 0) {
        fuzz_check_dataset(&ds, 4, 4, 3); /* 4: --image-size 4, or the median shorter side of 4x4 and 6x4 */
        FUZZ_CHECK(strcmp(ds.path, list_path) == 0);
        simclr_dataset_close(&ds);
    } else {
        FUZZ_CHECK(status == -1);
        FUZZ_CHECK(err.kind != SIMCLR_ERROR_KIND_NONE && err.message[0] != '\0');
        simclr_error_clear(&err);
    }
    return status;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_list_one(data, size);
    return 0;
}
#endif
