#include "contact_sheet_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "simclr/contact_sheet.h"
#include "simclr/image_io.h"

#define SHEET_THUMBNAIL_SIDE 96 /* small inputs are upscaled to about this many pixels */

int sheet_plan_section(sheet_plan *plan, const char *title, simclr_error *err)
{
    if (plan->section_count == plan->section_capacity) {
        size_t capacity = plan->section_capacity ? 2 * plan->section_capacity : 16;
        sheet_section *grown = realloc(plan->sections, capacity * sizeof *grown);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (contact sheet)");
        plan->sections = grown;
        plan->section_capacity = capacity;
    }
    sheet_section *section = &plan->sections[plan->section_count];
    section->title = strdup(title);
    if (!section->title) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (contact sheet)");
    section->first = plan->image_count;
    section->count = 0;
    plan->section_count++;
    return 0;
}

int sheet_plan_image(sheet_plan *plan, const char *path, const char *detail, int highlight, simclr_error *err)
{
    if (plan->section_count == 0 && sheet_plan_section(plan, "", err) != 0) return -1;
    if (plan->image_count == plan->image_capacity) {
        size_t capacity = plan->image_capacity ? 2 * plan->image_capacity : 64;
        sheet_image *grown = realloc(plan->images, capacity * sizeof *grown);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (contact sheet)");
        plan->images = grown;
        plan->image_capacity = capacity;
    }
    sheet_image *image = &plan->images[plan->image_count];
    image->path = strdup(path);
    image->detail = detail ? strdup(detail) : NULL;
    image->highlight = highlight;
    if (!image->path || (detail && !image->detail)) {
        free(image->path);
        free(image->detail);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (contact sheet)");
    }
    plan->image_count++;
    plan->sections[plan->section_count - 1].count++;
    return 0;
}

void sheet_plan_free(sheet_plan *plan)
{
    for (size_t s = 0; s < plan->section_count; s++) free(plan->sections[s].title);
    for (size_t i = 0; i < plan->image_count; i++) {
        free(plan->images[i].path);
        free(plan->images[i].detail);
    }
    free(plan->sections);
    free(plan->images);
    memset(plan, 0, sizeof *plan);
}

/* The caption: the file's name with its folder's ("cat/0001.jpg"), the names in a folder of class
 * folders often repeating from one to the next. */
static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return path;
    const char *parent = slash;
    while (parent > path && parent[-1] != '/') parent--;
    int dots = strncmp(parent, "./", 2) == 0 || strncmp(parent, "../", 3) == 0;
    return parent < slash && !dots ? parent : slash + 1;
}

/* Cuts sheet->sections (their count and the last one's images) to what fits the size limit. */
static void fit_to_limit(simclr_contact_sheet *sheet, simclr_contact_sheet_section *sections)
{
    long long height = 0;
    simclr_contact_sheet_size(sheet, NULL, &height);
    while (height > SIMCLR_CONTACT_SHEET_MAX_SIDE && sheet->section_count > 0) {
        simclr_contact_sheet_section *last = &sections[sheet->section_count - 1];
        if (last->count > sheet->columns) last->count -= (last->count - 1) % sheet->columns + 1; /* one line less */
        else sheet->section_count--;
        simclr_contact_sheet_size(sheet, NULL, &height);
    }
}

int sheet_plan_write(const sheet_plan *plan, const char *flag, const char *path, const simclr_feature_extractor *fx,
                     size_t *shown, simclr_error *err)
{
    *shown = 0;
    const simclr_tensor_shape *input = &fx->info.model.input;
    size_t image_bytes = (size_t)input->height * (size_t)input->width * 3;
    int scale = SHEET_THUMBNAIL_SIDE / (input->width > input->height ? input->width : input->height);
    if (scale < 1) scale = 1;
    simclr_contact_sheet_section *sections =
        simclr_checked_calloc(plan->section_count ? plan->section_count : 1, sizeof *sections, "contact sheet", err);
    simclr_contact_sheet_cell *cells =
        sections ? simclr_checked_calloc(plan->image_count ? plan->image_count : 1, sizeof *cells, "contact sheet", err)
                 : NULL;
    for (size_t s = 0; cells && s < plan->section_count; s++)
        sections[s] = (simclr_contact_sheet_section){plan->sections[s].title[0] ? plan->sections[s].title : NULL,
                                                     cells + plan->sections[s].first, (int)plan->sections[s].count};
    simclr_contact_sheet sheet = {.thumb_height = input->height, .thumb_width = input->width, .scale = scale,
                                  .columns = plan->columns > 0 ? plan->columns : 8, .sections = sections,
                                  .section_count = (int)plan->section_count};
    if (cells) fit_to_limit(&sheet, sections);
    size_t drawn = 0;
    for (int s = 0; s < sheet.section_count; s++) drawn += (size_t)sections[s].count;
    uint8_t *pixels = cells ? simclr_checked_calloc(drawn ? drawn : 1, image_bytes, "contact sheet thumbnails", err)
                            : NULL;
    if (!pixels) {
        free(sections);
        free(cells);
        return -1;
    }
    /* The thumbnails drawn, in order: section s's first count images. */
    const sheet_image **images = calloc(drawn ? drawn : 1, sizeof *images);
    size_t next = 0;
    for (int s = 0; images && s < sheet.section_count; s++)
        for (int c = 0; c < sections[s].count; c++) {
            const sheet_image *image = &plan->images[plan->sections[s].first + (size_t)c];
            images[next] = image;
            cells[plan->sections[s].first + (size_t)c] =
                (simclr_contact_sheet_cell){pixels + next * image_bytes, file_name(image->path), image->detail,
                                            image->highlight};
            next++;
        }
    int status = images ? 0 : simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (contact sheet)");
    size_t first_bad = drawn;
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t i = 0; i < (images ? drawn : 0); i++) {
        simclr_error local = {0};
        if (simclr_image_load_fitted(images[i]->path, pixels + i * image_bytes, input->height, input->width, 3,
                                     fx->info.resize, &local) != 0) {
#pragma omp critical(sheet_first_bad)
            if (i < first_bad) first_bad = i;
        }
        simclr_error_clear(&local);
    }
    if (status == 0 && first_bad < drawn) {
        simclr_image_load_fitted(images[first_bad]->path, pixels, input->height, input->width, 3, fx->info.resize, err);
        simclr_error_set(err, SIMCLR_ERROR_KIND_INPUT, "%s %s: cannot draw %s: %s", flag, path,
                         images[first_bad]->path, simclr_error_message(err));
        status = -1;
    }
    if (status == 0) status = cli_prepare_output_file(flag, path, err);
    if (status == 0) status = simclr_contact_sheet_png(path, &sheet, err);
    if (status == 0) *shown = drawn;
    free(images);
    free(pixels);
    free(sections);
    free(cells);
    return status;
}
