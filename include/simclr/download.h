#ifndef SIMCLR_DOWNLOAD_H
#define SIMCLR_DOWNLOAD_H
/*
 * Fetching the public datasets into the layout the readers expect (`simclr download`).
 *
 * A dataset is a list of files published at a base URL with their MD5s. Each file is fetched with
 * libcurl into "<data_dir>/<file>.partial" (a rerun resumes it with an HTTP Range request), its
 * checksum is verified (a mismatch removes it), and it is renamed to "<data_dir>/<file>". An
 * archive (STL-10, CIFAR) is then unpacked with libarchive into a temporary folder inside
 * data_dir and renamed into place as a whole, with "<folder>/.simclr-sha256sums" recording the
 * SHA-256 of every file it holds (the format of `sha256sum`); the archive is removed once the
 * folder is in place. A second run finds the folder (or, for MNIST, the verified .gz files), checks
 * it and does nothing.
 *
 *     const simclr_download_dataset *cifar = simclr_download_find("cifar10");
 *     simclr_download_options options;
 *     simclr_download_options_defaults(&options);
 *     options.data_dir = "data";
 *     simclr_download_outcome outcome;
 *     if (simclr_download(cifar, &options, &outcome, &err) != 0) ...  // err says what and where
 */
#include <signal.h>
#include <stdio.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_download_file {
    const char *name; /* file name at the source, e.g. "cifar-10-binary.tar.gz" */
    const char *md5;  /* published MD5, 32 lowercase hex digits */
} simclr_download_file;

#define SIMCLR_DOWNLOAD_MAX_FILES 4
#define SIMCLR_DOWNLOAD_MAX_EXPECTED 8

typedef struct simclr_download_dataset {
    const char *name;     /* as given to --dataset: "cifar10" */
    const char *base_url; /* official source; a file's URL is base_url + file name */
    /* Folder the archive unpacks to ("cifar-10-batches-bin"); NULL: the files are used as fetched
     * (MNIST's .gz files, which the reader reads directly). */
    const char *unpacks_to;
    int file_count;
    simclr_download_file files[SIMCLR_DOWNLOAD_MAX_FILES];
    /* What the reader needs, relative to unpacks_to: an archive lacking one is refused. */
    int expected_count;
    const char *expected[SIMCLR_DOWNLOAD_MAX_EXPECTED];
} simclr_download_dataset;

/* The dataset called name, or NULL. */
const simclr_download_dataset *simclr_download_find(const char *name);
/* "stl10|cifar10|cifar100|mnist|fashion-mnist": every name simclr_download_find knows. */
const char *simclr_download_names(void);

typedef struct simclr_download_options {
    const char *data_dir;       /* created if missing */
    const char *url;            /* mirror: replaces base_url (a '/' is added if missing); NULL: official */
    const char *checksums_path; /* md5sum/sha256sum-format file replacing published checksums; NULL: none */
    long timeout_seconds;       /* connect timeout, and the longest time without a byte received */
    int quiet;                  /* no progress and no notes, errors only */
    FILE *log;                  /* progress bar and notes (stderr by default) */
    /* When *stop_requested becomes non-zero (a signal handler sets it), the transfer or the
     * unpacking stops: SIMCLR_ERROR_KIND_INTERRUPTED, the partial file or the verified archive
     * kept, the temporary folder removed. NULL: not interruptible. */
    const volatile sig_atomic_t *stop_requested;
} simclr_download_options;

/* data_dir NULL, official URLs, published checksums, 30 s timeout, not quiet, log to stderr. */
void simclr_download_options_defaults(simclr_download_options *options);

typedef enum simclr_download_outcome {
    SIMCLR_DOWNLOAD_FETCHED = 0,     /* something was fetched or unpacked */
    SIMCLR_DOWNLOAD_ALREADY_PRESENT, /* everything was there and verified; nothing done */
} simclr_download_outcome;

/*
 * Makes dataset present and verified in options->data_dir. Errors: SIMCLR_ERROR_KIND_INPUT for
 * what the caller can fix (unwritable data_dir, a bad checksums file, a folder in the way that
 * simclr did not write), SIMCLR_ERROR_KIND_RESOURCE for the network, a checksum mismatch, a bad
 * archive or a full disk; the message says whether a partial file was kept for resuming.
 */
int simclr_download(const simclr_download_dataset *dataset, const simclr_download_options *options,
                    simclr_download_outcome *outcome, simclr_error *err);

SIMCLR_END_DECLS
#endif
