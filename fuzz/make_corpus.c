/*
 * Writes the seed corpora fuzz/corpus/<target>/ (committed; rerun after changing an input format):
 *     fuzz/run.sh --make-corpus        (builds this with clang, runs it from the repository root)
 * Small valid inputs in each target's format (see the comment at the top of fuzz/fuzz_<target>.c),
 * plus a few near misses. PNG and JPEG files are encoded with libpng and libjpeg, gzip with zlib.
 */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <jpeglib.h> /* after stdio.h */

/* A growable byte buffer. */
typedef struct buffer {
    uint8_t *bytes;
    size_t size, capacity;
} buffer;

static void put(buffer *b, const void *bytes, size_t size)
{
    if (b->size + size > b->capacity) {
        while (b->size + size > b->capacity) b->capacity = b->capacity ? b->capacity * 2 : 256;
        b->bytes = realloc(b->bytes, b->capacity);
        if (!b->bytes) abort();
    }
    memcpy(b->bytes + b->size, bytes, size);
    b->size += size;
}

static void put_u8(buffer *b, unsigned value)
{
    uint8_t byte = (uint8_t)value;
    put(b, &byte, 1);
}

static void put_u16(buffer *b, size_t value)
{
    put_u8(b, value & 0xff);
    put_u8(b, (value >> 8) & 0xff);
}

static void put_be32(buffer *b, uint32_t value)
{
    put_u8(b, value >> 24);
    put_u8(b, (value >> 16) & 0xff);
    put_u8(b, (value >> 8) & 0xff);
    put_u8(b, value & 0xff);
}

/* u16 length then the bytes. */
static void put_blob(buffer *b, const void *bytes, size_t size)
{
    put_u16(b, size);
    put(b, bytes, size);
}

static void put_text(buffer *b, const char *text) { put_blob(b, text, strlen(text)); }

static void save(const char *target, const char *name, buffer *b)
{
    char path[512];
    snprintf(path, sizeof path, "fuzz/corpus/%s", target);
    mkdir("fuzz/corpus", 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "fuzz/corpus/%s/%s", target, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(b->bytes, 1, b->size, file) != b->size || fclose(file) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    printf("%s (%zu bytes)\n", path, b->size);
    free(b->bytes);
    memset(b, 0, sizeof *b);
}

/* ---- images ---- */

static void png_to_buffer(png_structp png, png_bytep data, size_t length)
{
    put(png_get_io_ptr(png), data, length);
}

static void png_flush(png_structp png) { (void)png; }

/* A PNG of a gradient: color_type and bit_depth as libpng takes them. */
static void encode_png(buffer *out, int width, int height, int color_type, int bit_depth,
                       int interlace)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!png || !info || setjmp(png_jmpbuf(png))) abort();
    png_set_write_fn(png, out, png_to_buffer, png_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
        png_set_PLTE(png, info, palette, 4);
    }
    png_write_info(png, info);
    int channels = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_PALETTE ? 1
                   : color_type == PNG_COLOR_TYPE_GRAY_ALPHA                                 ? 2
                   : color_type == PNG_COLOR_TYPE_RGB                                        ? 3
                                                                                              : 4;
    size_t row_bytes = ((size_t)width * (size_t)channels * (size_t)bit_depth + 7) / 8;
    uint8_t *row = calloc(row_bytes, 1);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < height; y++) {
            for (size_t i = 0; i < row_bytes; i++)
                row[i] = (uint8_t)(color_type == PNG_COLOR_TYPE_PALETTE && bit_depth == 8
                                       ? (i + (size_t)y) % 4
                                       : i * 37 + (size_t)y * 59);
            png_write_row(png, row);
        }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
}

static void encode_jpeg(buffer *out, int width, int height, int channels, int progressive)
{
    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    info.err = jpeg_std_error(&errors);
    jpeg_create_compress(&info);
    unsigned char *memory = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&info, &memory, &size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, 75, TRUE);
    if (progressive) jpeg_simple_progression(&info);
    jpeg_start_compress(&info, TRUE);
    uint8_t *row = malloc((size_t)width * (size_t)channels);
    while (info.next_scanline < info.image_height) {
        for (int i = 0; i < width * channels; i++)
            row[i] = (uint8_t)(i * 29 + (int)info.next_scanline * 41);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&info, rows, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    put(out, memory, size);
    free(memory);
    free(row);
}

static void gzip_bytes(buffer *out, const uint8_t *bytes, size_t size)
{
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    if (deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    uint8_t chunk[4096];
    stream.next_in = (Bytef *)bytes;
    stream.avail_in = (uInt)size;
    int status;
    do {
        stream.next_out = chunk;
        stream.avail_out = sizeof chunk;
        status = deflate(&stream, Z_FINISH);
        put(out, chunk, sizeof chunk - stream.avail_out);
    } while (status == Z_OK);
    deflateEnd(&stream);
}

/* ---- per target ---- */

static void stl10_corpus(void)
{
    buffer b = {0};
    /* Train 1 image (label 1), test 1 image (label 10). */
    put(&b, "\x00\x01" "\x01\x00" "\x01\x00" "\x01\x01" "\x01\x0a", 10);
    save("stl10", "minimal", &b);
    /* Everything: unlabeled, class names, fold 0, inside stl10_binary/. */
    put(&b, "\x0f\x02" "\x02\x00" "\x01\x00" "\x01\x00" "\x02\x03\x07" "\x01\x05", 13);
    put_text(&b, "airplane\nbird\ncar\ncat\ndeer\ndog\nhorse\nmonkey\nship\ntruck\n");
    put_text(&b, "1 0\n0\n1\n0\n1\n0\n1\n0\n1\n0\n");
    save("stl10", "all_files_fold0", &b);
    /* Fold 9, class names with blank lines and spaces. */
    put(&b, "\x06\x0b" "\x03\x00" "\x01\x00" "\x03\x01\x02\x03" "\x01\x04", 12);
    put_text(&b, "  a\n\nb \n c\nd\ne\nf\ng\nh\ni\nj\n\n");
    put_text(&b, "0\n0\n0\n0\n0\n0\n0\n0\n0\n2 1 0");
    save("stl10", "fold9_spaces", &b);
    /* Near misses: a label of 11, a size off by one byte. */
    put(&b, "\x00\x01" "\x01\x00" "\x01\xff" "\x01\x0b" "\x01\x01", 10);
    save("stl10", "bad_label_short_test", &b);
}

static void cifar_corpus(void)
{
    buffer b = {0};
    /* CIFAR-10: five batches of one record, a test batch of two. */
    put_u8(&b, 0);
    for (int f = 0; f < 5; f++) put(&b, (uint8_t[]){1, 0, (uint8_t)(f * 2)}, 3);
    put(&b, "\x02\x00\x09\x00", 4);
    save("cifar", "cifar10", &b);
    /* CIFAR-10 in cifar-10-batches-bin/ with batches.meta.txt. */
    put_u8(&b, 0x0c);
    for (int f = 0; f < 5; f++) put(&b, (uint8_t[]){2, 0, (uint8_t)f, (uint8_t)(9 - f)}, 4);
    put(&b, "\x01\x00\x03", 3);
    put_text(&b, "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
    save("cifar", "cifar10_nested_names", &b);
    /* CIFAR-100, fine labels, in cifar-100-binary/ with fine_label_names.txt. */
    put_u8(&b, 0x0d);
    put(&b, "\x02\x00" "\x13\x63" "\x00\x00", 6);
    put(&b, "\x01\x00" "\x05\x2a", 4);
    char names[1024] = "";
    for (int c = 0; c < 100; c++) snprintf(names + strlen(names), 16, "c%d\n", c);
    put_text(&b, names);
    save("cifar", "cifar100_fine_names", &b);
    /* CIFAR-100, coarse labels. */
    put_u8(&b, 0x03);
    put(&b, "\x03\x00" "\x00\x01" "\x13\x63" "\x0a\x32", 8);
    put(&b, "\x01\x00" "\x07\x07", 4);
    save("cifar", "cifar100_coarse", &b);
    /* Near miss: a CIFAR-10 label of 10 in the test batch. */
    put_u8(&b, 0);
    for (int f = 0; f < 5; f++) put(&b, (uint8_t[]){1, 0, 1}, 3);
    put(&b, "\x01\x00\x0a", 3);
    save("cifar", "cifar10_bad_label", &b);
}

/* An IDX images file of count x rows x cols, or labels file of count labels. */
static void idx_images(buffer *out, uint32_t count, uint32_t rows, uint32_t cols)
{
    put_be32(out, 0x803);
    put_be32(out, count);
    put_be32(out, rows);
    put_be32(out, cols);
    for (uint32_t i = 0; i < count * rows * cols; i++) put_u8(out, (i * 7) & 0xff);
}

static void idx_labels(buffer *out, uint32_t count)
{
    put_be32(out, 0x801);
    put_be32(out, count);
    for (uint32_t i = 0; i < count; i++) put_u8(out, (i * 3) % 10);
}

/* One file of the idx target: mode, then the content as a blob. */
static void idx_entry(buffer *b, int mode, const buffer *content)
{
    put_u8(b, (unsigned)mode);
    put_blob(b, content->bytes, content->size);
}

static void idx_corpus(void)
{
    for (int variant = 0; variant < 3; variant++) {
        buffer b = {0}, files[4] = {{0}};
        idx_images(&files[0], 3, 4, 6);
        idx_labels(&files[1], 3);
        idx_images(&files[2], 2, 4, 6);
        idx_labels(&files[3], 2);
        put_u8(&b, variant == 1 ? 1 : 0);
        for (int f = 0; f < 4; f++) {
            if (variant == 2 && f % 2 == 0) { /* a real gzip stream, written as it is */
                buffer gz = {0};
                gzip_bytes(&gz, files[f].bytes, files[f].size);
                idx_entry(&b, 2, &gz);
                free(gz.bytes);
            } else {
                idx_entry(&b, variant == 1 ? 1 : 0, &files[f]);
            }
            free(files[f].bytes);
        }
        save("idx", variant == 0 ? "mnist_raw" : variant == 1 ? "fashion_gzip" : "gzip_streams",
             &b);
    }
    /* Near miss: the test split's labels declare one label too many. */
    buffer b = {0}, file = {0};
    put_u8(&b, 0);
    idx_images(&file, 1, 2, 2);
    idx_entry(&b, 0, &file);
    free(file.bytes);
    file = (buffer){0};
    idx_labels(&file, 1);
    idx_entry(&b, 0, &file);
    free(file.bytes);
    file = (buffer){0};
    idx_images(&file, 1, 2, 2);
    idx_entry(&b, 1, &file);
    free(file.bytes);
    file = (buffer){0};
    idx_labels(&file, 2);
    idx_entry(&b, 1, &file);
    free(file.bytes);
    save("idx", "label_count_mismatch", &b);
}

static void image_corpus(void)
{
    struct {
        const char *name;
        uint8_t options, height, width;
        int png, width_px, height_px, kind, depth, interlace_or_progressive;
    } cases[] = {
        {"png_gray8", 0, 7, 3, 1, 5, 4, PNG_COLOR_TYPE_GRAY, 8, 0},
        {"png_rgb8_file", 3, 1, 5, 1, 3, 2, PNG_COLOR_TYPE_RGB, 8, 0},
        {"png_gray_alpha16_interlaced", 1, 9, 9, 1, 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 1},
        {"png_palette", 1, 2, 2, 1, 3, 3, PNG_COLOR_TYPE_PALETTE, 8, 0},
        {"png_gray1", 0, 3, 3, 1, 9, 2, PNG_COLOR_TYPE_GRAY, 1, 0},
        {"png_rgba8", 3, 0, 0, 1, 2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0},
        {"jpeg_gray", 0, 3, 3, 0, 8, 8, 1, 0, 0},
        {"jpeg_rgb_progressive", 3, 4, 9, 0, 16, 8, 3, 0, 1},
        {"jpeg_rgb_to_gray", 0, 20, 20, 0, 9, 11, 3, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buffer b = {0};
        put_u8(&b, cases[i].options);
        put_u8(&b, cases[i].height);
        put_u8(&b, cases[i].width);
        if (cases[i].png)
            encode_png(&b, cases[i].width_px, cases[i].height_px, cases[i].kind, cases[i].depth,
                       cases[i].interlace_or_progressive);
        else
            encode_jpeg(&b, cases[i].width_px, cases[i].height_px, cases[i].kind,
                        cases[i].interlace_or_progressive);
        save("image", cases[i].name, &b);
    }
}

/* One entry of the folder target. */
static void folder_dir(buffer *b, const char *path)
{
    put_u8(b, 0);
    put_u8(b, (unsigned)strlen(path));
    put(b, path, strlen(path));
}

static void folder_file(buffer *b, const char *path, const buffer *content)
{
    put_u8(b, 1);
    put_u8(b, (unsigned)strlen(path));
    put(b, path, strlen(path));
    put_blob(b, content->bytes, content->size);
}

static void folder_corpus(void)
{
    buffer png = {0}, jpeg = {0}, b = {0};
    encode_png(&png, 3, 2, PNG_COLOR_TYPE_RGB, 8, 0);
    encode_jpeg(&jpeg, 8, 8, 1, 0);
    put_u8(&b, 8);
    folder_file(&b, "train/cat/a.png", &png);
    folder_file(&b, "train/dog/b.jpg", &jpeg);
    folder_file(&b, "test/cat/c.PNG", &png);
    folder_file(&b, "test/dog/d.jpeg", &jpeg);
    folder_file(&b, "unlabeled/x/y/e.png", &png);
    folder_file(&b, "train/cat/.hidden.png", &png);
    folder_file(&b, "train/dog/notes.txt", &png);
    save("folder", "two_classes_unlabeled", &b);
    /* One class, an empty test split, the default size (96). */
    put_u8(&b, 0);
    folder_file(&b, "train/only/a.jpg", &jpeg);
    folder_dir(&b, "test");
    save("folder", "one_class_default_size", &b);
    /* Near miss: a test class that train/ lacks. */
    put_u8(&b, 4);
    folder_file(&b, "train/a/1.png", &png);
    folder_file(&b, "test/b/2.png", &png);
    save("folder", "unknown_test_class", &b);
    free(png.bytes);
    free(jpeg.bytes);
}

/* ---- file lists: a flags byte, then the list (fuzz/fuzz_file_list.c) ---- */
static void file_list_seed(const char *name, unsigned flags, const char *text, size_t length)
{
    buffer b = {0};
    put_u8(&b, flags);
    put(&b, text, length);
    save("file_list", name, &b);
}
#define FILE_LIST_SEED(name, flags, text) file_list_seed(name, flags, text, sizeof(text) - 1)

static void file_list_corpus(void)
{
    /* Labels and splits; a missing file and a path listed again, skipped. */
    FILE_LIST_SEED("csv_labels_splits", 0,
                   "path,label,split\n"
                   "a.png,cat,\n"
                   "b.png,dog,train\n"
                   "sub/c.png,cat,test\n"
                   "bad.png,,\n"
                   "missing.png,,unlabeled\n"
                   "a.png,cat,test\n");
    /* A byte order mark, CRLF, quotes, pandas' unnamed index column, an empty line, --image-size 4. */
    FILE_LIST_SEED("csv_bom_crlf_quotes", 4,
                   "\xef\xbb\xbf,Path,Label\r\n"
                   "0,\"a.png\",\"c\"\"at\"\r\n"
                   "\r\n"
                   "1,\"sub/c.png\",\"dog, large\"\r\n"
                   "2,b.png,\r\n");
    /* One path a line (unlabeled), the labeled images from --labeled-dir. */
    FILE_LIST_SEED("text_labeled_dir", 2, "\xef\xbb\xbf" "a.png\r\n\r\nsub/c.png\nb.png\nlabeled/train/x/e.png");
    /* Near misses: refused. */
    FILE_LIST_SEED("bad_empty", 0, "");
    FILE_LIST_SEED("bad_header", 0, "file,label\na.png,cat\n");
    FILE_LIST_SEED("bad_unclosed_quote", 0, "path,label\na.png,cat\n\"b.png,dog\n");
    FILE_LIST_SEED("bad_strict_missing", 1, "path,label\na.png,cat\nmissing.png,cat\n");
    FILE_LIST_SEED("text_without_labels", 0, "a.png\nb.png\n");
    FILE_LIST_SEED("unknown_test_label", 0, "path,label,split\na.png,cat,\nb.png,dog,test\n");
}

/* ---- the folder index cache: a flags byte, then a cache file or parts of it
 * (fuzz/fuzz_index_cache.c; the format in src/data/index_cache.h) ---- */
static void put_le32(buffer *b, uint32_t value)
{
    put_u16(b, value & 0xffff);
    put_u16(b, value >> 16);
}

static void put_le64(buffer *b, uint64_t value)
{
    put_le32(b, (uint32_t)value);
    put_le32(b, (uint32_t)(value >> 32));
}

/* u16 length, the bytes, NUL. */
static void put_path(buffer *b, unsigned root, const char *path)
{
    put_u8(b, root);
    put_u16(b, strlen(path));
    put(b, path, strlen(path) + 1);
}

/* A directory record: names given as one string of NUL-separated names (the last one's NUL too). */
static void index_dir(buffer *b, unsigned root, const char *path, uint64_t mtime, uint64_t inode, unsigned count,
                      const char *names, size_t names_bytes)
{
    put_path(b, root, path);
    put_le64(b, mtime);
    put_le64(b, inode);
    put_le32(b, count);
    put_le32(b, (uint32_t)names_bytes);
    put(b, names, names_bytes);
}

static void index_file(buffer *b, unsigned root, const char *path, uint64_t size, uint64_t mtime, uint64_t inode,
                       uint32_t height, uint32_t width)
{
    put_path(b, root, path);
    put_le64(b, size);
    put_le64(b, mtime);
    put_le64(b, inode);
    put_le32(b, height);
    put_le32(b, width);
}

/* Two directories and two files of the fuzz dataset, facts that match nothing on disk. */
static void index_records(buffer *b)
{
    index_dir(b, 0, "train", 1600000000000005000ull, 7, 1, "x", 2);
    index_dir(b, 0, "unlabeled", 1600000000000005000ull, 9, 3, "bad.png\0extra.png\0u", 20);
    index_file(b, 0, "train/x/a.png", 119, 1600000000000005000ull, 8, 4, 4);
    index_file(b, 0, "unlabeled/bad.png", 40, 1600000000000005000ull, 10, 0, 0);
}

/* A whole cache file around body (the identity and the records). */
static void index_whole(buffer *out, uint32_t version, uint64_t dirs, uint64_t files, const buffer *body)
{
    buffer tail = {0};
    put_le64(&tail, body->size);
    put_le64(&tail, dirs);
    put_le64(&tail, files);
    put_le64(&tail, 1700000000000000000ull);
    put(&tail, body->bytes, body->size);
    put(out, "SIMCLRIX", 8);
    put_le32(out, version);
    put_le32(out, (uint32_t)crc32_z(0L, tail.bytes, tail.size));
    put(out, tail.bytes, tail.size);
    free(tail.bytes);
}

static void index_cache_seed(const char *name, unsigned flags, unsigned dirs, unsigned files, const buffer *rest)
{
    buffer b = {0};
    put_u8(&b, flags);
    if (flags & 1) {
        put_u16(&b, dirs);
        put_u16(&b, files);
    }
    put(&b, rest->bytes, rest->size);
    save("index_cache", name, &b);
}

static void index_cache_corpus(void)
{
    buffer records = {0}, body = {0}, whole = {0};
    index_records(&records);
    /* The records after this dataset's identity (the harness writes the header and the identity). */
    index_cache_seed("records", 3, 2, 2, &records);
    /* A whole, valid cache of another dataset: parsed, then rebuilt by the open. */
    const char *identity = "simclr folder index: folder 4:/tmp 0:";
    put_le32(&body, (uint32_t)strlen(identity));
    put(&body, identity, strlen(identity) + 1);
    put(&body, records.bytes, records.size);
    index_whole(&whole, 1, 2, 2, &body);
    index_cache_seed("whole_foreign", 0, 0, 0, &whole);
    /* The body, header by the harness. */
    index_cache_seed("body", 1, 2, 2, &body);
    /* Near misses, refused: a byte changed, cut short, another version, not a cache. */
    buffer damaged = {0};
    put(&damaged, whole.bytes, whole.size);
    damaged.bytes[damaged.size - 30] ^= 0x40;
    index_cache_seed("bad_checksum", 0, 0, 0, &damaged);
    damaged.size = whole.size - 9;
    memcpy(damaged.bytes, whole.bytes, damaged.size);
    index_cache_seed("bad_truncated", 0, 0, 0, &damaged);
    damaged.size = 0;
    index_whole(&damaged, 2, 2, 2, &body);
    index_cache_seed("bad_version", 0, 0, 0, &damaged);
    damaged.size = 0;
    put(&damaged, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    index_cache_seed("bad_magic", 0, 0, 0, &damaged);
    /* Records that do not add up: names out of order, a path twice, a size out of range, more
     * records than recorded, counts the bytes cannot hold. */
    damaged.size = 0;
    index_dir(&damaged, 0, "train", 1, 2, 2, "y\0x", 4);
    index_cache_seed("bad_unsorted_names", 3, 1, 0, &damaged);
    damaged.size = 0;
    index_file(&damaged, 0, "train/x/a.png", 1, 2, 3, 4, 4);
    index_file(&damaged, 0, "train/x/a.png", 1, 2, 3, 4, 4);
    index_cache_seed("bad_path_twice", 3, 0, 2, &damaged);
    damaged.size = 0;
    index_file(&damaged, 1, "train/x/a.png", 1, 2, 3, 20000, 4);
    index_cache_seed("bad_size", 3, 0, 1, &damaged);
    index_cache_seed("bad_trailing_record", 3, 0, 0, &records);
    index_cache_seed("bad_counts", 3, 60000, 60000, &records);
    free(damaged.bytes);
    free(whole.bytes);
    free(body.bytes);
    free(records.bytes);
}

/* A safetensors file: header JSON padded with spaces to a multiple of 8, then data. */
static void safetensors_file(buffer *b, const char *json, const void *data, size_t data_size)
{
    size_t length = strlen(json), padded = (length + 7) / 8 * 8;
    for (int i = 0; i < 8; i++) put_u8(b, (unsigned)((uint64_t)padded >> (8 * i)) & 0xff);
    put(b, json, length);
    for (size_t i = length; i < padded; i++) put_u8(b, ' ');
    put(b, data, data_size);
}

static void safetensors_corpus(void)
{
    buffer b = {0};
    uint8_t data[64];
    for (int i = 0; i < 64; i++) data[i] = (uint8_t)(i * 11);
    safetensors_file(&b,
                     "{\"__metadata__\":{\"epoch\":\"3\",\"note\":\"a\\nb\"},"
                     "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                     "\"step\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[24,40]},"
                     "\"flag\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[40,41]},"
                     "\"h\":{\"dtype\":\"BF16\",\"shape\":[1,0,4],\"data_offsets\":[41,41]}}",
                     data, 41);
    save("safetensors", "tensors_and_metadata", &b);
    safetensors_file(&b, "{}", NULL, 0);
    save("safetensors", "empty", &b);
    safetensors_file(&b,
                     "{\"caf\\u00e9 \\ud83d\\ude00\":{\"dtype\":\"I8\",\"shape\":[3],"
                     "\"data_offsets\":[0,3]},\"__metadata__\":{\"k\\\"\\\\\\/\\t\":\"\\u0001\"}}",
                     data, 3);
    save("safetensors", "escapes", &b);
    /* The metadata of a simclr checkpoint (src/checkpoint/checkpoint.c), with one tensor. */
    safetensors_file(&b,
                     "{\"__metadata__\":{\"format\":\"simclr-checkpoint-1\",\"run\":\"baseline\","
                     "\"classifier\":\"classifier\",\"dataset\":\"fashion-mnist\",\"seed\":\"7\","
                     "\"epochs_done\":\"2\",\"epochs_total\":\"20\",\"model.height\":\"28\","
                     "\"model.width\":\"28\",\"model.channels\":\"1\",\"model.units\":\"16\","
                     "\"model.depth\":\"2\",\"model.kernel\":\"3\",\"model.stride\":\"2\","
                     "\"model.padding\":\"1\",\"model.num_classes\":\"3\","
                     "\"class_names\":\"T-shirt/top\\nTrouser\\nPullover\","
                     "\"optimizer.classifier.step\":\"120\"},"
                     "\"classifier.dense.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
                     "\"data_offsets\":[0,12]}}",
                     data, 12);
    save("safetensors", "checkpoint_metadata", &b);
}

static void options_corpus(void)
{
    static const struct {
        const char *name;
        uint8_t table;
        const char *args;
        size_t length;
    } cases[] = {
#define ARGS(text) text, sizeof text - 1
        {"training", 0,
         ARGS("--dataset\0cifar10\0--epochs=5\0--learning-rate\0" "1e-3\0--quiet\0--seed\0"
              "9000000000000000000")},
        {"training_all_types", 0,
         ARGS("--loss=nt-xent\0--padding\0-1\0--cifar100-coarse\0--stl10-fold\0" "9\0--from\0"
              "pre.safetensors\0--temperature=0.5\0--data-dir=/d\0--out\0runs/x")},
        {"predict", 1, ARGS("--model\0m.safetensors\0a.png\0b.jpg\0--top=3")},
        {"bad_float", 0, ARGS("--temperature\0nan")},
        {"bad_flag_value", 0, ARGS("--quiet=1")},
        {"missing_value", 1, ARGS("x.png\0--top")},
#undef ARGS
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buffer b = {0};
        put_u8(&b, cases[i].table);
        put(&b, cases[i].args, cases[i].length);
        save("options", cases[i].name, &b);
    }
}

int main(void)
{
    stl10_corpus();
    cifar_corpus();
    idx_corpus();
    image_corpus();
    folder_corpus();
    file_list_corpus();
    index_cache_corpus();
    safetensors_corpus();
    options_corpus();
    return 0;
}
