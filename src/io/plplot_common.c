/* What the PLplot figures share: text escaping, the device check, committing PLplot's output. */
#include "plplot_common.h"

#include <plplot.h>
#include <stdlib.h>
#include <string.h>

/* PLplot treats '#' as the start of an escape sequence; "##" draws one '#'. */
void simclr_plplot_escape_text(const char *text, char *out, size_t size)
{
    size_t used = 0;
    for (const char *c = text ? text : ""; *c && used + 3 < size; c++) {
        if (*c == '#') out[used++] = '#';
        out[used++] = *c;
    }
    out[used] = '\0';
}

int simclr_plplot_has_device(const char *device)
{
    int count = 128;
    const char **menus = calloc((size_t)count, sizeof *menus);
    const char **names = calloc((size_t)count, sizeof *names);
    int found = 0;
    if (menus && names) {
        plgDevs(&menus, &names, &count);
        for (int i = 0; i < count && !found; i++) found = names[i] && strcmp(names[i], device) == 0;
    }
    free(menus);
    free(names);
    return found;
}

/* Checks the temporary file PLplot wrote is a PNG and commits it; removes it otherwise. */
int simclr_plplot_commit_output(simclr_atomic_file *file, simclr_error *err)
{
    static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char start[8];
    file->stream = fopen(file->temp_path, "r+b");
    if (!file->stream || fread(start, 1, 8, file->stream) != 8 ||
        memcmp(start, png_signature, 8) != 0) {
        simclr_atomic_file_abort(file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                         "cannot write plot %s: PLplot's pngcairo device produced no PNG", file->path);
    }
    return simclr_atomic_file_commit(file, err);
}

