#include "simclr/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int simclr_atomic_file_open(simclr_atomic_file *file, const char *path, simclr_error *err)
{
    memset(file, 0, sizeof *file);
    if (strlen(path) >= sizeof file->path)
        return simclr_error_input(err, "output path too long: %s", path);
    snprintf(file->path, sizeof file->path, "%s", path);
    snprintf(file->temp_path, sizeof file->temp_path, "%s.tmp.%ld", path, (long)getpid());
    file->stream = fopen(file->temp_path, "wb");
    if (!file->stream)
        return simclr_error_system(err, "cannot create %s (writing %s)", file->temp_path, path);
    return 0;
}

static void sync_directory_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int simclr_atomic_file_commit(simclr_atomic_file *file, simclr_error *err)
{
    FILE *stream = file->stream;
    file->stream = NULL;
    if (!stream) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: file was not open", file->path);
    int failed = ferror(stream) != 0;
    const char *step = "write";
    if (!failed && fflush(stream) != 0) {
        failed = 1;
        step = "flush";
    }
    if (!failed && fsync(fileno(stream)) != 0) {
        failed = 1;
        step = "fsync";
    }
    int saved_errno = errno;
    if (fclose(stream) != 0 && !failed) {
        failed = 1;
        step = "close";
        saved_errno = errno;
    }
    if (!failed && rename(file->temp_path, file->path) != 0) {
        failed = 1;
        step = "rename";
        saved_errno = errno;
    }
    if (failed) {
        remove(file->temp_path);
        errno = saved_errno;
        return simclr_error_system(err, "cannot write %s (%s failed; any previous file is intact)",
                            file->path, step);
    }
    sync_directory_of(file->path);
    return 0;
}

void simclr_atomic_file_abort(simclr_atomic_file *file)
{
    if (file->stream) {
        fclose(file->stream);
        file->stream = NULL;
    }
    remove(file->temp_path);
}

int simclr_atomic_file_write_all(const char *path, const void *bytes, size_t size, simclr_error *err)
{
    simclr_atomic_file file;
    if (simclr_atomic_file_open(&file, path, err) != 0) return -1;
    if (size && fwrite(bytes, 1, size, file.stream) != size) {
        int saved_errno = errno;
        simclr_atomic_file_abort(&file);
        errno = saved_errno;
        return simclr_error_system(err, "cannot write %s (previous file intact)", path);
    }
    return simclr_atomic_file_commit(&file, err);
}
