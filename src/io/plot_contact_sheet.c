/*
 * Contact sheets drawn with cairo: thumbnails blitted into an RGB24 surface (nearest-neighbour
 * upscaling, as the augmentation grid does), captions with cairo's text API, shortened from the
 * left so that a file name keeps its end, the PNG streamed into an simclr_atomic_file.
 */
#include "simclr/contact_sheet.h"

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/atomic_file.h"

#define SHEET_MARGIN 12
#define SHEET_GAP 8              /* between thumbnails, across and down */
#define SHEET_SECTION_GAP 14     /* between sections */
#define SHEET_TITLE_HEIGHT 22
#define SHEET_TITLE_FONT 14.0
#define SHEET_CAPTION_HEIGHT 14  /* one line under a thumbnail */
#define SHEET_CAPTION_FONT 10.5
#define SHEET_MIN_CELL_WIDTH 96  /* room for a file name even under a small thumbnail */
#define SHEET_FRAME 3            /* the highlight's width */

typedef struct sheet_layout {
    int image_width, image_height; /* an upscaled thumbnail */
    int cell_width, cell_height;   /* a thumbnail with its frame room and two caption lines */
    int columns;
} sheet_layout;

static sheet_layout layout_of(const simclr_contact_sheet *sheet)
{
    sheet_layout layout;
    layout.image_width = sheet->thumb_width * sheet->scale;
    layout.image_height = sheet->thumb_height * sheet->scale;
    layout.cell_width = layout.image_width + 2 * SHEET_FRAME;
    if (layout.cell_width < SHEET_MIN_CELL_WIDTH) layout.cell_width = SHEET_MIN_CELL_WIDTH;
    layout.cell_height = layout.image_height + 2 * SHEET_FRAME + 2 * SHEET_CAPTION_HEIGHT;
    layout.columns = sheet->columns;
    return layout;
}

static long long section_height(const sheet_layout *layout, const simclr_contact_sheet_section *section)
{
    long long lines = section->count > 0 ? (section->count + layout->columns - 1) / layout->columns : 0;
    return (section->title ? SHEET_TITLE_HEIGHT : 0) + lines * layout->cell_height +
           (lines > 0 ? (lines - 1) * SHEET_GAP : 0);
}

void simclr_contact_sheet_size(const simclr_contact_sheet *sheet, long long *width, long long *height)
{
    sheet_layout layout = layout_of(sheet);
    int widest = 0;
    for (int s = 0; s < sheet->section_count; s++)
        if (sheet->sections[s].count > widest) widest = sheet->sections[s].count;
    if (widest > layout.columns) widest = layout.columns;
    long long w = 2LL * SHEET_MARGIN + (long long)widest * layout.cell_width +
                  (widest > 0 ? widest - 1LL : 0) * SHEET_GAP;
    long long h = 2LL * SHEET_MARGIN;
    for (int s = 0; s < sheet->section_count; s++)
        h += section_height(&layout, &sheet->sections[s]) + (s > 0 ? SHEET_SECTION_GAP : 0);
    /* Room for the longest title on one line. */
    if (w < 2LL * SHEET_MARGIN + 360) w = 2LL * SHEET_MARGIN + 360;
    if (width) *width = w;
    if (height) *height = h;
}

static void blit(unsigned char *canvas, int stride, int left, int top, const uint8_t *pixels, int height, int width,
                 int scale)
{
    for (int y = 0; y < height * scale; y++) {
        uint32_t *row = (uint32_t *)(canvas + (size_t)(top + y) * (size_t)stride) + left;
        const uint8_t *source = pixels + (size_t)(y / scale) * (size_t)width * 3;
        for (int x = 0; x < width * scale; x++) {
            const uint8_t *pixel = source + (size_t)(x / scale) * 3;
            row[x] = 0xff000000u | (uint32_t)pixel[0] << 16 | (uint32_t)pixel[1] << 8 | pixel[2];
        }
    }
}

/* Draws text centred at (centre, baseline), shortened from the left with "..." to max_width. */
static void draw_fitted_text(cairo_t *cr, const char *text, double centre, double baseline, double max_width)
{
    size_t length = strlen(text);
    char *shown = malloc(length + 4);
    if (!shown) return;
    cairo_text_extents_t extents;
    size_t skip = 0;
    for (;;) {
        if (skip == 0) snprintf(shown, length + 4, "%s", text);
        else snprintf(shown, length + 4, "...%s", text + skip);
        cairo_text_extents(cr, shown, &extents);
        if (extents.x_advance <= max_width || skip >= length) break;
        skip++;
        /* Never cut inside a UTF-8 sequence. */
        while (skip < length && ((unsigned char)text[skip] & 0xC0) == 0x80) skip++;
    }
    cairo_move_to(cr, centre - extents.x_advance / 2.0, baseline);
    cairo_show_text(cr, shown);
    free(shown);
}

static int draw(cairo_surface_t *surface, cairo_t *cr, const simclr_contact_sheet *sheet)
{
    sheet_layout layout = layout_of(sheet);
    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_paint(cr);
    cairo_surface_flush(surface);
    unsigned char *canvas = cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface);
    if (!canvas) return -1;
    /* The thumbnails first, straight into the pixels; then frames and text through cairo. */
    for (int pass = 0; pass < 2; pass++) {
        int top = SHEET_MARGIN;
        for (int s = 0; s < sheet->section_count; s++) {
            const simclr_contact_sheet_section *section = &sheet->sections[s];
            if (s > 0) top += SHEET_SECTION_GAP;
            if (section->title && pass == 1) {
                cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
                cairo_set_font_size(cr, SHEET_TITLE_FONT);
                cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
                cairo_move_to(cr, SHEET_MARGIN, top + SHEET_TITLE_HEIGHT - 7);
                cairo_show_text(cr, section->title);
            }
            if (section->title) top += SHEET_TITLE_HEIGHT;
            for (int c = 0; c < section->count; c++) {
                const simclr_contact_sheet_cell *cell = &section->cells[c];
                int column = c % layout.columns, line = c / layout.columns;
                int cell_left = SHEET_MARGIN + column * (layout.cell_width + SHEET_GAP);
                int cell_top = top + line * (layout.cell_height + SHEET_GAP);
                int image_left = cell_left + (layout.cell_width - layout.image_width) / 2;
                int image_top = cell_top + SHEET_FRAME;
                if (pass == 0) {
                    blit(canvas, stride, image_left, image_top, cell->pixels, sheet->thumb_height, sheet->thumb_width,
                         sheet->scale);
                    continue;
                }
                if (cell->highlight) {
                    cairo_set_source_rgb(cr, 0.84, 0.15, 0.16); /* tab10 red */
                    cairo_set_line_width(cr, SHEET_FRAME - 1);
                    cairo_rectangle(cr, image_left - SHEET_FRAME / 2.0 - 0.5, image_top - SHEET_FRAME / 2.0 - 0.5,
                                    layout.image_width + SHEET_FRAME, layout.image_height + SHEET_FRAME);
                    cairo_stroke(cr);
                }
                cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
                cairo_set_font_size(cr, SHEET_CAPTION_FONT);
                cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
                double centre = cell_left + layout.cell_width / 2.0;
                double baseline = image_top + layout.image_height + SHEET_FRAME + SHEET_CAPTION_HEIGHT - 3;
                if (cell->caption) draw_fitted_text(cr, cell->caption, centre, baseline, layout.cell_width);
                if (cell->detail)
                    draw_fitted_text(cr, cell->detail, centre, baseline + SHEET_CAPTION_HEIGHT, layout.cell_width);
            }
            top += (int)section_height(&layout, section) - (section->title ? SHEET_TITLE_HEIGHT : 0);
        }
        if (pass == 0) cairo_surface_mark_dirty(surface);
    }
    return cairo_status(cr) == CAIRO_STATUS_SUCCESS ? 0 : -1;
}

static cairo_status_t write_to_atomic_file(void *closure, const unsigned char *data, unsigned int length)
{
    simclr_atomic_file *file = closure;
    return fwrite(data, 1, length, file->stream) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int simclr_contact_sheet_png(const char *path, const simclr_contact_sheet *sheet, simclr_error *err)
{
    if (sheet->thumb_height < 1 || sheet->thumb_width < 1 || sheet->scale < 1 || sheet->columns < 1)
        return simclr_error_input(err, "contact sheet %s: thumbnails of %d x %d pixels at scale %d in %d columns; all "
                                       "must be at least 1",
                                  path, sheet->thumb_height, sheet->thumb_width, sheet->scale, sheet->columns);
    int cells = 0;
    for (int s = 0; s < sheet->section_count; s++) {
        for (int c = 0; c < sheet->sections[s].count; c++)
            if (!sheet->sections[s].cells[c].pixels)
                return simclr_error_input(err, "contact sheet %s: thumbnail %d of section %d has no pixels", path, c,
                                          s);
        cells += sheet->sections[s].count;
    }
    if (cells == 0) return simclr_error_input(err, "contact sheet %s: no thumbnail to draw", path);
    long long width = 0, height = 0;
    simclr_contact_sheet_size(sheet, &width, &height);
    if (width > SIMCLR_CONTACT_SHEET_MAX_SIDE || height > SIMCLR_CONTACT_SHEET_MAX_SIDE)
        return simclr_error_input(err, "contact sheet %s would be %lld x %lld pixels; at most %d per side (fewer "
                                       "images or columns)",
                                  path, width, height, SIMCLR_CONTACT_SHEET_MAX_SIDE);
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
    cairo_t *cr = cairo_create(surface);
    int status = 0;
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS || draw(surface, cr, sheet) != 0) {
        cairo_status_t problem =
            cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS ? cairo_surface_status(surface) : cairo_status(cr);
        status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "contact sheet %s: cairo failed drawing (%s)", path,
                                  cairo_status_to_string(problem));
    }
    simclr_atomic_file file;
    if (status == 0 && (status = simclr_atomic_file_open(&file, path, err)) == 0) {
        cairo_status_t written = cairo_surface_write_to_png_stream(surface, write_to_atomic_file, &file);
        if (written != CAIRO_STATUS_SUCCESS) {
            simclr_atomic_file_abort(&file);
            status = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot write contact sheet %s: %s", path,
                                      cairo_status_to_string(written));
        } else {
            status = simclr_atomic_file_commit(&file, err);
        }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return status;
}
