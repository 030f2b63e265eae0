/* The checksum each dataset file must have: the published MD5, or a line of a checksums file. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "download_internal.h"

static int is_hex(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (!isxdigit((unsigned char)text[i])) return 0;
    return 1;
}

/* One "<hex>  <name>" line (sha256sum's "<hex> *<name>" binary marker accepted). */
static int apply_line(const simclr_download_dataset *dataset, char *line, const char *path, int line_number,
                      simclr_expected_checksum *out, simclr_error *err)
{
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r' || line[length - 1] == ' '))
        line[--length] = '\0';
    if (length == 0 || line[0] == '#') return 0;
    size_t hex_length = strcspn(line, " \t");
    char *name = line + hex_length;
    while (*name == ' ' || *name == '\t') name++;
    if (*name == '*') name++;
    if ((hex_length != 32 && hex_length != 64) || !is_hex(line, hex_length) || *name == '\0')
        return simclr_error_input(err,
                                  "--checksums %s: line %d: expected '<md5 (32 hex digits) or sha256 (64)>  "
                                  "<file name>', got '%s'",
                                  path, line_number, line);
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    for (int f = 0; f < dataset->file_count; f++) {
        if (strcmp(dataset->files[f].name, base) != 0) continue;
        out[f].kind = hex_length == 32 ? SIMCLR_DIGEST_MD5 : SIMCLR_DIGEST_SHA256;
        for (size_t i = 0; i < hex_length; i++) out[f].hex[i] = (char)tolower((unsigned char)line[i]);
        out[f].hex[hex_length] = '\0';
        return 0;
    }
    return 0; /* another dataset's file: a mirror's SHA256SUMS lists them all */
}

int simclr_checksums_expected(const simclr_download_dataset *dataset, const char *checksums_path,
                              simclr_expected_checksum *out, simclr_error *err)
{
    for (int f = 0; f < dataset->file_count; f++) {
        snprintf(out[f].file, sizeof out[f].file, "%s", dataset->files[f].name);
        out[f].kind = SIMCLR_DIGEST_MD5;
        snprintf(out[f].hex, sizeof out[f].hex, "%s", dataset->files[f].md5);
    }
    if (!checksums_path) return 0;
    FILE *file = fopen(checksums_path, "r");
    if (!file)
        return simclr_error_input(err, "--checksums %s: cannot open: %s", checksums_path, strerror(errno));
    char line[1024];
    int line_number = 0;
    int status = 0;
    while (status == 0 && fgets(line, sizeof line, file)) {
        line_number++;
        status = apply_line(dataset, line, checksums_path, line_number, out, err);
    }
    fclose(file);
    return status;
}
