#include "dataset_fingerprint.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/file_list.h"

#define FINGERPRINT_MAX_DEPTH 16 /* as deep as the folder walk reads images (FOLDER_WALK_MAX_DEPTH) */

static int skip_hidden(const struct dirent *entry) { return entry->d_name[0] != '.'; }

static int walk(const char *root, const char *relative, int depth, simclr_digest *hash,
                dataset_fingerprint *fingerprint, simclr_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, relative[0] ? "/" : "", relative);
    struct dirent **entries = NULL;
    int count = scandir(path, &entries, skip_hidden, alphasort);
    if (count < 0) return simclr_error_input(err, "--data-dir: cannot list %s", path);
    int status = 0;
    for (int i = 0; i < count; i++) {
        char child[4096], child_path[8192];
        snprintf(child, sizeof child, "%s%s%s", relative, relative[0] ? "/" : "", entries[i]->d_name);
        snprintf(child_path, sizeof child_path, "%s/%s", root, child);
        struct stat info;
        if (status == 0 && stat(child_path, &info) == 0) {
            if (S_ISDIR(info.st_mode) && depth < FINGERPRINT_MAX_DEPTH) {
                status = walk(root, child, depth + 1, hash, fingerprint, err);
            } else if (S_ISREG(info.st_mode)) {
                char line[8192 + 32];
                int length = snprintf(line, sizeof line, "%s\t%lld\n", child, (long long)info.st_size);
                simclr_digest_update(hash, line, (size_t)length);
                fingerprint->file_count++;
                fingerprint->total_bytes += (long long)info.st_size;
            }
        }
        free(entries[i]);
    }
    free(entries);
    return status;
}

/* Issue 25: a list file (--file-list): its bytes, then each listed file's path and size, in list
 * order ("-1" for one that is missing). */
static int hash_file_list(const char *path, simclr_digest *hash, dataset_fingerprint *fingerprint, simclr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_input(err, "--file-list: cannot read %s", path);
    long long size = 0;
    char buffer[65536];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, file)) > 0) {
        simclr_digest_update(hash, buffer, got);
        size += (long long)got;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) return simclr_error_input(err, "--file-list: cannot read %s", path);
    fingerprint->file_count = 1;
    fingerprint->total_bytes = size;
    simclr_file_list list;
    if (simclr_file_list_read(&list, path, err) != 0) return -1;
    for (size_t i = 0; i < list.count; i++) {
        struct stat info;
        long long bytes = stat(list.entries[i].path, &info) == 0 && S_ISREG(info.st_mode) ? (long long)info.st_size : -1;
        char line[64];
        int length = snprintf(line, sizeof line, "\t%lld\n", bytes);
        simclr_digest_update(hash, list.entries[i].path, strlen(list.entries[i].path));
        simclr_digest_update(hash, line, (size_t)length);
        if (bytes >= 0) {
            fingerprint->file_count++;
            fingerprint->total_bytes += bytes;
        }
    }
    simclr_file_list_free(&list);
    return 0;
}

int dataset_fingerprint_compute(const char *data_dir, dataset_fingerprint *fingerprint, simclr_error *err)
{
    memset(fingerprint, 0, sizeof *fingerprint);
    simclr_digest hash;
    if (simclr_digest_begin(&hash, SIMCLR_DIGEST_SHA256, err) != 0) return -1;
    struct stat info;
    int is_list = stat(data_dir, &info) == 0 && S_ISREG(info.st_mode);
    if ((is_list ? hash_file_list(data_dir, &hash, fingerprint, err) : walk(data_dir, "", 0, &hash, fingerprint, err)) !=
        0) {
        simclr_digest_abort(&hash);
        return -1;
    }
    simclr_digest_end(&hash, fingerprint->sha256);
    return 0;
}
