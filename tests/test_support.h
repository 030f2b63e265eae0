#ifndef SIMCLR_TEST_SUPPORT_H
#define SIMCLR_TEST_SUPPORT_H
/*
 * Shared by the cmocka tests: include after <setjmp.h>, <stdarg.h>, <stddef.h>, <cmocka.h>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

/* main() of an executable with bf16 tests (issue 23): runs `tests`, or, given the argument
 * --bf16, `bf16_tests` instead. The bf16 tests need oneDNN's bf16 convolutions (AVX-512); on a CPU
 * without them the --bf16 run is skipped as a whole (77, before any test starts), so the fp32 run
 * stays one that passed, not one hidden behind a skip. CMakeLists.txt registers both with CTest,
 * as NAME and NAME_bf16, for every test_*.c that calls this. */
int test_run_with_bf16(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t count,
                       const struct CMUnitTest *bf16_tests, size_t bf16_count, CMFixtureFunction setup,
                       CMFixtureFunction teardown);
#define test_main_with_bf16(argc, argv, tests, bf16_tests, setup, teardown)                         \
    test_run_with_bf16(argc, argv, #tests, tests, sizeof(tests) / sizeof((tests)[0]), bf16_tests,          \
                       sizeof(bf16_tests) / sizeof((bf16_tests)[0]), setup, teardown)

/* Where the tests read the real Fashion-MNIST: $SIMCLR_TEST_FASHION_MNIST_DIR, by default
 * /usr/share/datasets/fashion-mnist (tests/cli_skips.sh points it nowhere to check the skips). */
const char *test_fashion_mnist_dir(void);

#endif
