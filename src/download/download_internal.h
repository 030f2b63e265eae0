#ifndef SIMCLR_DOWNLOAD_INTERNAL_H
#define SIMCLR_DOWNLOAD_INTERNAL_H
/* The pieces of `simclr download`: digests, checksum files, HTTP fetch with resume, unpacking. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "simclr/download.h"
#include "simclr/error.h"

/* ---- digest.c: MD5 / SHA-256 through OpenSSL's EVP interface ---- */
typedef enum simclr_digest_kind { SIMCLR_DIGEST_MD5, SIMCLR_DIGEST_SHA256 } simclr_digest_kind;

#define SIMCLR_DIGEST_HEX_MAX 65 /* 64 hex digits of SHA-256 and the terminator */

typedef struct simclr_digest {
    void *context; /* EVP_MD_CTX */
    simclr_digest_kind kind;
} simclr_digest;

int simclr_digest_begin(simclr_digest *digest, simclr_digest_kind kind, simclr_error *err);
void simclr_digest_update(simclr_digest *digest, const void *bytes, size_t size);
/* Writes lowercase hex into hex (SIMCLR_DIGEST_HEX_MAX bytes) and frees the context. */
void simclr_digest_end(simclr_digest *digest, char *hex);
/* Frees the context without a result (on an error path). */
void simclr_digest_abort(simclr_digest *digest);
/* "md5" / "sha256". */
const char *simclr_digest_name(simclr_digest_kind kind);
/* The digest of a whole file; err names path on a read failure. */
int simclr_digest_file(const char *path, simclr_digest_kind kind, char *hex, simclr_error *err);

/* ---- checksums.c: the expected checksum of each file, published or overridden ---- */
typedef struct simclr_expected_checksum {
    char file[256];
    simclr_digest_kind kind;
    char hex[SIMCLR_DIGEST_HEX_MAX];
} simclr_expected_checksum;

/* One entry per dataset file: the published MD5, replaced by the line of the checksums file
 * (md5sum or sha256sum format: "<hex>  <name>", 32 hex digits for MD5, 64 for SHA-256) that
 * names it (lines naming other files are skipped). A badly formed line: SIMCLR_ERROR_KIND_INPUT
 * naming the line. */
int simclr_checksums_expected(const simclr_download_dataset *dataset, const char *checksums_path,
                              simclr_expected_checksum *out, simclr_error *err);

/* ---- transfer_progress.c: the progress bar on a terminal, a few plain lines otherwise ---- */
typedef struct simclr_transfer_progress {
    FILE *stream;      /* NULL: silent */
    int is_terminal;
    const char *label; /* file name */
    double started;
    double last_draw;
    int64_t resumed_at;  /* bytes already there when the transfer started */
    int last_decile;     /* plain lines: the last 10 % step reported */
    int drawn;           /* a bar is on screen (needs a newline before other output) */
} simclr_transfer_progress;

void simclr_transfer_progress_begin(simclr_transfer_progress *progress, FILE *stream, const char *label,
                                    int64_t resumed_at);
/* done and total count from the start of the file; total 0 when unknown. */
void simclr_transfer_progress_update(simclr_transfer_progress *progress, int64_t done, int64_t total);
/* Final line ("fetched ... in ... s") when ok, or just ends the bar. */
void simclr_transfer_progress_end(simclr_transfer_progress *progress, int64_t done, int ok);

/* ---- fetch.c: one URL into a partial file, resuming it ---- */
/* Fetches url into partial_path: appends after the bytes already there (HTTP Range) when the
 * server allows it, starts over when it answers the whole file. On failure err says why
 * (connection, HTTP status, timeout, cut transfer, full disk) and the partial file is kept so
 * that the next call resumes. *bytes receives the partial file's size at the end. */
int simclr_fetch_url(const char *url, const char *partial_path, long timeout_seconds,
                     const volatile sig_atomic_t *stop_requested, simclr_transfer_progress *progress,
                     int64_t *bytes, simclr_error *err);

/* ---- unpack.c: an archive into a folder, recording every file's SHA-256 ---- */
/* Unpacks archive_path (tar, tar.gz, zip: whatever libarchive reads) under dest_dir, which must
 * exist. Only regular files and folders with relative paths without ".." are accepted. Writes
 * "<dest_dir>/<folder>/.simclr-sha256sums" listing every regular file under folder (paths
 * relative to it) and fails unless every name in expected exists there. On failure *damaged
 * tells whether the archive itself is at fault (truncated, corrupt, unsafe, not the expected
 * layout) rather than the disk. */
int simclr_unpack_archive(const char *archive_path, const char *dest_dir, const char *folder,
                          const char *const *expected, int expected_count,
                          const volatile sig_atomic_t *stop_requested, int *damaged, simclr_error *err);

#define SIMCLR_DOWNLOAD_MANIFEST ".simclr-sha256sums"

/* Checks folder against its manifest: every listed file present with its SHA-256 and every name
 * in expected listed. Returns 1 when it all holds, 0 when not (reason gets why), -1 on an error
 * reading the manifest itself. */
int simclr_manifest_verify(const char *folder, const char *const *expected, int expected_count,
                           char *reason, size_t reason_size, simclr_error *err);

/* ---- file_tree.c: folders ---- */
/* mkdir -p; err names path when it cannot be created (input kind; resource when the disk is full)
 * or is not a folder. */
int simclr_make_directories(const char *path, const char *what, simclr_error *err);
/* rm -rf path; best effort, returns 0 when path is gone. */
int simclr_remove_tree(const char *path);
/* fsync of a folder (after a rename into it). */
void simclr_sync_directory(const char *path);

#endif
