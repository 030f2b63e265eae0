/* The 64-bit difference hash of an image or of regions of it (image_hash.h): luma, 9 x 8 cell
 * means over real-valued cell borders (each pixel weighted by its part inside the cell, from a
 * summed-area table of the image's luma, luma_cells.h: one pass over the pixels, then 90 look-ups a
 * region),
 * left < right; and the layout of the regions dedup hashes. */
#include "simclr/image_hash.h"

#include "io/luma_cells.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

/* Cells whose means differ by less than this many grey levels count as equal: the sums round
 * differently from cell to cell (by about 1e-12 of a grey level), and a flat image must hash as 0
 * whatever the rounding. */
#define HASH_EQUAL_MEANS 1e-6

/* Bit 8 * row + column, most significant first: a cell darker than its right neighbour; mirrored
 * reads each row of cells from the right. */
static uint64_t hash_of_cells(const double cell[8][9], int mirrored)
{
    uint64_t hash = 0;
    for (int row = 0; row < 8; row++)
        for (int column = 0; column < 8; column++) {
            double left = mirrored ? cell[row][8 - column] : cell[row][column];
            double right = mirrored ? cell[row][7 - column] : cell[row][column + 1];
            hash = (hash << 1) | (uint64_t)(right - left > HASH_EQUAL_MEANS);
        }
    return hash;
}

uint64_t simclr_image_difference_hash(const uint8_t *pixels, int height, int width, int channels, int mirrored)
{
    const simclr_hash_region whole = {0.0, 0.0, 1.0, 1.0};
    uint64_t hashes[2];
    if (!pixels || height < 8 || width < 9 || (channels != 1 && channels != 3) ||
        simclr_image_region_hashes(pixels, height, width, channels, &whole, 1, hashes, NULL) != 0)
        return 0;
    return hashes[mirrored ? 1 : 0];
}

int simclr_hash_distance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

int simclr_hash_regions_layout(const double *scales, int scale_count, int positions, simclr_hash_region *regions,
                               int capacity, simclr_error *err)
{
    if (scale_count < 0 || (scale_count > 0 && !scales))
        return simclr_error_input(err, "hash regions: %d scales, expected 0 or more", scale_count);
    if (positions != 5 && positions != 9)
        return simclr_error_input(err, "hash regions: %d positions, expected 5 (centre and corners) or 9 (3 x 3)",
                                  positions);
    long long count = 1 + (long long)scale_count * positions;
    if (count > capacity || !regions)
        return simclr_error_input(err, "hash regions: %lld regions (%d scales x %d positions + the whole image), "
                                       "room for %d",
                                  count, scale_count, positions, capacity);
    for (int s = 0; s < scale_count; s++)
        if (!(scales[s] > 0.0 && scales[s] < 1.0))
            return simclr_error_input(err, "hash regions: scale %g, expected a fraction of the side in (0, 1)",
                                      scales[s]);
    int written = 0;
    regions[written++] = (simclr_hash_region){0.0, 0.0, 1.0, 1.0};
    for (int s = 0; s < scale_count; s++) {
        double side = scales[s], far = 1.0 - side, middle = far / 2.0;
        if (positions == 5) {
            const double corner[5][2] = {{middle, middle}, {0.0, 0.0}, {far, 0.0}, {0.0, far}, {far, far}};
            for (int p = 0; p < 5; p++) regions[written++] = (simclr_hash_region){corner[p][0], corner[p][1], side, side};
        } else {
            const double offset[3] = {0.0, middle, far};
            for (int row = 0; row < 3; row++)
                for (int column = 0; column < 3; column++)
                    regions[written++] = (simclr_hash_region){offset[column], offset[row], side, side};
        }
    }
    return written;
}

int simclr_image_region_hashes(const uint8_t *pixels, int height, int width, int channels,
                               const simclr_hash_region *regions, int region_count, uint64_t *hashes,
                               simclr_error *err)
{
    if (channels != 1 && channels != 3)
        return simclr_error_input(err, "region hashes: %d channels, expected 1 or 3", channels);
    if (region_count < 1 || !regions || !hashes)
        return simclr_error_input(err, "region hashes: %d regions, expected at least 1", region_count);
    const double slack = 1e-9; /* 1 - 0.9 + 0.9 need not be 1 exactly */
    for (int r = 0; r < region_count; r++) {
        const simclr_hash_region *g = regions + r;
        if (!(g->left >= 0.0 && g->top >= 0.0 && g->width > 0.0 && g->height > 0.0 &&
              g->left + g->width <= 1.0 + slack && g->top + g->height <= 1.0 + slack))
            return simclr_error_input(err,
                                      "region hashes: region %d (left %g, top %g, width %g, height %g) is not "
                                      "inside the image (fractions of its sides, within [0, 1])",
                                      r, g->left, g->top, g->width, g->height);
    }
    if (!pixels || height < 8 || width < 9) {
        for (int r = 0; r < 2 * region_count; r++) hashes[r] = 0;
        return 0;
    }
    double *sums = simclr_checked_calloc(((size_t)height + 1) * ((size_t)width + 1), sizeof(double),
                                         "image hash sums", err);
    if (!sums) return -1;
    simclr_luma_sums(pixels, height, width, channels, sums);
    for (int r = 0; r < region_count; r++) {
        const simclr_hash_region *g = regions + r;
        double x0 = g->left * width, y0 = g->top * height;
        double w = fmin(g->width * width, width - x0), h = fmin(g->height * height, height - y0);
        double cell[8][9];
        simclr_luma_cell_means(sums, height, width, x0, y0, w, h, 8, 9, &cell[0][0]);
        hashes[2 * r] = hash_of_cells(cell, 0);
        hashes[2 * r + 1] = hash_of_cells(cell, 1);
    }
    free(sums);
    return 0;
}
