#ifndef SIMCLR_DATA_CSV_RECORD_H
#define SIMCLR_DATA_CSV_RECORD_H
/*
 * Private to the library and its command line (the one CSV reader of the project): CSV records
 * as RFC 4180 writes them and Python's csv module reads them. Fields are separated by commas; a
 * field in double quotes may hold commas, line breaks and doubled quotes (""); a record ends at
 * a line feed outside quotes; a carriage return outside quotes is dropped (CRLF files read as LF
 * ones). A UTF-8 byte order mark at the very start is skipped. An empty line is a record of one
 * empty field (the caller decides what that means). A NUL byte is refused: it would cut a field
 * short without a word.
 *
 * The bytes come from a callback, so the same reader serves a file list held in memory
 * (src/data/file_list.c) and a stream (src/cli/csv_fields.c).
 */
#include <stddef.h>

#include "simclr/error.h"

/* One record's fields, each NUL-terminated, back to back in text (owned; reused between reads). */
typedef struct simclr_csv_record {
    char *text;
    size_t text_capacity;
    size_t *starts; /* field i begins at text + starts[i] */
    size_t start_capacity;
    int field_count;
} simclr_csv_record;

/* The next byte of a source (0..255), or EOF at its end. */
typedef int (*simclr_csv_next_byte)(void *source);

/* Reads the next record from source. Returns 1 with its fields, 0 at the end of the input, -1
 * with err naming `name` and the line (a quoted field that is not closed, a NUL byte, out of
 * memory). *line counts the lines read so far: start it at 0 (a byte order mark is looked for
 * when it is 0); after a record it is the record's last line. */
int simclr_csv_record_read(simclr_csv_record *record, simclr_csv_next_byte next, void *source, const char *name,
                           size_t *line, simclr_error *err);

static inline const char *simclr_csv_record_field(const simclr_csv_record *record, int field)
{
    return record->text + record->starts[field];
}

void simclr_csv_record_free(simclr_csv_record *record);

/* A byte source over memory, for simclr_csv_record_read: next is simclr_csv_memory_next. */
typedef struct simclr_csv_memory {
    const unsigned char *bytes;
    size_t size, position;
} simclr_csv_memory;
int simclr_csv_memory_next(void *memory);

#endif
