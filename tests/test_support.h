#ifndef SIMCLR_TEST_SUPPORT_H
#define SIMCLR_TEST_SUPPORT_H
/*
 * Shared by the cmocka tests: include after <setjmp.h>, <stdarg.h>, <stddef.h>, <cmocka.h>.
 */
#include <stddef.h>
#include <stdint.h>

/* Makes a fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the path is owned by the
 * caller (free), and test_remove_tree deletes it with its contents. */
char *test_make_temp_dir(void);
void test_remove_tree(const char *path);

/* Writes bytes to dir/name (creating it); aborts the test on failure. Returns the full path
 * (caller frees). */
char *test_write_file(const char *dir, const char *name, const void *bytes, size_t size);

/* Reads tests/fixtures/<name> as little-endian float32; fails the test unless it holds exactly
 * `count` floats. Caller frees. */
float *test_load_fixture_floats(const char *name, size_t count);
/* Reads tests/fixtures/<name> as raw bytes; *size receives the length. Caller frees. */
uint8_t *test_load_fixture_bytes(const char *name, size_t *size);

/* Compares actual to expected element-wise: |a - e| <= atol + rtol * |e|. Prints the worst
 * element (index, values, difference) with the label, and fails the test when any element is out
 * of tolerance. Returns the worst absolute difference. */
double test_assert_close(const char *label, const float *actual, const float *expected, size_t count,
                         double atol, double rtol);

/* A check that cannot run here (missing data, a CPU feature): prints the reason and skips the
 * calling cmocka test. cmocka counts a skipped test as passed, so main returns
 * test_exit_status(cmocka_run_group_tests(...)): the failure count when a test failed, else 77
 * (CTest's SKIP_RETURN_CODE: the executable shows as skipped) when any test was skipped, else 0. */
void test_note_skip(const char *reason);
#define test_skip(reason)                                                                          \
    do {                                                                                           \
        test_note_skip(reason);                                                                    \
        skip();                                                                                    \
    } while (0)
int test_exit_status(int failures);

/* Where the tests read the real Fashion-MNIST: $SIMCLR_TEST_FASHION_MNIST_DIR, by default
 * /usr/share/datasets/fashion-mnist (tests/cli_skips.sh points it nowhere to check the skips). */
const char *test_fashion_mnist_dir(void);

#endif
