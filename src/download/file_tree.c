/* Folders for `simclr download`: create with parents, remove a whole tree, sync after a rename. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download_internal.h"

int simclr_make_directories(const char *path, const char *what, simclr_error *err)
{
    char partial[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof partial)
        return simclr_error_input(err, "%s: invalid folder '%s'", what, path);
    memcpy(partial, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] != '/' && partial[i] != '\0') continue;
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST) {
            if (errno == ENOSPC || errno == EDQUOT)
                return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: disk full: cannot create folder %s",
                                        what, partial);
            return simclr_error_input(err, "%s: cannot create folder %s: %s", what, partial, strerror(errno));
        }
        partial[i] = saved;
    }
    struct stat info;
    if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode))
        return simclr_error_input(err, "%s: %s exists and is not a folder", what, path);
    return 0;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *where)
{
    (void)info;
    (void)where;
    if (type == FTW_DP) rmdir(path);
    else unlink(path);
    return 0; /* keep going: whatever cannot be removed shows in simclr_remove_tree's result */
}

int simclr_remove_tree(const char *path)
{
    struct stat info;
    if (lstat(path, &info) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(info.st_mode)) return unlink(path);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return lstat(path, &info) != 0 && errno == ENOENT ? 0 : -1;
}

void simclr_sync_directory(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}
