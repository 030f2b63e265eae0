#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "simclr/dataset.h"
#include "test_support.h"

/* Non-square on purpose: 4 rows of 6 columns, so swapped dimensions or a transposed copy fail. */
enum { ROWS = 4, COLS = 6, TRAIN = 5, TEST = 3 };

static uint8_t pixel_value(int image, int y, int x)
{
    return (uint8_t)(y * 17 + x * 3 + image * 41 + 2);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes dir/name, gzip-compressed when name ends in .gz. */
static void write_maybe_gz(const char *dir, const char *name, const uint8_t *bytes, size_t size)
{
    size_t length = strlen(name);
    if (length > 3 && strcmp(name + length - 3, ".gz") == 0) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        gzFile file = gzopen(path, "wb");
        assert_non_null(file);
        if (size) assert_int_equal(gzwrite(file, bytes, (unsigned)size), (int)size);
        assert_int_equal(gzclose(file), Z_OK);
    } else {
        free(test_write_file(dir, name, bytes, size));
    }
}

/* An images file: magic, count, rows, cols, pixels; `extra` trailing bytes, `cut` bytes cut. */
static void write_images(const char *dir, const char *name, uint32_t magic, uint32_t count,
                         uint32_t rows, uint32_t cols, int first_image, size_t extra, size_t cut)
{
    /* absurd headers carry no data */
    size_t data = count <= 1000 && rows <= 64 && cols <= 64 ? (size_t)count * rows * cols : 0;
    size_t size = 16 + data + extra;
    uint8_t *bytes = calloc(size, 1);
    assert_non_null(bytes);
    put_be32(bytes, magic);
    put_be32(bytes + 4, count);
    put_be32(bytes + 8, rows);
    put_be32(bytes + 12, cols);
    if (data)
        for (uint32_t i = 0; i < count; i++)
            for (uint32_t y = 0; y < rows; y++)
                for (uint32_t x = 0; x < cols; x++)
                    bytes[16 + (i * rows + y) * cols + x] =
                        pixel_value(first_image + (int)i, (int)y, (int)x);
    write_maybe_gz(dir, name, bytes, size - cut);
    free(bytes);
}

static void write_labels(const char *dir, const char *name, uint32_t magic, uint32_t count,
                         const uint8_t *labels)
{
    uint8_t bytes[64];
    put_be32(bytes, magic);
    put_be32(bytes + 4, count);
    memcpy(bytes + 8, labels, count);
    write_maybe_gz(dir, name, bytes, 8 + count);
}

static const uint8_t train_labels[TRAIN] = {9, 0, 3, 3, 7};
static const uint8_t test_labels[TEST] = {1, 8, 2};

/* The four files; suffix "" or ".gz". */
static void write_idx(const char *dir, const char *suffix)
{
    char name[64];
    snprintf(name, sizeof name, "train-images-idx3-ubyte%s", suffix);
    write_images(dir, name, 0x803, TRAIN, ROWS, COLS, 0, 0, 0);
    snprintf(name, sizeof name, "train-labels-idx1-ubyte%s", suffix);
    write_labels(dir, name, 0x801, TRAIN, train_labels);
    snprintf(name, sizeof name, "t10k-images-idx3-ubyte%s", suffix);
    write_images(dir, name, 0x803, TEST, ROWS, COLS, 100, 0, 0);
    snprintf(name, sizeof name, "t10k-labels-idx1-ubyte%s", suffix);
    write_labels(dir, name, 0x801, TEST, test_labels);
}

static int open_kind(simclr_dataset *ds, simclr_dataset_kind kind, const char *dir, simclr_error *err)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = kind;
    options.data_dir = dir;
    return simclr_dataset_open(ds, &options, err);
}

static void check_image(const simclr_dataset *ds, simclr_dataset_split_id split, int index, int image)
{
    uint8_t out[ROWS * COLS];
    simclr_dataset_read_image(ds, split, (size_t)index, out);
    for (int y = 0; y < ROWS; y++)
        for (int x = 0; x < COLS; x++)
            if (out[y * COLS + x] != pixel_value(image, y, x))
                fail_msg("image %d pixel (y %d, x %d) is %d, expected %d", index, y, x,
                         out[y * COLS + x], pixel_value(image, y, x));
}

static void check_contents(const simclr_dataset *ds)
{
    assert_int_equal(ds->height, ROWS);
    assert_int_equal(ds->width, COLS);
    assert_int_equal(ds->channels, 1);
    assert_int_equal(simclr_dataset_image_bytes(ds), ROWS * COLS);
    assert_int_equal(ds->num_classes, 10);
    assert_int_equal(ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count, TRAIN);
    assert_int_equal(ds->splits[SIMCLR_DATASET_SPLIT_TEST].count, TEST);
    assert_int_equal(ds->splits[SIMCLR_DATASET_SPLIT_UNLABELED].count, 0);
    assert_int_equal(simclr_dataset_unlabeled_source(ds), SIMCLR_DATASET_SPLIT_TRAIN);
    for (int i = 0; i < TRAIN; i++)
        assert_int_equal(simclr_dataset_label(ds, SIMCLR_DATASET_SPLIT_TRAIN, (size_t)i), train_labels[i]);
    for (int i = 0; i < TEST; i++)
        assert_int_equal(simclr_dataset_label(ds, SIMCLR_DATASET_SPLIT_TEST, (size_t)i), test_labels[i]);
    check_image(ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, 0);
    check_image(ds, SIMCLR_DATASET_SPLIT_TRAIN, 4, 4);
    check_image(ds, SIMCLR_DATASET_SPLIT_TEST, 2, 102);
}

static void test_plain_idx(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_idx(dir, "");
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_kind(&ds, SIMCLR_DATASET_KIND_MNIST, dir, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.name, "mnist");
    check_contents(&ds);
    assert_string_equal(ds.class_names[0], "0");
    assert_string_equal(ds.class_names[9], "9");
    simclr_dataset_close(&ds);
    test_remove_tree(dir);
    free(dir);
}

static void test_gzipped_idx(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_idx(dir, ".gz");
    simclr_dataset ds;
    simclr_error err = {0};
    if (open_kind(&ds, SIMCLR_DATASET_KIND_FASHION_MNIST, dir, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.name, "fashion-mnist");
    check_contents(&ds);
    assert_string_equal(ds.class_names[0], "T-shirt/top");
    assert_string_equal(ds.class_names[9], "Ankle boot");
    simclr_dataset_close(&ds);
    test_remove_tree(dir);
    free(dir);
}

static void expect_failure(const char *dir, const char *file, const char *detail)
{
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(open_kind(&ds, SIMCLR_DATASET_KIND_MNIST, dir, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, file)) fail_msg("message does not name %s: %s", file, err.message);
    if (detail && !strstr(err.message, detail))
        fail_msg("message does not say %s: %s", detail, err.message);
    for (int s = 0; s < SIMCLR_DATASET_SPLIT_COUNT; s++) {
        assert_int_equal(ds.splits[s].count, 0);
        assert_null(ds.splits[s].owned_pixels);
    }
    printf("  expected error: %s\n", err.message);
}

static void test_bad_files(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    write_idx(dir, ".gz");
    const char *images = "train-images-idx3-ubyte.gz", *labels = "t10k-labels-idx1-ubyte.gz";

    write_images(dir, images, 0x801, TRAIN, ROWS, COLS, 0, 0, 0);
    expect_failure(dir, images, "magic");
    write_images(dir, images, 0x803, TRAIN, ROWS, COLS, 0, 0, 1);
    expect_failure(dir, images, "truncated");
    write_images(dir, images, 0x803, TRAIN, ROWS, COLS, 0, 0, (size_t)TRAIN * ROWS * COLS + 5);
    expect_failure(dir, images, "truncated"); /* header cut short */
    write_images(dir, images, 0x803, TRAIN, ROWS, COLS, 0, 3, 0);
    expect_failure(dir, images, "after");
    write_images(dir, images, 0x803, 0x7fffffff, 100000, 100000, 0, 0, 0);
    expect_failure(dir, images, "100000x100000");
    write_images(dir, images, 0x803, 0x40000000, 1024, 1024, 0, 0, 0); /* 2^50 bytes claimed */
    expect_failure(dir, images, "declares");
    write_images(dir, images, 0x803, TRAIN, ROWS, COLS, 0, 0, 0);

    /* Test images of another size than train. */
    write_images(dir, "t10k-images-idx3-ubyte.gz", 0x803, TEST, COLS, ROWS, 100, 0, 0);
    expect_failure(dir, "t10k-images-idx3-ubyte.gz", "like the train split");
    write_images(dir, "t10k-images-idx3-ubyte.gz", 0x803, TEST, ROWS, COLS, 100, 0, 0);

    uint8_t bad[TEST] = {1, 10, 2};
    write_labels(dir, labels, 0x801, TEST, bad);
    expect_failure(dir, labels, "label 10");
    write_labels(dir, labels, 0x801, TEST - 1, test_labels);
    expect_failure(dir, labels, "declares 2 labels");
    write_labels(dir, labels, 0x803, TEST, test_labels);
    expect_failure(dir, labels, "magic");
    write_labels(dir, labels, 0x801, TEST, test_labels);

    /* A corrupt gzip stream: valid header, garbage body. */
    uint8_t garbage[64];
    for (int i = 0; i < 64; i++) garbage[i] = (uint8_t)(i * 37 + 11);
    garbage[0] = 0x1f;
    garbage[1] = 0x8b;
    garbage[2] = 8;
    garbage[3] = 0;
    free(test_write_file(dir, labels, garbage, sizeof garbage));
    expect_failure(dir, labels, NULL);

    /* A gzip file cut in the middle of its deflate stream. */
    char path[1100];
    write_images(dir, images, 0x803, TRAIN, ROWS, COLS, 0, 0, 0);
    snprintf(path, sizeof path, "%s/%s", dir, images);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    expect_failure(dir, images, NULL);
    write_images(dir, images, 0x803, TRAIN, ROWS, COLS, 0, 0, 0);

    snprintf(path, sizeof path, "%s/%s", dir, labels);
    assert_int_equal(remove(path), 0);
    expect_failure(dir, "t10k-labels-idx1-ubyte", NULL);
    test_remove_tree(dir);
    free(dir);
}

static void test_real_fashion_mnist(void **state)
{
    (void)state;
    const char *dir = "/usr/share/datasets/fashion-mnist";
    /* The default directory itself is checked; $SIMCLR_TEST_FASHION_MNIST_DIR set elsewhere
     * (tests/cli_skips.sh) makes this test skip. */
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", test_fashion_mnist_dir());
    if (strcmp(test_fashion_mnist_dir(), dir) != 0 || access(probe, R_OK) != 0)
        test_skip("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
    simclr_dataset_options options = simclr_dataset_options_default();
    assert_int_equal(options.kind, SIMCLR_DATASET_KIND_FASHION_MNIST);
    assert_string_equal(simclr_dataset_default_dir(options.kind), dir);
    simclr_dataset ds;
    simclr_error err = {0};
    if (simclr_dataset_open(&ds, &options, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(ds.path, dir);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count, 60000);
    assert_int_equal(ds.splits[SIMCLR_DATASET_SPLIT_TEST].count, 10000);
    assert_int_equal(ds.height, 28);
    assert_int_equal(ds.width, 28);
    assert_int_equal(ds.channels, 1);
    static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    for (int c = 0; c < 10; c++) assert_string_equal(ds.class_names[c], names[c]);
    assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), 9);
    assert_string_equal(ds.class_names[simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0)], "Ankle boot");
    int counts[10] = {0};
    for (size_t i = 0; i < 60000; i++) counts[simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, i)]++;
    for (int c = 0; c < 10; c++) assert_int_equal(counts[c], 6000);
    simclr_dataset_close(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_idx),
        cmocka_unit_test(test_gzipped_idx),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_real_fashion_mnist),
    };
    return test_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
