/*
 * plot: line plots (PLplot) and image grids (cairo) produce decodable PNGs of the documented size
 * with the expected content, atomically.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simclr/image_io.h"
#include "simclr/plot.h"

static char *join_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    assert_non_null(path);
    snprintf(path, size, "%s/%s", dir, name);
    return path;
}

/* Number of entries in dir other than . and .. (no temporary files may be left). */
static int count_entries(const char *dir)
{
    DIR *listing = opendir(dir);
    assert_non_null(listing);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)))
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) count++;
    closedir(listing);
    return count;
}

static const uint8_t *pixel_at(const uint8_t *rgb, int width, int x, int y)
{
    return rgb + ((size_t)y * width + x) * 3;
}

/* Pixels within `tolerance` of the colour, per channel. */
static size_t count_colour(const uint8_t *rgb, size_t pixel_count, int red, int green, int blue,
                           int tolerance)
{
    size_t count = 0;
    for (size_t i = 0; i < pixel_count; i++) {
        const uint8_t *p = rgb + 3 * i;
        if (abs(p[0] - red) <= tolerance && abs(p[1] - green) <= tolerance &&
            abs(p[2] - blue) <= tolerance)
            count++;
    }
    return count;
}

static void test_line_plot_png(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char *path = join_path(dir, "accuracy.png");
    float train[20], validation[20], short_run[5];
    for (int i = 0; i < 20; i++) {
        train[i] = 0.3f + 0.6f * (1.0f - expf(-0.2f * (float)i));
        validation[i] = 0.25f + 0.5f * (1.0f - expf(-0.15f * (float)i));
    }
    validation[7] = NAN; /* a gap, not a failure */
    for (int i = 0; i < 5; i++) short_run[i] = 0.5f + 0.05f * (float)i;
    const simclr_plot_series series[3] = {
        {"training", train, 20}, {"validation #2", validation, 20}, {NULL, short_run, 5}};
    simclr_error err = {0};
    if (simclr_plot_lines_png(path, "Classification accuracy during training", "epochs",
                       "validation accuracy", series, 3, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(count_entries(dir), 1);

    uint8_t *rgb = NULL;
    int height = 0, width = 0;
    assert_int_equal(simclr_image_decode_file(path, 3, &rgb, &height, &width, &err), 0);
    assert_int_equal(width, SIMCLR_PLOT_LINES_WIDTH);
    assert_int_equal(height, SIMCLR_PLOT_LINES_HEIGHT);
    size_t pixels = (size_t)width * height;
    size_t white = count_colour(rgb, pixels, 255, 255, 255, 0);
    size_t dark = count_colour(rgb, pixels, 0, 0, 0, 60);
    size_t blue = count_colour(rgb, pixels, 31, 119, 180, 30);   /* first series: tab10 blue */
    size_t orange = count_colour(rgb, pixels, 255, 127, 14, 30); /* second: tab10 orange */
    size_t green = count_colour(rgb, pixels, 44, 160, 44, 30);   /* third: tab10 green */
    printf("white %zu, dark %zu, blue %zu, orange %zu, green %zu of %zu pixels\n", white, dark,
           blue, orange, green, pixels);
    assert_true(white > pixels / 2); /* white background */
    assert_true(dark > 500);         /* axes, ticks, text */
    assert_true(blue > 100 && orange > 100 && green > 20);
    const uint8_t *corner = pixel_at(rgb, width, 2, 2);
    assert_true(corner[0] == 255 && corner[1] == 255 && corner[2] == 255);
    free(rgb);

    /* Rejected before PLplot runs: no series, nothing finite; nothing is left behind. */
    char *bad = join_path(dir, "bad.png");
    assert_int_equal(simclr_plot_lines_png(bad, "t", "x", "y", series, 0, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    const float nothing[2] = {NAN, INFINITY};
    const simclr_plot_series empty = {"nan", nothing, 2};
    assert_int_equal(simclr_plot_lines_png(bad, "t", "x", "y", &empty, 1, &err), -1);
    assert_non_null(strstr(err.message, "bad.png"));
    char *nowhere = join_path(dir, "missing-dir/plot.png");
    assert_int_equal(simclr_plot_lines_png(nowhere, "t", "x", "y", series, 3, &err), -1);
    assert_non_null(strstr(err.message, "missing-dir"));
    assert_int_equal(count_entries(dir), 1);

    free(nowhere);
    free(bad);
    free(path);
    test_remove_tree(dir);
    free(dir);
}

/* Image (r, c) of a grid is filled with a colour that encodes its position. */
static void fill_grid(float *images, int rows, int cols, int height, int width, int channels)
{
    size_t image_floats = (size_t)height * width * channels;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            for (size_t i = 0; i < image_floats; i++) {
                int channel = (int)(i % (size_t)channels);
                images[((size_t)r * cols + c) * image_floats + i] =
                    (float)(r * 40 + c * 20 + channel * 60) / 255.0f;
            }
}

static void test_image_grid_png(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    for (int channels = 1; channels <= 3; channels += 2) {
        const int rows = 2, cols = 3, height = 4, width = 5, scale = 3;
        float *images = malloc(sizeof(float) * rows * cols * height * width * channels);
        assert_non_null(images);
        fill_grid(images, rows, cols, height, width, channels);
        /* One distinct pixel: bottom-right of image (1, 2), to check orientation and scaling. */
        float *last = images + ((size_t)(rows * cols) - 1) * height * width * channels;
        for (int ch = 0; ch < channels; ch++)
            last[((size_t)(height - 1) * width + (width - 1)) * channels + ch] = 1.0f;
        const char *const titles[2] = {"Original:", "Strongly augmented:"};
        char *path = join_path(dir, channels == 1 ? "grey_grid.png" : "rgb_grid.png");
        simclr_error err = {0};
        if (simclr_plot_image_grid_png(path, images, rows, cols, height, width, channels, titles, scale,
                                &err) != 0)
            fail_msg("%s", err.message);

        uint8_t *rgb = NULL;
        int png_height = 0, png_width = 0;
        assert_int_equal(simclr_image_decode_file(path, 3, &rgb, &png_height, &png_width, &err), 0);
        int expected_width = 2 * SIMCLR_PLOT_GRID_MARGIN + cols * width * scale + (cols - 1) * SIMCLR_PLOT_GRID_GAP;
        int expected_height = 2 * SIMCLR_PLOT_GRID_MARGIN +
                              rows * (SIMCLR_PLOT_GRID_TITLE_HEIGHT + height * scale) +
                              (rows - 1) * SIMCLR_PLOT_GRID_GAP;
        assert_int_equal(png_width, expected_width);
        assert_int_equal(png_height, expected_height);

        /* Every image pixel where the layout says, upscaled by nearest neighbour. */
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int top = SIMCLR_PLOT_GRID_MARGIN +
                          r * (SIMCLR_PLOT_GRID_TITLE_HEIGHT + height * scale + SIMCLR_PLOT_GRID_GAP) +
                          SIMCLR_PLOT_GRID_TITLE_HEIGHT;
                int left = SIMCLR_PLOT_GRID_MARGIN + c * (width * scale + SIMCLR_PLOT_GRID_GAP);
                for (int y = 0; y < height * scale; y++) {
                    for (int x = 0; x < width * scale; x++) {
                        int corner = r == rows - 1 && c == cols - 1 && y / scale == height - 1 &&
                                     x / scale == width - 1;
                        const uint8_t *p = pixel_at(rgb, png_width, left + x, top + y);
                        for (int ch = 0; ch < 3; ch++) {
                            int source_channel = channels == 1 ? 0 : ch;
                            int expected = corner ? 255 : r * 40 + c * 20 + source_channel * 60;
                            if (p[ch] != expected)
                                fail_msg("%d channel(s): image (%d,%d) pixel (%d,%d) channel %d "
                                         "is %d, expected %d", channels, r, c, x, y, ch, p[ch],
                                         expected);
                        }
                    }
                }
            }
        }
        /* White margins and a title drawn in dark ink above each row. */
        const uint8_t *margin = pixel_at(rgb, png_width, 1, png_height - 2);
        assert_true(margin[0] == 255 && margin[1] == 255 && margin[2] == 255);
        for (int r = 0; r < rows; r++) {
            int band_top = SIMCLR_PLOT_GRID_MARGIN + r * (SIMCLR_PLOT_GRID_TITLE_HEIGHT + height * scale + SIMCLR_PLOT_GRID_GAP);
            int ink = 0;
            for (int y = band_top; y < band_top + SIMCLR_PLOT_GRID_TITLE_HEIGHT; y++)
                for (int x = 0; x < png_width; x++) ink += pixel_at(rgb, png_width, x, y)[0] < 128;
            if (ink < 20) fail_msg("row %d title has %d dark pixels", r, ink);
        }
        free(rgb);
        free(images);
        free(path);
    }
    assert_int_equal(count_entries(dir), 2);

    /* Bad arguments are input errors, and nothing is written. */
    simclr_error err = {0};
    float one_image[4] = {0};
    char *bad = join_path(dir, "bad.png");
    assert_int_equal(simclr_plot_image_grid_png(bad, one_image, 1, 1, 2, 2, 2, NULL, 1, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_int_equal(simclr_plot_image_grid_png(bad, one_image, 1, 1, 2, 2, 1, NULL, 20000, &err), -1);
    assert_non_null(strstr(err.message, "32767"));
    assert_int_equal(count_entries(dir), 2);
    free(bad);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_plot_png),
        cmocka_unit_test(test_image_grid_png),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
