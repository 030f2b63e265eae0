/* Unpacking an archive with libarchive: regular files and folders only, no path leaving the
 * destination, every file fsynced and its SHA-256 recorded in the folder's manifest. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download_internal.h"

typedef struct manifest_entry {
    char path[1024]; /* relative to the folder */
    char sha256[SIMCLR_DIGEST_HEX_MAX];
} manifest_entry;

typedef struct manifest {
    manifest_entry *entries;
    size_t count, capacity;
} manifest;

static int manifest_add(manifest *m, const char *path, const char *sha256, simclr_error *err)
{
    if (m->count == m->capacity) {
        size_t capacity = m->capacity ? 2 * m->capacity : 16;
        manifest_entry *grown = realloc(m->entries, capacity * sizeof *grown);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory listing %s", path);
        m->entries = grown;
        m->capacity = capacity;
    }
    snprintf(m->entries[m->count].path, sizeof m->entries[m->count].path, "%s", path);
    snprintf(m->entries[m->count].sha256, sizeof m->entries[m->count].sha256, "%s", sha256);
    m->count++;
    return 0;
}

/* A relative path without "..", "." or empty components (a trailing '/' allowed). */
static int path_is_safe(const char *path)
{
    if (!path || !*path || path[0] == '/') return 0;
    const char *cursor = path;
    while (*cursor) {
        const char *end = strchr(cursor, '/');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        if (length == 0 && end && end[1] != '\0') return 0;
        if ((length == 1 && cursor[0] == '.') || (length == 2 && cursor[0] == '.' && cursor[1] == '.'))
            return 0;
        if (!end) break;
        cursor = end + 1;
    }
    return 1;
}

static int parent_directories(const char *dest_dir, const char *relative, simclr_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dest_dir, relative) >= (int)sizeof path)
        return simclr_error_input(err, "archive entry path too long: %s", relative);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    return simclr_make_directories(path, "unpacking", err);
}

static int write_failure(const char *path, const char *archive_path, simclr_error *err)
{
    if (errno == ENOSPC || errno == EDQUOT)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "disk full unpacking %s (writing %s); the unpacked files were removed, the "
                                "verified archive is kept: free some space and run the same command again",
                                archive_path, path);
    return simclr_error_system(err, "cannot write %s (unpacking %s)", path, archive_path);
}

/* Copies the entry's data into dest_dir/relative, hashing it. */
static int extract_file(struct archive *reader, const char *archive_path, const char *dest_dir,
                        const char *relative, char *sha256, int *damaged, simclr_error *err)
{
    if (parent_directories(dest_dir, relative, err) != 0) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dest_dir, relative);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        if (errno == EEXIST) {
            *damaged = 1;
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: the archive holds %s twice",
                                    archive_path, relative);
        }
        return write_failure(path, archive_path, err);
    }
    simclr_digest digest;
    if (simclr_digest_begin(&digest, SIMCLR_DIGEST_SHA256, err) != 0) {
        close(fd);
        return -1;
    }
    la_int64_t written = 0;
    for (;;) {
        const void *block = NULL;
        size_t size = 0;
        la_int64_t offset = 0;
        int status = archive_read_data_block(reader, &block, &size, &offset);
        if (status == ARCHIVE_EOF) break;
        if (status < ARCHIVE_WARN) {
            simclr_digest_abort(&digest);
            close(fd);
            *damaged = 1;
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                    "%s is damaged or truncated (reading %s): %s", archive_path, relative,
                                    archive_error_string(reader));
        }
        if (offset != written) { /* a sparse entry: the datasets' archives have none */
            simclr_digest_abort(&digest);
            close(fd);
            *damaged = 1;
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: %s is a sparse file; refused",
                                    archive_path, relative);
        }
        written += (la_int64_t)size;
        simclr_digest_update(&digest, block, size);
        size_t done = 0;
        while (done < size) {
            ssize_t wrote = write(fd, (const char *)block + done, size - done);
            if (wrote < 0 && errno == EINTR) continue;
            if (wrote < 0) {
                int saved = errno;
                simclr_digest_abort(&digest);
                close(fd);
                errno = saved;
                return write_failure(path, archive_path, err);
            }
            done += (size_t)wrote;
        }
    }
    simclr_digest_end(&digest, sha256);
    if (fsync(fd) != 0 || close(fd) != 0) return write_failure(path, archive_path, err);
    return 0;
}

static int write_manifest(const manifest *m, const char *folder_path, simclr_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", folder_path, SIMCLR_DOWNLOAD_MANIFEST) >= sizeof path)
        return simclr_error_input(err, "path too long: %s", folder_path);
    FILE *file = fopen(path, "w");
    if (!file) return write_failure(path, folder_path, err);
    for (size_t i = 0; i < m->count; i++) fprintf(file, "%s  %s\n", m->entries[i].sha256, m->entries[i].path);
    int failed = fflush(file) != 0 || fsync(fileno(file)) != 0;
    int saved = errno;
    if (fclose(file) != 0) failed = 1;
    else errno = saved;
    if (failed) return write_failure(path, folder_path, err);
    return 0;
}

int simclr_unpack_archive(const char *archive_path, const char *dest_dir, const char *folder,
                          const char *const *expected, int expected_count,
                          const volatile sig_atomic_t *stop_requested, int *damaged, simclr_error *err)
{
    *damaged = 0;
    struct archive *reader = archive_read_new();
    if (!reader) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "libarchive cannot start");
    archive_read_support_filter_all(reader);
    archive_read_support_format_all(reader);
    if (archive_read_open_filename(reader, archive_path, 1 << 16) != ARCHIVE_OK) {
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s is not an archive libarchive reads: %s",
                         archive_path, archive_error_string(reader));
        *damaged = 1;
        archive_read_free(reader);
        return -1;
    }
    manifest m = {0};
    size_t prefix_length = strlen(folder);
    int status = 0;
    struct archive_entry *entry;
    for (;;) {
        if (stop_requested && *stop_requested) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED,
                                      "unpacking %s interrupted; the verified archive is kept: run the same "
                                      "command again to unpack it",
                                      archive_path);
            break;
        }
        int header = archive_read_next_header(reader, &entry);
        if (header == ARCHIVE_EOF) break;
        if (header < ARCHIVE_WARN) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s is damaged or truncated: %s",
                                      archive_path, archive_error_string(reader));
            *damaged = 1;
            break;
        }
        const char *name = archive_entry_pathname(entry);
        while (name && name[0] == '.' && name[1] == '/') name += 2; /* "./stl10_binary/..." */
        if (!path_is_safe(name)) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                      "%s holds the unsafe path '%s' (absolute or with ..); nothing unpacked",
                                      archive_path, name ? name : "(none)");
            *damaged = 1;
            break;
        }
        mode_t type = archive_entry_filetype(entry);
        if (type == AE_IFDIR) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dest_dir, name);
            if ((status = simclr_make_directories(path, "unpacking", err)) != 0) break;
            continue;
        }
        if (type != AE_IFREG || archive_entry_hardlink(entry)) {
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                      "%s holds '%s', which is not a regular file or folder; refused",
                                      archive_path, name);
            *damaged = 1;
            break;
        }
        char sha256[SIMCLR_DIGEST_HEX_MAX];
        if ((status = extract_file(reader, archive_path, dest_dir, name, sha256, damaged, err)) != 0) break;
        if (strncmp(name, folder, prefix_length) == 0 && name[prefix_length] == '/' &&
            (status = manifest_add(&m, name + prefix_length + 1, sha256, err)) != 0)
            break;
    }
    archive_read_free(reader);
    for (int e = 0; status == 0 && e < expected_count; e++) {
        int found = 0;
        for (size_t i = 0; i < m.count && !found; i++) found = strcmp(m.entries[i].path, expected[e]) == 0;
        if (!found)
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                      "%s holds no %s/%s, which the reader needs: not the expected archive",
                                      archive_path, folder, expected[e]);
        *damaged = status != 0;
    }
    if (status == 0) {
        char folder_path[4096];
        snprintf(folder_path, sizeof folder_path, "%s/%s", dest_dir, folder);
        status = write_manifest(&m, folder_path, err);
        if (status == 0) simclr_sync_directory(folder_path);
    }
    free(m.entries);
    return status;
}

int simclr_manifest_verify(const char *folder, const char *const *expected, int expected_count, char *reason,
                           size_t reason_size, simclr_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", folder, SIMCLR_DOWNLOAD_MANIFEST) >= sizeof path)
        return simclr_error_input(err, "path too long: %s", folder);
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(reason, reason_size, "%s is missing", path);
        return 0;
    }
    int listed[SIMCLR_DOWNLOAD_MAX_EXPECTED] = {0};
    char line[1200];
    int line_number = 0, verdict = 1;
    while (verdict == 1 && fgets(line, sizeof line, file)) {
        line_number++;
        line[strcspn(line, "\n")] = '\0';
        if (strlen(line) < 67 || line[64] != ' ' || line[65] != ' ') {
            snprintf(reason, reason_size, "%s: line %d is not '<sha256>  <file>'", path, line_number);
            verdict = 0;
            break;
        }
        line[64] = '\0';
        const char *name = line + 66;
        if (!path_is_safe(name)) {
            snprintf(reason, reason_size, "%s: line %d names an unsafe path", path, line_number);
            verdict = 0;
            break;
        }
        for (int e = 0; e < expected_count; e++)
            if (strcmp(name, expected[e]) == 0) listed[e] = 1;
        char member[4096], actual[SIMCLR_DIGEST_HEX_MAX];
        snprintf(member, sizeof member, "%s/%s", folder, name);
        simclr_error read_error = {0};
        if (simclr_digest_file(member, SIMCLR_DIGEST_SHA256, actual, &read_error) != 0) {
            snprintf(reason, reason_size, "%s", simclr_error_message(&read_error));
            simclr_error_clear(&read_error);
            verdict = 0;
        } else if (strcmp(actual, line) != 0) {
            snprintf(reason, reason_size, "%s changed since it was unpacked (sha256 %s, recorded %s)", member,
                     actual, line);
            verdict = 0;
        }
    }
    if (verdict == 1 && ferror(file)) verdict = simclr_error_system(err, "cannot read %s", path);
    fclose(file);
    for (int e = 0; verdict == 1 && e < expected_count; e++) {
        if (!listed[e]) {
            snprintf(reason, reason_size, "%s does not list %s", path, expected[e]);
            verdict = 0;
        }
    }
    return verdict;
}
