#ifndef SIMCLR_CLI_CSV_FIELDS_H
#define SIMCLR_CLI_CSV_FIELDS_H
/*
 * CSV as RFC 4180 writes it (and Python's csv module reads it): a field holding a comma, a quote
 * or a line break is quoted, its quotes doubled. The reader takes back what the writer (and
 * `simclr embed`'s .csv) wrote, quoted line breaks included. It is the library's reader
 * (src/data/csv_record.h, also behind --file-list) over a stream: one CSV reader in the project.
 */
#include <stddef.h>
#include <stdio.h>

#include "data/csv_record.h"
#include "simclr/error.h"

/* Writes text as one CSV field (no separator). */
void csv_write_field(FILE *stream, const char *text);

/* One record's fields (see simclr_csv_record); start it zeroed, release it with csv_record_free. */
typedef simclr_csv_record csv_record;

/* Reads the next record of stream. Returns 1 with the record's fields, 0 at the end of the file,
 * -1 with err naming path and the line when a quoted field is not closed, on a NUL byte (or out of
 * memory). *line counts the lines read so far (start it at 0: a UTF-8 byte order mark at the
 * start is then skipped). */
int csv_record_read(csv_record *record, FILE *stream, const char *path, size_t *line, simclr_error *err);
static inline const char *csv_record_field(const csv_record *record, int field)
{
    return simclr_csv_record_field(record, field);
}
void csv_record_free(csv_record *record);

#endif
