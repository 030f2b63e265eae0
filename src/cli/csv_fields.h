#ifndef SIMCLR_CLI_CSV_FIELDS_H
#define SIMCLR_CLI_CSV_FIELDS_H
/*
 * CSV as RFC 4180 writes it (and Python's csv module reads it): a field holding a comma, a quote
 * or a line break is quoted, its quotes doubled. The reader takes back what the writer (and
 * `simclr embed`'s .csv) wrote, quoted line breaks included.
 */
#include <stddef.h>
#include <stdio.h>

#include "simclr/error.h"

/* Writes text as one CSV field (no separator). */
void csv_write_field(FILE *stream, const char *text);

typedef struct csv_record {
    char *text;           /* the fields, each NUL-terminated, back to back (owned) */
    size_t text_capacity;
    size_t *starts;       /* field i begins at text + starts[i] */
    size_t start_capacity;
    int field_count;
} csv_record;

/* Reads the next record of stream. Returns 1 with the record's fields, 0 at the end of the file,
 * -1 with err naming path and the line when a quoted field is not closed (or out of memory). *line
 * counts the lines read so far (start it at 0). */
int csv_record_read(csv_record *record, FILE *stream, const char *path, size_t *line, simclr_error *err);
static inline const char *csv_record_field(const csv_record *record, int field)
{
    return record->text + record->starts[field];
}
void csv_record_free(csv_record *record);

#endif
