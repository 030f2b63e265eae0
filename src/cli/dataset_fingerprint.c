#include "dataset_fingerprint.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FINGERPRINT_MAX_DEPTH 8

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

int dataset_fingerprint_compute(const char *data_dir, dataset_fingerprint *fingerprint, simclr_error *err)
{
    memset(fingerprint, 0, sizeof *fingerprint);
    simclr_digest hash;
    if (simclr_digest_begin(&hash, SIMCLR_DIGEST_SHA256, err) != 0) return -1;
    if (walk(data_dir, "", 0, &hash, fingerprint, err) != 0) {
        simclr_digest_abort(&hash);
        return -1;
    }
    simclr_digest_end(&hash, fingerprint->sha256);
    return 0;
}
