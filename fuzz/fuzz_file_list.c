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
    fuzz_write_file(root, "a.png", fuzz_png_4x4, sizeof fuzz_png_4x4, sizeof fuzz_png_4x4);
    fuzz_write_file(root, "b.png", fuzz_png_6x4, sizeof fuzz_png_6x4, sizeof fuzz_png_6x4);
    fuzz_write_file(sub, "c.png", fuzz_png_4x4, sizeof fuzz_png_4x4, sizeof fuzz_png_4x4);
    fuzz_write_file(root, "bad.png", fuzz_png_4x4, 40, 40);
    if (flags & 2) {
        static const char *const folders[] = {"", "/train", "/train/x", "/test", "/test/x"};
        for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
            snprintf(dir, sizeof dir, "%s%s", labeled, folders[i]);
            mkdir(dir, 0700);
        }
        snprintf(dir, sizeof dir, "%s/train/x", labeled);
        fuzz_write_file(dir, "e.png", fuzz_png_4x4, sizeof fuzz_png_4x4, sizeof fuzz_png_4x4);
        snprintf(dir, sizeof dir, "%s/test/x", labeled);
        fuzz_write_file(dir, "f.png", fuzz_png_6x4, sizeof fuzz_png_6x4, sizeof fuzz_png_6x4);
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
