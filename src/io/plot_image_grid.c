/*
 * Image grids drawn with cairo: pixels are written straight into an RGB24 image surface
 * (nearest-neighbour upscaling, so every source pixel stays a sharp square), row titles drawn with
 * cairo's text API, and the surface streamed as PNG into an simclr_atomic_file.
 */
#include "simclr/atomic_file.h"
#include "simclr/plot.h"

#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PLOT_GRID_MAX_SIDE 32767 /* cairo's limit for image surfaces */
#define PLOT_GRID_FONT_SIZE 15.0

typedef struct grid_layout {
    int cell_width, cell_height; /* one upscaled image */
    int title_height;            /* 0 without titles */
    int canvas_width, canvas_height;
} grid_layout;

static int compute_layout(const char *path, int rows, int cols, int height, int width,
                          int channels, int scale, int has_titles, grid_layout *layout,
                          simclr_error *err)
{
    if (rows < 1 || cols < 1 || height < 1 || width < 1 || scale < 1)
        return simclr_error_input(err, "image grid %s: %d x %d images of %d x %d pixels at scale %d; "
                           "all must be at least 1", path, rows, cols, height, width, scale);
    if (channels != 1 && channels != 3)
        return simclr_error_input(err, "image grid %s: images have %d channels, expected 1 or 3", path,
                           channels);
    long long cell_width = (long long)width * scale, cell_height = (long long)height * scale;
    long long title = has_titles ? SIMCLR_PLOT_GRID_TITLE_HEIGHT : 0;
    long long canvas_width = 2LL * SIMCLR_PLOT_GRID_MARGIN + cols * cell_width + (cols - 1LL) * SIMCLR_PLOT_GRID_GAP;
    long long canvas_height =
        2LL * SIMCLR_PLOT_GRID_MARGIN + rows * (title + cell_height) + (rows - 1LL) * SIMCLR_PLOT_GRID_GAP;
    if (canvas_width > PLOT_GRID_MAX_SIDE || canvas_height > PLOT_GRID_MAX_SIDE)
        return simclr_error_input(err, "image grid %s would be %lld x %lld pixels; at most %d per side "
                           "(lower the scale or the number of images)", path, canvas_width,
                           canvas_height, PLOT_GRID_MAX_SIDE);
    layout->cell_width = (int)cell_width;
    layout->cell_height = (int)cell_height;
    layout->title_height = (int)title;
    layout->canvas_width = (int)canvas_width;
    layout->canvas_height = (int)canvas_height;
    return 0;
}

static uint32_t byte_of_unit(float value)
{
    if (!(value > 0.0f)) return 0; /* also NaN */
    if (value >= 1.0f) return 255;
    return (uint32_t)(value * 255.0f + 0.5f);
}

/* Copies one HWC float image, upscaled, with its top-left corner at (left, top). */
static void blit_image(unsigned char *canvas, int stride, int left, int top, const float *image,
                       int height, int width, int channels, int scale)
{
    for (int y = 0; y < height * scale; y++) {
        uint32_t *row = (uint32_t *)(canvas + (size_t)(top + y) * (size_t)stride) + left;
        const float *source_row = image + (size_t)(y / scale) * (size_t)width * (size_t)channels;
        for (int x = 0; x < width * scale; x++) {
            const float *pixel = source_row + (size_t)(x / scale) * (size_t)channels;
            uint32_t red = byte_of_unit(pixel[0]);
            uint32_t green = channels == 3 ? byte_of_unit(pixel[1]) : red;
            uint32_t blue = channels == 3 ? byte_of_unit(pixel[2]) : red;
            row[x] = 0xff000000u | red << 16 | green << 8 | blue; /* RGB24: native-endian xRGB */
        }
    }
}

static cairo_status_t write_to_atomic_file(void *closure, const unsigned char *data,
                                           unsigned int length)
{
    simclr_atomic_file *file = closure;
    return fwrite(data, 1, length, file->stream) == length ? CAIRO_STATUS_SUCCESS
                                                           : CAIRO_STATUS_WRITE_ERROR;
}

static int draw_grid(cairo_surface_t *surface, cairo_t *cr, const grid_layout *layout,
                     const float *images, int rows, int cols, int height, int width,
                     int channels, const char *const *row_titles, int scale)
{
    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_paint(cr);
    cairo_surface_flush(surface);
    unsigned char *canvas = cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface);
    if (!canvas) return -1;
    size_t image_floats = (size_t)height * (size_t)width * (size_t)channels;
    for (int r = 0; r < rows; r++) {
        int top = SIMCLR_PLOT_GRID_MARGIN + r * (layout->title_height + layout->cell_height + SIMCLR_PLOT_GRID_GAP) +
                  layout->title_height;
        for (int c = 0; c < cols; c++) {
            int left = SIMCLR_PLOT_GRID_MARGIN + c * (layout->cell_width + SIMCLR_PLOT_GRID_GAP);
            blit_image(canvas, stride, left, top, images + ((size_t)r * cols + c) * image_floats,
                       height, width, channels, scale);
        }
    }
    cairo_surface_mark_dirty(surface);

    if (row_titles) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, PLOT_GRID_FONT_SIZE);
        cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
        for (int r = 0; r < rows; r++) {
            if (!row_titles[r]) continue;
            int baseline = SIMCLR_PLOT_GRID_MARGIN +
                           r * (layout->title_height + layout->cell_height + SIMCLR_PLOT_GRID_GAP) +
                           layout->title_height - 6;
            cairo_move_to(cr, SIMCLR_PLOT_GRID_MARGIN, baseline);
            cairo_show_text(cr, row_titles[r]);
        }
    }
    return cairo_status(cr) == CAIRO_STATUS_SUCCESS ? 0 : -1;
}

int simclr_plot_image_grid_png(const char *path, const float *images, int rows, int cols, int height,
                        int width, int channels, const char *const *row_titles, int scale,
                        simclr_error *err)
{
    grid_layout layout = {0, 0, 0, 0, 0};
    if (compute_layout(path, rows, cols, height, width, channels, scale, row_titles != NULL,
                       &layout, err) != 0)
        return -1;
    if (!images) return simclr_error_input(err, "image grid %s: no images given", path);

    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, layout.canvas_width, layout.canvas_height);
    cairo_t *cr = cairo_create(surface); /* a nil object in error state if surface failed */
    int status = 0;
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS ||
        draw_grid(surface, cr, &layout, images, rows, cols, height, width, channels, row_titles,
                  scale) != 0) {
        cairo_status_t problem = cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS
                                     ? cairo_surface_status(surface)
                                     : cairo_status(cr);
        status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "image grid %s: cairo failed drawing (%s)",
                           path, cairo_status_to_string(problem));
    }
    simclr_atomic_file file;
    if (status == 0 && (status = simclr_atomic_file_open(&file, path, err)) == 0) {
        cairo_status_t written = cairo_surface_write_to_png_stream(surface, write_to_atomic_file,
                                                                    &file);
        if (written != CAIRO_STATUS_SUCCESS) {
            simclr_atomic_file_abort(&file);
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot write image grid %s: %s", path,
                               cairo_status_to_string(written));
        } else {
            status = simclr_atomic_file_commit(&file, err);
        }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return status;
}
