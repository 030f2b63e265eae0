#include "csv_fields.h"

#include <stdlib.h>
#include <string.h>

void csv_write_field(FILE *stream, const char *text)
{
    if (!strpbrk(text, ",\"\n\r")) {
        fputs(text, stream);
        return;
    }
    fputc('"', stream);
    for (const char *c = text; *c; c++) {
        if (*c == '"') fputc('"', stream);
        fputc(*c, stream);
    }
    fputc('"', stream);
}

static int append_char(csv_record *record, size_t *used, char c, simclr_error *err)
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

static int start_field(csv_record *record, size_t used, simclr_error *err)
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

int csv_record_read(csv_record *record, FILE *stream, const char *path, size_t *line, simclr_error *err)
{
    record->field_count = 0;
    size_t used = 0, first_line = *line + 1;
    int c = getc(stream);
    if (c == EOF) return 0;
    if (start_field(record, used, err) != 0) return -1;
    int quoted = 0;
    for (;; c = getc(stream)) {
        if (quoted) {
            if (c == EOF)
                return simclr_error_input(err, "%s: line %zu: a quoted field is not closed", path, first_line);
            if (c == '"') {
                int next = getc(stream);
                if (next != '"') {
                    quoted = 0;
                    if (next != EOF) ungetc(next, stream);
                    continue;
                }
            }
            if (c == '\n') (*line)++;
            if (append_char(record, &used, (char)c, err) != 0) return -1;
        } else if (c == '"') {
            quoted = 1;
        } else if (c == ',') {
            if (append_char(record, &used, '\0', err) != 0 || start_field(record, used, err) != 0) return -1;
        } else if (c == '\n' || c == EOF) {
            (*line)++;
            break;
        } else if (c != '\r') {
            if (append_char(record, &used, (char)c, err) != 0) return -1;
        }
    }
    return append_char(record, &used, '\0', err) == 0 ? 1 : -1;
}

void csv_record_free(csv_record *record)
{
    free(record->text);
    free(record->starts);
    memset(record, 0, sizeof *record);
}
