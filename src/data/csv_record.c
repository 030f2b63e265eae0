/* CSV records (RFC 4180) from a byte callback: see csv_record.h. */
#include "data/csv_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int csv_append(simclr_csv_record *record, size_t *used, char c, simclr_error *err)
{
    if (*used == record->text_capacity) {
        size_t capacity = record->text_capacity ? 2 * record->text_capacity : 256;
        char *grown = realloc(record->text, capacity);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading a CSV record");
        record->text = grown;
        record->text_capacity = capacity;
    }
    record->text[(*used)++] = c;
    return 0;
}

static int csv_start_field(simclr_csv_record *record, size_t used, simclr_error *err)
{
    if ((size_t)record->field_count == record->start_capacity) {
        size_t capacity = record->start_capacity ? 2 * record->start_capacity : 8;
        size_t *grown = realloc(record->starts, capacity * sizeof *grown);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory reading a CSV record");
        record->starts = grown;
        record->start_capacity = capacity;
    }
    record->starts[record->field_count++] = used;
    return 0;
}

int simclr_csv_record_read(simclr_csv_record *record, simclr_csv_next_byte next, void *source, const char *name,
                           size_t *line, simclr_error *err)
{
    record->field_count = 0;
    size_t used = 0, first_line = *line + 1;
    /* At the start: the bytes read while looking for a byte order mark, handed out first when they
     * are not one. */
    int queued[3], queue_count = 0, queue_position = 0;
    if (*line == 0) {
        queued[queue_count++] = next(source);
        if (queued[0] == 0xef && (queued[queue_count++] = next(source)) == 0xbb &&
            (queued[queue_count++] = next(source)) == 0xbf)
            queue_count = 0;
    }
#define CSV_NEXT() (queue_position < queue_count ? queued[queue_position++] : next(source))
    int c = CSV_NEXT();
    if (c == EOF) return 0;
    if (csv_start_field(record, used, err) != 0) return -1;
    int quoted = 0;
    for (;;) {
        if (c == '\0')
            return simclr_error_input(err, "%s: line %zu: a NUL byte (expected text)", name, *line + 1);
        if (quoted) {
            if (c == EOF)
                return simclr_error_input(err, "%s: line %zu: a quoted field is not closed", name, first_line);
            if (c == '"') {
                int after = CSV_NEXT();
                if (after != '"') { /* the closing quote: what follows is read unquoted */
                    quoted = 0;
                    c = after;
                    continue;
                }
            }
            if (c == '\n') (*line)++;
            if (csv_append(record, &used, (char)c, err) != 0) return -1;
        } else if (c == '"') {
            quoted = 1;
        } else if (c == ',') {
            if (csv_append(record, &used, '\0', err) != 0 || csv_start_field(record, used, err) != 0) return -1;
        } else if (c == '\n' || c == EOF) {
            (*line)++;
            break;
        } else if (c != '\r') {
            if (csv_append(record, &used, (char)c, err) != 0) return -1;
        }
        c = CSV_NEXT();
    }
#undef CSV_NEXT
    return csv_append(record, &used, '\0', err) == 0 ? 1 : -1;
}

void simclr_csv_record_free(simclr_csv_record *record)
{
    free(record->text);
    free(record->starts);
    memset(record, 0, sizeof *record);
}

int simclr_csv_memory_next(void *memory)
{
    simclr_csv_memory *in = memory;
    return in->position < in->size ? in->bytes[in->position++] : EOF;
}
