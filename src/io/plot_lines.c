/*
 * Line plots through PLplot's "pngcairo" device.
 *
 * PLplot calls exit() on internal errors (plexit), so everything it could object to is checked
 * first: the device exists, the output file can be created (simclr_atomic_file makes the temporary file
 * PLplot then overwrites), the data have a finite range. PLplot writes the PNG itself; we check
 * it starts with the PNG signature and commit it (fsync, rename) with simclr_atomic_file.
 */
#include "simclr/atomic_file.h"
#include "simclr/plot.h"
#include "plplot_common.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_MAX_SERIES 64
#define PLOT_TEXT_MAX 256

/* cmap0 slots: PLplot draws the background in slot 0. */
enum plot_color {
    PLOT_COLOR_BACKGROUND = 0,
    PLOT_COLOR_AXES = 1,
    PLOT_COLOR_GRID = 2,
    PLOT_COLOR_FIRST_SERIES = 3,
    PLOT_SERIES_COLORS = 10,
    PLOT_COLOR_COUNT = PLOT_COLOR_FIRST_SERIES + PLOT_SERIES_COLORS,
};

/* matplotlib's default cycle (tab10). */
static const PLINT series_rgb[PLOT_SERIES_COLORS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

/* The x and y range to show, with matplotlib's 5% margins. */
typedef struct plot_range {
    double x_min, x_max, y_min, y_max;
} plot_range;

static int compute_range(const simclr_plot_series *series, int series_count, plot_range *range)
{
    int max_count = 0, have_value = 0;
    double low = 0.0, high = 0.0;
    for (int s = 0; s < series_count; s++) {
        if (series[s].count > max_count) max_count = series[s].count;
        for (int i = 0; i < series[s].count; i++) {
            double value = series[s].y[i];
            if (!isfinite(value)) continue;
            if (!have_value || value < low) low = value;
            if (!have_value || value > high) high = value;
            have_value = 1;
        }
    }
    if (!have_value) return -1;
    double x_span = max_count > 1 ? (double)(max_count - 1) : 10.0;
    range->x_min = 1.0 - 0.05 * x_span;
    range->x_max = (max_count > 1 ? (double)max_count : 1.0) + 0.05 * x_span;
    double y_pad = high > low ? 0.05 * (high - low) : (fabs(high) > 0 ? 0.05 * fabs(high) : 1.0);
    range->y_min = low - y_pad;
    range->y_max = high + y_pad;
    return 0;
}

/* Draws one series: its runs of finite values as lines, isolated finite points as dots. */
static void draw_series(const simclr_plot_series *series, PLFLT *x, PLFLT *y)
{
    int run = 0;
    for (int i = 0; i <= series->count; i++) {
        int finite = i < series->count && isfinite(series->y[i]);
        if (finite) {
            x[run] = (PLFLT)(i + 1);
            y[run] = (PLFLT)series->y[i];
            run++;
            continue;
        }
        if (run == 1) plpoin(1, x, y, 17);
        if (run > 1) plline(run, x, y);
        run = 0;
    }
}

/* Like matplotlib's loc="best": the corner of the axes (upper right, upper left, lower left,
 * lower right, in that order of preference) whose box holds the fewest data points. The box is
 * about the legend's size: 45% of the width, 8% of the height per series. */
static PLINT best_legend_corner(const simclr_plot_series *series, int series_count,
                                const plot_range *range)
{
    static const PLINT corners[4] = {
        PL_POSITION_TOP | PL_POSITION_RIGHT, PL_POSITION_TOP | PL_POSITION_LEFT,
        PL_POSITION_BOTTOM | PL_POSITION_LEFT, PL_POSITION_BOTTOM | PL_POSITION_RIGHT};
    double box_width = 0.45, box_height = 0.08 * series_count + 0.04;
    long inside[4] = {0, 0, 0, 0};
    for (int s = 0; s < series_count; s++) {
        for (int i = 0; i < series[s].count; i++) {
            if (!isfinite(series[s].y[i])) continue;
            double u = ((double)(i + 1) - range->x_min) / (range->x_max - range->x_min);
            double v = ((double)series[s].y[i] - range->y_min) / (range->y_max - range->y_min);
            int right = u > 1.0 - box_width, left = u < box_width;
            int top = v > 1.0 - box_height, bottom = v < box_height;
            inside[0] += right && top;
            inside[1] += left && top;
            inside[2] += left && bottom;
            inside[3] += right && bottom;
        }
    }
    int best = 0;
    for (int c = 1; c < 4; c++)
        if (inside[c] < inside[best]) best = c;
    return corners[best];
}

/* matplotlib's legend: inside the axes, white box with a light frame. */
static void draw_legend(const simclr_plot_series *series, int series_count, const plot_range *range)
{
    char labels[PLOT_MAX_SERIES][PLOT_TEXT_MAX / 2];
    const char *texts[PLOT_MAX_SERIES];
    PLINT options[PLOT_MAX_SERIES], text_colors[PLOT_MAX_SERIES], line_colors[PLOT_MAX_SERIES];
    PLINT line_styles[PLOT_MAX_SERIES];
    PLFLT line_widths[PLOT_MAX_SERIES];
    for (int s = 0; s < series_count; s++) {
        if (series[s].label) {
            simclr_plplot_escape_text(series[s].label, labels[s], sizeof labels[s]);
        } else {
            snprintf(labels[s], sizeof labels[s], "series %d", s + 1);
        }
        texts[s] = labels[s];
        options[s] = PL_LEGEND_LINE;
        text_colors[s] = PLOT_COLOR_AXES;
        line_colors[s] = PLOT_COLOR_FIRST_SERIES + s % PLOT_SERIES_COLORS;
        line_styles[s] = 1;
        line_widths[s] = 2.0;
    }
    PLFLT legend_width = 0.0, legend_height = 0.0;
    pllegend(&legend_width, &legend_height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_INSIDE | best_legend_corner(series, series_count, range), 0.02, 0.02, 0.08,
             PLOT_COLOR_BACKGROUND, PLOT_COLOR_GRID, 1, 0, 0, series_count, options, 1.0, 0.9,
             2.0, 0.0, text_colors, texts, NULL, NULL, NULL, NULL, line_colors, line_styles,
             line_widths, NULL, NULL, NULL, NULL);
}

static void draw_plot(const char *title, const char *x_label, const char *y_label,
                      const simclr_plot_series *series, int series_count, const plot_range *range,
                      PLFLT *x, PLFLT *y)
{
    char title_text[PLOT_TEXT_MAX], x_text[PLOT_TEXT_MAX], y_text[PLOT_TEXT_MAX];
    simclr_plplot_escape_text(title, title_text, sizeof title_text);
    simclr_plplot_escape_text(x_label, x_text, sizeof x_text);
    simclr_plplot_escape_text(y_label, y_text, sizeof y_text);

    pladv(0);
    plvpor(0.11, 0.95, 0.11, 0.91);
    plwind(range->x_min, range->x_max, range->y_min, range->y_max);
    plcol0(PLOT_COLOR_GRID);
    plwidth(0.5);
    plbox("g", 0.0, 0, "g", 0.0, 0);
    plcol0(PLOT_COLOR_AXES);
    plwidth(1.0);
    plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
    pllab(x_text, y_text, title_text);

    plwidth(2.0);
    for (int s = 0; s < series_count; s++) {
        plcol0(PLOT_COLOR_FIRST_SERIES + s % PLOT_SERIES_COLORS);
        draw_series(&series[s], x, y);
    }

    draw_legend(series, series_count, range);
}

static int check_series(const char *path, const simclr_plot_series *series, int series_count,
                        int *max_count, simclr_error *err)
{
    if (series_count < 1 || series_count > PLOT_MAX_SERIES)
        return simclr_error_input(err, "plot %s: %d series, expected 1 to %d", path, series_count,
                           PLOT_MAX_SERIES);
    *max_count = 0;
    for (int s = 0; s < series_count; s++) {
        if (series[s].count < 0 || (series[s].count > 0 && !series[s].y))
            return simclr_error_input(err, "plot %s: series %d has %d values and %s data", path, s + 1,
                               series[s].count, series[s].y ? "some" : "no");
        if (series[s].count > *max_count) *max_count = series[s].count;
    }
    return 0;
}

int simclr_plot_lines_png(const char *path, const char *title, const char *x_label, const char *y_label,
                   const simclr_plot_series *series, int series_count, simclr_error *err)
{
    int max_count = 0;
    if (check_series(path, series, series_count, &max_count, err) != 0) return -1;
    plot_range range;
    if (compute_range(series, series_count, &range) != 0)
        return simclr_error_input(err, "plot %s: no finite values to plot", path);
    if (!simclr_plplot_has_device("pngcairo"))
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                         "plot %s: PLplot has no pngcairo device (install plplot-driver-cairo)",
                         path);
    PLFLT *x = simclr_checked_calloc((size_t)max_count + 1, sizeof *x, "plot x values", err);
    PLFLT *y = simclr_checked_calloc((size_t)max_count + 1, sizeof *y, "plot y values", err);
    simclr_atomic_file file;
    if (!x || !y || simclr_atomic_file_open(&file, path, err) != 0) {
        free(x);
        free(y);
        return -1;
    }
    fclose(file.stream); /* PLplot reopens the temporary file by name */
    file.stream = NULL;

    PLINT previous_stream = 0, stream = -1;
    plgstrm(&previous_stream);
    plmkstrm(&stream);
    if (stream < 0) {
        free(x);
        free(y);
        simclr_atomic_file_abort(&file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "plot %s: PLplot has no free stream", path);
    }
    PLINT red[PLOT_COLOR_COUNT], green[PLOT_COLOR_COUNT], blue[PLOT_COLOR_COUNT];
    red[PLOT_COLOR_BACKGROUND] = green[PLOT_COLOR_BACKGROUND] = blue[PLOT_COLOR_BACKGROUND] = 255;
    red[PLOT_COLOR_AXES] = green[PLOT_COLOR_AXES] = blue[PLOT_COLOR_AXES] = 0;
    red[PLOT_COLOR_GRID] = green[PLOT_COLOR_GRID] = blue[PLOT_COLOR_GRID] = 210;
    for (int c = 0; c < PLOT_SERIES_COLORS; c++) {
        red[PLOT_COLOR_FIRST_SERIES + c] = series_rgb[c][0];
        green[PLOT_COLOR_FIRST_SERIES + c] = series_rgb[c][1];
        blue[PLOT_COLOR_FIRST_SERIES + c] = series_rgb[c][2];
    }
    plsdev("pngcairo");
    plsfnam(file.temp_path);
    plspage(0.0, 0.0, SIMCLR_PLOT_LINES_WIDTH, SIMCLR_PLOT_LINES_HEIGHT, 0, 0);
    plscmap0(red, green, blue, PLOT_COLOR_COUNT);
    plscolbg(255, 255, 255);
    plinit();
    draw_plot(title, x_label, y_label, series, series_count, &range, x, y);
    plend1();
    plsstrm(previous_stream);
    free(x);
    free(y);
    return simclr_plplot_commit_output(&file, err);
}
