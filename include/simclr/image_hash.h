#ifndef SIMCLR_IMAGE_HASH_H
#define SIMCLR_IMAGE_HASH_H
/*
 * A perceptual hash of an image (issue 26: `simclr dedup`): the 64-bit difference hash (dHash,
 * Krawetz 2013). The image is made grey (ITU-R BT.601 luma), averaged into 9 x 8 cells (cell
 * borders at floor(i * width / 9) and floor(j * height / 8)), and bit 8 * row + column (row 0..7,
 * column 0..7, most significant bit first) is set when a cell is darker than the cell to its
 * right. Re-encoding, scaling and brightness or colour shifts change few bits; mirroring changes
 * most, so the hash of the mirrored image is offered too (`mirrored`). Images smaller than 9 x 8
 * hash as 0.
 *
 *     uint8_t pixels[32 * 32 * 3] = {0};                                // RGB, row-major
 *     uint64_t a = simclr_image_difference_hash(pixels, 32, 32, 3, 0);
 *     uint64_t b = simclr_image_difference_hash(pixels, 32, 32, 3, 1);  // mirrored
 *     printf("%d bits differ\n", simclr_hash_distance(a, b));            // 0..64
 */
#include <stdint.h>

#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* pixels: height x width x channels bytes (channels 1 or 3), row-major; mirrored: hash the image
 * mirrored left to right. */
uint64_t simclr_image_difference_hash(const uint8_t *pixels, int height, int width, int channels, int mirrored);

/* The number of bits in which two hashes differ (Hamming distance). */
int simclr_hash_distance(uint64_t a, uint64_t b);

SIMCLR_END_DECLS
#endif
