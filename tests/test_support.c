#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"

#include "simclr/nn.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *test_make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t size = strlen(base) + 32;
    char *path = malloc(size);
    assert_non_null(path);
    snprintf(path, size, "%s/simclr-test-XXXXXX", base);
    assert_non_null(mkdtemp(path));
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *test_write_file(const char *dir, const char *name, const void *bytes, size_t size)
{
    size_t length = strlen(dir) + strlen(name) + 2;
    char *path = malloc(length);
    assert_non_null(path);
    snprintf(path, length, "%s/%s", dir, name);
    FILE *file = fopen(path, "wb");
    if (!file) fail_msg("cannot create %s", path);
    if (size && fwrite(bytes, 1, size, file) != size) fail_msg("cannot write %s", path);
    assert_int_equal(fclose(file), 0);
    return path;
}

uint8_t *test_load_fixture_bytes(const char *name, size_t *size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", SIMCLR_FIXTURE_DIR, name);
    FILE *file = fopen(path, "rb");
    if (!file) fail_msg("missing fixture %s (regenerate with the script in tools/)", path);
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *bytes = malloc(length > 0 ? (size_t)length : 1);
    assert_non_null(bytes);
    if (length > 0 && fread(bytes, 1, (size_t)length, file) != (size_t)length)
        fail_msg("cannot read fixture %s", path);
    fclose(file);
    *size = (size_t)length;
    return bytes;
}

float *test_load_fixture_floats(const char *name, size_t count)
{
    size_t size = 0;
    uint8_t *bytes = test_load_fixture_bytes(name, &size);
    if (size != count * sizeof(float))
        fail_msg("fixture %s holds %zu bytes, expected %zu floats", name, size, count);
    float *values = malloc(count * sizeof(float) + 1);
    assert_non_null(values);
    memcpy(values, bytes, size);
    free(bytes);
    return values;
}

double test_assert_close(const char *label, const float *actual, const float *expected, size_t count,
                         double atol, double rtol)
{
    double worst = 0.0;
    size_t worst_index = 0;
    size_t failures = 0;
    for (size_t i = 0; i < count; i++) {
        double difference = fabs((double)actual[i] - (double)expected[i]);
        if (!(difference <= atol + rtol * fabs((double)expected[i]))) failures++;
        if (!(difference <= worst)) {
            worst = difference;
            worst_index = i;
        }
    }
    if (count) {
        printf("  %-32s worst |diff| %.3g at [%zu] (actual %.8g, expected %.8g), %zu/%zu out of "
               "tolerance\n",
               label, worst, worst_index, (double)actual[worst_index],
               (double)expected[worst_index], failures, count);
    }
    if (failures) fail_msg("%s: %zu of %zu values differ beyond atol %g + rtol %g", label, failures,
                           count, atol, rtol);
    return worst;
}

static int test_skipped_count;

void test_note_skip(const char *reason)
{
    test_skipped_count++;
    printf("  skipping: %s\n", reason);
}

int test_exit_status(int failures)
{
    if (failures) return failures < 77 ? failures : 1;
    return test_skipped_count ? 77 : 0;
}

int test_run_with_bf16(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t count,
                       const struct CMUnitTest *bf16_tests, size_t bf16_count, CMFixtureFunction setup,
                       CMFixtureFunction teardown)
{
    (void)name;
    if (argc > 1 && strcmp(argv[1], "--bf16") == 0) {
        if (!simclr_conv2d_bf16_available()) {
            printf("  skipping all %zu bf16 tests: oneDNN has no bf16 convolution on this CPU (oneDNN ISA %s)\n",
                   bf16_count, simclr_conv2d_cpu_isa_name());
            return 77;
        }
        return test_exit_status(_cmocka_run_group_tests("bf16", bf16_tests, bf16_count, setup, teardown));
    }
    if (argc > 1) {
        fprintf(stderr, "%s: unknown argument '%s' (expected nothing or --bf16)\n", argv[0], argv[1]);
        return 2;
    }
    return test_exit_status(_cmocka_run_group_tests("fp32", tests, count, setup, teardown));
}

const char *test_fashion_mnist_dir(void)
{
    const char *dir = getenv("SIMCLR_TEST_FASHION_MNIST_DIR");
    return dir && *dir ? dir : "/usr/share/datasets/fashion-mnist";
}
