#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_sorted_classes_and_files),
        cmocka_unit_test(test_resizes_and_reads_jpeg),
        cmocka_unit_test(test_bad_trees),
        cmocka_unit_test(test_default_size_from_the_images),
        cmocka_unit_test(test_crop_or_squash),
        cmocka_unit_test(test_deferred_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
