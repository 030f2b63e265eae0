#include "csv_fields.h"

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

static int stream_next(void *stream) { return getc((FILE *)stream); }

int csv_record_read(csv_record *record, FILE *stream, const char *path, size_t *line, simclr_error *err)
{
    return simclr_csv_record_read(record, stream_next, stream, path, line, err);
}

void csv_record_free(csv_record *record) { simclr_csv_record_free(record); }
