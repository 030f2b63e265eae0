#ifndef SIMCLR_PLOT_H
#define SIMCLR_PLOT_H
/*
 * Figures written as PNG files, like the seed's matplotlib plots.
 *
 * Line plots (PLplot, its "pngcairo" device): one line per series against x = 1..count (epochs),
 * with a title, axis labels, a legend and distinct colours (matplotlib's tab10), on white.
 *
 *     simclr_plot_series series[2] = {{"training", train_loss, epochs}, {"validation", val_loss, epochs}};
 *     if (simclr_plot_lines_png("loss.png", "Loss", "epochs", "loss", series, 2, &err) != 0) ...
 *
 * Image grids (cairo): rows x cols images with a title above the first image of each row, as the
 * seed's visualize_augmentations draws them.
 *
 * Both write atomically: a temporary file in the same directory, renamed over path once complete,
 * so a failure leaves no partial file. PLplot keeps global state, so simclr_plot_lines_png must not run
 * on two threads at once; it uses a fresh PLplot stream per call and leaves the caller's current
 * stream as it was.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Size of a line plot, in pixels. */
#define SIMCLR_PLOT_LINES_WIDTH 800
#define SIMCLR_PLOT_LINES_HEIGHT 600

typedef struct simclr_plot_series {
    const char *label; /* legend text; NULL: "series N" */
    const float *y;    /* count values; y[i] is drawn at x = i + 1; NaN/inf values leave a gap */
    int count;
} simclr_plot_series;

/* Writes a SIMCLR_PLOT_LINES_WIDTH x SIMCLR_PLOT_LINES_HEIGHT PNG with series_count (1..64) lines. Series
 * with count 0 are listed in the legend but draw nothing; at least one finite value overall is
 * required. Text is drawn as given ('#' is shown literally). */
int simclr_plot_lines_png(const char *path, const char *title, const char *x_label, const char *y_label,
                   const simclr_plot_series *series, int series_count, simclr_error *err);

/* Size of a scatter plot, in pixels (the legend sits right of the axes). */
#define SIMCLR_PLOT_SCATTER_WIDTH 900
#define SIMCLR_PLOT_SCATTER_HEIGHT 700
#define SIMCLR_PLOT_SCATTER_MAX_LEGEND 20

/* Scatter plot (PLplot): count points (x[i], y[i]), point i coloured by groups[i] in 0..group_count-1
 * (matplotlib's tab10, cycling after 10 groups; a negative group is drawn grey), with a legend
 * of group_names (when group_count <= SIMCLR_PLOT_SCATTER_MAX_LEGEND; NULL names: "group N").
 * Non-finite points are skipped; at least one finite point is required. Written atomically. */
int simclr_plot_scatter_png(const char *path, const char *title, const char *x_label, const char *y_label,
                            const float *x, const float *y, const int32_t *groups, size_t count,
                            const char *const *group_names, int group_count, simclr_error *err);

/* Layout of an image grid, in output pixels: a margin around everything, a gap between images,
 * and a title band above each row when row_titles is not NULL. */
#define SIMCLR_PLOT_GRID_MARGIN 10
#define SIMCLR_PLOT_GRID_GAP 6
#define SIMCLR_PLOT_GRID_TITLE_HEIGHT 22

/* Writes rows x cols images (images: rows*cols images, row-major, each height x width x channels
 * floats in [0, 1], NHWC; channels 1 is drawn grey, 3 as RGB; values outside [0, 1] are clipped)
 * with each one upscaled `scale` times by nearest neighbour, on white. row_titles: NULL or `rows`
 * strings (NULL entries allowed), each drawn above the first image of its row.
 * The PNG is  2*MARGIN + cols*width*scale + (cols-1)*GAP  pixels wide and
 *             2*MARGIN + rows*(TITLE + height*scale) + (rows-1)*GAP  high
 * (TITLE = SIMCLR_PLOT_GRID_TITLE_HEIGHT, or 0 without row_titles); at most 32767 per side. */
int simclr_plot_image_grid_png(const char *path, const float *images, int rows, int cols, int height,
                        int width, int channels, const char *const *row_titles, int scale,
                        simclr_error *err);

SIMCLR_END_DECLS
#endif
