#include "run_directory.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int run_directory_runs(const char *command, const char *runs[3])
{
    if (strcmp(command, "experiment") == 0) {
        runs[0] = "baseline";
        runs[1] = "pretrain";
        runs[2] = "finetune";
        return 3;
    }
    runs[0] = command;
    return 1;
}

/* The names of every file the command writes, into names (room for 16); returns the count. */
static int output_names(const char *command, char names[16][64])
{
    const char *runs[3];
    int run_count = run_directory_runs(command, runs);
    int count = 0;
    for (int r = 0; r < run_count; r++) {
        snprintf(names[count++], 64, "%s.safetensors", runs[r]);
        snprintf(names[count++], 64, "%s_history.csv", runs[r]);
        snprintf(names[count++], 64, "%s_history.json", runs[r]);
    }
    snprintf(names[count++], 64, "%s_config.json", command);
    if (strcmp(command, "experiment") == 0) {
        snprintf(names[count++], 64, "val_accuracy.png");
        snprintf(names[count++], 64, "val_loss.png");
    }
    return count;
}

static int exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

static int same_directory(const char *a, const char *b)
{
    struct stat first, second;
    if (stat(a, &first) == 0 && stat(b, &second) == 0)
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino;
    return strcmp(a, b) == 0;
}

int run_directory_resolve(const char *command, const char *out, const char *resume, int overwrite,
                          char *dir, size_t size, int *defaulted, simclr_error *err)
{
    *defaulted = 0;
    if (resume) {
        if (overwrite)
            return simclr_error_input(err, "--resume and --overwrite contradict each other: --resume "
                                           "continues the run in %s, --overwrite would replace it",
                                      resume);
        if (out && !same_directory(out, resume))
            return simclr_error_input(err, "--resume %s and --out %s name different directories; "
                                           "--resume continues a run where it is (drop --out)",
                                      resume, out);
        struct stat info;
        if (stat(resume, &info) != 0 || !S_ISDIR(info.st_mode))
            return simclr_error_input(err, "--resume %s: no such directory (expected the --out of "
                                           "an earlier %s run)",
                                      resume, command);
        snprintf(dir, size, "%s", resume);
        return 0;
    }
    if (out) {
        snprintf(dir, size, "%s", out);
        return 0;
    }
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    snprintf(dir, size, "runs/%s-%s", command, stamp);
    for (int suffix = 2; exists(dir) && suffix < 1000; suffix++)
        snprintf(dir, size, "runs/%s-%s-%d", command, stamp, suffix);
    *defaulted = 1;
    return 0;
}

int run_directory_resume_checkpoint(const char *command, const char *dir, char *path, size_t size,
                                    simclr_error *err)
{
    const char *runs[3];
    int count = run_directory_runs(command, runs);
    for (int r = 0; r < count; r++) {
        snprintf(path, size, "%s/%s.safetensors", dir, runs[r]);
        if (exists(path)) return 0;
    }
    snprintf(path, size, "%s/%s.safetensors", dir, runs[0]);
    return simclr_error_input(err, "--resume %s: no %s run to resume there (no %s); a run killed "
                                   "before its first checkpoint starts again with --out %s "
                                   "--overwrite",
                              dir, command, path, dir);
}

int run_directory_check_fresh(const char *command, const char *dir, simclr_error *err)
{
    char names[16][64];
    int count = output_names(command, names);
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (exists(path))
            return simclr_error_input(err, "--out %s already holds a run (%s); give --overwrite to "
                                           "replace it, --resume %s to continue it, or another --out",
                                      dir, path, dir);
    }
    return 0;
}

int run_directory_clear(const char *command, const char *dir, simclr_error *err)
{
    char names[16][64];
    int count = output_names(command, names);
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return simclr_error_input(err, "--overwrite: cannot remove %s: %s", path, strerror(errno));
    }
    return 0;
}
