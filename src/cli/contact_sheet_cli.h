#ifndef SIMCLR_CLI_CONTACT_SHEET_CLI_H
#define SIMCLR_CLI_CONTACT_SHEET_CLI_H
/*
 * The --sheet FILE.png of similar, dedup and select (issue 26): the commands list sections of
 * image files as they print their results; writing loads each thumbnail as the model saw it
 * (simclr_image_load_fitted at the model's input size, in colour) and draws the contact sheet
 * (simclr_contact_sheet_png), file names under the thumbnails. A sheet that would pass the PNG
 * size limit keeps its first sections (and images) and says so.
 */
#include <stddef.h>

#include "simclr/error.h"
#include "simclr/features.h"

typedef struct sheet_image {
    char *path;
    char *detail; /* the line under the file name, or NULL */
    int highlight;
} sheet_image;

typedef struct sheet_section {
    char *title;
    size_t first, count; /* images[first, first + count) */
} sheet_section;

typedef struct sheet_plan {
    int columns;
    sheet_section *sections;
    size_t section_count, section_capacity;
    sheet_image *images;
    size_t image_count, image_capacity;
} sheet_plan;

/* Starts a section titled title (copied). */
int sheet_plan_section(sheet_plan *plan, const char *title, simclr_error *err);
/* Adds an image to the last section: path and detail (may be NULL) are copied. */
int sheet_plan_image(sheet_plan *plan, const char *path, const char *detail, int highlight, simclr_error *err);

/* Writes the sheet to path (flag names it in errors); *shown receives how many images it holds
 * (all, unless the PNG size limit cut it). */
int sheet_plan_write(const sheet_plan *plan, const char *flag, const char *path, const simclr_feature_extractor *fx,
                     size_t *shown, simclr_error *err);
void sheet_plan_free(sheet_plan *plan);

#endif
