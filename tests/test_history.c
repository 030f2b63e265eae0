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
    history h, back;
    history_init(&h, names, 4);
    error err;
    for (int e = 0; e < 5; e++) {
        double values[4] = {0.1 * e, 2.0 - 0.1 * e, 0.25 + 0.125 * e, 1.5};
        assert_int_equal(history_append(&h, values, 1.5 + e, &err), 0);
    }
    assert_true(history_max(&h, "val_acc") == 0.75);
    assert_true(isnan(history_max(&h, "c_acc")));
    char *dir = test_make_temp_dir();
    if (history_write(&h, dir, "baseline", &err) != 0) fail_msg("%s", err.message);
    char path[4096];
    snprintf(path, sizeof path, "%s/baseline_history.csv", dir);
    history_init(&back, names, 4);
    if (history_read_csv(&back, path, &err) != 0) fail_msg("%s", err.message);
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
    history other;
    history_init(&other, other_names, 2);
    snprintf(path, sizeof path, "%s/baseline_history.csv", dir);
    assert_int_equal(history_read_csv(&other, path, &err), -1);
    assert_non_null(strstr(err.message, "columns"));
    history_free(&h);
    history_free(&back);
    history_free(&other);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_write_and_read)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
