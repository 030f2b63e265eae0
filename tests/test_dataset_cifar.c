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

enum { SIDE = 32, PIXELS = 32 * 32 * 3 };

/* Asymmetric in x and y so a row/column mix-up fails; `image` is a global image number. */
static uint8_t pixel_value(int image, int y, int x, int c)
{
    return (uint8_t)(y * 5 + x * 11 + c * 83 + image * 31 + 1);
}

/* Writes `count` records: label bytes (label_bytes of them, from labels[i * label_bytes]) then
 * R, G, B planes, each row-major. */
static void write_records(const char *dir, const char *name, int first_image, int count,
                          int label_bytes, const uint8_t *labels, size_t trim)
{
    size_t record = (size_t)label_bytes + PIXELS;
    size_t size = (size_t)count * record;
    uint8_t *bytes = calloc(size, 1);
    assert_non_null(bytes);
    for (int i = 0; i < count; i++) {
        uint8_t *r = bytes + (size_t)i * record;
        memcpy(r, labels + i * label_bytes, (size_t)label_bytes);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < SIDE; y++)
                for (int x = 0; x < SIDE; x++)
                    r[label_bytes + c * 1024 + y * 32 + x] = pixel_value(first_image + i, y, x, c);
    }
    free(test_write_file(dir, name, bytes, size - trim));
    free(bytes);
}

static void check_image(const simclr_dataset *ds, simclr_dataset_split_id split, int index, int image)
{
    uint8_t out[PIXELS];
    simclr_dataset_read_image(ds, split, (size_t)index, out);
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < 3; c++)
                if (out[(y * SIDE + x) * 3 + c] != pixel_value(image, y, x, c))
                    fail_msg("image %d pixel (y %d, x %d, c %d) is %d, expected %d", index, y, x,
                             c, out[(y * SIDE + x) * 3 + c], pixel_value(image, y, x, c));
}

/* CIFAR-10: batch b holds 2 images (global numbers 2b, 2b+1) with labels (b, 9 - b); test 3. */
static void write_cifar10(const char *dir)
{
    for (int b = 0; b < 5; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
        uint8_t labels[2] = {(uint8_t)b, (uint8_t)(9 - b)};
        write_records(dir, name, 2 * b, 2, 1, labels, 0);
    }
    uint8_t test_labels[3] = {7, 0, 3};
    write_records(dir, "test_batch.bin", 100, 3, 1, test_labels, 0);
}

static int open_kind(simclr_dataset *ds, simclr_dataset_kind kind, const char *dir, int coarse, simclr_error *err)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = kind;
    options.data_dir = dir;
    options.cifar100_coarse = coarse;
    return simclr_dataset_open(ds, &options, err);
}

static void test_cifar10_concatenates_batches(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_cifar10(dir);
    const char meta[] = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    free(test_write_file(dir, "batches.meta.txt", meta, strlen(meta)));
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_kind(&ds, SIMCLR_DATASET_KIND_CIFAR10, dir, 0, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.name, "cifar10");
    assert_int_equal(ds.height, 32);
    assert_int_equal(ds.width, 32);
    assert_int_equal(ds.channels, 3);
    assert_int_equal(ds.num_classes, 10);
    assert_string_equal(ds.class_names[0], "plane");
    assert_string_equal(ds.class_names[9], "truck");
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 10);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 3);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 0);
    assert_int_equal(simclr_dataset_unlabeled_source(&ds), SIMCLR_DATASET_SPLIT_TRAIN);
    for (int i = 0; i < 10; i++) {
        int b = i / 2;
        assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, (size_t)i), i % 2 ? 9 - b : b);
    }
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 0), 7);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 2), 3);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 5, 5);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 9, 9);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TEST, 2, 102);
    simclr_dataset_close(&ds);
    test_remove_tree(dir);
    free(dir);
}

static void test_cifar10_nested_folder_and_default_names(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char nested[1024];
    snprintf(nested, sizeof nested, "%s/cifar-10-batches-bin", dir);
    assert_int_equal(mkdir(nested, 0755), 0);
    write_cifar10(nested);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_kind(&ds, SIMCLR_DATASET_KIND_CIFAR10, dir, 0, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.path, nested);
    assert_string_equal(ds.class_names[1], "automobile");
    assert_string_equal(ds.class_names[6], "frog");
    simclr_dataset_close(&ds);
    test_remove_tree(dir);
    free(dir);
}

static void expect_failure(simclr_dataset_kind kind, const char *dir, int coarse, const char *file)
{
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_kind(&ds, kind, dir, coarse, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, file)) fail_msg("message does not name %s: %s", file, err.message);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        assert_int_equal(ds.splits[s].count, 0);
        assert_null(ds.splits[s].owned_pixels);
    }
    printf("  expected error: %s\n", err.message);
}

static void test_cifar10_bad_files(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_cifar10(dir);
    uint8_t labels[2] = {1, 2}, bad_labels[2] = {1, 10};
    char path[1100];

    write_records(dir, "data_batch_3.bin", 4, 2, 1, labels, 1); /* truncated */
    expect_failure(SIMCLR_DATASET_KIND_CIFAR10, dir, 0, "data_batch_3.bin");
    write_records(dir, "data_batch_3.bin", 4, 2, 1, bad_labels, 0); /* label 10 */
    expect_failure(SIMCLR_DATASET_KIND_CIFAR10, dir, 0, "data_batch_3.bin");
    write_records(dir, "data_batch_3.bin", 4, 2, 1, labels, 0);
    free(test_write_file(dir, "test_batch.bin", "", 0)); /* empty */
    expect_failure(SIMCLR_DATASET_KIND_CIFAR10, dir, 0, "test_batch.bin");
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    assert_int_equal(remove(path), 0);
    expect_failure(SIMCLR_DATASET_KIND_CIFAR10, dir, 0, "test_batch.bin");
    write_records(dir, "test_batch.bin", 0, 2, 1, labels, 0);
    snprintf(path, sizeof path, "%s/data_batch_5.bin", dir);
    assert_int_equal(remove(path), 0);
    expect_failure(SIMCLR_DATASET_KIND_CIFAR10, dir, 0, "data_batch_5.bin");
    test_remove_tree(dir);
    free(dir);
}

static void test_cifar100_fine_and_coarse(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    uint8_t train_labels[8] = {19, 99, 0, 0, 5, 42, 7, 3}; /* (coarse, fine) pairs */
    uint8_t test_labels[4] = {1, 2, 3, 4};
    write_records(dir, "train.bin", 0, 4, 2, train_labels, 0);
    write_records(dir, "test.bin", 50, 2, 2, test_labels, 0);
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_kind(&ds, SIMCLR_DATASET_KIND_CIFAR100, dir, 0, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.name, "cifar100");
    assert_int_equal(ds.num_classes, 100);
    assert_string_equal(ds.class_names[42], "class_42");
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 4);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 99);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 42);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TEST, 1), 4);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 3, 3);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TEST, 1, 51);
    simclr_dataset_close(&ds);

    char names[20 * 8 + 1] = "";
    for (int c = 0; c < 20; c++) {
        char line[16];
        snprintf(line, sizeof line, "group%d\n", c);
        strcat(names, line);
    }
    free(test_write_file(dir, "coarse_label_names.txt", names, strlen(names)));
    if (open_kind(&ds, SIMCLR_DATASET_KIND_CIFAR100, dir, 1, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(ds.num_classes, 20);
    assert_string_equal(ds.class_names[19], "group19");
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 19);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 2), 5);
    check_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 1, 1);
    simclr_dataset_close(&ds);

    uint8_t bad_coarse[2] = {20, 1}, bad_fine[2] = {1, 100};
    write_records(dir, "test.bin", 0, 1, 2, bad_coarse, 0);
    expect_failure(SIMCLR_DATASET_KIND_CIFAR100, dir, 1, "test.bin");
    expect_failure(SIMCLR_DATASET_KIND_CIFAR100, dir, 0, "test.bin");
    write_records(dir, "test.bin", 0, 1, 2, bad_fine, 0);
    expect_failure(SIMCLR_DATASET_KIND_CIFAR100, dir, 0, "test.bin");
    write_records(dir, "test.bin", 0, 3, 2, train_labels, 2 * PIXELS); /* not whole records */
    expect_failure(SIMCLR_DATASET_KIND_CIFAR100, dir, 0, "test.bin");
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cifar10_concatenates_batches),
        cmocka_unit_test(test_cifar10_nested_folder_and_default_names),
        cmocka_unit_test(test_cifar10_bad_files),
        cmocka_unit_test(test_cifar100_fine_and_coarse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
