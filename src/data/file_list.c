/* A folder dataset's images named by a list file, text or CSV (issue 25): see file_list.h. */
#include "data/file_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/csv_record.h"
#include "data/data_internal.h"

#define FILE_LIST_MAX_BYTES ((size_t)1 << 30)

enum { FILE_LIST_COLUMN_IGNORED = -1, FILE_LIST_COLUMN_PATH, FILE_LIST_COLUMN_LABEL, FILE_LIST_COLUMN_SPLIT };

void simclr_file_list_free(simclr_file_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->entries[i].path);
        free(list->entries[i].label);
    }
    free(list->entries);
    for (size_t c = 0; c < list->class_count; c++) free(list->classes[c]);
    free(list->classes);
    memset(list, 0, sizeof *list);
}

/* text[0..*length) without the spaces and tabs around it. */
static const char *trim(const char *text, size_t *length)
{
    while (*length > 0 && (*text == ' ' || *text == '\t')) {
        text++;
        (*length)--;
    }
    while (*length > 0 && (text[*length - 1] == ' ' || text[*length - 1] == '\t')) (*length)--;
    return text;
}

static int file_list_add(simclr_file_list *list, const char *name, const char *base, const char *path,
                         size_t path_length, const char *label, size_t label_length, simclr_dataset_split_id split,
                         size_t line, simclr_error *err)
{
    if (list->count == list->capacity) {
        size_t grown = list->capacity ? 2 * list->capacity : 64;
        simclr_file_list_entry *entries = realloc(list->entries, grown * sizeof *entries);
        if (!entries) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading %s", name);
        list->entries = entries;
        list->capacity = grown;
    }
    size_t base_length = path[0] == '/' ? 0 : strlen(base);
    simclr_file_list_entry *entry = &list->entries[list->count];
    memset(entry, 0, sizeof *entry);
    entry->path = malloc(base_length + path_length + 1);
    entry->label = label ? malloc(label_length + 1) : NULL;
    if (!entry->path || (label && !entry->label)) {
        free(entry->path);
        free(entry->label);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading %s", name);
    }
    memcpy(entry->path, base, base_length);
    memcpy(entry->path + base_length, path, path_length);
    entry->path[base_length + path_length] = '\0';
    if (label) {
        memcpy(entry->label, label, label_length);
        entry->label[label_length] = '\0';
    }
    entry->split = split;
    entry->class_index = SIMCLR_DATASET_LABEL_NONE;
    entry->line = line;
    list->count++;
    if (split != SIMCLR_DATASET_SPLIT_UNLABELED) list->labeled_rows++;
    return 0;
}

/* One CSV row's fields: checked and added. */
static int file_list_add_row(simclr_file_list *list, const char *name, const char *base, const char *path,
                             size_t path_length, const char *label, size_t label_length, const char *split_text,
                             size_t split_length, size_t line, simclr_error *err)
{
    path = trim(path, &path_length);
    if (label) label = trim(label, &label_length);
    if (split_text) split_text = trim(split_text, &split_length);
    if (path_length == 0) return simclr_error_input(err, "%s: line %zu: the path is empty", name, line);
    if (label && label_length == 0) label = NULL;
    simclr_dataset_split_id split = label ? SIMCLR_DATASET_SPLIT_TRAIN : SIMCLR_DATASET_SPLIT_UNLABELED;
    if (split_text && split_length > 0) {
        static const char *const names[] = {"unlabeled", "train", "test"};
        int found = -1;
        for (int s = 0; s < 3; s++)
            if (strlen(names[s]) == split_length && strncasecmp(split_text, names[s], split_length) == 0) found = s;
        if (found < 0)
            return simclr_error_input(err, "%s: line %zu: split '%.*s'; expected train, test or unlabeled (or "
                                           "nothing: train for a labeled row, unlabeled otherwise)",
                                      name, line, (int)(split_length > 64 ? 64 : split_length), split_text);
        split = (simclr_dataset_split_id)found;
        if (split != SIMCLR_DATASET_SPLIT_UNLABELED && !label)
            return simclr_error_input(err, "%s: line %zu: a %s row needs a label", name, line, names[found]);
        if (split == SIMCLR_DATASET_SPLIT_UNLABELED) label = NULL; /* unused: the image is unlabeled */
    }
    if (label) {
        if (label_length >= SIMCLR_DATASET_CLASS_NAME_MAX)
            return simclr_error_input(err, "%s: line %zu: the label '%.*s...' is %zu bytes; at most %d", name, line,
                                      32, label, label_length, SIMCLR_DATASET_CLASS_NAME_MAX - 1);
        for (size_t i = 0; i < label_length; i++)
            if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
                return simclr_error_input(err, "%s: line %zu: the label holds a control character (a line break, "
                                               "a tab); expected a class name",
                                          name, line);
    }
    return file_list_add(list, name, base, path, path_length, label, label_length, split, line, err);
}

/* The header's column for a name (trimmed, any case): path, label, split, ignored (empty), or -2. */
static int header_column(const char *field)
{
    size_t length = strlen(field);
    field = trim(field, &length);
    if (length == 0) return FILE_LIST_COLUMN_IGNORED;
    static const char *const names[] = {"path", "label", "split"};
    for (int c = 0; c < 3; c++)
        if (strlen(names[c]) == length && strncasecmp(field, names[c], length) == 0) return c;
    return -2;
}

static int parse_csv(simclr_file_list *list, const char *text, size_t size, size_t body, const char *name,
                     const char *base, const simclr_csv_record *header, simclr_error *err)
{
    int columns = header->field_count;
    int where[3] = {-1, -1, -1}; /* path, label, split: their field index */
    for (int f = 0; f < columns; f++) {
        const char *field = simclr_csv_record_field(header, f);
        int column = header_column(field);
        if (column == -2)
            return simclr_error_input(err, "%s: line 1: unknown column '%.64s'; a list's columns are path, label "
                                           "and split (a column with an empty name is ignored)",
                                      name, field);
        if (column == FILE_LIST_COLUMN_IGNORED) continue;
        if (where[column] >= 0)
            return simclr_error_input(err, "%s: line 1: the column '%s' is named twice", name, field);
        where[column] = f;
    }
    if (where[FILE_LIST_COLUMN_PATH] < 0)
        return simclr_error_input(err, "%s: line 1: the CSV header has no path column (expected path, and "
                                       "optionally label and split)",
                                  name);
    simclr_csv_memory in = {(const unsigned char *)text, size, body};
    simclr_csv_record record = {0};
    size_t line = 1;
    int status = 0;
    for (;;) {
        size_t first = line + 1;
        int got = simclr_csv_record_read(&record, simclr_csv_memory_next, &in, name, &line, err);
        if (got <= 0) {
            status = got;
            break;
        }
        int empty = 1;
        for (int f = 0; f < record.field_count && empty; f++) {
            const char *field = simclr_csv_record_field(&record, f);
            size_t length = strlen(field);
            trim(field, &length);
            empty = length == 0;
        }
        if (empty) continue; /* an empty line, or one of empty fields */
        if (record.field_count != columns) {
            status = simclr_error_input(err, "%s: line %zu: %d field%s; the header has %d", name, first,
                                        record.field_count, record.field_count == 1 ? "" : "s", columns);
            break;
        }
        const char *path = simclr_csv_record_field(&record, where[FILE_LIST_COLUMN_PATH]);
        const char *label = where[FILE_LIST_COLUMN_LABEL] >= 0
                                ? simclr_csv_record_field(&record, where[FILE_LIST_COLUMN_LABEL])
                                : NULL;
        const char *split = where[FILE_LIST_COLUMN_SPLIT] >= 0
                                ? simclr_csv_record_field(&record, where[FILE_LIST_COLUMN_SPLIT])
                                : NULL;
        status = file_list_add_row(list, name, base, path, strlen(path), label, label ? strlen(label) : 0, split,
                                   split ? strlen(split) : 0, first, err);
        if (status != 0) break;
    }
    simclr_csv_record_free(&record);
    return status;
}

static int parse_lines(simclr_file_list *list, const char *text, size_t size, size_t start, const char *name,
                       const char *base, simclr_error *err)
{
    size_t line = 0;
    for (size_t position = start; position < size;) {
        const char *begin = text + position;
        const char *end = memchr(begin, '\n', size - position);
        size_t length = end ? (size_t)(end - begin) : size - position;
        position += length + 1;
        line++;
        if (memchr(begin, '\0', length))
            return simclr_error_input(err, "%s: line %zu: a NUL byte (expected text)", name, line);
        while (length > 0 && begin[length - 1] == '\r') length--;
        const char *path = trim(begin, &length);
        if (length == 0) continue;
        if (file_list_add(list, name, base, path, length, NULL, 0, SIMCLR_DATASET_SPLIT_UNLABELED, line, err) != 0)
            return -1;
    }
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries in path order, the same path in list order (lines grow down the list). */
static int compare_entries_by_path(const void *a, const void *b)
{
    const simclr_file_list_entry *x = *(const simclr_file_list_entry *const *)a;
    const simclr_file_list_entry *y = *(const simclr_file_list_entry *const *)b;
    int order = strcmp(x->path, y->path);
    return order ? order : (x->line > y->line) - (x->line < y->line);
}

/* Marks each path listed again with the line it was first listed on. */
static int mark_duplicates(simclr_file_list *list, simclr_error *err)
{
    simclr_file_list_entry **order = simclr_checked_calloc(list->count, sizeof *order, "file list order", err);
    if (!order) return -1;
    for (size_t i = 0; i < list->count; i++) order[i] = &list->entries[i];
    qsort(order, list->count, sizeof *order, compare_entries_by_path);
    for (size_t k = 1; k < list->count; k++)
        if (strcmp(order[k - 1]->path, order[k]->path) == 0)
            order[k]->duplicate_of = order[k - 1]->duplicate_of ? order[k - 1]->duplicate_of : order[k - 1]->line;
    free(order);
    return 0;
}

/* The classes: the sorted distinct labels of the train rows (paths listed again left out). */
static int find_classes(simclr_file_list *list, const char *name, simclr_error *err)
{
    if (list->labeled_rows == 0) return 0;
    char **labels = simclr_checked_calloc(list->count, sizeof *labels, "file list labels", err);
    if (!labels) return -1;
    size_t count = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list->entries[i].split == SIMCLR_DATASET_SPLIT_TRAIN && !list->entries[i].duplicate_of)
            labels[count++] = list->entries[i].label;
    if (count == 0) {
        free(labels);
        return simclr_error_input(err, "%s: %zu test row%s but no train row (a row with a label and no split is a "
                                       "train row)",
                                  name, list->labeled_rows, list->labeled_rows == 1 ? "" : "s");
    }
    qsort(labels, count, sizeof *labels, compare_strings);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++)
        if (distinct == 0 || strcmp(labels[distinct - 1], labels[i]) != 0) labels[distinct++] = labels[i];
    if (distinct > SIMCLR_DATASET_MAX_CLASSES) {
        free(labels);
        return simclr_error_input(err, "%s: %zu distinct labels; at most %d classes are supported", name, distinct,
                                  SIMCLR_DATASET_MAX_CLASSES);
    }
    list->classes = simclr_checked_calloc(distinct, sizeof *list->classes, "file list classes", err);
    if (!list->classes) {
        free(labels);
        return -1;
    }
    for (size_t c = 0; c < distinct; c++) {
        list->classes[c] = strdup(labels[c]);
        if (!list->classes[c]) {
            free(labels);
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading %s", name);
        }
        list->class_count++;
    }
    free(labels);
    for (size_t i = 0; i < list->count; i++) {
        simclr_file_list_entry *entry = &list->entries[i];
        if (entry->split == SIMCLR_DATASET_SPLIT_UNLABELED || entry->duplicate_of) continue;
        char **found = bsearch(&entry->label, list->classes, list->class_count, sizeof *list->classes,
                               compare_strings);
        if (!found)
            return simclr_error_input(err, "%s: line %zu: the test row's label '%s' is not the label of any train "
                                           "row; the test split must use the train split's classes",
                                      name, entry->line, entry->label);
        entry->class_index = (int32_t)(found - list->classes);
    }
    return 0;
}

int simclr_file_list_parse(simclr_file_list *list, const char *text, size_t size, const char *name, const char *base,
                           simclr_error *err)
{
    memset(list, 0, sizeof *list);
    size_t start = size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    /* The first line alone, read as a CSV record: a header when it names a known column. */
    const char *newline = memchr(text + start, '\n', size - start);
    size_t first_end = newline ? (size_t)(newline - text) : size;
    simclr_csv_memory first = {(const unsigned char *)text + start, first_end - start, 0};
    simclr_csv_record header = {0};
    size_t line = 1; /* not 0: the byte order mark is already skipped */
    simclr_error ignored = {0};
    int got = simclr_csv_record_read(&header, simclr_csv_memory_next, &first, name, &line, &ignored);
    simclr_error_clear(&ignored);
    int csv = 0;
    for (int f = 0; got == 1 && f < header.field_count && !csv; f++)
        csv = header_column(simclr_csv_record_field(&header, f)) >= 0;
    list->csv = csv;
    int status = csv ? parse_csv(list, text, size, first_end < size ? first_end + 1 : size, name, base, &header, err)
                     : parse_lines(list, text, size, start, name, base, err);
    simclr_csv_record_free(&header);
    if (status == 0 && list->count == 0)
        status = simclr_error_input(err, "%s: no image path in it (expected one path a line, or a CSV with a "
                                         "header naming a path column)",
                                    name);
    if (status == 0) status = mark_duplicates(list, err);
    if (status == 0) status = find_classes(list, name, err);
    if (status != 0) simclr_file_list_free(list);
    return status;
}

int simclr_file_list_read(simclr_file_list *list, const char *path, simclr_error *err)
{
    memset(list, 0, sizeof *list);
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (simclr_data_read_file(path, "--file-list", FILE_LIST_MAX_BYTES, &bytes, &size, err) != 0) return -1;
    /* Relative paths: from the list's folder (the text up to its last '/'; none: the current one). */
    const char *slash = strrchr(path, '/');
    size_t base_length = slash ? (size_t)(slash - path) + 1 : 0;
    char *base = malloc(base_length + 1);
    if (!base) {
        free(bytes);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading %s", path);
    }
    memcpy(base, path, base_length);
    base[base_length] = '\0';
    int status = simclr_file_list_parse(list, (const char *)bytes, size, path, base, err);
    free(base);
    free(bytes);
    return status;
}
