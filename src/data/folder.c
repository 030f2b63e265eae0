/* Folders of PNG/JPEG images: train/<class>/, test/<class>/, optional unlabeled/ (any depth), or
 * the images a list file names (--file-list, file_list.h). Opening indexes: it lists the files (a
 * parallel walk, folder_walk.h) and reads their sizes from their headers (folder_index.h), with
 * the index cache when given one; the pixels are decoded as RGB and brought to image_size x
 * image_size (crop or squash) at open, or later with defer_pixels (simclr_dataset_load_pixels),
 * in parallel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data/data_internal.h"
#include "data/file_list.h"
#include "data/folder_index.h"
#include "data/folder_walk.h"
#include "simclr/image_io.h"

_Static_assert(SIMCLR_DATASET_DEFAULT_SIZE_CAP == 224, "the size rule's text names the cap");

enum { FOLDER_MAX_SIZE = 4096 };

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The length of the UTF-8 character at s (at most `left` bytes), or 0 when it is not one: an
 * overlong form, a surrogate, past U+10FFFF, cut short, or a control character (C0, DEL). */
static size_t utf8_character(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x20 || c == 0x7f) return 0;
    if (c < 0x80) return 1;
    size_t length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (length == 0 || length > left) return 0;
    for (size_t i = 1; i < length; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return length;
}

/* A class name from a folder name or a list's label: its UTF-8 characters as they are, every other
 * byte (not UTF-8, or a control character such as a line break) written as \xNN, cut at a
 * character to fit SIMCLR_DATASET_CLASS_NAME_MAX - 1 bytes: class names are written one per line
 * into checkpoints and into JSON and CSV files, which need UTF-8. Returns 1 when a byte was
 * written as \xNN. */
static int folder_class_name(char *out, const char *name)
{
    size_t used = 0, left = strlen(name);
    int escaped = 0;
    for (const unsigned char *s = (const unsigned char *)name; left > 0;) {
        size_t length = utf8_character(s, left);
        char piece[8];
        if (length == 0) {
            snprintf(piece, sizeof piece, "\\x%02x", s[0]);
            escaped = 1;
            length = 1;
        } else {
            memcpy(piece, s, length);
            piece[length] = '\0';
        }
        size_t piece_length = strlen(piece);
        if (used + piece_length > SIMCLR_DATASET_CLASS_NAME_MAX - 1) break;
        memcpy(out + used, piece, piece_length);
        used += piece_length;
        s += length;
        left -= length;
    }
    out[used] = '\0';
    return escaped;
}

/* ds->class_names from count sorted distinct folder names (or labels) found in `where`; two that
 * give the same class name (a long name cut, or bytes written as \xNN) are refused. */
static int folder_set_class_names(simclr_dataset *ds, char *const *names, size_t count, const char *where,
                                  simclr_error *err)
{
    if (simclr_data_alloc_class_names(ds, (int)count, err) != 0) return -1;
    size_t escaped = 0, first_escaped = 0;
    for (size_t c = 0; c < count; c++)
        if (folder_class_name(ds->class_names[c], names[c]) && escaped++ == 0) first_escaped = c;
    char **sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    for (size_t c = 0; c < count; c++) sorted[c] = ds->class_names[c];
    qsort(sorted, count, sizeof *sorted, compare_strings);
    int status = 0;
    for (size_t c = 1; c < count && status == 0; c++) {
        if (strcmp(sorted[c - 1], sorted[c]) != 0) continue;
        size_t a = 0, b = 0;
        while (ds->class_names[a] != sorted[c - 1] && ds->class_names[a] != sorted[c]) a++;
        for (b = a + 1; strcmp(ds->class_names[b], ds->class_names[a]) != 0; b++) continue;
        status = simclr_error_input(err, "folder: the classes '%s' and '%s' of %s would both be named '%s' (a class "
                                         "name keeps %d bytes of UTF-8, other bytes written as \\xNN); rename one",
                                    names[a], names[b], where, ds->class_names[a], SIMCLR_DATASET_CLASS_NAME_MAX - 1);
    }
    free(sorted);
    if (status == 0 && escaped > 0 &&
        simclr_folder_note(ds,
                           "%zu class name%s of %s %s not UTF-8 (the first: '%s'): named with each such byte written "
                           "as \\xNN, as checkpoints and JSON files need UTF-8",
                           escaped, escaped == 1 ? "" : "s", where, escaped == 1 ? "is" : "are",
                           ds->class_names[first_escaped]) != 0)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    return status;
}

/* Appends the image files of walked folder n with label: a class folder's, or a folder of
 * unlabeled images and its subfolders depth-first, each folder's names in bytewise order. */
static int folder_collect(const folder_walk *walk, int32_t n, int32_t label, path_list *out, simclr_error *err)
{
    const folder_walk_node *node = &walk->nodes[n];
    if (node->error) return simclr_error_input(err, "%s", node->error);
    for (size_t i = 0; i < node->count; i++) {
        const folder_walk_entry *entry = &node->entries[i];
        if (entry->kind == FOLDER_ENTRY_FILE && simclr_folder_has_image_extension(entry->name)) {
            if (simclr_path_list_add(out, node->path, entry->name, label, &entry->facts, err) != 0) return -1;
        } else if (entry->kind == FOLDER_ENTRY_DIR && node->mode == FOLDER_WALK_TREE && entry->child >= 0) {
            if (folder_collect(walk, entry->child, label, out, err) != 0) return -1;
        }
    }
    return 0;
}

/* Class names: the sorted subfolders of train/ (walked node train). */
static int folder_read_classes(simclr_dataset *ds, const folder_walk *walk, int32_t train, path_list *classes,
                               simclr_error *err)
{
    const folder_walk_node *node = &walk->nodes[train];
    if (node->error) return simclr_error_input(err, "%s", node->error);
    for (size_t i = 0; i < node->count; i++)
        if (node->entries[i].kind == FOLDER_ENTRY_DIR &&
            simclr_path_list_add(classes, NULL, node->entries[i].name, (int32_t)classes->count, NULL, err) != 0)
            return -1;
    if (classes->count == 0)
        return simclr_error_input(err, "folder: %s has no class subfolders; expected train/<class>/"
                                       "*.png|jpg|jpeg",
                                  node->path);
    if (classes->count > SIMCLR_DATASET_MAX_CLASSES)
        return simclr_error_input(err, "folder: %s has %zu class subfolders; at most %d are supported", node->path,
                                  classes->count, SIMCLR_DATASET_MAX_CLASSES);
    return folder_set_class_names(ds, classes->items, classes->count, node->path, err);
}

/* The images of split_dir/<class>/ (walked node split); every subfolder must be one of classes. */
static int folder_list_labeled(const folder_walk *walk, int32_t split, const path_list *classes, int is_train,
                               path_list *files, simclr_error *err)
{
    const folder_walk_node *node = &walk->nodes[split];
    if (node->error) return simclr_error_input(err, "%s", node->error);
    for (size_t i = 0; i < node->count; i++) {
        const folder_walk_entry *entry = &node->entries[i];
        if (entry->kind != FOLDER_ENTRY_DIR || entry->child < 0) continue;
        const char *path = walk->nodes[entry->child].path;
        const char *name = entry->name;
        char **found = bsearch(&name, classes->items, classes->count, sizeof(char *), compare_strings);
        if (!found)
            return simclr_error_input(err, "folder: %s is not a class of train/; the test split must use the train "
                                           "split's class folders",
                                      path);
        size_t before = files->count;
        if (folder_collect(walk, entry->child, (int32_t)(found - classes->items), files, err) != 0) return -1;
        if (is_train && files->count == before)
            return simclr_error_input(err, "folder: %s holds no .png/.jpg/.jpeg images", path);
    }
    return 0;
}

void simclr_folder_index_free(void *pending)
{
    folder_index *index = pending;
    if (!index) return;
    simclr_image_prefetch_free(index->prefetch); /* its threads read the lists below */
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        simclr_path_list_free(&index->files[s]);
        free(index->heights[s]);
        free(index->widths[s]);
        free(index->cache_state[s]);
    }
    free(index);
}

/* Adds one line, "path: reason", to ds->skipped_report and counts the file as skipped. */
static int folder_report_skipped(simclr_dataset *ds, const char *reason, simclr_error *err)
{
    size_t used = ds->skipped_report ? strlen(ds->skipped_report) : 0, length = strlen(reason);
    char *grown = realloc(ds->skipped_report, used + length + 2);
    if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    memcpy(grown + used, reason, length);
    grown[used + length] = '\n';
    grown[used + length + 1] = '\0';
    ds->skipped_report = grown;
    ds->skipped_files++;
    return 0;
}

/* Keeps the files of split id whose headers were read (folder_read_headers); a file that failed
 * is read again, serially, for the reason, then skipped and reported in ds->skipped_report, or
 * with strict refused: the first in listing order, whatever the threads. */
static int folder_keep_readable(simclr_dataset *ds, folder_index *index, simclr_dataset_split_id id, int strict,
                                simclr_error *err)
{
    path_list *files = &index->files[id];
    int *heights = index->heights[id], *widths = index->widths[id];
    size_t count = files->count, kept = 0;
    for (size_t i = 0; i < count; i++) {
        simclr_error local = {0};
        int height = 0, width = 0;
        if (heights[i] == 0 && simclr_image_read_header(files->items[i], &height, &width, NULL, &local) == 0) {
            heights[i] = height; /* whole now: it changed since it was read */
            widths[i] = width;
        }
        if (heights[i] > 0) {
            files->items[kept] = files->items[i];
            files->labels[kept] = files->labels[i];
            heights[kept] = heights[i];
            widths[kept] = widths[i];
            kept++;
            continue;
        }
        if (!strstr(simclr_error_message(&local), files->items[i]))
            simclr_error_set(&local, local.kind, "%s: %s", files->items[i], simclr_error_message(&local));
        int status = 0;
        if (strict)
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_INPUT, "folder: %s (--strict refuses a dataset with a "
                                      "bad file; without it the file is skipped)", simclr_error_message(&local));
        else
            status = folder_report_skipped(ds, simclr_error_message(&local), err);
        simclr_error_clear(&local);
        if (status != 0) {
            for (size_t j = i; j < count; j++) free(files->items[j]);
            files->count = kept;
            return -1;
        }
        free(files->items[i]);
    }
    files->count = kept;
    /* The facts served the cache: no longer in step with the files kept. */
    free(files->facts);
    files->facts = NULL;
    free(index->cache_state[id]);
    index->cache_state[id] = NULL;
    return 0;
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The square size images are brought to, and how it was chosen (see dataset.h). */
static int folder_choose_size(simclr_dataset *ds, const folder_index *index, int requested, simclr_error *err)
{
    if (requested > 0) {
        ds->height = ds->width = requested;
        snprintf(ds->image_size_rule, sizeof ds->image_size_rule, "--image-size %d", requested);
        return 0;
    }
    size_t total = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) total += index->files[s].count;
    int *shorter = simclr_checked_calloc(total ? total : 1, sizeof(int), "folder image sizes", err);
    if (!shorter) return -1;
    int shared = 1, first_height = 0, first_width = 0;
    size_t used = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        for (size_t i = 0; i < index->files[s].count; i++) {
            int height = index->heights[s][i], width = index->widths[s][i];
            if (used == 0) {
                first_height = height;
                first_width = width;
            } else if (height != first_height || width != first_width) {
                shared = 0;
            }
            shorter[used++] = height < width ? height : width;
        }
    int size;
    if (shared && first_height == first_width) {
        size = first_height;
        snprintf(ds->image_size_rule, sizeof ds->image_size_rule, "the images' own size");
    } else {
        qsort(shorter, used, sizeof *shorter, compare_ints);
        size = shorter[used / 2];
        int capped = size > SIMCLR_DATASET_DEFAULT_SIZE_CAP;
        if (capped) size = SIMCLR_DATASET_DEFAULT_SIZE_CAP;
        snprintf(ds->image_size_rule, sizeof ds->image_size_rule,
                 "the median shorter side of the images%s, as their sizes differ",
                 capped ? " capped at 224" : "");
    }
    free(shorter);
    if (size > FOLDER_MAX_SIZE) size = FOLDER_MAX_SIZE;
    ds->height = ds->width = size;
    return 0;
}

/* How many images are resized, from which sizes (smallest and largest area, distinct count). */
static void folder_count_resized(simclr_dataset *ds, const folder_index *index)
{
    long long smallest = -1, largest = -1;
    int seen_height[64], seen_width[64];
    size_t seen = 0, distinct = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        for (size_t i = 0; i < index->files[s].count; i++) {
            int height = index->heights[s][i], width = index->widths[s][i];
            if (height == ds->height && width == ds->width) continue;
            ds->resized_count++;
            long long area = (long long)height * width;
            if (smallest < 0 || area < smallest) {
                smallest = area;
                ds->resized_from_height = height;
                ds->resized_from_width = width;
            }
            if (area > largest) {
                largest = area;
                ds->resized_largest_height = height;
                ds->resized_largest_width = width;
            }
            size_t k = 0;
            while (k < seen && (seen_height[k] != height || seen_width[k] != width)) k++;
            if (k == seen) {
                distinct++;
                if (seen < 64) {
                    seen_height[seen] = height;
                    seen_width[seen] = width;
                    seen++;
                }
            }
        }
    ds->source_size_count = distinct; /* exact up to 64 distinct sizes, a lower bound beyond */
}

/* Labels and counts from the index: known before any pixel is decoded. */
static int folder_fill_splits(simclr_dataset *ds, const folder_index *index, simclr_error *err)
{
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        simclr_dataset_split *split = &ds->splits[s];
        const path_list *files = &index->files[s];
        split->count = files->count;
        if (s != SIMCLR_DATASET_SPLIT_UNLABELED && files->count > 0) {
            split->owned_labels = simclr_checked_calloc(files->count, sizeof(int32_t), "folder labels", err);
            if (!split->owned_labels) return -1;
            memcpy(split->owned_labels, files->labels, files->count * sizeof(int32_t));
        }
        split->labels = split->owned_labels;
        split->record_stride = simclr_dataset_image_bytes(ds);
        split->pixel_offset = 0;
        split->layout = SIMCLR_DATASET_PIXELS_HWC;
    }
    return 0;
}

size_t simclr_folder_pending_bytes(const simclr_dataset *ds)
{
    const folder_index *index = ds->pending;
    size_t images = 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) images += index->files[s].count;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    return images > SIZE_MAX / image_bytes ? SIZE_MAX : images * image_bytes;
}

/* Decodes split id's files to size x size x 3 (in parallel; the first failure in listing order
 * is the one reported). */
static int folder_decode(simclr_dataset *ds, simclr_dataset_split_id id, const path_list *files, simclr_error *err)
{
    simclr_dataset_split *split = &ds->splits[id];
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    if (files->count > SIZE_MAX / image_bytes)
        return simclr_error_input(err, "folder: %zu images do not fit in memory", files->count);
    split->owned_pixels = simclr_checked_calloc(files->count, image_bytes, "folder images", err);
    if (!split->owned_pixels) return -1;
    size_t count = files->count;
    const int height = ds->height, width = ds->width;
    const simclr_image_resize_mode resize = ds->resize;
    uint8_t *failed = simclr_checked_calloc(count, 1, "folder decode status", err);
    if (!failed) return -1;
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t i = 0; i < count; i++) {
        simclr_error local = {0};
        failed[i] = simclr_image_load_fitted(files->items[i], split->owned_pixels + i * image_bytes, height, width, 3,
                                             resize, &local) != 0;
        simclr_error_clear(&local);
    }
    size_t first_bad = 0;
    while (first_bad < count && !failed[first_bad]) first_bad++;
    free(failed);
    if (first_bad < count) {
        free(split->owned_pixels);
        split->owned_pixels = NULL;
        uint8_t *probe = malloc(image_bytes);
        if (!probe) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        if (simclr_image_load_fitted(files->items[first_bad], probe, height, width, 3, resize, err) == 0)
            simclr_error_input(err, "folder: %s: changed while it was read", files->items[first_bad]);
        free(probe);
        if (err && !strstr(simclr_error_message(err), files->items[first_bad]))
            simclr_error_set(err, err->kind, "folder: %s: %s", files->items[first_bad], simclr_error_message(err));
        return -1;
    }
    split->base = split->owned_pixels;
    return 0;
}

/* The decoder pool's decode: image `index` of `split`, as a direct read decodes it. */
static int folder_decode_one(void *context, simclr_dataset_split_id split, size_t index, uint8_t *out)
{
    const simclr_dataset *ds = context;
    const folder_index *folder = ds->pending;
    simclr_error local = {0};
    int status = simclr_image_load_fitted(folder->files[split].items[index], out, ds->height, ds->width, 3,
                                          ds->resize, &local);
    simclr_error_clear(&local);
    return status;
}

void simclr_folder_prefetch(const simclr_dataset *ds, const simclr_dataset_images *groups, int group_count)
{
    folder_index *folder = ds->pending;
    if (folder->decode_threads < 1) return;
    if (!folder->prefetch) {
        /* ds is the pool's context: the dataset outlives its index, which frees the pool. */
        folder->prefetch = simclr_image_prefetch_new(folder->decode_threads, simclr_dataset_image_bytes(ds),
                                                     folder_decode_one, (void *)ds);
        if (!folder->prefetch) {
            folder->decode_threads = 0; /* no threads to be had: every read decodes, as without a pool */
            return;
        }
    }
    simclr_image_prefetch_request(folder->prefetch, groups, group_count);
}

void simclr_folder_read_image(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index, uint8_t *out)
{
    folder_index *folder = ds->pending;
    if (simclr_image_prefetch_take(folder->prefetch, split, index, out)) return;
    simclr_error local = {0};
    if (simclr_image_load_fitted(folder->files[split].items[index], out, ds->height, ds->width, 3, ds->resize,
                                 &local) != 0) {
        memset(out, 0, simclr_dataset_image_bytes(ds));
        uint64_t expected = 0, failure = ((uint64_t)split << 48 | (uint64_t)index) + 1;
        __atomic_compare_exchange_n(&folder->first_failure, &expected, failure, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
    }
    simclr_error_clear(&local);
}

int simclr_folder_check_reads(const simclr_dataset *ds, simclr_error *err)
{
    const folder_index *folder = ds->pending;
    uint64_t failure = __atomic_load_n(&folder->first_failure, __ATOMIC_SEQ_CST);
    if (failure == 0) return 0;
    failure--;
    const char *path = folder->files[failure >> 48].items[failure & ((1ull << 48) - 1)];
    uint8_t *probe = malloc(simclr_dataset_image_bytes(ds));
    if (!probe) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    if (simclr_image_load_fitted(path, probe, ds->height, ds->width, 3, ds->resize, err) == 0)
        simclr_error_input(err, "%s changed while it was read", path);
    free(probe);
    if (err && !strstr(simclr_error_message(err), path))
        simclr_error_set(err, err->kind, "%s: %s", path, simclr_error_message(err));
    if (err)
        simclr_error_set(err, err->kind, "folder (streamed): %s; remove or repair the file, and continue with "
                         "--resume", simclr_error_message(err));
    return -1;
}

int simclr_folder_load_pixels(simclr_dataset *ds, simclr_error *err)
{
    folder_index *index = ds->pending;
    if (!index) return 0;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        if (index->files[s].count > 0 && folder_decode(ds, (simclr_dataset_split_id)s, &index->files[s], err) != 0) {
            for (int t = 0; t < SIMCLR_DATASET_SPLIT_COUNT; t++) {
                free(ds->splits[t].owned_pixels);
                ds->splits[t].owned_pixels = NULL;
                ds->splits[t].base = NULL;
            }
            return -1;
        }
    simclr_folder_index_free(index);
    ds->pending = NULL;
    return 0;
}

/* The labeled images of labeled_root (root: its index_cache.h root): train/<class>/ and
 * test/<class>/, walked together with unlabeled (a walk node, or -1) whose images go to the
 * unlabeled split (train_dir receives the train folder, for messages). */
static int folder_index_labeled(simclr_dataset *ds, const char *labeled_root, int root, folder_walk *walk,
                                int32_t unlabeled, folder_index *index, path_list *classes, char *train_dir,
                                size_t train_dir_size, simclr_error *err)
{
    char test_dir[sizeof ds->path + 16];
    if (simclr_data_join(train_dir, train_dir_size, labeled_root, "train", err) != 0 ||
        simclr_data_join(test_dir, sizeof test_dir, labeled_root, "test", err) != 0)
        return -1;
    if (!simclr_data_dir_exists(train_dir) || !simclr_data_dir_exists(test_dir))
        return simclr_error_input(err, "folder: %s needs train/<class>/ and test/<class>/ subfolders of "
                                       "images; %s is missing",
                                  labeled_root, simclr_data_dir_exists(train_dir) ? test_dir : train_dir);
    int train = simclr_folder_walk_add(walk, labeled_root, "train", root, FOLDER_WALK_CLASSES, err);
    int test = train < 0 ? -1 : simclr_folder_walk_add(walk, labeled_root, "test", root, FOLDER_WALK_CLASSES, err);
    if (test < 0 || simclr_folder_walk_run(walk, err) != 0) return -1;
    /* In the order of a serial walk: its first failure is the one reported. */
    if (folder_read_classes(ds, walk, train, classes, err) != 0 ||
        folder_list_labeled(walk, train, classes, 1, &index->files[SIMCLR_DATASET_SPLIT_TRAIN], err) != 0 ||
        folder_list_labeled(walk, test, classes, 0, &index->files[SIMCLR_DATASET_SPLIT_TEST], err) != 0)
        return -1;
    if (unlabeled >= 0 && folder_collect(walk, unlabeled, SIMCLR_DATASET_LABEL_NONE,
                                         &index->files[SIMCLR_DATASET_SPLIT_UNLABELED], err) != 0)
        return -1;
    return 0;
}

/* Issue 25: the images of data_dir (train/, test/, unlabeled/), or, with labeled_dir, data_dir's
 * images as the unlabeled split and labeled_dir's as the labeled ones, or, without train/ and
 * test/ and labeled_dir, data_dir's images as the unlabeled split alone (*unlabeled_only: no
 * classes, no labeled images). */
static int folder_index_dirs(simclr_dataset *ds, const simclr_dataset_options *options, folder_index *index,
                             folder_walk *walk, path_list *classes, char *train_dir, size_t train_dir_size,
                             int *unlabeled_only, simclr_error *err)
{
    char own_train[sizeof ds->path + 16], own_test[sizeof ds->path + 16], unlabeled_dir[sizeof ds->path + 16];
    if (simclr_data_join(own_train, sizeof own_train, ds->path, "train", err) != 0 ||
        simclr_data_join(own_test, sizeof own_test, ds->path, "test", err) != 0)
        return -1;
    int has_own_splits = simclr_data_dir_exists(own_train) || simclr_data_dir_exists(own_test);
    const char *labeled_root = ds->path;
    if (options->labeled_dir) {
        if (has_own_splits)
            return simclr_error_input(err, "--labeled-dir %s: %s has train/ and test/ folders of its own; "
                                           "--labeled-dir is for a folder of unlabeled images only",
                                      options->labeled_dir, ds->path);
        if (!simclr_data_dir_exists(options->labeled_dir))
            return simclr_error_input(err, "--labeled-dir %s: not a directory", options->labeled_dir);
        labeled_root = options->labeled_dir;
    } else if (!has_own_splits) {
        int all = simclr_folder_walk_add(walk, ds->path, "", 0, FOLDER_WALK_TREE, err);
        if (all < 0 || simclr_folder_walk_run(walk, err) != 0) return -1;
        *unlabeled_only = 1;
        return folder_collect(walk, all, SIMCLR_DATASET_LABEL_NONE, &index->files[SIMCLR_DATASET_SPLIT_UNLABELED],
                              err);
    }
    if (options->labeled_dir) snprintf(unlabeled_dir, sizeof unlabeled_dir, "%s", ds->path);
    else if (simclr_data_join(unlabeled_dir, sizeof unlabeled_dir, ds->path, "unlabeled", err) != 0)
        return -1;
    int unlabeled = -1;
    if (simclr_data_dir_exists(unlabeled_dir) &&
        (unlabeled = simclr_folder_walk_add(walk, ds->path, options->labeled_dir ? "" : "unlabeled", 0,
                                            FOLDER_WALK_TREE, err)) < 0)
        return -1;
    return folder_index_labeled(ds, labeled_root, options->labeled_dir ? 1 : 0, walk, unlabeled, index, classes,
                                train_dir, train_dir_size, err);
}

/* Issue 25: the images a list file names (file_list.h), in list order. A path listed again is
 * left out, a line "path: listed again ..." appended to *repeated (owned by the caller), or with
 * strict refused. A list of unlabeled images only takes its labeled ones from labeled_dir
 * (train_dir then names its train folder). */
static int folder_index_file_list(simclr_dataset *ds, const simclr_dataset_options *options, folder_index *index,
                                  folder_walk *walk, path_list *classes, char *train_dir, size_t train_dir_size,
                                  char **repeated, int *unlabeled_only, simclr_error *err)
{
    simclr_file_list list;
    if (simclr_file_list_read(&list, options->file_list, err) != 0) return -1;
    int status = -1;
    if (list.labeled_rows > 0 && options->labeled_dir) {
        simclr_error_input(err, "--labeled-dir %s: %s has labeled rows of its own; --labeled-dir is for a list of "
                                "unlabeled images only",
                           options->labeled_dir, options->file_list);
        goto done;
    }
    /* A list of unlabeled images only, without labeled_dir: the unlabeled split alone. */
    *unlabeled_only = list.labeled_rows == 0 && !options->labeled_dir;
    if (*unlabeled_only) {
    } else if (options->labeled_dir) {
        if (!simclr_data_dir_exists(options->labeled_dir)) {
            simclr_error_input(err, "--labeled-dir %s: not a directory", options->labeled_dir);
            goto done;
        }
        if (folder_index_labeled(ds, options->labeled_dir, 1, walk, -1, index, classes, train_dir, train_dir_size,
                                 err) != 0)
            goto done;
    } else if (folder_set_class_names(ds, list.classes, list.class_count, options->file_list, err) != 0) {
        goto done;
    }
    size_t used = 0;
    for (size_t i = 0; i < list.count; i++) {
        const simclr_file_list_entry *entry = &list.entries[i];
        if (!entry->duplicate_of) {
            if (simclr_path_list_add(&index->files[entry->split], NULL, entry->path, entry->class_index, NULL,
                                     err) != 0)
                goto done;
            continue;
        }
        if (options->strict) {
            simclr_error_input(err, "folder: %s: listed again on line %zu of %s (first on line %zu; --strict "
                                    "refuses a list that names a file twice; without it the later row is skipped)",
                               entry->path, entry->line, options->file_list, entry->duplicate_of);
            goto done;
        }
        int length = snprintf(NULL, 0, "%s: listed again on line %zu of %s (first on line %zu)\n", entry->path,
                              entry->line, options->file_list, entry->duplicate_of);
        char *grown = length > 0 ? realloc(*repeated, used + (size_t)length + 1) : NULL;
        if (!grown) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            goto done;
        }
        *repeated = grown;
        snprintf(grown + used, (size_t)length + 1, "%s: listed again on line %zu of %s (first on line %zu)\n",
                 entry->path, entry->line, options->file_list, entry->duplicate_of);
        used += (size_t)length;
    }
    status = 0;
done:
    simclr_file_list_free(&list);
    return status;
}

int simclr_folder_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err)
{
    if (options->image_size < 0 || options->image_size > FOLDER_MAX_SIZE)
        return simclr_error_input(err, "--image-size %d: expected 1..%d (or 0: from the images)", options->image_size,
                                  FOLDER_MAX_SIZE);
    struct timespec started, indexed;
    clock_gettime(CLOCK_MONOTONIC, &started);
    ds->channels = 3;
    ds->resize = options->resize;

    folder_index *index = simclr_checked_calloc(1, sizeof *index, "folder index", err);
    if (!index) return -1;
    ds->pending = index; /* freed by simclr_dataset_close, also on failure */
    path_list classes = {0};
    folder_walk walk = {0};
    folder_cache cache;
    char train_dir[sizeof ds->path + 16] = "";
    char *repeated = NULL; /* a list's rows naming a file again: reported after the bad files */
    int unlabeled_only = 0; /* issue 25: unlabeled images alone, no classes */
    int status = -1;
    if (simclr_folder_cache_open(&cache, ds, options, err) != 0) goto done;
    walk.cache = cache.loaded ? &cache.old : NULL;
    if (options->file_list
            ? folder_index_file_list(ds, options, index, &walk, &classes, train_dir, sizeof train_dir, &repeated,
                                     &unlabeled_only, err)
            : folder_index_dirs(ds, options, index, &walk, &classes, train_dir, sizeof train_dir, &unlabeled_only,
                                err))
        goto done;
    if (simclr_folder_read_headers(ds, index, &cache, err) != 0) goto done;
    simclr_folder_cache_write(ds, index, &walk, &cache);
    clock_gettime(CLOCK_MONOTONIC, &indexed);
    ds->index_seconds = (double)(indexed.tv_sec - started.tv_sec) + 1e-9 * (double)(indexed.tv_nsec - started.tv_nsec);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++)
        if (folder_keep_readable(ds, index, (simclr_dataset_split_id)s, options->strict, err) != 0) goto done;
    /* What the list gave: all three splits, or the unlabeled one beside --labeled-dir. */
    size_t listed = index->files[SIMCLR_DATASET_SPLIT_UNLABELED].count;
    if (options->file_list && !options->labeled_dir)
        listed += index->files[SIMCLR_DATASET_SPLIT_TRAIN].count + index->files[SIMCLR_DATASET_SPLIT_TEST].count;
    const char *subject = NULL, *verb = "names", *noun = "image";
    if (unlabeled_only) { /* issue 25: no labeled images to expect */
        if (listed == 0) subject = options->file_list ? options->file_list : ds->path;
        if (!options->file_list) verb = "holds";
    } else if (options->file_list && listed == 0) {
        subject = options->file_list;
    } else if (index->files[SIMCLR_DATASET_SPLIT_TRAIN].count == 0 && train_dir[0]) {
        subject = train_dir;
        verb = "holds";
    } else if (index->files[SIMCLR_DATASET_SPLIT_TRAIN].count == 0) {
        subject = options->file_list;
        noun = "train image";
    }
    if (subject) {
        const char *report = ds->skipped_report ? ds->skipped_report : "";
        simclr_error_input(err, "folder: %s %s no readable %s (%zu skipped; the first: %.*s)", subject, verb, noun,
                           ds->skipped_files, (int)strcspn(report, "\n"), report);
        goto done;
    }
    if (repeated) { /* in the report, not in skipped_files: the file itself is in the dataset */
        size_t used = ds->skipped_report ? strlen(ds->skipped_report) : 0, length = strlen(repeated);
        char *grown = realloc(ds->skipped_report, used + length + 1);
        if (!grown) {
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
            goto done;
        }
        memcpy(grown + used, repeated, length + 1);
        ds->skipped_report = grown;
    }
    if (folder_choose_size(ds, index, options->image_size, err) != 0) goto done;
    folder_count_resized(ds, index);
    if (folder_fill_splits(ds, index, err) != 0) goto done;
    status = options->defer_pixels ? 0 : simclr_folder_load_pixels(ds, err);
done:
    simclr_folder_walk_free(&walk);
    simclr_folder_cache_close(&cache);
    free(repeated);
    simclr_path_list_free(&classes);
    return status;
}
