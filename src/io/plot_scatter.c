/*
 * Scatter plots through PLplot's "pngcairo" device: one colour per group, a colour-box legend
 * right of the axes. Checked before PLplot sees anything (it calls exit() on internal errors),
 * written to a temporary file and committed atomically, as plot_lines.c does.
 */
#include "simclr/atomic_file.h"
#include "simclr/plot.h"
#include "plplot_common.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCATTER_TEXT_MAX 256

enum scatter_color {
    SCATTER_COLOR_BACKGROUND = 0,
    SCATTER_COLOR_AXES = 1,
    SCATTER_COLOR_GRID = 2,
    SCATTER_COLOR_UNKNOWN = 3,
    SCATTER_COLOR_FIRST_GROUP = 4,
    SCATTER_GROUP_COLORS = 10,
    SCATTER_COLOR_COUNT = SCATTER_COLOR_FIRST_GROUP + SCATTER_GROUP_COLORS,
};

/* matplotlib's tab10. */
static const PLINT group_rgb[SCATTER_GROUP_COLORS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

static PLINT group_color(int32_t group)
{
    return group < 0 ? SCATTER_COLOR_UNKNOWN : SCATTER_COLOR_FIRST_GROUP + group % SCATTER_GROUP_COLORS;
}

static void draw_legend(const char *const *group_names, int group_count)
{
    enum { MAX = SIMCLR_PLOT_SCATTER_MAX_LEGEND };
    char labels[MAX][SCATTER_TEXT_MAX / 2];
    const char *texts[MAX];
    PLINT options[MAX], text_colors[MAX], box_colors[MAX], box_patterns[MAX];
    PLFLT box_scales[MAX], box_widths[MAX];
    for (int g = 0; g < group_count; g++) {
        if (group_names && group_names[g])
            simclr_plplot_escape_text(group_names[g], labels[g], sizeof labels[g]);
        else
            snprintf(labels[g], sizeof labels[g], "group %d", g);
        texts[g] = labels[g];
        options[g] = PL_LEGEND_COLOR_BOX;
        text_colors[g] = SCATTER_COLOR_AXES;
        box_colors[g] = group_color(g);
        box_patterns[g] = 0;
        box_scales[g] = 0.8;
        box_widths[g] = 1.0;
    }
    PLFLT legend_width = 0.0, legend_height = 0.0;
    pllegend(&legend_width, &legend_height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_OUTSIDE | PL_POSITION_RIGHT, 0.03, 0.0, 0.04, SCATTER_COLOR_BACKGROUND,
             SCATTER_COLOR_GRID, 1, 0, 0, group_count, options, 1.0, 0.9, 2.0, 0.0, text_colors, texts,
             box_colors, box_patterns, box_scales, box_widths, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
}

int simclr_plot_scatter_png(const char *path, const char *title, const char *x_label, const char *y_label,
                            const float *x, const float *y, const int32_t *groups, size_t count,
                            const char *const *group_names, int group_count, simclr_error *err)
{
    if (group_count < 0) return simclr_error_input(err, "plot %s: %d groups", path, group_count);
    double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        if (x[i] < x_min) x_min = x[i];
        if (x[i] > x_max) x_max = x[i];
        if (y[i] < y_min) y_min = y[i];
        if (y[i] > y_max) y_max = y[i];
        if (groups && groups[i] >= group_count)
            return simclr_error_input(err, "plot %s: point %zu is in group %d of %d", path, i, groups[i],
                                      group_count);
    }
    if (!(x_min <= x_max)) return simclr_error_input(err, "plot %s: no finite points to plot", path);
    double x_pad = x_max > x_min ? 0.05 * (x_max - x_min) : 1.0;
    double y_pad = y_max > y_min ? 0.05 * (y_max - y_min) : 1.0;
    if (!simclr_plplot_has_device("pngcairo"))
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "plot %s: PLplot has no pngcairo device (install plplot-driver-cairo)", path);
    PLFLT *px = simclr_checked_calloc(count + 1, sizeof *px, "plot x values", err);
    PLFLT *py = px ? simclr_checked_calloc(count + 1, sizeof *py, "plot y values", err) : NULL;
    simclr_atomic_file file;
    if (!py || simclr_atomic_file_open(&file, path, err) != 0) {
        free(px);
        free(py);
        return -1;
    }
    fclose(file.stream); /* PLplot reopens the temporary file by name */
    file.stream = NULL;
    PLINT previous_stream = 0, stream = -1;
    plgstrm(&previous_stream);
    plmkstrm(&stream);
    if (stream < 0) {
        free(px);
        free(py);
        simclr_atomic_file_abort(&file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "plot %s: PLplot has no free stream", path);
    }
    PLINT red[SCATTER_COLOR_COUNT], green[SCATTER_COLOR_COUNT], blue[SCATTER_COLOR_COUNT];
    red[SCATTER_COLOR_BACKGROUND] = green[SCATTER_COLOR_BACKGROUND] = blue[SCATTER_COLOR_BACKGROUND] = 255;
    red[SCATTER_COLOR_AXES] = green[SCATTER_COLOR_AXES] = blue[SCATTER_COLOR_AXES] = 0;
    red[SCATTER_COLOR_GRID] = green[SCATTER_COLOR_GRID] = blue[SCATTER_COLOR_GRID] = 210;
    red[SCATTER_COLOR_UNKNOWN] = green[SCATTER_COLOR_UNKNOWN] = blue[SCATTER_COLOR_UNKNOWN] = 90;
    for (int c = 0; c < SCATTER_GROUP_COLORS; c++) {
        red[SCATTER_COLOR_FIRST_GROUP + c] = group_rgb[c][0];
        green[SCATTER_COLOR_FIRST_GROUP + c] = group_rgb[c][1];
        blue[SCATTER_COLOR_FIRST_GROUP + c] = group_rgb[c][2];
    }
    plsdev("pngcairo");
    plsfnam(file.temp_path);
    plspage(0.0, 0.0, SIMCLR_PLOT_SCATTER_WIDTH, SIMCLR_PLOT_SCATTER_HEIGHT, 0, 0);
    plscmap0(red, green, blue, SCATTER_COLOR_COUNT);
    plscolbg(255, 255, 255);
    plinit();

    char title_text[SCATTER_TEXT_MAX], x_text[SCATTER_TEXT_MAX], y_text[SCATTER_TEXT_MAX];
    simclr_plplot_escape_text(title, title_text, sizeof title_text);
    simclr_plplot_escape_text(x_label, x_text, sizeof x_text);
    simclr_plplot_escape_text(y_label, y_text, sizeof y_text);
    int legend = group_count > 0 && group_count <= SIMCLR_PLOT_SCATTER_MAX_LEGEND;
    pladv(0);
    plvpor(0.11, legend ? 0.78 : 0.95, 0.10, 0.92);
    plwind(x_min - x_pad, x_max + x_pad, y_min - y_pad, y_max + y_pad);
    plcol0(SCATTER_COLOR_GRID);
    plwidth(0.5);
    plbox("g", 0.0, 0, "g", 0.0, 0);
    plcol0(SCATTER_COLOR_AXES);
    plwidth(1.0);
    plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
    pllab(x_text, y_text, title_text);
    plssym(0.0, count > 3000 ? 0.5 : 0.9); /* dense clouds: smaller points */
    /* One pass per colour, so each group's points are drawn with one call; the unknown group
     * (grey) first, underneath. */
    for (int g = -1; g < group_count; g++) {
        PLINT n = 0;
        for (size_t i = 0; i < count; i++) {
            int32_t group = groups ? groups[i] : -1;
            if ((group < 0 ? -1 : group) != g || !isfinite(x[i]) || !isfinite(y[i])) continue;
            px[n] = x[i];
            py[n] = y[i];
            n++;
        }
        if (n == 0) continue;
        plcol0(group_color(g));
        plpoin(n, px, py, 17);
    }
    if (legend) draw_legend(group_names, group_count);
    plend1();
    plsstrm(previous_stream);
    free(px);
    free(py);
    return simclr_plplot_commit_output(&file, err);
}
