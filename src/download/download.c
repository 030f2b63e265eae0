/* `simclr download`: fetch, verify, unpack into place, or find everything already there. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download_internal.h"

void simclr_download_options_defaults(simclr_download_options *options)
{
    memset(options, 0, sizeof *options);
    options->timeout_seconds = 30;
    options->log = stderr;
}

__attribute__((format(printf, 2, 3))) static void note(const simclr_download_options *options, const char *format,
                                                       ...)
{
    if (options->quiet || !options->log) return;
    va_list args;
    va_start(args, format);
    vfprintf(options->log, format, args);
    va_end(args);
    fputc('\n', options->log);
    fflush(options->log);
}

static int join_path(char *out, size_t size, const char *dir, const char *name, simclr_error *err)
{
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
        return simclr_error_input(err, "--data-dir: path too long: %s/%s", dir, name);
    return 0;
}

static int exists(const char *path)
{
    struct stat info;
    return lstat(path, &info) == 0;
}

/* Leftovers of a run that was killed: temporary unpack folders (the lock says none is running). */
static void remove_leftovers(const char *data_dir)
{
    DIR *dir = opendir(data_dir);
    if (!dir) return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, ".unpack-", 8) != 0 && strncmp(entry->d_name, ".stale-", 7) != 0) continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, entry->d_name) < sizeof path)
            simclr_remove_tree(path);
    }
    closedir(dir);
}

/* Checked only once something has to be written: a complete dataset in a read-only folder is fine. */
static int require_writable(const simclr_download_options *options, simclr_error *err)
{
    if (access(options->data_dir, W_OK | X_OK) != 0)
        return simclr_error_input(err, "--data-dir %s is not writable: %s", options->data_dir, strerror(errno));
    return 0;
}

/* Fetches one file to final_path through final_path.partial and checks its checksum; a resumed
 * file that does not match is fetched once more from the start. */
static int fetch_verified(const simclr_download_options *options, const char *url, const char *final_path,
                          const char *label, const simclr_expected_checksum *expected, simclr_error *err)
{
    if (require_writable(options, err) != 0) return -1;
    char partial[4200];
    snprintf(partial, sizeof partial, "%s.partial", final_path);
    for (int attempt = 0; attempt < 2; attempt++) {
        struct stat info;
        int64_t had = stat(partial, &info) == 0 ? (int64_t)info.st_size : 0;
        note(options, "%s: fetching %s", label, url);
        simclr_transfer_progress progress;
        simclr_transfer_progress_begin(&progress, options->quiet ? NULL : options->log, label, had);
        int64_t bytes = 0;
        if (simclr_fetch_url(url, partial, options->timeout_seconds, options->stop_requested, &progress,
                             &bytes, err) != 0) {
            /* Issue 27: nothing received leaves nothing behind, and says the ways round the network. */
            if (stat(partial, &info) == 0 && info.st_size == 0) unlink(partial);
            if (err && had + bytes == 0 && strncmp(err->message, "cannot connect to ", 18) == 0)
                simclr_error_append(err,
                                    ". Without a network here: fetch %s on another machine, put it in %s and run "
                                    "this command again (it verifies the file and goes on from there); or give "
                                    "--url with a mirror's address",
                                    url, options->data_dir);
            return -1;
        }
        char actual[SIMCLR_DIGEST_HEX_MAX];
        if (simclr_digest_file(partial, expected->kind, actual, err) != 0) return -1;
        if (strcmp(actual, expected->hex) != 0) {
            unlink(partial);
            if (had > 0 && attempt == 0) {
                note(options, "%s: the resumed file does not match its %s; fetching it again from the start",
                     label, simclr_digest_name(expected->kind));
                continue;
            }
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                    "%s: checksum mismatch: %s is %s, expected %s (%s); the file was removed. "
                                    "The source sent other bytes than the published file: run again, or check "
                                    "--url",
                                    url, simclr_digest_name(expected->kind), actual, expected->hex,
                                    options->checksums_path ? options->checksums_path : "published checksum");
        }
        if (rename(partial, final_path) != 0)
            return simclr_error_system(err, "cannot rename %s to %s", partial, final_path);
        note(options, "%s: %s verified", label, simclr_digest_name(expected->kind));
        return 0;
    }
    return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: no matching file after two attempts", url);
}

static int file_url(char *out, size_t size, const simclr_download_dataset *dataset,
                    const simclr_download_options *options, const char *name, simclr_error *err)
{
    const char *base = options->url ? options->url : dataset->base_url;
    size_t length = strlen(base), name_length = strlen(name);
    /* A mirror given as the file's own URL (".../cifar-10-binary.tar.gz") is used as it is. */
    if (length > name_length && strcmp(base + length - name_length, name) == 0 &&
        base[length - name_length - 1] == '/') {
        if ((size_t)snprintf(out, size, "%s", base) >= size) return simclr_error_input(err, "--url: too long: %s", base);
        return 0;
    }
    const char *separator = length > 0 && base[length - 1] == '/' ? "" : "/";
    if ((size_t)snprintf(out, size, "%s%s%s", base, separator, name) >= size)
        return simclr_error_input(err, "--url: too long: %s", base);
    return 0;
}

/* MNIST and Fashion-MNIST: the four .gz files stay as fetched (the reader reads gzip). */
static int download_files(const simclr_download_dataset *dataset, const simclr_download_options *options,
                          const simclr_expected_checksum *expected, simclr_download_outcome *outcome,
                          simclr_error *err)
{
    int present = 0;
    for (int f = 0; f < dataset->file_count; f++) {
        char final_path[4096], url[4096];
        if (join_path(final_path, sizeof final_path, options->data_dir, dataset->files[f].name, err) != 0 ||
            file_url(url, sizeof url, dataset, options, dataset->files[f].name, err) != 0)
            return -1;
        if (exists(final_path)) {
            char actual[SIMCLR_DIGEST_HEX_MAX];
            if (simclr_digest_file(final_path, expected[f].kind, actual, err) != 0) return -1;
            if (strcmp(actual, expected[f].hex) == 0) {
                present++;
                continue;
            }
            note(options, "%s: present but its %s differs (%s, expected %s); fetching it again", final_path,
                 simclr_digest_name(expected[f].kind), actual, expected[f].hex);
        }
        if (fetch_verified(options, url, final_path, dataset->files[f].name, &expected[f], err) != 0) return -1;
    }
    simclr_sync_directory(options->data_dir);
    *outcome = present == dataset->file_count ? SIMCLR_DOWNLOAD_ALREADY_PRESENT : SIMCLR_DOWNLOAD_FETCHED;
    return 0;
}

/* Moves temp/<folder> to data_dir/<folder>, replacing a stale one, then removes the archive. */
static int move_into_place(const simclr_download_options *options, const char *temp_dir, const char *folder,
                           const char *folder_path, const char *archive_path, simclr_error *err)
{
    char unpacked[8500], stale[4200];
    snprintf(unpacked, sizeof unpacked, "%s/%s", temp_dir, folder);
    snprintf(stale, sizeof stale, "%s/.stale-%ld", options->data_dir, (long)getpid());
    int replaced = exists(folder_path);
    if (replaced && rename(folder_path, stale) != 0)
        return simclr_error_system(err, "cannot move the old %s aside", folder_path);
    if (rename(unpacked, folder_path) != 0) {
        int saved = errno;
        if (replaced) rename(stale, folder_path);
        errno = saved;
        return simclr_error_system(err, "cannot rename %s to %s", unpacked, folder_path);
    }
    simclr_sync_directory(options->data_dir);
    if (replaced) simclr_remove_tree(stale);
    simclr_remove_tree(temp_dir);
    unlink(archive_path);
    simclr_sync_directory(options->data_dir);
    return 0;
}

/* STL-10 and CIFAR: one archive, unpacked into its folder, then removed. */
static int download_archive(const simclr_download_dataset *dataset, const simclr_download_options *options,
                            const simclr_expected_checksum *expected, simclr_download_outcome *outcome,
                            simclr_error *err)
{
    const char *folder = dataset->unpacks_to;
    const char *archive_name = dataset->files[0].name;
    char folder_path[4096], archive_path[4096], url[4096], manifest_path[4200];
    if (join_path(folder_path, sizeof folder_path, options->data_dir, folder, err) != 0 ||
        join_path(archive_path, sizeof archive_path, options->data_dir, archive_name, err) != 0 ||
        file_url(url, sizeof url, dataset, options, archive_name, err) != 0)
        return -1;
    snprintf(manifest_path, sizeof manifest_path, "%s/%s", folder_path, SIMCLR_DOWNLOAD_MANIFEST);
    if (exists(folder_path)) {
        if (!exists(manifest_path))
            return simclr_error_input(err,
                                      "%s exists but was not written by simclr download (it has no %s): if it "
                                      "is complete, use it as it is (--dataset %s --data-dir %s); otherwise "
                                      "move it away and run again",
                                      folder_path, SIMCLR_DOWNLOAD_MANIFEST, dataset->name, options->data_dir);
        char reason[8400];
        int verdict = simclr_manifest_verify(folder_path, dataset->expected, dataset->expected_count, reason,
                                             sizeof reason, err);
        if (verdict < 0) return -1;
        if (verdict == 1) {
            *outcome = SIMCLR_DOWNLOAD_ALREADY_PRESENT;
            return 0;
        }
        note(options, "%s: %s; fetching it again", folder_path, reason);
    }
    int have_archive = 0;
    if (exists(archive_path)) {
        char actual[SIMCLR_DIGEST_HEX_MAX];
        if (simclr_digest_file(archive_path, expected[0].kind, actual, err) != 0) return -1;
        have_archive = strcmp(actual, expected[0].hex) == 0;
        if (have_archive) note(options, "%s: already here and verified; unpacking it", archive_path);
        else unlink(archive_path);
    }
    if (!have_archive && fetch_verified(options, url, archive_path, archive_name, &expected[0], err) != 0)
        return -1;

    if (require_writable(options, err) != 0) return -1;
    char temp_dir[4200];
    snprintf(temp_dir, sizeof temp_dir, "%s/.unpack-%ld", options->data_dir, (long)getpid());
    simclr_remove_tree(temp_dir);
    if (mkdir(temp_dir, 0777) != 0) return simclr_error_system(err, "cannot create %s", temp_dir);
    note(options, "%s: unpacking into %s", archive_name, folder_path);
    int damaged = 0;
    if (simclr_unpack_archive(archive_path, temp_dir, folder, dataset->expected, dataset->expected_count,
                              options->stop_requested, &damaged, err) != 0) {
        simclr_remove_tree(temp_dir);
        if (damaged) {
            unlink(archive_path);
            simclr_error_append(err, "; nothing was unpacked and the archive was removed");
        }
        return -1;
    }
    if (move_into_place(options, temp_dir, folder, folder_path, archive_path, err) != 0) {
        simclr_remove_tree(temp_dir);
        return -1;
    }
    *outcome = SIMCLR_DOWNLOAD_FETCHED;
    return 0;
}

/* One `simclr download` at a time per folder: an flock on the folder itself, held for the run. */
static int lock_data_dir(const char *data_dir, int *fd, simclr_error *err)
{
    *fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return simclr_error_input(err, "--data-dir %s: cannot open: %s", data_dir, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return simclr_error_input(err, "--data-dir %s: another simclr download is running there", data_dir);
    }
    return 0;
}

/* The folders of path that do not exist yet, deepest first (at most max). */
static int missing_folders(const char *path, char folders[][4096], int max)
{
    char probe[4096];
    snprintf(probe, sizeof probe, "%s", path);
    int count = 0;
    while (count < max && probe[0]) {
        size_t length = strlen(probe);
        while (length > 1 && probe[length - 1] == '/') probe[--length] = '\0';
        struct stat info;
        if (stat(probe, &info) == 0) break;
        snprintf(folders[count++], 4096, "%s", probe);
        char *slash = strrchr(probe, '/');
        if (!slash || slash == probe) break;
        *slash = '\0';
    }
    return count;
}

int simclr_download(const simclr_download_dataset *dataset, const simclr_download_options *options,
                    simclr_download_outcome *outcome, simclr_error *err)
{
    *outcome = SIMCLR_DOWNLOAD_FETCHED;
    if (!dataset) return simclr_error_input(err, "unknown dataset; expected one of %s", simclr_download_names());
    if (!options->data_dir || !options->data_dir[0])
        return simclr_error_input(err, "--data-dir DIR is required: the folder the dataset goes into");
    if (options->timeout_seconds < 1)
        return simclr_error_input(err, "--timeout %ld: expected at least 1 second", options->timeout_seconds);
    simclr_expected_checksum expected[SIMCLR_DOWNLOAD_MAX_FILES];
    if (simclr_checksums_expected(dataset, options->checksums_path, expected, err) != 0) return -1;
    /* Issue 27: the folders this run creates are removed again when it fails leaving them empty. */
    char created[8][4096];
    int created_count = missing_folders(options->data_dir, created, 8);
    if (simclr_make_directories(options->data_dir, "--data-dir", err) != 0) return -1;
    static int curl_ready = 0;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "libcurl cannot start");
        curl_ready = 1;
    }
    int lock_fd = -1;
    if (lock_data_dir(options->data_dir, &lock_fd, err) != 0) return -1;
    remove_leftovers(options->data_dir);
    int status = dataset->unpacks_to ? download_archive(dataset, options, expected, outcome, err)
                                     : download_files(dataset, options, expected, outcome, err);
    close(lock_fd);
    if (status != 0)
        for (int i = 0; i < created_count; i++)
            if (rmdir(created[i]) != 0) break; /* not empty: a partial download is kept */
    return status;
}
