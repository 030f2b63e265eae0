/* The index cache file of a folder dataset (index_cache.h): parsed whole and checked before any
 * record is used, written through an atomic file. */
#include "data/index_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* The smallest records: a directory with an empty path and no names, a file with a 1-byte path. */
enum { DIR_RECORD_MIN = 1 + 2 + 1 + 8 + 8 + 4 + 4, FILE_RECORD_MIN = 1 + 2 + 1 + 1 + 8 + 8 + 8 + 4 + 4 };
enum { INDEX_MAX_PATH = 4095, INDEX_MAX_SIDE = 16384 };

void simclr_index_facts_of(const struct stat *info, simclr_index_facts *facts)
{
    facts->size = (int64_t)info->st_size;
    facts->mtime_ns = (int64_t)info->st_mtim.tv_sec * 1000000000LL + (int64_t)info->st_mtim.tv_nsec;
    facts->inode = (uint64_t)info->st_ino;
}

int simclr_index_facts_settled(const simclr_index_facts *facts, int64_t now_ns)
{
    int64_t window = facts->mtime_ns % 1000000000LL == 0 ? INDEX_SETTLE_COARSE_NS : INDEX_SETTLE_NS;
    return facts->mtime_ns < now_ns - window;
}

int64_t simclr_index_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static uint64_t hash_key(int root, const char *path)
{
    uint64_t hash = 14695981039346656037ull ^ (uint64_t)(root & 0xff);
    hash *= 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        hash ^= *p;
        hash *= 1099511628211ull;
    }
    return hash;
}

/* ---- reading ---- */

typedef struct cursor {
    const uint8_t *at, *end;
    int failed;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
    if (c->failed || (size_t)(c->end - c->at) < n) {
        c->failed = 1;
        return NULL;
    }
    const uint8_t *bytes = c->at;
    c->at += n;
    return bytes;
}

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = value << 8 | p[i];
    return value;
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t take_u64(cursor *c)
{
    const uint8_t *p = take(c, 8);
    return p ? read_u64(p) : 0;
}

static uint32_t take_u32(cursor *c)
{
    const uint8_t *p = take(c, 4);
    return p ? read_u32(p) : 0;
}

/* A string of length_bytes (2 or 4) length, its bytes and a NUL, with no NUL inside. */
static const char *take_string(cursor *c, int length_bytes, size_t max, size_t *length)
{
    const uint8_t *p = take(c, (size_t)length_bytes);
    if (!p) return NULL;
    size_t n = length_bytes == 2 ? (size_t)(p[0] | p[1] << 8) : read_u32(p);
    const uint8_t *bytes = n <= max ? take(c, n + 1) : NULL;
    if (!bytes || bytes[n] != 0 || memchr(bytes, 0, n)) {
        c->failed = 1;
        return NULL;
    }
    if (length) *length = n;
    return (const char *)bytes;
}

static int refuse(char *why, size_t why_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, why_size, format, args);
    va_end(args);
    return -1;
}

/* Names block of a directory: count names, each non-empty, a plain name (no '/', not hidden), in
 * strictly increasing bytewise order, filling exactly size bytes. */
static int names_valid(const char *names, size_t size, uint32_t count)
{
    const char *at = names, *end = names + size, *previous = NULL;
    for (uint32_t i = 0; i < count; i++) {
        const char *nul = memchr(at, 0, (size_t)(end - at));
        if (!nul || nul == at || at[0] == '.' || memchr(at, '/', (size_t)(nul - at))) return 0;
        if (previous && strcmp(previous, at) >= 0) return 0;
        previous = at;
        at = nul + 1;
    }
    return at == end;
}

static size_t table_size_for(size_t count)
{
    size_t size = 16;
    while (size < count * 2) size *= 2;
    return size;
}

/* Fills a table with the records' indices; 0 when a key is there twice. */
static int fill_table(uint32_t *table, size_t table_size, size_t count, const void *records, size_t stride,
                      size_t path_offset, size_t root_offset)
{
    size_t mask = table_size - 1;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *record = (const uint8_t *)records + i * stride;
        const char *path = *(const char *const *)(record + path_offset);
        int root = record[root_offset];
        size_t slot = (size_t)hash_key(root, path) & mask;
        while (table[slot]) {
            const uint8_t *other = (const uint8_t *)records + (table[slot] - 1) * stride;
            if (other[root_offset] == root && strcmp(*(const char *const *)(other + path_offset), path) == 0)
                return 0;
            slot = (slot + 1) & mask;
        }
        table[slot] = (uint32_t)(i + 1);
    }
    return 1;
}

void simclr_index_cache_free(simclr_index_cache *cache)
{
    free(cache->bytes);
    free(cache->dirs);
    free(cache->files);
    free(cache->dir_table);
    free(cache->file_table);
    memset(cache, 0, sizeof *cache);
}

int simclr_index_cache_parse(simclr_index_cache *cache, uint8_t *bytes, size_t size, char *why, size_t why_size)
{
    memset(cache, 0, sizeof *cache);
    cache->bytes = bytes;
    cache->size = size;
    int status = -1;
    if (size < 8 || memcmp(bytes, SIMCLR_INDEX_CACHE_MAGIC, 8) != 0) {
        refuse(why, why_size, "not a simclr index cache");
        goto done;
    }
    if (size < SIMCLR_INDEX_CACHE_HEADER_BYTES) {
        refuse(why, why_size, "truncated: %zu bytes, less than its header", size);
        goto done;
    }
    uint32_t version = read_u32(bytes + 8);
    if (version != SIMCLR_INDEX_CACHE_VERSION) {
        refuse(why, why_size, "version %u; this build reads %d", (unsigned)version, SIMCLR_INDEX_CACHE_VERSION);
        goto done;
    }
    uint64_t body_bytes = read_u64(bytes + 16), dir_count = read_u64(bytes + 24), file_count = read_u64(bytes + 32);
    if (body_bytes != size - SIMCLR_INDEX_CACHE_HEADER_BYTES) {
        refuse(why, why_size, "truncated or extended: %zu bytes after the header, %llu recorded",
               size - SIMCLR_INDEX_CACHE_HEADER_BYTES, (unsigned long long)body_bytes);
        goto done;
    }
    uint32_t crc = (uint32_t)crc32_z(0L, bytes + 16, size - 16);
    if (crc != read_u32(bytes + 12)) {
        refuse(why, why_size, "checksum mismatch (damaged)");
        goto done;
    }
    cache->written_ns = (int64_t)read_u64(bytes + 40);
    if (dir_count > body_bytes / DIR_RECORD_MIN || file_count > body_bytes / FILE_RECORD_MIN ||
        dir_count >= UINT32_MAX || file_count >= UINT32_MAX) {
        refuse(why, why_size, "%llu directories and %llu files cannot fit in %llu bytes", (unsigned long long)dir_count,
               (unsigned long long)file_count, (unsigned long long)body_bytes);
        goto done;
    }
    cache->dir_count = (size_t)dir_count;
    cache->file_count = (size_t)file_count;
    cache->dirs = calloc(cache->dir_count ? cache->dir_count : 1, sizeof *cache->dirs);
    cache->files = calloc(cache->file_count ? cache->file_count : 1, sizeof *cache->files);
    cache->dir_table_size = table_size_for(cache->dir_count);
    cache->file_table_size = table_size_for(cache->file_count);
    cache->dir_table = calloc(cache->dir_table_size, sizeof *cache->dir_table);
    cache->file_table = calloc(cache->file_table_size, sizeof *cache->file_table);
    if (!cache->dirs || !cache->files || !cache->dir_table || !cache->file_table) {
        refuse(why, why_size, "out of memory reading it");
        goto done;
    }
    cursor c = {bytes + SIMCLR_INDEX_CACHE_HEADER_BYTES, bytes + size, 0};
    cache->identity = take_string(&c, 4, size, NULL);
    for (size_t i = 0; i < cache->dir_count && !c.failed; i++) {
        simclr_index_cache_dir *dir = &cache->dirs[i];
        const uint8_t *root = take(&c, 1);
        dir->path = take_string(&c, 2, INDEX_MAX_PATH, NULL);
        dir->facts.mtime_ns = (int64_t)take_u64(&c);
        dir->facts.inode = take_u64(&c);
        dir->name_count = take_u32(&c);
        uint32_t names_bytes = take_u32(&c);
        dir->names = (const char *)take(&c, names_bytes);
        if (c.failed) break;
        dir->root = *root;
        if (dir->root >= SIMCLR_INDEX_CACHE_ROOTS || !names_valid(dir->names, names_bytes, dir->name_count)) {
            refuse(why, why_size, "directory record %zu is not valid", i + 1);
            goto done;
        }
    }
    for (size_t i = 0; i < cache->file_count && !c.failed; i++) {
        simclr_index_cache_file *file = &cache->files[i];
        const uint8_t *root = take(&c, 1);
        size_t length = 0;
        file->path = take_string(&c, 2, INDEX_MAX_PATH, &length);
        file->facts.size = (int64_t)take_u64(&c);
        file->facts.mtime_ns = (int64_t)take_u64(&c);
        file->facts.inode = take_u64(&c);
        uint32_t height = take_u32(&c), width = take_u32(&c);
        if (c.failed) break;
        file->root = *root;
        int bad = height == 0 && width == 0;
        if (file->root >= SIMCLR_INDEX_CACHE_ROOTS || length == 0 || file->facts.size < 0 ||
            (!bad && (height < 1 || height > INDEX_MAX_SIDE || width < 1 || width > INDEX_MAX_SIDE))) {
            refuse(why, why_size, "file record %zu is not valid", i + 1);
            goto done;
        }
        file->height = (int32_t)height;
        file->width = (int32_t)width;
    }
    if (c.failed || !cache->identity) {
        refuse(why, why_size, "a record runs past the end");
        goto done;
    }
    if (c.at != c.end) {
        refuse(why, why_size, "%zu bytes after the last record", (size_t)(c.end - c.at));
        goto done;
    }
    if (!fill_table(cache->dir_table, cache->dir_table_size, cache->dir_count, cache->dirs, sizeof *cache->dirs,
                    offsetof(simclr_index_cache_dir, path), offsetof(simclr_index_cache_dir, root)) ||
        !fill_table(cache->file_table, cache->file_table_size, cache->file_count, cache->files, sizeof *cache->files,
                    offsetof(simclr_index_cache_file, path), offsetof(simclr_index_cache_file, root))) {
        refuse(why, why_size, "a path is recorded twice");
        goto done;
    }
    status = 0;
done:
    if (status != 0) simclr_index_cache_free(cache);
    return status;
}

int simclr_index_cache_load(simclr_index_cache *cache, const char *path, const char *identity, char *why,
                            size_t why_size)
{
    memset(cache, 0, sizeof *cache);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR) snprintf(why, why_size, "cannot be read: %s", strerror(errno));
        return 1;
    }
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return refuse(why, why_size, "not a regular file");
    }
    size_t size = (size_t)info.st_size;
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) {
        close(fd);
        snprintf(why, why_size, "out of memory reading it");
        return 1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, bytes + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != size) {
        free(bytes);
        return refuse(why, why_size, "read %zu of its %zu bytes", got, size);
    }
    if (simclr_index_cache_parse(cache, bytes, size, why, why_size) != 0) return -1;
    if (strcmp(cache->identity, identity) != 0) {
        simclr_index_cache_free(cache);
        return refuse(why, why_size, "another dataset's (a hash collision, or a copied file)");
    }
    return 0;
}

static size_t find_slot(const uint32_t *table, size_t table_size, int root, const char *path, const void *records,
                        size_t stride, size_t path_offset, size_t root_offset)
{
    if (!table) return 0;
    size_t mask = table_size - 1;
    for (size_t slot = (size_t)hash_key(root, path) & mask; table[slot]; slot = (slot + 1) & mask) {
        const uint8_t *record = (const uint8_t *)records + (table[slot] - 1) * stride;
        if (record[root_offset] == root && strcmp(*(const char *const *)(record + path_offset), path) == 0)
            return table[slot];
    }
    return 0;
}

const simclr_index_cache_dir *simclr_index_cache_find_dir(const simclr_index_cache *cache, int root, const char *path)
{
    size_t found = find_slot(cache->dir_table, cache->dir_table_size, root, path, cache->dirs, sizeof *cache->dirs,
                             offsetof(simclr_index_cache_dir, path), offsetof(simclr_index_cache_dir, root));
    return found ? &cache->dirs[found - 1] : NULL;
}

const simclr_index_cache_file *simclr_index_cache_find_file(const simclr_index_cache *cache, int root,
                                                            const char *path)
{
    size_t found = find_slot(cache->file_table, cache->file_table_size, root, path, cache->files,
                             sizeof *cache->files, offsetof(simclr_index_cache_file, path),
                             offsetof(simclr_index_cache_file, root));
    return found ? &cache->files[found - 1] : NULL;
}

int simclr_index_cache_file_name(char *out, size_t size, const char *dir, const char *label, const char *identity)
{
    char safe[41];
    size_t n = 0;
    for (const char *p = label; *p && n < sizeof safe - 1; p++, n++) {
        char ch = *p;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '_' || ch == '-';
        safe[n] = plain && !(n == 0 && ch == '.') ? ch : '_';
    }
    if (n == 0) safe[n++] = '_';
    safe[n] = '\0';
    uint64_t hash = hash_key(0, identity);
    int length = snprintf(out, size, "%s/%s-%016llx.index", dir, safe, (unsigned long long)hash);
    return length < 0 || (size_t)length >= size ? -1 : 0;
}

/* ---- writing ---- */

static void put(simclr_index_cache_writer *writer, const void *bytes, size_t size)
{
    if (writer->failed || size == 0) return;
    if (fwrite(bytes, 1, size, writer->file.stream) != size) writer->failed = 1;
    writer->crc = (uint32_t)crc32_z(writer->crc, bytes, size);
    writer->body_bytes += size;
}

static void store_u64(uint8_t *p, uint64_t value)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static void store_u32(uint8_t *p, uint32_t value)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static void put_u64(simclr_index_cache_writer *writer, uint64_t value)
{
    uint8_t p[8];
    store_u64(p, value);
    put(writer, p, 8);
}

static void put_u32(simclr_index_cache_writer *writer, uint32_t value)
{
    uint8_t p[4];
    store_u32(p, value);
    put(writer, p, 4);
}

static void put_path(simclr_index_cache_writer *writer, int root, const char *path)
{
    size_t length = strlen(path);
    if (length > INDEX_MAX_PATH) {
        writer->failed = 1;
        return;
    }
    uint8_t head[3] = {(uint8_t)root, (uint8_t)(length & 0xff), (uint8_t)(length >> 8)};
    put(writer, head, 3);
    put(writer, path, length + 1);
}

/* mkdir -p dir. */
static int make_directories(const char *dir, simclr_error *err)
{
    char partial[4096];
    size_t length = strlen(dir);
    if (length == 0 || length >= sizeof partial) return simclr_error_input(err, "%s: not a usable directory name", dir);
    memcpy(partial, dir, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] != '/' && partial[i] != '\0') continue;
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST)
            return simclr_error_system(err, "cannot create directory %s", partial);
        partial[i] = saved;
    }
    return 0;
}

int simclr_index_cache_writer_open(simclr_index_cache_writer *writer, const char *path, const char *identity,
                                   simclr_error *err)
{
    memset(writer, 0, sizeof *writer);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (make_directories(dir, err) != 0) return -1;
    }
    if (simclr_atomic_file_open(&writer->file, path, err) != 0) return -1;
    uint8_t header[SIMCLR_INDEX_CACHE_HEADER_BYTES] = {0};
    if (fwrite(header, 1, sizeof header, writer->file.stream) != sizeof header) writer->failed = 1;
    writer->crc = (uint32_t)crc32_z(0L, NULL, 0);
    size_t length = strlen(identity);
    put_u32(writer, (uint32_t)length);
    put(writer, identity, length + 1);
    return 0;
}

void simclr_index_cache_writer_dir(simclr_index_cache_writer *writer, int root, const char *path,
                                   const simclr_index_facts *facts, char *const *names, size_t count)
{
    size_t names_bytes = 0;
    for (size_t i = 0; i < count; i++) names_bytes += strlen(names[i]) + 1;
    if (count > UINT32_MAX || names_bytes > UINT32_MAX) {
        writer->failed = 1;
        return;
    }
    put_path(writer, root, path);
    put_u64(writer, (uint64_t)facts->mtime_ns);
    put_u64(writer, facts->inode);
    put_u32(writer, (uint32_t)count);
    put_u32(writer, (uint32_t)names_bytes);
    for (size_t i = 0; i < count; i++) put(writer, names[i], strlen(names[i]) + 1);
    writer->dirs++;
}

void simclr_index_cache_writer_file(simclr_index_cache_writer *writer, int root, const char *path,
                                    const simclr_index_facts *facts, int height, int width)
{
    put_path(writer, root, path);
    put_u64(writer, (uint64_t)facts->size);
    put_u64(writer, (uint64_t)facts->mtime_ns);
    put_u64(writer, facts->inode);
    put_u32(writer, (uint32_t)height);
    put_u32(writer, (uint32_t)width);
    writer->files++;
}

int simclr_index_cache_writer_commit(simclr_index_cache_writer *writer, int64_t written_ns, simclr_error *err)
{
    uint8_t header[SIMCLR_INDEX_CACHE_HEADER_BYTES];
    memcpy(header, SIMCLR_INDEX_CACHE_MAGIC, 8);
    store_u32(header + 8, SIMCLR_INDEX_CACHE_VERSION);
    store_u64(header + 16, writer->body_bytes);
    store_u64(header + 24, writer->dirs);
    store_u64(header + 32, writer->files);
    store_u64(header + 40, (uint64_t)written_ns);
    /* The checksum covers the rest of the header, then the body. */
    uint32_t crc = (uint32_t)crc32_z(0L, header + 16, SIMCLR_INDEX_CACHE_HEADER_BYTES - 16);
    crc = (uint32_t)crc32_combine(crc, writer->crc, (z_off_t)writer->body_bytes);
    store_u32(header + 12, crc);
    if (writer->failed || fseek(writer->file.stream, 0, SEEK_SET) != 0 ||
        fwrite(header, 1, sizeof header, writer->file.stream) != sizeof header) {
        int saved = errno;
        simclr_atomic_file_abort(&writer->file);
        errno = saved ? saved : EIO;
        return simclr_error_system(err, "cannot write %s", writer->file.path);
    }
    return simclr_atomic_file_commit(&writer->file, err);
}

void simclr_index_cache_writer_abort(simclr_index_cache_writer *writer)
{
    if (writer->file.stream) simclr_atomic_file_abort(&writer->file);
}
