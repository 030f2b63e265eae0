#ifndef SIMCLR_CONTACT_SHEET_H
#define SIMCLR_CONTACT_SHEET_H
/*
 * Contact sheets (cairo, built into libsimclr-plot.a with the other figures): thumbnails in lines
 * under section titles, each with its file name (and a second line, such as a similarity) under
 * it, as `simclr similar`, `dedup` and `select` draw them (issue 26). A section starts on a new
 * line and wraps after `columns` thumbnails; a highlighted thumbnail (a query, a group's most
 * central image) is framed. Written atomically, like every figure.
 *
 *     simclr_error err = {0};
 *     uint8_t pixels[8 * 8 * 3] = {0};
 *     simclr_contact_sheet_cell cells[1] = {{pixels, "cat.png", "0.9731", 1}};
 *     simclr_contact_sheet_section sections[1] = {{"query cat.png", cells, 1}};
 *     simclr_contact_sheet sheet = {.thumb_height = 8, .thumb_width = 8, .scale = 4, .columns = 6,
 *                                   .sections = sections, .section_count = 1};
 *     if (simclr_contact_sheet_png("sheet.png", &sheet, &err) != 0) ...
 */
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_CONTACT_SHEET_MAX_SIDE 32767 /* cairo's limit, in pixels */

typedef struct simclr_contact_sheet_cell {
    const uint8_t *pixels;  /* thumb_height x thumb_width x 3, HWC RGB */
    const char *caption;    /* under the thumbnail, shortened from the left with "..." to fit; NULL: none */
    const char *detail;     /* a second line; NULL: none */
    int highlight;          /* 1: framed */
} simclr_contact_sheet_cell;

typedef struct simclr_contact_sheet_section {
    const char *title;      /* above the section's thumbnails; NULL: none */
    const simclr_contact_sheet_cell *cells;
    int count;
} simclr_contact_sheet_section;

typedef struct simclr_contact_sheet {
    int thumb_height, thumb_width; /* every cell's image */
    int scale;                     /* images are upscaled this many times (nearest neighbour) */
    int columns;                   /* thumbnails per line */
    const simclr_contact_sheet_section *sections;
    int section_count;
} simclr_contact_sheet;

/* The sheet's size in pixels (what simclr_contact_sheet_png checks against the limit). */
void simclr_contact_sheet_size(const simclr_contact_sheet *sheet, long long *width, long long *height);

/* Writes the sheet as PNG. Sizes below 1, a sheet wider or higher than
 * SIMCLR_CONTACT_SHEET_MAX_SIDE or one without a thumbnail are input errors naming path. */
int simclr_contact_sheet_png(const char *path, const simclr_contact_sheet *sheet, simclr_error *err);

SIMCLR_END_DECLS
#endif
