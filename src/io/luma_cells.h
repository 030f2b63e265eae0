#ifndef SIMCLR_IO_LUMA_CELLS_H
#define SIMCLR_IO_LUMA_CELLS_H
/*
 * Private to src/io: mean luma over a grid of cells of a rectangle of an image, with real-valued
 * cell borders (a pixel cut by a border counts in each cell by the part of it inside), from a
 * summed-area table. The difference hash (image_hash.c) and the crop-tolerant match
 * (image_match.c) both read images this way.
 */
#include <stdint.h>

/* sums ((height + 1) x (width + 1)): sums[y][x] = the luma (ITU-R BT.601; channels 1: the value)
 * of the pixels above row y and left of column x. */
void simclr_luma_sums(const uint8_t *pixels, int height, int width, int channels, double *sums);

/* cell (rows x columns, row-major): the mean luma of the cells of the rectangle [x0, x0 + w) x
 * [y0, y0 + h) (pixels, real, inside the image); column borders at x0 + w * i / columns, row
 * borders at y0 + h * j / rows. At most 64 rows and 64 columns. */
void simclr_luma_cell_means(const double *sums, int height, int width, double x0, double y0, double w, double h,
                            int rows, int columns, double *cell);

#endif
