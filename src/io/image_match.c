/* The crop-tolerant match of two luma thumbnails (image_match.h): the whole of one against
 * regions of the other, Pearson correlation of 12 x 12 cell means, the best alignment. */
#include "simclr/image_match.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "io/luma_cells.h"

enum { MATCH_GRID = 12, MATCH_CELLS = MATCH_GRID * MATCH_GRID, MATCH_PLACES = 5 };
static const double MATCH_SCALES[] = {0.95, 0.9, 0.85}; /* besides the whole image */
#define MATCH_SCALE_COUNT ((int)(sizeof MATCH_SCALES / sizeof MATCH_SCALES[0]))
#define MATCH_REGIONS (1 + MATCH_SCALE_COUNT * MATCH_PLACES * MATCH_PLACES)
#define MATCH_SUMS ((SIMCLR_MATCH_THUMBNAIL_SIDE + 1) * (SIMCLR_MATCH_THUMBNAIL_SIDE + 1))

void simclr_image_match_thumbnail(const uint8_t *pixels, int height, int width, int channels, uint8_t *thumbnail)
{
    memset(thumbnail, 0, SIMCLR_MATCH_THUMBNAIL_BYTES);
    if (!pixels || height < 1 || width < 1 || (channels != 1 && channels != 3)) return;
    enum { SIDE = SIMCLR_MATCH_THUMBNAIL_SIDE };
    double cell[SIDE * SIDE];
    for (int i = 0; i < SIDE * SIDE; i++) cell[i] = 0.0;
    /* Area averaging with real-valued cell borders: each pixel adds to the cells it overlaps, by
     * the overlap (one pass over the image, whatever its size). */
    double cell_w = (double)width / SIDE, cell_h = (double)height / SIDE;
    for (int y = 0; y < height; y++) {
        const uint8_t *p = pixels + (size_t)y * (size_t)width * (size_t)channels;
        int row0 = (int)floor(y / cell_h), row1 = (int)floor((y + 1) / cell_h - 1e-12);
        if (row1 > SIDE - 1) row1 = SIDE - 1;
        for (int x = 0; x < width; x++, p += channels) {
            double luma = channels == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            int column0 = (int)floor(x / cell_w), column1 = (int)floor((x + 1) / cell_w - 1e-12);
            if (column1 > SIDE - 1) column1 = SIDE - 1;
            for (int row = row0; row <= row1; row++) {
                double top = fmax(y, row * cell_h), bottom = fmin(y + 1, (row + 1) * cell_h);
                for (int column = column0; column <= column1; column++) {
                    double left = fmax(x, column * cell_w), right = fmin(x + 1, (column + 1) * cell_w);
                    cell[row * SIDE + column] += luma * (bottom - top) * (right - left);
                }
            }
        }
    }
    double area = cell_w * cell_h;
    for (int i = 0; i < SIDE * SIDE; i++) {
        double mean = cell[i] / area;
        thumbnail[i] = (uint8_t)(mean < 0.0 ? 0 : mean > 255.0 ? 255 : lround(mean));
    }
}

/* Centres cells (MATCH_CELLS) and scales them to unit length; 0 when they are flat. */
static int standardise(double *cells)
{
    double mean = 0.0;
    for (int i = 0; i < MATCH_CELLS; i++) mean += cells[i];
    mean /= MATCH_CELLS;
    double norm = 0.0;
    for (int i = 0; i < MATCH_CELLS; i++) {
        cells[i] -= mean;
        norm += cells[i] * cells[i];
    }
    if (norm < 1e-9) return 0;
    norm = 1.0 / sqrt(norm);
    for (int i = 0; i < MATCH_CELLS; i++) cells[i] *= norm;
    return 1;
}

/* The standardised cells of every region of a thumbnail (the whole image first); ok[r] 0 when
 * region r is flat. */
static void region_cells(const uint8_t *thumbnail, double cells[MATCH_REGIONS][MATCH_CELLS], int *ok)
{
    enum { SIDE = SIMCLR_MATCH_THUMBNAIL_SIDE };
    double sums[MATCH_SUMS];
    simclr_luma_sums(thumbnail, SIDE, SIDE, 1, sums);
    int r = 0;
    simclr_luma_cell_means(sums, SIDE, SIDE, 0.0, 0.0, SIDE, SIDE, MATCH_GRID, MATCH_GRID, cells[r]);
    ok[r] = standardise(cells[r]);
    r++;
    for (int s = 0; s < MATCH_SCALE_COUNT; s++) {
        double side = MATCH_SCALES[s] * SIDE, room = SIDE - side;
        for (int py = 0; py < MATCH_PLACES; py++)
            for (int px = 0; px < MATCH_PLACES; px++, r++) {
                simclr_luma_cell_means(sums, SIDE, SIDE, room * px / (MATCH_PLACES - 1),
                                       room * py / (MATCH_PLACES - 1), side, side, MATCH_GRID, MATCH_GRID,
                                       cells[r]);
                ok[r] = standardise(cells[r]);
            }
    }
}

/* The best correlation of whole (standardised) with any region, as it is or mirrored. */
static double best_alignment(const double *whole, double regions[MATCH_REGIONS][MATCH_CELLS], const int *ok)
{
    double best = -1.0;
    for (int r = 0; r < MATCH_REGIONS; r++) {
        if (!ok[r]) continue;
        double same = 0.0, mirrored = 0.0;
        for (int row = 0; row < MATCH_GRID; row++) {
            const double *w = whole + row * MATCH_GRID, *g = regions[r] + row * MATCH_GRID;
            for (int column = 0; column < MATCH_GRID; column++) {
                same += w[column] * g[column];
                mirrored += w[column] * g[MATCH_GRID - 1 - column];
            }
        }
        if (same > best) best = same;
        if (mirrored > best) best = mirrored;
    }
    return best;
}

double simclr_image_match(const uint8_t *a, const uint8_t *b)
{
    static _Thread_local double cells_a[MATCH_REGIONS][MATCH_CELLS], cells_b[MATCH_REGIONS][MATCH_CELLS];
    int ok_a[MATCH_REGIONS], ok_b[MATCH_REGIONS];
    region_cells(a, cells_a, ok_a);
    region_cells(b, cells_b, ok_b);
    if (!ok_a[0] || !ok_b[0]) return 0.0;
    double ab = best_alignment(cells_a[0], cells_b, ok_b), ba = best_alignment(cells_b[0], cells_a, ok_a);
    double best = ab > ba ? ab : ba;
    return best < -1.0 ? -1.0 : best > 1.0 ? 1.0 : best;
}
