#include "data/data_internal.h"

#include <omp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int simclr_data_join(char *out, size_t out_size, const char *dir, const char *name, simclr_error *err)
{
    int written = snprintf(out, out_size, "%s/%s", dir, name);
    if (written < 0 || (size_t)written >= out_size)
        return simclr_error_input(err, "path too long: %s/%s (at most %zu bytes)", dir, name,
                           out_size - 1);
    return 0;
}

int simclr_data_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int simclr_data_dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int simclr_data_locate(simclr_dataset *ds, const char *dir_in, const char *subdir, const char *probe, simclr_error *err)
{
    char dir[sizeof ds->path];
    snprintf(dir, sizeof dir, "%s", dir_in); /* dir_in may be ds->path itself */
    char candidate[sizeof ds->path];
    if (simclr_data_join(candidate, sizeof candidate, dir, probe, err) != 0) return -1;
    if (simclr_data_file_exists(candidate)) {
        snprintf(ds->path, sizeof ds->path, "%s", dir);
        return 0;
    }
    char nested[sizeof ds->path];
    if (simclr_data_join(nested, sizeof nested, dir, subdir, err) != 0) return -1;
    char nested_probe[sizeof ds->path];
    if (simclr_data_join(nested_probe, sizeof nested_probe, nested, probe, err) != 0) return -1;
    if (simclr_data_file_exists(nested_probe)) {
        snprintf(ds->path, sizeof ds->path, "%s", nested);
        return 0;
    }
    return simclr_error_input(err,
                       "%s: cannot find %s: neither %s nor %s exists; pass --data-dir pointing at "
                       "the extracted %s folder",
                       ds->name, probe, candidate, nested_probe, subdir);
}

int simclr_data_map_file(const char *path, const char *reader, void **mapping, size_t *size, simclr_error *err)
{
    *mapping = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return simclr_error_input(err, "%s: cannot open %s: %s", reader, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return simclr_error_input(err, "%s: cannot stat %s: %s", reader, path, strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return simclr_error_input(err, "%s: %s is not a regular file", reader, path);
    }
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    if ((uintmax_t)st.st_size > (uintmax_t)SIZE_MAX) {
        close(fd);
        return simclr_error_input(err, "%s: %s is too large to map", reader, path);
    }
    void *memory = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (memory == MAP_FAILED)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: cannot map %s (%jd bytes): %s", reader,
                         path, (intmax_t)st.st_size, strerror(saved));
    *mapping = memory;
    *size = (size_t)st.st_size;
    return 0;
}

void simclr_data_unmap(void *mapping, size_t size)
{
    if (mapping && size) munmap(mapping, size);
}

int simclr_data_read_file(const char *path, const char *reader, size_t max_size, uint8_t **bytes,
                   size_t *size, simclr_error *err)
{
    *bytes = NULL;
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_input(err, "%s: cannot open %s: %s", reader, path, strerror(errno));
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(file);
        return simclr_error_input(err, "%s: %s is not a regular file", reader, path);
    }
    if ((uintmax_t)st.st_size > (uintmax_t)max_size) {
        fclose(file);
        return simclr_error_input(err, "%s: %s is %jd bytes; expected at most %zu", reader, path,
                           (intmax_t)st.st_size, max_size);
    }
    size_t length = (size_t)st.st_size;
    uint8_t *buffer = simclr_checked_calloc(length + 1, 1, path, err);
    if (!buffer) {
        fclose(file);
        return -1;
    }
    size_t got = length ? fread(buffer, 1, length, file) : 0;
    int failed = ferror(file);
    fclose(file);
    if (failed || got != length) {
        free(buffer);
        return simclr_error_input(err, "%s: cannot read %s (got %zu of %zu bytes)", reader, path, got,
                           length);
    }
    *bytes = buffer;
    *size = length;
    return 0;
}

int simclr_data_alloc_class_names(simclr_dataset *ds, int count, simclr_error *err)
{
    if (count < 1 || count > SIMCLR_DATASET_MAX_CLASSES)
        return simclr_error_input(err, "%s: %d classes; at most %d are supported", ds->path, count,
                                  SIMCLR_DATASET_MAX_CLASSES);
    free(ds->class_names);
    ds->class_names = simclr_checked_calloc((size_t)count, sizeof *ds->class_names, "class names", err);
    if (!ds->class_names) return -1;
    ds->num_classes = count;
    return 0;
}

void simclr_data_set_names(simclr_dataset *ds, const char *const *names, int count)
{
    for (int i = 0; i < count && i < ds->num_classes; i++)
        snprintf(ds->class_names[i], SIMCLR_DATASET_CLASS_NAME_MAX, "%s", names[i]);
}

int simclr_data_read_names(simclr_dataset *ds, const char *path, const char *reader, int expected, simclr_error *err)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (simclr_data_read_file(path, reader, 1 << 20, &bytes, &size, err) != 0) return -1;
    char *text = (char *)bytes;
    int found = 0;
    char *line = text;
    while (line < text + size) {
        char *end = memchr(line, '\n', (size_t)(text + size - line));
        if (!end) end = text + size;
        char *first = line;
        char *last = end;
        while (first < last && (*first == ' ' || *first == '\t' || *first == '\r')) first++;
        while (last > first && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r')) last--;
        if (last > first) {
            if (found < expected && found < ds->num_classes) {
                size_t length = (size_t)(last - first);
                if (length >= SIMCLR_DATASET_CLASS_NAME_MAX) length = SIMCLR_DATASET_CLASS_NAME_MAX - 1;
                memcpy(ds->class_names[found], first, length);
                ds->class_names[found][length] = '\0';
            }
            found++;
        }
        line = end + 1;
    }
    free(bytes);
    if (found != expected)
        return simclr_error_input(err, "%s: %s lists %d class names; expected %d, one a line", reader,
                           path, found, expected);
    return 0;
}

int simclr_data_io_threads(void)
{
    int threads = omp_get_max_threads();
    return threads > SIMCLR_DATA_IO_THREADS ? threads : SIMCLR_DATA_IO_THREADS;
}
