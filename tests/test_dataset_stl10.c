#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simclr/dataset.h"
#include "test_support.h"

enum { SIDE = 96, IMAGE = 96 * 96 * 3 };

/* Pixel (row y, col x, channel c) of image `image` of a split: asymmetric in x and y, so a
 * row/column mix-up changes almost every value. */
static uint8_t pixel_value(int split, int image, int y, int x, int c)
{
    return (uint8_t)(y * 7 + x * 13 + c * 101 + image * 29 + split * 53 + 3);
}

/* Writes name with `count` images in STL-10's layout: byte c*9216 + x*96 + y. */
static void write_images(const char *dir, const char *name, int split, int count, size_t extra)
{
    size_t size = (size_t)count * IMAGE + extra;
    uint8_t *bytes = calloc(size ? size : 1, 1);
    assert_non_null(bytes);
    for (int i = 0; i < count; i++)
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < SIDE; x++)
                for (int y = 0; y < SIDE; y++)
                    bytes[(size_t)i * IMAGE + (size_t)c * SIDE * SIDE + (size_t)x * SIDE + y] =
                        pixel_value(split, i, y, x, c);
    free(test_write_file(dir, name, bytes, size));
    free(bytes);
}

static void write_labels(const char *dir, const char *name, const uint8_t *labels, size_t count)
{
    free(test_write_file(dir, name, labels, count));
}

static const uint8_t train_labels[3] = {1, 10, 5};
static const uint8_t test_labels[2] = {2, 3};

/* A complete small stl10_binary folder: 3 train, 2 test, 4 unlabeled images. */
static void write_stl10(const char *dir, int with_unlabeled)
{
    write_images(dir, "train_X.bin", 1, 3, 0);
    write_labels(dir, "train_y.bin", train_labels, 3);
    write_images(dir, "test_X.bin", 2, 2, 0);
    write_labels(dir, "test_y.bin", test_labels, 2);
    if (with_unlabeled) write_images(dir, "unlabeled_X.bin", 0, 4, 0);
}

static void check_image(const simclr_dataset *ds, simclr_dataset_split_id split, int image)
{
    uint8_t *out = malloc(simclr_dataset_image_bytes(ds));
    assert_non_null(out);
    simclr_dataset_read_image(ds, split, (size_t)image, out);
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < 3; c++)
                if (out[(y * SIDE + x) * 3 + c] != pixel_value((int)split, image, y, x, c))
                    fail_msg("%s image %d pixel (y %d, x %d, c %d) is %d, expected %d",
                             simclr_dataset_split_name(split), image, y, x, c,
                             out[(y * SIDE + x) * 3 + c], pixel_value((int)split, image, y, x, c));
    free(out);
}

static int open_dir(simclr_dataset *ds, const char *dir, int fold, simclr_error *err)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_STL10;
    options.data_dir = dir;
    options.stl10_fold = fold;
    return simclr_dataset_open(ds, &options, err);
}

static void test_reads_all_splits_column_major(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_stl10(dir, 1);
    const char names[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\nlast one\n";
    free(test_write_file(dir, "class_names.txt", names, strlen(names)));
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, dir, -1, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.name, "stl10");
    assert_int_equal(ds.height, 96);
    assert_int_equal(ds.width, 96);
    assert_int_equal(ds.channels, 3);
    assert_int_equal(simclr_dataset_image_bytes(&ds), IMAGE);
    assert_int_equal(ds.num_classes, 10);
    assert_string_equal(ds.class_names[0], "a");
    assert_string_equal(ds.class_names[9], "last one");
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 3);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 2);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 4);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].layout, SIMCLR_DATASET_PIXELS_PLANES_COLUMN_MAJOR);
    assert_non_null(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].mapping);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 0);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1), 9);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 4);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 1), 2);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 0), SIMCLR_DATASET_LABEL_NONE);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 3), SIMCLR_DATASET_LABEL_NONE);
    assert_int_equal(simclr_dataset_unlabeled_source(&ds), SIMCLR_DATASET_SPLIT_UNLABELED);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TEST, 1);
    check_image(&ds, SIMCLR_DATASET_SPLIT_UNLABELED, 3);
    simclr_dataset_close(&ds);
    test_remove_tree(dir);
    free(dir);
}

static void test_optional_files_and_nested_folder(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char nested[1024];
    snprintf(nested, sizeof nested, "%s/stl10_binary", dir);
    assert_int_equal(mkdir(nested, 0755), 0);
    write_stl10(nested, 0);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, dir, -1, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.path, nested);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 0);
    assert_int_equal(simclr_dataset_unlabeled_source(&ds), SIMCLR_DATASET_SPLIT_TRAIN);
    assert_string_equal(ds.class_names[0], "airplane");
    assert_string_equal(ds.class_names[7], "monkey");
    assert_string_equal(ds.class_names[9], "truck");
    simclr_dataset_close(&ds);
    test_remove_tree(dir);
    free(dir);
}

static void test_fold_selects_indices(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_stl10(dir, 0);
    const char folds[] = "2 0\n1\n";
    free(test_write_file(dir, "fold_indices.txt", folds, strlen(folds)));
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_dir(&ds, dir, 0, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 2);
    assert_null(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].mapping);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 4); /* train image 2 */
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1), 0); /* train image 0 */
    uint8_t *out = malloc(IMAGE);
    assert_non_null(out);
    simclr_dataset_read_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, out);
    assert_int_equal(out[(5 * SIDE + 70) * 3 + 1], pixel_value(1, 2, 5, 70, 1));
    assert_int_equal(out[(70 * SIDE + 5) * 3 + 2], pixel_value(1, 2, 70, 5, 2));
    free(out);
    simclr_dataset_close(&ds);

    if (open_dir(&ds, dir, 1, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 1);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 9);
    simclr_dataset_close(&ds);

    assert_int_equal(open_dir(&ds, dir, 5, &err), -1);
    assert_non_null(strstr(err.message, "fold_indices.txt"));
    const char bad[] = "0 3\n";
    free(test_write_file(dir, "fold_indices.txt", bad, strlen(bad)));
    assert_int_equal(open_dir(&ds, dir, 0, &err), -1);
    assert_non_null(strstr(err.message, "fold_indices.txt"));
    test_remove_tree(dir);
    free(dir);
}

/* Opening must fail with an input error whose message names `file`, leaving ds released. */
static void expect_failure(const char *dir, const char *file)
{
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_dir(&ds, dir, -1, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, file)) fail_msg("message does not name %s: %s", file, err.message);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        assert_int_equal(ds.splits[s].count, 0);
        assert_null(ds.splits[s].mapping);
    }
    printf("  expected error: %s\n", err.message);
}

static void test_bad_files_give_clear_errors(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_stl10(dir, 1);

    /* Truncated: one byte short of 3 images. */
    write_images(dir, "train_X.bin", 1, 2, IMAGE - 1);
    expect_failure(dir, "train_X.bin");
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_dir(&ds, dir, -1, &err), -1);
    assert_non_null(strstr(err.message, "27648"));
    assert_non_null(strstr(err.message, "3 labels"));
    /* Oversized: 4 images for 3 labels. */
    write_images(dir, "train_X.bin", 1, 4, 0);
    expect_failure(dir, "train_X.bin");
    write_images(dir, "train_X.bin", 1, 3, 0);

    /* Labels out of range (0 and 11). */
    const uint8_t zero[2] = {1, 0}, eleven[2] = {11, 1};
    write_labels(dir, "test_y.bin", zero, 2);
    expect_failure(dir, "test_y.bin");
    write_labels(dir, "test_y.bin", eleven, 2);
    expect_failure(dir, "test_y.bin");
    write_labels(dir, "test_y.bin", test_labels, 2);

    /* Unlabeled file not a multiple of the image size. */
    write_images(dir, "unlabeled_X.bin", 0, 1, 100);
    expect_failure(dir, "unlabeled_X.bin");
    write_images(dir, "unlabeled_X.bin", 0, 1, 0);

    /* Empty label file, missing files. */
    write_labels(dir, "train_y.bin", train_labels, 0);
    expect_failure(dir, "train_y.bin");
    write_labels(dir, "train_y.bin", train_labels, 3);
    char path[1100];
    snprintf(path, sizeof path, "%s/test_X.bin", dir);
    assert_int_equal(remove(path), 0);
    expect_failure(dir, "test_X.bin");
    snprintf(path, sizeof path, "%s/train_X.bin", dir);
    assert_int_equal(remove(path), 0);
    expect_failure(dir, "train_X.bin");

    /* Bad class_names.txt (9 names). */
    write_stl10(dir, 0);
    const char names[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
    free(test_write_file(dir, "class_names.txt", names, strlen(names)));
    expect_failure(dir, "class_names.txt");
    test_remove_tree(dir);
    free(dir);
}

static void test_no_data_dir(void **state)
{
    (void)state;
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_dir(&ds, NULL, -1, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, "--data-dir"));
    assert_int_equal(open_dir(&ds, "/nonexistent/stl10", -1, &err), -1);
    assert_non_null(strstr(err.message, "/nonexistent/stl10"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_all_splits_column_major),
        cmocka_unit_test(test_optional_files_and_nested_folder),
        cmocka_unit_test(test_fold_selects_indices),
        cmocka_unit_test(test_bad_files_give_clear_errors),
        cmocka_unit_test(test_no_data_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
