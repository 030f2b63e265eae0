/* The Keras-like progress line (issue 27): a resumed epoch's ms/step counts this process's steps,
 * its seconds include the earlier ones; redrawing is off when asked or off a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/progress.h"

static char *read_all(FILE *stream)
{
    fflush(stream);
    long size = ftell(stream);
    char *text = calloc((size_t)size + 1, 1);
    rewind(stream);
    if (text && size > 0 && fread(text, 1, (size_t)size, stream) != (size_t)size) text[0] = '\0';
    return text;
}

static void test_resumed_epoch_times_its_own_steps(void **state)
{
    (void)state;
    FILE *stream = tmpfile();
    assert_non_null(stream);
    simclr_progress bar;
    simclr_progress_init(&bar, stream, 1);
    assert_int_equal(bar.is_terminal, 0); /* a file */
    simclr_progress_begin_epoch(&bar, 2, 3, 10);
    simclr_progress_resume_at(&bar, 8, 100.0);
    /* As if the two remaining steps took 0.5 s each in this process. */
    bar.epoch_start -= 1.0;
    simclr_progress_end_epoch(&bar, " - loss: 1.0000");
    char *text = read_all(stream);
    assert_non_null(text);
    /* 101 s in all; 1.0 s / 2 steps = 500 ms/step (not 1.0 s / 10 = 100). */
    assert_non_null(strstr(text, "Epoch 2/3\n10/10 "));
    assert_non_null(strstr(text, " 101s 50"));
    assert_non_null(strstr(text, "ms/step - loss: 1.0000\n"));
    int ms = 0;
    const char *at = strstr(text, "101s ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "101s %dms/step", &ms), 1);
    assert_in_range(ms, 500, 520);
    free(text);
    fclose(stream);
}

static void test_resume_after_the_last_step_shows_no_rate(void **state)
{
    (void)state;
    FILE *stream = tmpfile();
    assert_non_null(stream);
    simclr_progress bar;
    simclr_progress_init(&bar, stream, 1);
    simclr_progress_begin_epoch(&bar, 1, 1, 4);
    simclr_progress_resume_at(&bar, 4, 12.0);
    simclr_progress_end_epoch(&bar, "");
    char *text = read_all(stream);
    assert_non_null(strstr(text, "4/4 "));
    assert_non_null(strstr(text, " 12s\n"));
    assert_null(strstr(text, "ms/step"));
    free(text);
    fclose(stream);
}

/* Redraw off: even a terminal gets finished lines only (no carriage returns, no escapes). */
static void test_redraw_off_prints_finished_lines(void **state)
{
    (void)state;
    FILE *stream = tmpfile();
    assert_non_null(stream);
    simclr_progress bar;
    simclr_progress_init(&bar, stream, 0);
    bar.is_terminal = 0;
    simclr_progress_begin_epoch(&bar, 1, 1, 3);
    for (int step = 1; step <= 3; step++) simclr_progress_update(&bar, step, " - loss: 2.0000");
    simclr_progress_end_epoch(&bar, " - loss: 2.0000");
    char *text = read_all(stream);
    assert_null(strchr(text, '\r'));
    assert_null(strchr(text, '\033'));
    /* "Epoch 1/1" and one finished line. */
    int lines = 0;
    for (const char *c = text; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 2);
    free(text);
    fclose(stream);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumed_epoch_times_its_own_steps),
        cmocka_unit_test(test_resume_after_the_last_step_shows_no_rate),
        cmocka_unit_test(test_redraw_off_prints_finished_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
