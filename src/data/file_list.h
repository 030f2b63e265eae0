#ifndef SIMCLR_DATA_FILE_LIST_H
#define SIMCLR_DATA_FILE_LIST_H
/*
 * Private to the library and its command line (the dataset fingerprint): a folder dataset's
 * images named by a list file (issue 25, --file-list), either
 *
 *   - text: one path a line (the whole line: a path may hold commas), every image unlabeled; or
 *   - CSV (RFC 4180, src/data/csv_record.h): a header naming a `path` column and optionally
 *     `label` and `split` columns, in any order. It is a CSV when its first line, read as a CSV
 *     record, has a field named path, label or split (case and surrounding spaces ignored).
 *     Columns with an empty name (pandas' index) are ignored; any other name is refused.
 *
 * Either may start with a UTF-8 byte order mark and use CRLF line ends; empty lines are skipped.
 * A relative path is relative to the list file's folder. A row's split: its `split` field (train,
 * test or unlabeled), else train when it has a label, else unlabeled. A train or test row needs a
 * label; an unlabeled row's label is unused. Labels are class names (surrounding spaces ignored,
 * at most SIMCLR_DATASET_CLASS_NAME_MAX - 1 bytes, no control characters); the classes are the
 * sorted (bytewise) distinct labels of the train rows, as class folders are, and a test row's
 * label must be one of them. A path listed again (the same text once resolved) is marked with
 * the line it first appeared on: the folder reader skips and reports it, as a bad file.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"
#include "simclr/error.h"

typedef struct simclr_file_list_entry {
    char *path;            /* resolved against the list's folder (owned) */
    char *label;           /* NULL when the row has none (owned) */
    simclr_dataset_split_id split;
    int32_t class_index;   /* the label's class, or SIMCLR_DATASET_LABEL_NONE (unlabeled rows) */
    size_t line;           /* the list line the row starts on (1-based) */
    size_t duplicate_of;   /* 0, or the line where the same path was listed first */
} simclr_file_list_entry;

typedef struct simclr_file_list {
    simclr_file_list_entry *entries;
    size_t count, capacity;
    char **classes;        /* class_count sorted distinct labels of the train rows (owned) */
    size_t class_count;
    size_t labeled_rows;   /* train and test rows */
    int csv;               /* 1: a CSV with a header, 0: one path a line */
} simclr_file_list;

/* Parses a list held in memory (text need not be NUL-terminated). name is the list's name in
 * messages; base is prefixed to relative paths ("" to keep them; "dir/" for a list in dir). On
 * failure returns -1 with err naming the list and the line, and the list is left empty. An empty
 * list (no path in it) is an error. Release with simclr_file_list_free. */
int simclr_file_list_parse(simclr_file_list *list, const char *text, size_t size, const char *name, const char *base,
                           simclr_error *err);

/* Reads the list file at path (at most 1 GiB) and parses it, relative paths resolved against the
 * list's folder. */
int simclr_file_list_read(simclr_file_list *list, const char *path, simclr_error *err);

void simclr_file_list_free(simclr_file_list *list);

#endif
