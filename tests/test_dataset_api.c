#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "simclr/dataset.h"
#include "test_support.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"stl10", "cifar10", "cifar100", "mnist", "fashion-mnist", "folder"};
    for (int i = 0; i < 6; i++) {
        simclr_dataset_kind kind;
        assert_int_equal(simclr_dataset_kind_parse(names[i], &kind), 0);
        assert_string_equal(simclr_dataset_kind_name(kind), names[i]);
    }
    simclr_dataset_kind kind;
    assert_int_equal(simclr_dataset_kind_parse("imagenet", &kind), -1);
    assert_int_equal(simclr_dataset_kind_parse(NULL, &kind), -1);
    const char *splits[] = {"unlabeled", "train", "test"};
    for (int i = 0; i < 3; i++) {
        simclr_dataset_split_id split;
        assert_int_equal(simclr_dataset_split_parse(splits[i], &split), 0);
        assert_int_equal(split, i);
        assert_string_equal(simclr_dataset_split_name(split), splits[i]);
    }
    simclr_dataset_split_id split;
    assert_int_equal(simclr_dataset_split_parse("val", &split), -1);

    assert_string_equal(simclr_dataset_default_dir(SIMCLR_DATASET_KIND_FASHION_MNIST),
                        "/usr/share/datasets/fashion-mnist");
    assert_string_equal(simclr_dataset_default_dir(SIMCLR_DATASET_KIND_MNIST), "/usr/share/datasets/mnist");
    assert_string_equal(simclr_dataset_default_dir(SIMCLR_DATASET_KIND_STL10), "");
    assert_string_equal(simclr_dataset_default_dir(SIMCLR_DATASET_KIND_FOLDER), "");

    simclr_dataset_options options = simclr_dataset_options_default();
    assert_int_equal(options.kind, SIMCLR_DATASET_KIND_FASHION_MNIST);
    assert_null(options.data_dir);
    assert_int_equal(options.image_size, 0); /* folders: from the images (issue 27) */
    assert_int_equal(options.resize, SIMCLR_IMAGE_RESIZE_CROP);
    assert_int_equal(options.stl10_fold, -1);
    assert_int_equal(options.cifar100_coarse, 0);
}

static void test_kinds_without_default_dir_ask_for_one(void **state)
{
    (void)state;
    simclr_dataset_kind kinds[] = {SIMCLR_DATASET_KIND_STL10, SIMCLR_DATASET_KIND_CIFAR10, SIMCLR_DATASET_KIND_CIFAR100,
                            SIMCLR_DATASET_KIND_FOLDER};
    for (int i = 0; i < 4; i++) {
        simclr_dataset_options options = simclr_dataset_options_default();
        options.kind = kinds[i];
        simclr_dataset ds;
        simclr_error err = {0};
        assert_int_equal(simclr_dataset_open(&ds, &options, &err), -1);
        assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
        assert_non_null(strstr(err.message, "--data-dir"));
        assert_non_null(strstr(err.message, simclr_dataset_kind_name(kinds[i])));
    }
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_MNIST;
    options.data_dir = "/nonexistent/mnist-dir";
    simclr_dataset ds;
    simclr_error err = {0};
    assert_int_equal(simclr_dataset_open(&ds, &options, &err), -1);
    assert_non_null(strstr(err.message, "/nonexistent/mnist-dir"));
}

/* One 2x3 image with 2 channels in each layout; pixel (y, x, c) = 100*c + 10*y + x. */
static void test_read_image_layouts(void **state)
{
    (void)state;
    enum { H = 2, W = 3, C = 2 };
    uint8_t hwc[H * W * C], planes_row[1 + H * W * C], planes_col[H * W * C];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++) {
                uint8_t v = (uint8_t)(100 * c + 10 * y + x);
                hwc[(y * W + x) * C + c] = v;
                planes_row[1 + c * H * W + y * W + x] = v;
                planes_col[c * H * W + x * H + y] = v;
            }
    planes_row[0] = 255; /* a label byte before the pixels */
    simclr_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.height = H;
    ds.width = W;
    ds.channels = C;
    assert_int_equal(simclr_dataset_image_bytes(&ds), H * W * C);
    simclr_dataset_split layouts[3] = {
        {.count = 1, .base = hwc, .record_stride = sizeof hwc, .layout = SIMCLR_DATASET_PIXELS_HWC},
        {.count = 1, .base = planes_row, .record_stride = sizeof planes_row, .pixel_offset = 1,
         .layout = SIMCLR_DATASET_PIXELS_PLANES_ROW_MAJOR},
        {.count = 1, .base = planes_col, .record_stride = sizeof planes_col,
         .layout = SIMCLR_DATASET_PIXELS_PLANES_COLUMN_MAJOR},
    };
    for (int i = 0; i < 3; i++) {
        ds.splits[SIMCLR_DATASET_SPLIT_TRAIN] = layouts[i];
        uint8_t out[H * W * C];
        memset(out, 0, sizeof out);
        simclr_dataset_read_image(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0, out);
        assert_memory_equal(out, hwc, sizeof hwc);
        assert_int_equal(simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, 0), SIMCLR_DATASET_LABEL_NONE);
    }
    memset(&ds.splits, 0, sizeof ds.splits);
    simclr_dataset_close(&ds);
    simclr_dataset_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_kinds_without_default_dir_ask_for_one),
        cmocka_unit_test(test_read_image_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
