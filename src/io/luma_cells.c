/* Mean luma over cells with real-valued borders, from a summed-area table (luma_cells.h). */
#include "io/luma_cells.h"

#include <math.h>
#include <stddef.h>

void simclr_luma_sums(const uint8_t *pixels, int height, int width, int channels, double *sums)
{
    size_t stride = (size_t)width + 1;
    for (int x = 0; x <= width; x++) sums[x] = 0.0;
    for (int y = 0; y < height; y++) {
        const uint8_t *p = pixels + (size_t)y * (size_t)width * (size_t)channels;
        double *above = sums + (size_t)y * stride, *row = above + stride, line = 0.0;
        row[0] = 0.0;
        for (int x = 0; x < width; x++, p += channels) {
            line += channels == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            row[x + 1] = above[x + 1] + line;
        }
    }
}

/* The luma of the image over [0, x) x [0, y) (pixels, real): the pixels are constant on their
 * squares, so this integral is bilinear between the table's corners and interpolating is exact. */
static double luma_integral(const double *sums, int height, int width, double x, double y)
{
    int column = (int)floor(x), row = (int)floor(y);
    column = column < 0 ? 0 : column > width - 1 ? width - 1 : column;
    row = row < 0 ? 0 : row > height - 1 ? height - 1 : row;
    double fx = x - column, fy = y - row;
    size_t stride = (size_t)width + 1;
    const double *top = sums + (size_t)row * stride + column, *bottom = top + stride;
    return (1.0 - fy) * ((1.0 - fx) * top[0] + fx * top[1]) + fy * ((1.0 - fx) * bottom[0] + fx * bottom[1]);
}

void simclr_luma_cell_means(const double *sums, int height, int width, double x0, double y0, double w, double h,
                            int rows, int columns, double *cell)
{
    double corner[65][65]; /* the integral at every cell corner */
    for (int row = 0; row <= rows; row++)
        for (int column = 0; column <= columns; column++)
            corner[row][column] =
                luma_integral(sums, height, width, x0 + w * column / (double)columns, y0 + h * row / (double)rows);
    double area = (w / (double)columns) * (h / (double)rows);
    for (int row = 0; row < rows; row++)
        for (int column = 0; column < columns; column++)
            cell[row * columns + column] = (corner[row + 1][column + 1] - corner[row + 1][column] -
                                            corner[row][column + 1] + corner[row][column]) /
                                           area;
}
