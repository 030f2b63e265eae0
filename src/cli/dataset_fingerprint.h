#ifndef SIMCLR_CLI_DATASET_FINGERPRINT_H
#define SIMCLR_CLI_DATASET_FINGERPRINT_H
/*
 * A cheap fingerprint of a dataset's files, recorded with every run so --resume notices when the
 * data changed underneath it: every regular file under the data directory (recursively, symbolic
 * links followed, names starting with '.' skipped), in sorted order, hashed as
 * "<relative path>\t<size>\n" with SHA-256, plus the file count and total bytes. Only directory
 * entries are read (stat), never the images. A folder dataset read from a list file (--file-list,
 * issue 25: data_dir is then the list) is hashed as the list's bytes, then "<path>\t<size>\n" for
 * each path it names, in its order (size -1 for a missing file); the count and bytes are the
 * list's and the listed files'.
 */
#include "simclr/error.h"
#include "download/download_internal.h" /* SHA-256 through OpenSSL */

typedef struct dataset_fingerprint {
    long long file_count;
    long long total_bytes;
    char sha256[SIMCLR_DIGEST_HEX_MAX];
} dataset_fingerprint;

int dataset_fingerprint_compute(const char *data_dir, dataset_fingerprint *fingerprint, simclr_error *err);

#endif
