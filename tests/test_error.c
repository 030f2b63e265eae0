/* Errors: whole messages however long (issue 27), appending, and a message built from its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/error.h"

static void test_short_message_stays_in_the_struct(void **state)
{
    (void)state;
    simclr_error err = {0};
    assert_int_equal(simclr_error_input(&err, "--epochs: expected %s", "a positive integer"), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_string_equal(err.message, "--epochs: expected a positive integer");
    assert_null(err.long_message);
    assert_ptr_equal(simclr_error_message(&err), err.message);
    simclr_error_clear(&err);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_NONE);
    assert_string_equal(simclr_error_message(&err), "");
}

/* Forty lines of about 60 bytes: more than the struct holds, each one printed. */
static void test_long_message_is_whole(void **state)
{
    (void)state;
    char *lines = calloc(40, 80);
    assert_non_null(lines);
    size_t used = 0;
    for (int i = 0; i < 40; i++)
        used += (size_t)sprintf(lines + used, "option %02d: the run used a, this command gives b\n", i);
    simclr_error err = {0};
    simclr_error_input(&err, "--resume run: 40 options differ:\n%s", lines);
    const char *whole = simclr_error_message(&err);
    assert_true(strlen(whole) > sizeof err.message);
    assert_non_null(err.long_message);
    for (int i = 0; i < 40; i++) {
        char line[64];
        snprintf(line, sizeof line, "option %02d: the run used a, this command gives b\n", i);
        assert_non_null(strstr(whole, line));
    }
    /* The struct's own copy is cut visibly, not mid-word without a mark. */
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    assert_string_equal(err.message + sizeof err.message - 4, "...");
    /* Setting again (a short message) releases the long one; LeakSanitizer checks. */
    simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "short");
    assert_null(err.long_message);
    assert_string_equal(simclr_error_message(&err), "short");
    simclr_error_clear(&err);
    free(lines);
}

/* Wrapping an error in context, from its own message, short or long. */
static void test_wrap_and_append(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_error_input(&err, "bad pixel");
    simclr_error_set(&err, err.kind, "folder: a.png: %s", simclr_error_message(&err));
    assert_string_equal(simclr_error_message(&err), "folder: a.png: bad pixel");
    simclr_error_append(&err, "; %s", "hint");
    assert_string_equal(simclr_error_message(&err), "folder: a.png: bad pixel; hint");
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);

    char *long_text = malloc(3000);
    assert_non_null(long_text);
    memset(long_text, 'x', 2999);
    long_text[2999] = '\0';
    simclr_error_input(&err, "%s", long_text);
    simclr_error_set(&err, err.kind, "context: %s", simclr_error_message(&err));
    simclr_error_append(&err, "%s", "END");
    const char *whole = simclr_error_message(&err);
    assert_int_equal(strlen(whole), strlen("context: ") + 2999 + 3);
    assert_memory_equal(whole, "context: xxx", 12);
    assert_string_equal(whole + strlen(whole) - 3, "END");
    simclr_error_clear(&err);
    free(long_text);
}

static void test_system_error_names_errno(void **state)
{
    (void)state;
    simclr_error err = {0};
    errno = ENOENT;
    simclr_error_system(&err, "cannot open %s", "x.bin");
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_RESOURCE);
    char expected[256];
    snprintf(expected, sizeof expected, "cannot open x.bin: %s", strerror(ENOENT));
    assert_string_equal(simclr_error_message(&err), expected);
    simclr_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_message_stays_in_the_struct),
        cmocka_unit_test(test_long_message_is_whole),
        cmocka_unit_test(test_wrap_and_append),
        cmocka_unit_test(test_system_error_names_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
