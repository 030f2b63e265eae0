#ifndef SIMCLR_FUZZ_COMMON_H
#define SIMCLR_FUZZ_COMMON_H
/*
 * Shared by the fuzz targets (fuzz/fuzz_<name>.c). Each target's logic is one function,
 * `int fuzz_<name>_one(const uint8_t *data, size_t size)`; the libFuzzer entry point wraps it
 * under SIMCLR_FUZZER, and tests/test_fuzz_regressions.c includes every target's .c file into one
 * translation unit to replay the seed corpora and the crashing inputs in the normal build. So
 * everything here is static and marked unused: a target uses only some of it.
 *
 * Readers that take a directory get their files written into a per-process scratch directory,
 * created once (mkdtemp: /dev/shm/simclr-fuzz-<pid>-XXXXXX when /dev/shm exists, as it is memory)
 * and removed at exit; each execution empties its own subdirectory and reuses the same file names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_UNUSED __attribute__((unused))

/* An invariant the library promises does not hold: report it and abort, which libFuzzer records
 * as a crash and cmocka as a failed test. */
#define FUZZ_CHECK(condition)                                                                     \
    do {                                                                                          \
        if (!(condition)) {                                                                       \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition);   \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* A cursor over the fuzzer's bytes; reads past the end give zeros / nothing. */
typedef struct fuzz_input {
    const uint8_t *data;
    size_t size;
    size_t position;
} fuzz_input;

static FUZZ_UNUSED uint8_t fuzz_u8(fuzz_input *in)
{
    return in->position < in->size ? in->data[in->position++] : 0;
}

static FUZZ_UNUSED uint16_t fuzz_u16(fuzz_input *in)
{
    uint16_t low = fuzz_u8(in);
    return (uint16_t)(low | (uint16_t)fuzz_u8(in) << 8);
}

/* Up to `want` bytes at the cursor; *got says how many there were. */
static FUZZ_UNUSED const uint8_t *fuzz_take(fuzz_input *in, size_t want, size_t *got)
{
    size_t left = in->size - in->position;
    *got = want < left ? want : left;
    const uint8_t *bytes = in->data + in->position;
    in->position += *got;
    return bytes;
}

/* Everything after the cursor. */
static FUZZ_UNUSED const uint8_t *fuzz_rest(fuzz_input *in, size_t *got)
{
    return fuzz_take(in, in->size - in->position, got);
}

/* Removes path and everything below it (symbolic links are removed, never followed). */
static FUZZ_UNUSED void fuzz_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (dir) {
            struct dirent *entry;
            while ((entry = readdir(dir)) != NULL) {
                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
                size_t length = strlen(path) + strlen(entry->d_name) + 2;
                char *child = malloc(length);
                if (!child) continue;
                snprintf(child, length, "%s/%s", path, entry->d_name);
                fuzz_remove_tree(child);
                free(child);
            }
            closedir(dir);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static char fuzz_scratch_path[256];

static FUZZ_UNUSED void fuzz_scratch_remove(void)
{
    if (fuzz_scratch_path[0]) fuzz_remove_tree(fuzz_scratch_path);
}

/* The per-process scratch directory (created on first use, removed at exit). */
static FUZZ_UNUSED const char *fuzz_scratch_dir(void)
{
    if (fuzz_scratch_path[0]) return fuzz_scratch_path;
    const char *base = "/dev/shm";
    if (access(base, W_OK | X_OK) != 0) {
        base = getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
    }
    char path[sizeof fuzz_scratch_path];
    /* The pid lets fuzz/run.sh remove what a crashed process (no atexit) left behind. */
    snprintf(path, sizeof path, "%s/simclr-fuzz-%ld-XXXXXX", base, (long)getpid());
    if (!mkdtemp(path)) {
        fprintf(stderr, "fuzz: cannot create a scratch directory in %s: %s\n", base,
                strerror(errno));
        abort();
    }
    memcpy(fuzz_scratch_path, path, sizeof path);
    atexit(fuzz_scratch_remove);
    return fuzz_scratch_path;
}

/* Empties (or creates) the scratch subdirectory `name` and writes its path to out. */
static FUZZ_UNUSED void fuzz_fresh_dir(const char *name, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s/%s", fuzz_scratch_dir(), name);
    fuzz_remove_tree(out);
    if (mkdir(out, 0700) != 0) {
        fprintf(stderr, "fuzz: cannot create %s: %s\n", out, strerror(errno));
        abort();
    }
}

/* Writes dir/name: `size` bytes, then zeros up to total_size (a sparse tail: cheap even for
 * large files). Returns 0, or -1 when the file cannot be written (the caller skips it). */
static FUZZ_UNUSED int fuzz_write_file(const char *dir, const char *name, const void *bytes,
                                       size_t size, size_t total_size)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int status = 0;
    size_t done = 0;
    while (done < size) {
        ssize_t wrote = write(fd, (const uint8_t *)bytes + done, size - done);
        if (wrote <= 0) {
            status = -1;
            break;
        }
        done += (size_t)wrote;
    }
    if (status == 0 && total_size > size && ftruncate(fd, (off_t)total_size) != 0) status = -1;
    close(fd);
    return status;
}

/* Reads a whole file (for the regression test); NULL when it cannot. Caller frees. */
static FUZZ_UNUSED uint8_t *fuzz_read_file(const char *path, size_t *size)
{
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    uint8_t *bytes = NULL;
    size_t length = 0, capacity = 0;
    for (;;) {
        if (length == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            uint8_t *grown = realloc(bytes, capacity);
            if (!grown) {
                free(bytes);
                fclose(file);
                return NULL;
            }
            bytes = grown;
        }
        size_t got = fread(bytes + length, 1, capacity - length, file);
        length += got;
        if (got == 0) break;
    }
    fclose(file);
    *size = length;
    return bytes;
}

#endif
