#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "data/csv_record.h"
#include "data/file_list.h"
#include "data/folder_index.h"
#include "data/index_cache.h"
#include "simclr/dataset.h"
#include "simclr/image_io.h"
#include "test_support.h"

enum { SIDE = 8 };

/* Asymmetric in x and y, distinct per image. */
static uint8_t pixel_value(int image, int y, int x, int c)
{
    return (uint8_t)(y * 9 + x * 23 + c * 71 + image * 37 + 5);
}

static void make_dir(const char *root, const char *relative)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    assert_int_equal(mkdir(path, 0755), 0);
}

/* root/relative as an RGB PNG of image `image` (or of one colour when image < 0). */
static void write_png(const char *root, const char *relative, int image, int height, int width)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    uint8_t *pixels = malloc((size_t)height * width * 3);
    assert_non_null(pixels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < 3; c++)
                pixels[(y * width + x) * 3 + c] =
                    image >= 0 ? pixel_value(image, y, x, c) : (uint8_t)(40 + 60 * c);
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)width;
    png.height = (png_uint_32)height;
    png.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&png, path, 0, pixels, 0, NULL))
        fail_msg("cannot write %s: %s", path, png.message);
    free(pixels);
}

/* root/relative as a JPEG of one colour (which JPEG keeps almost exactly). */
static void write_jpeg(const char *root, const char *relative, uint8_t r, uint8_t g, uint8_t b)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = SIDE;
    cinfo.image_height = SIDE;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    uint8_t row[SIDE * 3];
    for (int x = 0; x < SIDE; x++) {
        row[x * 3] = r;
        row[x * 3 + 1] = g;
        row[x * 3 + 2] = b;
    }
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(file);
}

/* train: cat/{a.png, b.png}, dog/c.PNG + notes.txt; test: dog/d.png; unlabeled: x.png,
 * sub/y.png. Image numbers: a 0, b 1, c 2, d 3, y 4, x 5. */
static char *write_tree(void)
{
    char *root = test_make_temp_dir();
    make_dir(root, "train");
    make_dir(root, "train/dog");
    make_dir(root, "train/cat");
    make_dir(root, "test");
    make_dir(root, "test/dog");
    make_dir(root, "unlabeled");
    make_dir(root, "unlabeled/sub");
    write_png(root, "train/cat/b.png", 1, SIDE, SIDE);
    write_png(root, "train/cat/a.png", 0, SIDE, SIDE);
    write_png(root, "train/dog/c.PNG", 2, SIDE, SIDE);
    free(test_write_file(root, "train/dog/notes.txt", "not an image", 12));
    write_png(root, "test/dog/d.png", 3, SIDE, SIDE);
    write_png(root, "unlabeled/x.png", 5, SIDE, SIDE);
    write_png(root, "unlabeled/sub/y.png", 4, SIDE, SIDE);
    return root;
}

static int open_dir(simclr_dataset *ds, const char *dir, int image_size, simclr_error *err)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = dir;
    options.image_size = image_size;
    return simclr_dataset_open(ds, &options, err);
}

static void check_image(const simclr_dataset *ds, simclr_dataset_split_id split, int index, int image)
{
    uint8_t out[SIDE * SIDE * 3];
    simclr_dataset_read_image(ds, split, (size_t)index, out);
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < 3; c++)
                if (out[(y * SIDE + x) * 3 + c] != pixel_value(image, y, x, c))
                    fail_msg("image %d pixel (y %d, x %d, c %d) is %d, expected %d", index, y, x,
                             c, out[(y * SIDE + x) * 3 + c], pixel_value(image, y, x, c));
}

static void test_reads_sorted_classes_and_files(void **state)
{
    (void)state;
    char *root = write_tree();
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, root, SIDE, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.name, "folder");
    assert_int_equal(ds.height, SIDE);
    assert_int_equal(ds.width, SIDE);
    assert_int_equal(ds.channels, 3);
    assert_int_equal(ds.num_classes, 2);
    assert_string_equal(ds.class_names[0], "cat");
    assert_string_equal(ds.class_names[1], "dog");
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 3);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 1);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 2);
    assert_int_equal(simclr_dataset_unlabeled_source(&ds), SIMCLR_DATASET_SPLIT_UNLABELED);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1), 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 1);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 0), 1);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0), SIMCLR_DATASET_LABEL_NONE);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0); /* a.png before b.png */
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1, 1);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2, 2);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TEST, 0, 3);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0, 4); /* "sub" sorts before "x.png" */
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 1, 5);
    simclr_dataset_close(&ds);
    test_remove_tree(root);
    free(root);
}

static void test_resizes_and_reads_jpeg(void **state)
{
    (void)state;
    char *root = write_tree();
    write_png(root, "train/cat/big.png", -1, 20, 12); /* one colour, 20x12 -> 8x8 */
    write_jpeg(root, "train/dog/e.jpeg", 200, 100, 50);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, root, SIDE, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 5);
    uint8_t out[SIDE * SIDE * 3];
    simclr_dataset_read_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2, out); /* a, b, big, c, e */
    for (int i = 0; i < SIDE * SIDE; i++) {
        assert_int_equal(out[i * 3], 40);
        assert_int_equal(out[i * 3 + 1], 100);
        assert_int_equal(out[i * 3 + 2], 160);
    }
    simclr_dataset_read_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 4, out);
    for (int i = 0; i < SIDE * SIDE; i++) {
        assert_in_range(out[i * 3], 197, 203);
        assert_in_range(out[i * 3 + 1], 97, 103);
        assert_in_range(out[i * 3 + 2], 47, 53);
    }
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 4), 1);
    simclr_dataset_close(&ds);

    /* Issue 27, no --image-size and sizes that differ: the median shorter side (8 of 8, 8, 12, 8,
     * 8, 8, 8, 8), said in the rule; the two other-sized images are resized. */
    if (open_dir(&ds, root, 0, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.height, SIDE);
    assert_int_equal(ds.width, SIDE);
    assert_non_null(strstr(ds.image_size_rule, "median shorter side"));
    assert_int_equal(ds.resized_count, 1);
    assert_int_equal(ds.resized_from_height, 20);
    assert_int_equal(ds.resized_from_width, 12);
    simclr_dataset_close(&ds);
    test_remove_tree(root);
    free(root);
}

/* Issue 27: images that share one square size are used at it; sizes that differ give the median
 * shorter side, capped at 224. */
static void test_default_size_from_the_images(void **state)
{
    (void)state;
    char *root = write_tree();
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, root, 0, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.height, SIDE);
    assert_string_equal(ds.image_size_rule, "the images' own size");
    assert_int_equal(ds.resized_count, 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0);
    simclr_dataset_close(&ds);
    /* Shorter sides 300, 300, 400 and five of 8: median 8. Then six large ones: median 300 -> 224. */
    write_png(root, "train/cat/p1.png", -1, 300, 500);
    write_png(root, "train/cat/p2.png", -1, 500, 300);
    write_png(root, "test/dog/p3.png", -1, 400, 400);
    if (open_dir(&ds, root, 0, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.height, SIDE);
    assert_int_equal(ds.resized_count, 3);
    assert_int_equal(ds.source_size_count, 3);
    assert_int_equal(ds.resized_from_height, 300);
    assert_int_equal(ds.resized_largest_height, 400);
    simclr_dataset_close(&ds);
    write_png(root, "train/dog/p4.png", -1, 300, 300);
    write_png(root, "train/dog/p5.png", -1, 600, 350);
    write_png(root, "unlabeled/p6.png", -1, 320, 480);
    if (open_dir(&ds, root, 0, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.height, 224);
    assert_int_equal(ds.width, 224);
    assert_non_null(strstr(ds.image_size_rule, "capped at 224"));
    simclr_dataset_close(&ds);
    test_remove_tree(root);
    free(root);
}

/* An 8-wide, 4-tall image: left quarter red, middle half green, right quarter blue. Brought to
 * 4 x 4, crop keeps the centred square (green only), squash keeps all three colours. */
static void test_crop_or_squash(void **state)
{
    (void)state;
    char *root = write_tree();
    uint8_t wide[4 * 8 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 8; x++) {
            uint8_t *p = wide + (y * 8 + x) * 3;
            p[0] = x < 2 ? 255 : 0;
            p[1] = x >= 2 && x < 6 ? 255 : 0;
            p[2] = x >= 6 ? 255 : 0;
        }
    char path[1100];
    snprintf(path, sizeof path, "%s/train/cat/wide.png", root);
    simclr_error err = {0};
    if (simclr_image_write_png(path, wide, 4, 8, 3, &err) != 0) fail_msg("%s", err.message);
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = root;
    options.image_size = 4;
    for (int mode = 0; mode < 2; mode++) {
        options.resize = mode ? SIMCLR_IMAGE_RESIZE_CROP : SIMCLR_IMAGE_RESIZE_SQUASH;
        simclr_dataset ds;
        if (simclr_dataset_open(&ds, &options, &err) != 0) fail_msg("%s", err.message);
        assert_int_equal(ds.resize, options.resize);
        uint8_t out[4 * 4 * 3];
        simclr_dataset_read_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2, out); /* a, b, wide */
        int red = 0, blue = 0, green = 0;
        for (int i = 0; i < 16; i++) {
            red += out[i * 3] > 128;
            green += out[i * 3 + 1] > 128;
            blue += out[i * 3 + 2] > 128;
        }
        if (mode) {
            assert_int_equal(green, 16);
            assert_int_equal(red + blue, 0);
        } else {
            assert_int_equal(red, 4);  /* the left column */
            assert_int_equal(blue, 4); /* the right column */
        }
        simclr_dataset_close(&ds);
    }
    test_remove_tree(root);
    free(root);
}

/* Issue 27: with defer_pixels, opening lists and reads headers only; sizes and labels are known,
 * the pixels come with simclr_dataset_load_pixels and equal an ordinary open's. */
static void test_deferred_pixels(void **state)
{
    (void)state;
    char *root = write_tree();
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = root;
    options.image_size = SIDE;
    options.defer_pixels = 1;
    simclr_dataset ds;
    simclr_error err = {0};
    if (simclr_dataset_open(&ds, &options, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 3);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 1);
    assert_null(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].owned_pixels);
    assert_int_equal(simclr_dataset_pending_bytes(&ds), 6 * SIDE * SIDE * 3);
    if (simclr_dataset_load_pixels(&ds, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(simclr_dataset_pending_bytes(&ds), 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 1, 5);
    assert_int_equal(simclr_dataset_load_pixels(&ds, &err), 0); /* nothing left to do */
    simclr_dataset_close(&ds);
    /* A file whose header is fine but whose data is cut fails at load, naming it. */
    uint8_t *pixels = calloc(64 * 64 * 3, 1);
    char path[1100];
    snprintf(path, sizeof path, "%s/train/dog/cut.png", root);
    for (int i = 0; i < 64 * 64 * 3; i++) pixels[i] = (uint8_t)(i * 7919 % 251);
    if (simclr_image_write_png(path, pixels, 64, 64, 3, &err) != 0) fail_msg("%s", err.message);
    free(pixels);
    /* Its middle damaged (the header and the IEND end intact): found when decoding, named. */
    FILE *file = fopen(path, "r+b");
    assert_non_null(file);
    assert_int_equal(fseek(file, 120, SEEK_SET), 0);
    assert_int_equal(fwrite("\xff\xff\xff\xff\xff\xff\xff\xff", 1, 8, file), 8);
    fclose(file);
    if (simclr_dataset_open(&ds, &options, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.skipped_files, 0);
    assert_int_equal(simclr_dataset_load_pixels(&ds, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "cut.png"));
    simclr_dataset_close(&ds);
    simclr_error_clear(&err);
    /* Cut short: found from its end at open and skipped, named in the report; with strict refused. */
    assert_int_equal(truncate(path, 200), 0);
    if (simclr_dataset_open(&ds, &options, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.skipped_files, 1);
    assert_non_null(strstr(ds.skipped_report, "cut.png: truncated PNG"));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 3);
    assert_int_equal(simclr_dataset_load_pixels(&ds, &err), 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2, 2);
    simclr_dataset_close(&ds);
    options.strict = 1;
    assert_int_equal(simclr_dataset_open(&ds, &options, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "cut.png: truncated PNG"));
    assert_non_null(strstr(simclr_error_message(&err), "--strict"));
    simclr_error_clear(&err);
    test_remove_tree(root);
    free(root);
}

static void expect_failure(const char *root, int image_size, const char *text)
{
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_dir(&ds, root, image_size, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, text)) fail_msg("message does not name %s: %s", text, err.message);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        assert_int_equal(ds.splits[s].count, 0);
        assert_null(ds.splits[s].owned_pixels);
    }
    printf("  expected error: %s\n", err.message);
}

static void test_bad_trees(void **state)
{
    (void)state;
    char *root = write_tree();
    char path[1100];

    free(test_write_file(root, "unlabeled/sub/broken.png", "\x89PNG\r\n\x1a\n garbage", 17));
    {
        /* Issue 25: skipped, named, counted; the other images stay. */
        simclr_dataset ds;
        simclr_error err = {0};
        if (open_dir(&ds, root, SIDE, &err) != 0) fail_msg("%s", err.message);
        assert_int_equal(ds.skipped_files, 1);
        assert_non_null(strstr(ds.skipped_report, "broken.png"));
        assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 2);
        simclr_dataset_close(&ds);
    }
    snprintf(path, sizeof path, "%s/unlabeled/sub/broken.png", root);
    assert_int_equal(remove(path), 0);

    make_dir(root, "test/bird");
    expect_failure(root, SIDE, "test/bird");
    snprintf(path, sizeof path, "%s/test/bird", root);
    assert_int_equal(remove(path), 0);

    make_dir(root, "train/empty");
    expect_failure(root, SIDE, "train/empty");
    snprintf(path, sizeof path, "%s/train/empty", root);
    assert_int_equal(remove(path), 0);

    expect_failure(root, -3, "--image-size");

    test_remove_tree(root);
    char *bare = test_make_temp_dir();
    make_dir(bare, "train");
    expect_failure(bare, SIDE, "test");
    make_dir(bare, "test");
    expect_failure(bare, SIDE, "class subfolders");
    test_remove_tree(bare);
    free(bare);
    free(root);
}

/* The one CSV reader (src/data/csv_record.c, also behind src/cli/csv_fields.c): a byte order mark
 * at the start, quotes with commas, doubled quotes and a line break, CRLF, an empty line, a last
 * record without a line end; a NUL byte and an open quote refused with the line. */
static void test_csv_records(void **state)
{
    (void)state;
    static const char text[] = "\xef\xbb\xbf" "a,\"b,c\",\"say \"\"hi\"\"\"\r\n"
                               "\r\n"
                               "\"two\nlines\",x\"y\"z,\r\n"
                               "last";
    simclr_csv_memory in = {(const unsigned char *)text, sizeof text - 1, 0};
    simclr_csv_record record = {0};
    size_t line = 0;
    simclr_error err = {0};
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_int_equal(record.field_count, 3);
    assert_string_equal(simclr_csv_record_field(&record, 0), "a");
    assert_string_equal(simclr_csv_record_field(&record, 1), "b,c");
    assert_string_equal(simclr_csv_record_field(&record, 2), "say \"hi\"");
    assert_int_equal(line, 1);
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_int_equal(record.field_count, 1); /* the empty line: one empty field */
    assert_string_equal(simclr_csv_record_field(&record, 0), "");
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_int_equal(record.field_count, 3);
    assert_string_equal(simclr_csv_record_field(&record, 0), "two\nlines");
    assert_string_equal(simclr_csv_record_field(&record, 1), "xyz");
    assert_string_equal(simclr_csv_record_field(&record, 2), "");
    assert_int_equal(line, 4);
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_string_equal(simclr_csv_record_field(&record, 0), "last");
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 0);
    /* Not a byte order mark: its first bytes are kept. */
    static const char almost[] = "\xef\xbb,z\n";
    in = (simclr_csv_memory){(const unsigned char *)almost, sizeof almost - 1, 0};
    line = 0;
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_string_equal(simclr_csv_record_field(&record, 0), "\xef\xbb");
    assert_string_equal(simclr_csv_record_field(&record, 1), "z");
    static const char nul[] = "a\nb\0c\n";
    in = (simclr_csv_memory){(const unsigned char *)nul, sizeof nul - 1, 0};
    line = 0;
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "t.csv: line 2: a NUL byte"));
    static const char open_quote[] = "a\n\"b\nc\n";
    in = (simclr_csv_memory){(const unsigned char *)open_quote, sizeof open_quote - 1, 0};
    line = 0;
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), 1);
    assert_int_equal(simclr_csv_record_read(&record, simclr_csv_memory_next, &in, "t.csv", &line, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "t.csv: line 2: a quoted field is not closed"));
    simclr_error_clear(&err);
    simclr_csv_record_free(&record);
}

/* ---- Issue 25: --file-list ---- */

/* Writes root/name with text; returns the path (caller frees). */
static char *write_list(const char *root, const char *name, const char *text)
{
    return test_write_file(root, name, text, strlen(text));
}

static int open_list(simclr_dataset *ds, const char *list, const char *labeled_dir, int strict, simclr_error *err)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.file_list = list;
    options.labeled_dir = labeled_dir;
    options.strict = strict;
    options.image_size = SIDE;
    return simclr_dataset_open(ds, &options, err);
}

/* Opening list must fail with an input error whose message holds text. */
static void expect_list_failure(const char *list, const char *labeled_dir, int strict, const char *text)
{
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_list(&ds, list, labeled_dir, strict, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(simclr_error_message(&err), text))
        fail_msg("message does not hold '%s': %s", text, simclr_error_message(&err));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 0);
    printf("  expected error: %s\n", simclr_error_message(&err));
    simclr_error_clear(&err);
}

/* A CSV list with labels and splits, in another folder than its images: relative paths from the
 * list's folder, an absolute one, classes the sorted train labels, images in list order. */
static void test_file_list_csv_labels_and_splits(void **state)
{
    (void)state;
    char *root = write_tree();
    make_dir(root, "lists");
    char text[4096];
    snprintf(text, sizeof text,
             "split,path,label\n"
             "train,../train/dog/c.PNG,dog\n"
             ",../train/cat/b.png,cat\n"    /* a label without a split: train */
             "TRAIN, ../train/cat/a.png , cat \n" /* any case; spaces around fields ignored */
             "test,%s/test/dog/d.png,dog\n"
             ",../unlabeled/x.png,\n"       /* neither: unlabeled */
             "unlabeled,../unlabeled/sub/y.png,bird\n", /* an unlabeled row's label is unused */
             root);
    char *list = write_list(root, "lists/list.csv", text);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_list(&ds, list, NULL, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_string_equal(ds.path, list);
    assert_int_equal(ds.num_classes, 2);
    assert_string_equal(ds.class_names[0], "cat");
    assert_string_equal(ds.class_names[1], "dog");
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 3);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 1);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 2);
    assert_int_equal(ds.skipped_files, 0);
    assert_null(ds.skipped_report);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 2); /* list order: c, b, a */
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1, 1);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2, 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 1);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1), 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TEST, 0, 3);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 0), 1);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0, 5);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 1, 4);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0), SIMCLR_DATASET_LABEL_NONE);
    simclr_dataset_close(&ds);

    /* No test rows: a dataset without a test split (training refuses it, as for a folder). */
    free(list);
    list = write_list(root, "lists/no_test.csv", "path,label\n../train/cat/a.png,cat\n../train/dog/c.PNG,dog\n");
    if (open_list(&ds, list, NULL, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 2);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 0);
    simclr_dataset_close(&ds);
    free(list);
    test_remove_tree(root);
    free(root);
}

/* Issue 25: a folder without train/ and test/ (and no labeled_dir) is its images, at any depth, as
 * the unlabeled split alone: no classes, no labeled images; an empty one is refused naming it. */
static void test_unlabeled_only_folder(void **state)
{
    (void)state;
    char *root = test_make_temp_dir();
    make_dir(root, "2024");
    make_dir(root, "2024/june");
    write_png(root, "b.png", 1, SIDE, SIDE);
    write_png(root, "2024/a.png", 0, SIDE, SIDE);
    write_png(root, "2024/june/c.png", 2, SIDE, SIDE);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, root, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(ds.num_classes, 0);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 3);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 0);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0), SIMCLR_DATASET_LABEL_NONE);
    simclr_dataset_close(&ds);
    char *empty = test_make_temp_dir();
    make_dir(empty, "nothing");
    assert_int_equal(open_dir(&ds, empty, 0, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), empty));
    assert_non_null(strstr(simclr_error_message(&err), "no readable image"));
    test_remove_tree(empty);
    free(empty);
    test_remove_tree(root);
    free(root);
}

/* A text list: one path a line, unlabeled; its labeled images from labeled_dir. Commas and quotes
 * are part of a text line's path. */
static void test_file_list_text(void **state)
{
    (void)state;
    char *root = write_tree();
    make_dir(root, "photos");
    write_png(root, "photos/a,b.png", 6, SIDE, SIDE);
    write_png(root, "photos/say \"hi\".png", 7, SIDE, SIDE);
    char *list = write_list(root, "photos.txt", "photos/a,b.png\n\n  \nphotos/say \"hi\".png\nunlabeled/x.png");
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_list(&ds, list, root, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 3);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0, 6);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 1, 7);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 2, 5);
    assert_int_equal(ds.num_classes, 2); /* from root's train/ */
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 3);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 1);
    simclr_dataset_close(&ds);
    /* Without labeled_dir: the unlabeled split alone, no classes (pretraining without labels). */
    if (open_list(&ds, list, NULL, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 3);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 1, 7);
    assert_int_equal(ds.num_classes, 0);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 0);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 0);
    simclr_dataset_close(&ds);
    /* A labeled list and labeled_dir: refused. */
    char *labeled = write_list(root, "labeled.csv", "path,label\ntrain/cat/a.png,cat\n");
    expect_list_failure(labeled, root, 0, "has labeled rows of its own");
    free(labeled);
    free(list);
    test_remove_tree(root);
    free(root);
}

/* RFC 4180 quoting (commas, doubled quotes, a line break in a path), a byte order mark, CRLF line
 * ends, empty lines and pandas' unnamed index column. */
static void test_file_list_quotes_bom_crlf(void **state)
{
    (void)state;
    char *root = write_tree();
    write_png(root, "train/cat/a,b.png", 6, SIDE, SIDE);
    write_png(root, "train/dog/say \"hi\".png", 7, SIDE, SIDE);
    write_png(root, "train/dog/two\nlines.png", 8, SIDE, SIDE);
    const char *text = "\xef\xbb\xbf,Path,Label\r\n"
                       "0,\"train/cat/a,b.png\",cat\r\n"
                       "\r\n"
                       "1,\"train/dog/say \"\"hi\"\".png\",dog\r\n"
                       ",,\r\n"
                       "2,\"train/dog/two\nlines.png\",\"dog\"\r\n"
                       "3,train/cat/a.png,cat"; /* no line end at the end */
    char *list = write_list(root, "list.csv", text);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_list(&ds, list, NULL, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 4);
    assert_int_equal(ds.skipped_files, 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 6);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1, 7);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2, 8);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 3, 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 1);
    simclr_dataset_close(&ds);
    free(list);

    /* The parser itself: line numbers count the quoted line break; a BOM and CRLF in a text list. */
    simclr_file_list parsed;
    if (simclr_file_list_parse(&parsed, text, strlen(text), "list.csv", "base/", &err) != 0)
        fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(parsed.csv, 1);
    assert_int_equal(parsed.count, 4);
    assert_string_equal(parsed.entries[0].path, "base/train/cat/a,b.png");
    assert_string_equal(parsed.entries[1].path, "base/train/dog/say \"hi\".png");
    assert_string_equal(parsed.entries[2].path, "base/train/dog/two\nlines.png");
    assert_int_equal(parsed.entries[2].line, 6);
    assert_int_equal(parsed.entries[3].line, 8);
    assert_int_equal(parsed.class_count, 2);
    simclr_file_list_free(&parsed);
    const char *lines = "\xef\xbb\xbf/abs/a.png\r\nrel/b,c.png\r\n\r\n";
    if (simclr_file_list_parse(&parsed, lines, strlen(lines), "list.txt", "base/", &err) != 0)
        fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(parsed.csv, 0);
    assert_int_equal(parsed.count, 2);
    assert_string_equal(parsed.entries[0].path, "/abs/a.png");
    assert_string_equal(parsed.entries[1].path, "base/rel/b,c.png");
    assert_int_equal(parsed.entries[1].split, SIMCLR_DATASET_SPLIT_UNLABELED);
    assert_int_equal(parsed.labeled_rows, 0);
    simclr_file_list_free(&parsed);
    test_remove_tree(root);
    free(root);
}

/* Missing and unreadable files are named once with the reason and skipped; a path listed again
 * is skipped and named with both lines; strict refuses either. */
static void test_file_list_missing_files(void **state)
{
    (void)state;
    char *root = write_tree();
    free(test_write_file(root, "train/cat/broken.png", "\x89PNG\r\n\x1a\n garbage", 17));
    char *list = write_list(root, "list.csv",
                            "path,label,split\n"
                            "train/cat/a.png,cat,\n"
                            "train/cat/gone.png,cat,\n"
                            "train/dog/c.PNG,dog,\n"
                            "train/cat/broken.png,cat,\n"
                            "train/cat/a.png,cat,test\n"
                            "test/dog/d.png,dog,test\n");
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_list(&ds, list, NULL, 0, &err) != 0) fail_msg("%s", simclr_error_message(&err));
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 2);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 1);
    assert_int_equal(ds.skipped_files, 2); /* the missing and the broken file; the repeat is reported */
    printf("  report:\n%s", ds.skipped_report);
    assert_non_null(strstr(ds.skipped_report, "gone.png: No such file or directory"));
    assert_non_null(strstr(ds.skipped_report, "broken.png"));
    char repeated[2048];
    snprintf(repeated, sizeof repeated, "train/cat/a.png: listed again on line 6 of %s (first on line 2)", list);
    assert_non_null(strstr(ds.skipped_report, repeated));
    assert_null(strstr(strstr(ds.skipped_report, "gone.png") + 1, "gone.png")); /* named once */
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1, 2);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TEST, 0, 3);
    simclr_dataset_close(&ds);
    expect_list_failure(list, NULL, 1, "--strict");
    expect_list_failure(list, NULL, 1, "listed again on line 6");
    free(list);
    list = write_list(root, "missing.csv", "path,label\ntrain/cat/a.png,cat\ntrain/cat/gone.png,cat\n");
    expect_list_failure(list, NULL, 1, "gone.png: No such file or directory (--strict");
    free(list);
    /* Nothing readable: the list is named. */
    list = write_list(root, "none.csv", "path,label\ntrain/cat/gone.png,cat\nnot/there.jpg,dog\n");
    expect_list_failure(list, NULL, 0, "none.csv names no readable image (2 skipped");
    free(list);
    list = write_list(root, "no_train.csv", "path,label,split\ntrain/cat/gone.png,cat,\ntest/dog/d.png,cat,test\n");
    expect_list_failure(list, NULL, 0, "no_train.csv names no readable train image (1 skipped");
    free(list);
    test_remove_tree(root);
    free(root);
}

/* An empty list, bad headers and bad rows: refused, naming the list and the line. */
static void test_file_list_bad_lists(void **state)
{
    (void)state;
    char *root = write_tree();
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"", "no image path in it"},
        {"\xef\xbb\xbf\r\n\r\n  \n", "no image path in it"},
        {"path,label,split\r\n", "no image path in it"},
        {"path,label,split\n,,\n", "no image path in it"},
        {"file,label\ntrain/cat/a.png,cat\n", "line 1: unknown column 'file'"},
        {"label,split\ncat,train\n", "line 1: the CSV header has no path column"},
        {"path,label,PATH\na,b,c\n", "line 1: the column 'PATH' is named twice"},
        {"path,label\ntrain/cat/a.png,cat,extra\n", "line 2: 3 fields; the header has 2"},
        {"path,label\ntrain/cat/a.png\n", "line 2: 1 field; the header has 2"},
        {"path,label,split\ntrain/cat/a.png,cat,val\n", "line 2: split 'val'; expected train, test or unlabeled"},
        {"path,label,split\ntrain/cat/a.png,,test\n", "line 2: a test row needs a label"},
        {"path,label\n,cat\n", "line 2: the path is empty"},
        {"path,label\ntrain/cat/a.png,cat\n\"train/dog/c.PNG,dog\n", "line 3: a quoted field is not closed"},
        {"path,label\ntrain/cat/a.png,cat\ntrain/dog/c.PNG,dog\0x\n", "line 3: a NUL byte"},
        {"train/cat/a.png\ntrain\0/dog/c.PNG\n", "line 2: a NUL byte"},
        {"path,label\ntrain/cat/a.png,a-label-of-more-than-sixty-three-bytes-is-not-a-class-name-we-keep\n",
         "line 2: the label 'a-label-of-more-than-sixty-three...' is 66 bytes; at most 63"},
        {"path,label\ntrain/cat/a.png,\"two\nlines\"\n", "line 2: the label holds a control character"},
        {"path,label,split\ntrain/cat/a.png,cat,test\n", "1 test row but no train row"},
        {"path,label,split\ntrain/cat/a.png,cat,\ntest/dog/d.png,dog,test\n",
         "line 3: the test row's label 'dog' is not the label of any train row"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* The texts with a NUL byte: written up to the last '\n' of the literal. */
        size_t length = strlen(cases[i].text);
        if (strstr(cases[i].message, "NUL")) length = length + 1 + strlen(cases[i].text + length + 1);
        char *list = test_write_file(root, "bad.csv", cases[i].text, length);
        expect_list_failure(list, NULL, 0, cases[i].message);
        expect_list_failure(list, NULL, 0, list); /* the list is named */
        free(list);
    }
    /* Options that do not go with a list. */
    char *list = write_list(root, "good.csv", "path,label\ntrain/cat/a.png,cat\n");
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.file_list = list;
    options.data_dir = root;
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(simclr_dataset_open(&ds, &options, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "give --file-list or --data-dir, not both"));
    options.data_dir = NULL;
    options.kind = SIMCLR_DATASET_KIND_CIFAR10;
    assert_int_equal(simclr_dataset_open(&ds, &options, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "--dataset folder"));
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/nowhere.csv", root);
    options.file_list = missing;
    assert_int_equal(simclr_dataset_open(&ds, &options, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "nowhere.csv: no such file"));
    simclr_error_clear(&err);
    free(list);
    test_remove_tree(root);
    free(root);
}


/* ---- Issue 25: the index cache ---- */

/* Sets the modification time of every file and folder under root to `seconds_ago` seconds ago
 * (with a fraction of a second): settled, as a dataset that was not just written is. */
static void age_tree(const char *root, long seconds_ago)
{
    struct timespec times[2];
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= seconds_ago;
    times[0].tv_nsec = 123456789;
    times[1] = times[0];
    DIR *handle = opendir(root);
    if (handle) {
        struct dirent *entry;
        while ((entry = readdir(handle)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", root, entry->d_name);
            struct stat info;
            assert_int_equal(lstat(path, &info), 0);
            if (S_ISDIR(info.st_mode)) age_tree(path, seconds_ago);
            else assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
        }
        closedir(handle);
    }
    assert_int_equal(utimensat(AT_FDCWD, root, times, AT_SYMLINK_NOFOLLOW), 0);
}

static int open_cached(simclr_dataset *ds, const char *dir, const char *cache, simclr_error *err)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = dir;
    options.defer_pixels = 1; /* the index stays in ds->pending, to compare */
    options.index_cache_dir = cache;
    return simclr_dataset_open(ds, &options, err);
}

/* The same dataset: shape, classes, every split's files in the same order with the same labels
 * and declared sizes, the same skipped files. */
static void assert_same_dataset(const simclr_dataset *a, const simclr_dataset *b)
{
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->num_classes, b->num_classes);
    for (int c = 0; c < a->num_classes; c++) assert_string_equal(a->class_names[c], b->class_names[c]);
    assert_int_equal(a->skipped_files, b->skipped_files);
    assert_int_equal(a->resized_count, b->resized_count);
    const folder_index *x = a->pending, *y = b->pending;
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        assert_int_equal(a->splits[s].count, b->splits[s].count);
        assert_int_equal(x->files[s].count, y->files[s].count);
        for (size_t i = 0; i < x->files[s].count; i++) {
            assert_string_equal(x->files[s].items[i], y->files[s].items[i]);
            assert_int_equal(x->files[s].labels[i], y->files[s].labels[i]);
            assert_int_equal(x->heights[s][i], y->heights[s][i]);
            assert_int_equal(x->widths[s][i], y->widths[s][i]);
        }
    }
}

/* Opens dir with cache and checks it against an open without: the same dataset, and `cached` of
 * its files from the cache (-1: any), the cache written or not. */
#define check_cached_open(dir, cache, cached, written) check_cached_open_at(dir, cache, cached, written, __LINE__)
static void check_cached_open_at(const char *dir, const char *cache, long cached, int written, int line)
{
    simclr_dataset plain, ds;
    simclr_error err = {0};
    if (open_cached(&plain, dir, NULL, &err) != 0) fail_msg("%s", err.message);
    if (open_cached(&ds, dir, cache, &err) != 0) fail_msg("%s", err.message);
    assert_same_dataset(&plain, &ds);
    assert_int_equal(ds.index_files, plain.index_files);
    if ((cached >= 0 && ds.index_cached_files != (size_t)cached) || ds.index_cache_written != written)
        fail_msg("line %d: %zu of %zu files from the cache, expected %ld; written %d, expected %d (notes: %s)", line,
                 ds.index_cached_files, ds.index_files, cached, ds.index_cache_written, written,
                 ds.index_notes ? ds.index_notes : "none");
    assert_non_null(ds.index_cache_path);
    assert_null(plain.index_cache_path);
    assert_int_equal(plain.index_cached_files, 0);
    if (ds.index_notes) printf("  notes: %s", ds.index_notes);
    simclr_dataset_close(&plain);
    simclr_dataset_close(&ds);
}

/* A second open takes every file from the cache and gives the same dataset; a file touched,
 * rewritten at another size, added or removed is found, and the cache follows. */
static void test_index_cache_reuse_and_changes(void **state)
{
    (void)state;
    char *root = write_tree(), *cache = test_make_temp_dir();
    write_png(root, "train/cat/bad.png", 1, SIDE, SIDE);
    char path[1200];
    snprintf(path, sizeof path, "%s/train/cat/bad.png", root);
    assert_int_equal(truncate(path, 60), 0); /* a bad file: recorded as one, read again for the reason */
    age_tree(root, 100);
    check_cached_open(root, cache, 0, 1);  /* 7 files read (bad.png too), recorded */
    check_cached_open(root, cache, 7, 0);  /* all from the cache, nothing written */
    /* The same folder spelt otherwise: the same cache. */
    char other[1200];
    snprintf(other, sizeof other, "%s/train/../", root);
    check_cached_open(other, cache, 7, 0);

    /* Touched (a new modification time, the same bytes): read again. */
    snprintf(path, sizeof path, "%s/train/cat/a.png", root);
    struct timespec times[2] = {{.tv_sec = time(NULL) - 50, .tv_nsec = 5}, {.tv_sec = time(NULL) - 50, .tv_nsec = 5}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    check_cached_open(root, cache, 6, 1);
    check_cached_open(root, cache, 7, 0);
    /* Rewritten at another size: its new size is used. */
    write_png(root, "train/cat/a.png", 0, 12, SIDE);
    age_tree(root, 90);
    check_cached_open(root, cache, 0, 1); /* every time changed by age_tree: all read again */
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_cached(&ds, root, cache, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(((const folder_index *)ds.pending)->heights[SIMCLR_DATASET_SPLIT_TRAIN][0], 12);
    assert_int_equal(ds.index_cached_files, 7);
    simclr_dataset_close(&ds);
    /* Added, then removed: the folder's listing changes with its modification time. */
    write_png(root, "train/cat/added.png", 5, SIDE, SIDE);
    age_tree(root, 80);
    check_cached_open(root, cache, 0, 1);
    check_cached_open(root, cache, 8, 0);
    snprintf(path, sizeof path, "%s/train/cat/added.png", root);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/train/cat", root);
    struct timespec old[2] = {{.tv_sec = time(NULL) - 70, .tv_nsec = 7}, {.tv_sec = time(NULL) - 70, .tv_nsec = 7}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    check_cached_open(root, cache, 7, 1); /* its record dropped: written */
    check_cached_open(root, cache, 7, 0);
    /* Modified too recently to be trusted (within 50 ms of the open, when a change in the same
     * clock tick could keep its time; here, deterministically, a time in the future): read, and
     * not recorded. */
    write_png(root, "unlabeled/sub/y.png", 4, SIDE, SIDE);
    snprintf(path, sizeof path, "%s/unlabeled/sub/y.png", root);
    struct timespec future[2] = {{.tv_sec = time(NULL) + 3600, .tv_nsec = 9},
                                 {.tv_sec = time(NULL) + 3600, .tv_nsec = 9}};
    assert_int_equal(utimensat(AT_FDCWD, path, future, 0), 0);
    check_cached_open(root, cache, 6, 1); /* its record dropped */
    check_cached_open(root, cache, 6, 0);
    /* A list of files: its own cache, reused. */
    char *list = test_write_file(root, "list.csv", "path,label\ntrain/cat/a.png,cat\ntrain/dog/c.PNG,dog\n", 50);
    age_tree(root, 60);
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.file_list = list;
    options.index_cache_dir = cache;
    for (int round = 0; round < 2; round++) {
        if (simclr_dataset_open(&ds, &options, &err) != 0) fail_msg("%s", err.message);
        assert_int_equal(ds.index_files, 2);
        assert_int_equal(ds.index_cached_files, round ? 2 : 0);
        assert_int_equal(ds.index_cache_written, !round);
        assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 2);
        simclr_dataset_close(&ds);
    }
    free(list);
    test_remove_tree(cache);
    test_remove_tree(root);
    free(cache);
    free(root);
}

/* The one cache file in dir (the test's own cache folder). */
static void cache_file_in(const char *dir, char *out, size_t size)
{
    DIR *handle = opendir(dir);
    assert_non_null(handle);
    struct dirent *entry;
    int found = 0;
    while ((entry = readdir(handle)) != NULL)
        if (strstr(entry->d_name, ".index")) {
            snprintf(out, size, "%s/%s", dir, entry->d_name);
            found++;
        }
    closedir(handle);
    assert_int_equal(found, 1);
}

/* Opens with the cache after it was damaged: the same dataset, the note names the cache and the
 * reason, the cache is rewritten and used by the next open. */
static void expect_rebuilt(const char *root, const char *cache, const char *reason)
{
    simclr_dataset plain, ds;
    simclr_error err = {0};
    if (open_cached(&plain, root, NULL, &err) != 0) fail_msg("%s", err.message);
    if (open_cached(&ds, root, cache, &err) != 0) fail_msg("%s", err.message);
    assert_same_dataset(&plain, &ds);
    assert_int_equal(ds.index_cached_files, 0);
    assert_int_equal(ds.index_cache_written, 1);
    if (!ds.index_notes || !strstr(ds.index_notes, reason) || !strstr(ds.index_notes, ds.index_cache_path) ||
        !strstr(ds.index_notes, "rebuilding it"))
        fail_msg("expected a note naming the cache and '%s', got: %s", reason,
                 ds.index_notes ? ds.index_notes : "none");
    printf("  note: %s", ds.index_notes);
    simclr_dataset_close(&plain);
    simclr_dataset_close(&ds);
    check_cached_open(root, cache, 6, 0);
}

static void patch_file(const char *path, long offset, const void *bytes, size_t size)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, size, offset), (ssize_t)size);
    close(fd);
}

/* A cache that is damaged, cut short, of another version, not a cache at all or another
 * dataset's: never trusted, named in a note and rebuilt. */
static void test_index_cache_damaged(void **state)
{
    (void)state;
    char *root = write_tree(), *cache = test_make_temp_dir();
    age_tree(root, 100);
    check_cached_open(root, cache, 0, 1);
    char path[1300];
    cache_file_in(cache, path, sizeof path);
    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    patch_file(path, info.st_size / 2, "\xa5", 1); /* a byte in the middle of the body */
    expect_rebuilt(root, cache, "checksum mismatch");
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(truncate(path, info.st_size - 3), 0);
    expect_rebuilt(root, cache, "truncated");
    patch_file(path, 8, "\x63\0\0\0", 4);
    expect_rebuilt(root, cache, "version 99; this build reads 1");
    char *foreign = test_write_file(cache, strrchr(path, '/') + 1, "\x89PNG\r\n\x1a\n not a cache", 20);
    free(foreign);
    expect_rebuilt(root, cache, "not a simclr index cache");
    /* Another dataset's cache in this one's place. */
    char *other = write_tree(), *other_cache = test_make_temp_dir(), other_path[1300];
    age_tree(other, 100);
    check_cached_open(other, other_cache, 0, 1);
    cache_file_in(other_cache, other_path, sizeof other_path);
    assert_int_equal(rename(other_path, path), 0);
    expect_rebuilt(root, cache, "another dataset's");
    test_remove_tree(other_cache);
    test_remove_tree(other);
    free(other_cache);
    free(other);
    test_remove_tree(cache);
    test_remove_tree(root);
    free(cache);
    free(root);
}

/* A cache directory that cannot be made or written: the dataset opens, a note says why. */
static void test_index_cache_unwritable(void **state)
{
    (void)state;
    char *root = write_tree();
    age_tree(root, 100);
    char cache[1200];
    snprintf(cache, sizeof cache, "%s/train/dog/notes.txt/cache", root); /* under a file */
    for (int round = 0; round < 2; round++) {
        simclr_dataset plain, ds;
        simclr_error err = {0};
        if (open_cached(&plain, root, NULL, &err) != 0) fail_msg("%s", err.message);
        if (open_cached(&ds, root, cache, &err) != 0) fail_msg("%s", err.message);
        assert_same_dataset(&plain, &ds);
        assert_int_equal(ds.index_cache_written, 0);
        assert_int_equal(ds.index_cached_files, 0);
        assert_non_null(ds.index_notes);
        assert_non_null(strstr(ds.index_notes, "index cache not written: cannot create directory"));
        assert_non_null(strstr(ds.index_notes, "the next open reads every header again"));
        printf("  note: %s", ds.index_notes);
        simclr_dataset_close(&plain);
        simclr_dataset_close(&ds);
    }
    test_remove_tree(root);
    free(root);
}

/* Class folders whose names are not UTF-8, or hold a line break: classes named with those bytes
 * as \xNN (checkpoints and JSON files need UTF-8, one name a line), said in a note; two folders
 * that would get the same name are refused. A list's labels likewise. */
static void test_class_names_not_utf8(void **state)
{
    (void)state;
    char *root = test_make_temp_dir();
    static const char *const folders[] = {"train", "test", "train/caf\xe9", "test/caf\xe9", "train/dog",
                                          "train/line\nbreak", "train/\xe6\x97\xa5\xe6\x9c\xac"};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) make_dir(root, folders[i]);
    write_png(root, "train/caf\xe9/a.png", 0, SIDE, SIDE);
    write_png(root, "test/caf\xe9/b.png", 1, SIDE, SIDE);
    write_png(root, "train/dog/c.png", 2, SIDE, SIDE);
    write_png(root, "train/line\nbreak/d.png", 3, SIDE, SIDE);
    write_png(root, "train/\xe6\x97\xa5\xe6\x9c\xac/e.png", 4, SIDE, SIDE);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, root, SIDE, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.num_classes, 4);
    assert_string_equal(ds.class_names[0], "caf\\xe9");
    assert_string_equal(ds.class_names[1], "dog");
    assert_string_equal(ds.class_names[2], "line\\x0abreak");
    assert_string_equal(ds.class_names[3], "\xe6\x97\xa5\xe6\x9c\xac"); /* UTF-8: kept */
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 0), 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0); /* the files themselves keep their bytes */
    assert_non_null(ds.index_notes);
    assert_non_null(strstr(ds.index_notes, "2 class names of"));
    assert_non_null(strstr(ds.index_notes, "(the first: 'caf\\xe9')"));
    printf("  note: %s", ds.index_notes);
    simclr_dataset_close(&ds);
    /* A name cut to 63 bytes stays UTF-8: cut before a character, not inside it. */
    char long_name[128] = "train/";
    for (int i = 0; i < 31; i++) strcat(long_name, "\xc3\xa9"); /* 62 bytes */
    strcat(long_name, "\xc3\xa9x");
    make_dir(root, long_name);
    char file[200];
    snprintf(file, sizeof file, "%s/f.png", long_name);
    write_png(root, file, 5, SIDE, SIDE);
    if (open_dir(&ds, root, SIDE, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.num_classes, 5);
    assert_int_equal(strlen(ds.class_names[3]), 62); /* 31 times e-acute, sorted before the CJK name */
    assert_int_equal(memcmp(ds.class_names[3], "\xc3\xa9", 2), 0);
    simclr_dataset_close(&ds);
    /* "caf\xe9" spelt out in ASCII: the same class name as the byte, refused. */
    make_dir(root, "train/caf\\xe9");
    write_png(root, "train/caf\\xe9/g.png", 6, SIDE, SIDE);
    assert_int_equal(open_dir(&ds, root, SIDE, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "would both be named 'caf\\xe9'"));
    printf("  expected error: %s\n", simclr_error_message(&err));
    simclr_error_clear(&err);
    /* A list's labels. */
    char *list = test_write_file(root, "latin1.csv", "path,label\ntrain/dog/c.png,caf\xe9\n", 31);
    if (open_list(&ds, list, NULL, 0, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.class_names[0], "caf\\xe9");
    assert_non_null(ds.index_notes);
    simclr_dataset_close(&ds);
    free(list);
    test_remove_tree(root);
    free(root);
}

/* Unlabeled folders that link back to a folder holding them: refused at once, naming the link
 * (a serial walk would go 16 folders down the loop first). */
static void test_unlabeled_loop(void **state)
{
    (void)state;
    char *root = write_tree();
    char path[1200];
    snprintf(path, sizeof path, "%s/unlabeled/sub/up", root);
    assert_int_equal(symlink("..", path), 0);
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_dir(&ds, root, SIDE, &err), -1);
    assert_non_null(strstr(simclr_error_message(&err), "unlabeled/sub/up is a link back to"));
    assert_non_null(strstr(simclr_error_message(&err), "(a loop)"));
    printf("  expected error: %s\n", simclr_error_message(&err));
    simclr_error_clear(&err);
    test_remove_tree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_sorted_classes_and_files),
        cmocka_unit_test(test_resizes_and_reads_jpeg),
        cmocka_unit_test(test_bad_trees),
        cmocka_unit_test(test_default_size_from_the_images),
        cmocka_unit_test(test_crop_or_squash),
        cmocka_unit_test(test_deferred_pixels),
        cmocka_unit_test(test_csv_records),
        cmocka_unit_test(test_file_list_csv_labels_and_splits),
        cmocka_unit_test(test_file_list_text),
        cmocka_unit_test(test_unlabeled_only_folder),
        cmocka_unit_test(test_file_list_quotes_bom_crlf),
        cmocka_unit_test(test_file_list_missing_files),
        cmocka_unit_test(test_file_list_bad_lists),
        cmocka_unit_test(test_index_cache_reuse_and_changes),
        cmocka_unit_test(test_index_cache_damaged),
        cmocka_unit_test(test_index_cache_unwritable),
        cmocka_unit_test(test_class_names_not_utf8),
        cmocka_unit_test(test_unlabeled_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
