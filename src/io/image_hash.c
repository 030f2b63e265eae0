/* The 64-bit difference hash of an image (image_hash.h): luma, 9 x 8 cell means, left < right. */
#include "simclr/image_hash.h"
#include <stddef.h>

uint64_t simclr_image_difference_hash(const uint8_t *pixels, int height, int width, int channels, int mirrored)
{
    if (height < 8 || width < 9 || (channels != 1 && channels != 3)) return 0;
    double cell[8][9];
    for (int row = 0; row < 8; row++) {
        int y0 = row * height / 8, y1 = (row + 1) * height / 8;
        for (int column = 0; column < 9; column++) {
            int x0 = column * width / 9, x1 = (column + 1) * width / 9;
            double sum = 0.0;
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    int source_x = mirrored ? width - 1 - x : x;
                    const uint8_t *p = pixels + ((size_t)y * (size_t)width + (size_t)source_x) * (size_t)channels;
                    sum += channels == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                }
            }
            cell[row][column] = sum / (double)((y1 - y0) * (x1 - x0));
        }
    }
    uint64_t hash = 0;
    for (int row = 0; row < 8; row++)
        for (int column = 0; column < 8; column++)
            hash = (hash << 1) | (uint64_t)(cell[row][column] < cell[row][column + 1]);
    return hash;
}

int simclr_hash_distance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }
