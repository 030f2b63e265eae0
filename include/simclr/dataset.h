#ifndef SIMCLR_DATASET_H
#define SIMCLR_DATASET_H
/*
 * Datasets: one interface over STL-10 binary, CIFAR-10/100 binary, MNIST/Fashion-MNIST IDX
 * (gzipped or not) and folders of PNG/JPEG images (or lists of them: options.file_list).
 *
 * A dataset has up to three splits: unlabeled, train (labeled) and test. Every image of a dataset
 * has the same shape (height x width x channels); simclr_dataset_read_image returns it as HWC uint8
 * (row-major, channels interleaved) whatever the on-disk layout. Large files (STL-10's 2.76 GB
 * unlabeled_X.bin, CIFAR batches) are memory-mapped, never copied; gzipped IDX files and image
 * folders are decoded into memory, folders at open or, with defer_pixels, when
 * simclr_dataset_load_pixels is called (opening then only lists the files and reads their
 * headers, so what depends on sizes can be checked first).
 *
 *     simclr_dataset_options options = simclr_dataset_options_default();
 *     options.kind = SIMCLR_DATASET_KIND_FASHION_MNIST;
 *     simclr_dataset ds;
 *     simclr_error err = {0};
 *     if (simclr_dataset_open(&ds, &options, &err) != 0) { fprintf(stderr, "%s\n", err.message); ... }
 *     uint8_t *pixels = malloc(simclr_dataset_image_bytes(&ds));
 *     simclr_dataset_read_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, pixels);
 *     int label = simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0);   // 0..num_classes-1
 *     simclr_dataset_close(&ds);
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
#include "simclr/image_io.h"
SIMCLR_BEGIN_DECLS

typedef enum simclr_dataset_kind {
    SIMCLR_DATASET_KIND_STL10,
    SIMCLR_DATASET_KIND_CIFAR10,
    SIMCLR_DATASET_KIND_CIFAR100,
    SIMCLR_DATASET_KIND_MNIST,
    SIMCLR_DATASET_KIND_FASHION_MNIST,
    SIMCLR_DATASET_KIND_FOLDER,
} simclr_dataset_kind;

typedef enum simclr_dataset_split_id {
    SIMCLR_DATASET_SPLIT_UNLABELED = 0,
    SIMCLR_DATASET_SPLIT_TRAIN = 1,
    SIMCLR_DATASET_SPLIT_TEST = 2,
    SIMCLR_DATASET_SPLIT_COUNT = 3,
} simclr_dataset_split_id;

#define SIMCLR_DATASET_LABEL_NONE (-1)
#define SIMCLR_DATASET_MAX_CLASSES 65535
#define SIMCLR_DATASET_CLASS_NAME_MAX 64
#define SIMCLR_DATASET_DEFAULT_SIZE_CAP 224

/* How the pixels of one split are laid out in its (mapped or decoded) bytes. */
typedef enum simclr_dataset_pixel_layout {
    SIMCLR_DATASET_PIXELS_HWC,                 /* decoded images, IDX */
    SIMCLR_DATASET_PIXELS_PLANES_ROW_MAJOR,    /* CIFAR: C planes, each H x W row-major */
    SIMCLR_DATASET_PIXELS_PLANES_COLUMN_MAJOR, /* STL-10: C planes, each column-major (x*H + y) */
} simclr_dataset_pixel_layout;

typedef struct simclr_dataset_split {
    size_t count;              /* number of images; 0 when the dataset has no such split */
    const int32_t *labels;     /* count labels in 0..num_classes-1, or NULL (unlabeled split) */
    /* Where image i's pixels are: base + i * record_stride + pixel_offset, in `layout`. */
    const uint8_t *base;
    size_t record_stride;
    size_t pixel_offset;
    simclr_dataset_pixel_layout layout;
    /* Ownership (private to the readers): a memory map and/or heap buffers to release. */
    void *mapping;
    size_t mapping_size;
    uint8_t *owned_pixels;
    int32_t *owned_labels;
} simclr_dataset_split;

typedef struct simclr_dataset_options {
    simclr_dataset_kind kind;
    const char *data_dir;     /* NULL: the kind's default (fashion-mnist: Debian's path) */
    /* Folder datasets: the square size images are brought to. 0: the images' own size when they
     * all share one square size, otherwise the median of their shorter sides capped at
     * SIMCLR_DATASET_DEFAULT_SIZE_CAP (ds->image_size_rule says which). */
    int image_size;
    simclr_image_resize_mode resize; /* folder datasets: crop (default) or squash */
    int defer_pixels;         /* folder datasets: decode in simclr_dataset_load_pixels, not at open */
    /* Folder datasets (issue 25): a data_dir without train/ and test/ is a folder of unlabeled
     * images (any depth); its labeled images (train/<class>/, test/<class>/) come from labeled_dir.
     * NULL: data_dir holds them. */
    const char *labeled_dir;
    /* Folder datasets (issue 25): the images a list file names instead of a folder's (data_dir
     * then NULL): one path a line (unlabeled images), or a CSV whose header names a `path` column
     * and optionally `label` (a class name) and `split` (train, test or unlabeled; without it a
     * labeled row is train, an unlabeled one unlabeled) columns. Relative paths are relative to
     * the list's folder; the classes are the sorted distinct labels of the train rows. A path
     * listed again, like a bad file, is skipped and reported (strict: refused). A list of
     * unlabeled images only takes its labeled ones from labeled_dir. ds->path is the list's path.
     * NULL: data_dir's folders. */
    const char *file_list;
    /* Folder datasets (issue 25): a file that is not a whole PNG or JPEG (unreadable, truncated,
     * another format) is skipped and listed in ds->skipped_report; strict: refused instead. */
    int strict;
    int stl10_fold;           /* STL-10: -1 = whole train split, 0..9 = that fold of fold_indices */
    int cifar100_coarse;      /* CIFAR-100: 1 = the 20 coarse labels, 0 = the 100 fine labels */
    /* Folder datasets (issue 25): a directory (created when missing) keeping the index of each
     * folder or list opened (its directories' listings and each file's declared size) in a file
     * named after the dataset's absolute path, so that the next open reads only the files that
     * are new or changed (size, modification time in ns or inode not the ones recorded) and lists
     * only the directories whose modification time changed. A cache that is damaged, truncated,
     * of another version or another dataset's is rebuilt, and one that cannot be written is
     * left, both said in ds->index_notes; neither is an error. The dataset is the same, file for
     * file and in the same order, with or without the cache. NULL: no cache. */
    const char *index_cache_dir;
} simclr_dataset_options;

typedef struct simclr_dataset {
    simclr_dataset_kind kind;
    char name[32];            /* "stl10", "fashion-mnist", ... */
    char path[1024];          /* the data directory in use (folder datasets: or the list file) */
    int height, width, channels;
    int num_classes;
    char (*class_names)[SIMCLR_DATASET_CLASS_NAME_MAX]; /* num_classes names (owned) */
    simclr_dataset_split splits[SIMCLR_DATASET_SPLIT_COUNT];
    /* Folder datasets: how many images are resized to height x width (known at open, from the
     * headers), how (resize), the range of the source sizes (smallest and largest area) and how
     * many distinct sizes there are; image_size_rule says how the size was chosen ("--image-size",
     * "the images' own size", "the median shorter side ..."). */
    size_t resized_count;
    int resized_from_height, resized_from_width;   /* the smallest source (by area) */
    int resized_largest_height, resized_largest_width;
    size_t source_size_count;
    simclr_image_resize_mode resize;
    char image_size_rule[128];
    void *pending; /* private: the folder index still to decode (defer_pixels) */
    size_t skipped_files;   /* folder datasets: files left out at open (see options.strict) */
    int streamed;           /* folder datasets (issue 25): read from disk and decoded when read */
    /* One line per skipped file, "path: reason", then (a list file) one per row naming a file
     * again, "path: listed again on line N of LIST (first on line M)", which skipped_files does
     * not count: the file itself is in the dataset (owned; NULL if none). */
    char *skipped_report;
    /* Folder datasets (issue 25): the index of the open (the listing, each file's size from its
     * header): index_files image files found (bad ones included), index_cached_files of them known
     * from the index cache unchanged, in index_seconds (listing, headers and the cache write).
     * index_cache_path: the cache file (owned; NULL without options.index_cache_dir), and
     * index_cache_written 1 when this open wrote it (new or changed files, removed ones dropped).
     * index_notes: one line each ("\n"-terminated) about a cache rebuilt or not written, or class
     * folders whose names are not UTF-8 (owned; NULL if none). */
    size_t index_files, index_cached_files;
    double index_seconds;
    char *index_cache_path;
    int index_cache_written;
    char *index_notes;
} simclr_dataset;

/* Defaults: fashion-mnist, default directory, image_size 0 (folders: from the images), crop,
 * whole STL-10 train split, fine CIFAR-100 labels. */
simclr_dataset_options simclr_dataset_options_default(void);

/* Parses "stl10", "cifar10", "cifar100", "mnist", "fashion-mnist", "folder"; -1 if unknown. */
int simclr_dataset_kind_parse(const char *name, simclr_dataset_kind *kind);
const char *simclr_dataset_kind_name(simclr_dataset_kind kind);
/* The directory used when data_dir is NULL ("" when the kind has none). */
const char *simclr_dataset_default_dir(simclr_dataset_kind kind);

const char *simclr_dataset_split_name(simclr_dataset_split_id split); /* "unlabeled", "train", "test" */
int simclr_dataset_split_parse(const char *name, simclr_dataset_split_id *split);

/* Opens a dataset, validating every file (existence, size, magic, label range) before use.
 * On failure returns -1, err names the file and what was expected, and nothing stays open.
 * On success the caller owns ds and releases it with simclr_dataset_close. */
int simclr_dataset_open(simclr_dataset *ds, const simclr_dataset_options *options, simclr_error *err);
void simclr_dataset_close(simclr_dataset *ds);

/* Decodes what an open with defer_pixels left (a no-op otherwise): every image of every split,
 * in parallel (OpenMP). On failure err names the file; the dataset stays open, undecoded. */
int simclr_dataset_load_pixels(simclr_dataset *ds, simclr_error *err);

/* The bytes simclr_dataset_load_pixels would allocate (0 when nothing is pending or streamed). */
size_t simclr_dataset_pending_bytes(const simclr_dataset *ds);

/* Issue 25: a folder dataset opened with defer_pixels whose decoded images exceed budget bytes
 * is streamed: simclr_dataset_load_pixels leaves it on disk and simclr_dataset_read_image
 * decodes each image when read (callers read batches on all cores), memory bounded by the
 * batches whatever the dataset's size; the same pixels as in memory, bit for bit. Returns 1 when
 * streamed, 0 when it will be decoded into memory (or has nothing pending). */
int simclr_dataset_choose_storage(simclr_dataset *ds, size_t budget);

/* Issue 25: a streamed dataset's decoder pool. `threads` background threads (0: none, every image
 * decoded when read, on the reader's thread) decode the images simclr_dataset_prefetch names while
 * the caller computes; simclr_dataset_read_image then copies them. They run at the lowest
 * scheduling priority, so on a machine whose cores the step keeps busy they take only its idle
 * time. A no-op for datasets that are not streamed. Set before the first prefetch. */
void simclr_dataset_set_decode_threads(simclr_dataset *ds, int threads);
int simclr_dataset_decode_threads(const simclr_dataset *ds); /* 0 when not streamed */

/* Some images of one split: indices[0..count). */
typedef struct simclr_dataset_images {
    simclr_dataset_split_id split;
    const size_t *indices;
    size_t count;
} simclr_dataset_images;

/* Asks a streamed dataset's decoder pool for the groups' images (the next batch), in order; the
 * pool holds them and the previous request's, memory for two batches, and drops what the previous
 * request queued and no thread started. The pixels read are the same with or without it, bit for
 * bit. A no-op when the dataset is not streamed or has no decoder threads. Not to be called while
 * simclr_dataset_read_image runs on another thread. */
void simclr_dataset_prefetch(const simclr_dataset *ds, const simclr_dataset_images *groups, int group_count);
/* Since the open: the streamed reads served by the decoder pool (decoded ahead) and those decoded
 * when read (0 and 0 without a pool). */
void simclr_dataset_decode_counts(const simclr_dataset *ds, size_t *prefetched, size_t *decoded_when_read);

/* After reads of a streamed dataset: -1 with err naming the first file that could not be decoded
 * (its image was read as zeros: the caller must not use the batch), 0 when all were read. */
int simclr_dataset_check_reads(const simclr_dataset *ds, simclr_error *err);

/* Bytes of one HWC uint8 image. */
size_t simclr_dataset_image_bytes(const simclr_dataset *ds);

/* Copies image `index` of `split` as HWC uint8 into hwc_out (simclr_dataset_image_bytes bytes).
 * index must be < splits[split].count. Thread-safe. A streamed dataset decodes the file here; one
 * that fails gives zeros and is reported by simclr_dataset_check_reads. */
void simclr_dataset_read_image(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index, uint8_t *hwc_out);

/* The label of image `index` (0..num_classes-1) or SIMCLR_DATASET_LABEL_NONE. */
int simclr_dataset_label(const simclr_dataset *ds, simclr_dataset_split_id split, size_t index);

/* The split that serves as the unlabeled stream: the unlabeled split when the dataset has one,
 * otherwise the train split (its labels unused). */
simclr_dataset_split_id simclr_dataset_unlabeled_source(const simclr_dataset *ds);

SIMCLR_END_DECLS
#endif
