/* History files: CSV and JSON with the Keras metric names, read back for resuming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/history.h"
#include "test_support.h"

static void test_write_and_read(void **state)
{
    (void)state;
    const char *names[] = {"acc", "loss", "val_acc", "val_loss"};
    simclr_history h, back;
    simclr_history_init(&h, names, 4);
    simclr_error err = {0};
    for (int e = 0; e < 5; e++) {
        double values[4] = {0.1 * e, 2.0 - 0.1 * e, 0.25 + 0.125 * e, 1.5};
        assert_int_equal(simclr_history_append(&h, values, 1.5 + e, &err), 0);
    }
    assert_true(simclr_history_max(&h, "val_acc") == 0.75);
    assert_true(isnan(simclr_history_max(&h, "c_acc")));
    char *dir = test_make_temp_dir();
    if (simclr_history_write(&h, dir, "baseline", &err) != 0) fail_msg("%s", err.message);
    char path[4096];
    snprintf(path, sizeof path, "%s/baseline_history.csv", dir);
    simclr_history_init(&back, names, 4);
    if (simclr_history_read_csv(&back, path, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(back.epoch_count, 5);
    for (int i = 0; i < 20; i++) assert_true(back.values[i] == h.values[i]); /* %.17g round-trips exactly */

    FILE *json = fopen((snprintf(path, sizeof path, "%s/baseline_history.json", dir), path), "r");
    assert_non_null(json);
    char text[4096] = {0};
    size_t length = fread(text, 1, sizeof text - 1, json);
    fclose(json);
    assert_true(length > 0);
    assert_non_null(strstr(text, "\"val_acc\": [0.25, 0.375, 0.5, 0.625, 0.75]"));

    const char *other_names[] = {"c_acc", "c_loss"};
    simclr_history other;
    simclr_history_init(&other, other_names, 2);
    snprintf(path, sizeof path, "%s/baseline_history.csv", dir);
    assert_int_equal(simclr_history_read_csv(&other, path, &err), -1);
    assert_non_null(strstr(err.message, "columns"));
    simclr_history_free(&h);
    simclr_history_free(&back);
    simclr_history_free(&other);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_write_and_read)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
