#ifndef SIMCLR_IMAGE_HASH_H
#define SIMCLR_IMAGE_HASH_H
/*
 * A perceptual hash of an image (issue 26: `simclr dedup`): the 64-bit difference hash (dHash,
 * Krawetz 2013) of the whole image or of a region of it. The image is made grey (ITU-R BT.601
 * luma), the region is divided into 9 x 8 equal cells (column borders at left + i * width / 9,
 * row borders at top + j * height / 8, in real pixels: a pixel cut by a border counts in each cell
 * by the part of it inside), and bit 8 * row + column (row 0..7, column 0..7, most significant bit
 * first) is set when a cell is darker than the cell to its right (by more than 1e-6 of a grey
 * level, so that equal cells stay equal whatever the rounding). Re-encoding, scaling and
 * brightness or colour shifts change few bits; mirroring changes most, so the hash of the mirrored
 * image is offered too (`mirrored`). Images smaller than 9 x 8 pixels hash as 0.
 *
 * A crop changes many bits of the whole image's hash, but a crop scaled back to any size hashes
 * close to the region of the original it was cut from. `simclr dedup` therefore hashes each
 * image whole and in a few regions (simclr_hash_regions_layout: the centre and the corners at one
 * or more scales), each as it is and mirrored, and calls two images near-duplicates when the
 * whole-image hash of one is within a radius of any of the other's
 * (simclr_similarity_join_region_hash_groups in similarity.h).
 *
 *     uint8_t pixels[32 * 32 * 3] = {0};                                // RGB, row-major
 *     uint64_t a = simclr_image_difference_hash(pixels, 32, 32, 3, 0);
 *     uint64_t b = simclr_image_difference_hash(pixels, 32, 32, 3, 1);  // mirrored
 *     printf("%d bits differ\n", simclr_hash_distance(a, b));            // 0..64
 *
 *     double scales[1] = {0.9};                                          // 90 % of each side
 *     simclr_hash_region regions[SIMCLR_HASH_REGIONS_MAX];
 *     simclr_error err = {0};
 *     int count = simclr_hash_regions_layout(scales, 1, 5, regions, SIMCLR_HASH_REGIONS_MAX, &err);
 *     uint64_t hashes[2 * SIMCLR_HASH_REGIONS_MAX];   // (count, 2): each region, then mirrored
 *     if (count < 0 || simclr_image_region_hashes(pixels, 32, 32, 3, regions, count, hashes, &err) != 0)
 *         fprintf(stderr, "%s\n", simclr_error_message(&err));
 */
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* pixels: height x width x channels bytes (channels 1 or 3), row-major; mirrored: hash the image
 * mirrored left to right. Anything else (another channel count, a smaller image) hashes as 0. */
uint64_t simclr_image_difference_hash(const uint8_t *pixels, int height, int width, int channels, int mirrored);

/* The number of bits in which two hashes differ (Hamming distance). */
int simclr_hash_distance(uint64_t a, uint64_t b);

/* The most regions simclr_hash_regions_layout writes. */
#define SIMCLR_HASH_REGIONS_MAX 64

/* A rectangle of an image as fractions of its width and height: left and top in [0, 1), width and
 * height in (0, 1], left + width and top + height at most 1. {0, 0, 1, 1}: the whole image. */
typedef struct simclr_hash_region {
    double left, top, width, height;
} simclr_hash_region;

/* The regions `simclr dedup` hashes: the whole image first, then, for each of scale_count scales
 * s (a side of the region as a fraction of the image's, 0 < s < 1), the s x s regions at
 * `positions` places: 5 (the centre, then the top-left, top-right, bottom-left and bottom-right
 * corners) or 9 (a 3 x 3 grid row by row: corners, the middles of the sides and the centre).
 * Writes 1 + scale_count * positions regions into regions (room for capacity) and returns their
 * count; -1 with an input error for a scale outside (0, 1), positions other than 5 or 9, or too
 * little room. scale_count 0 gives the whole image alone. */
int simclr_hash_regions_layout(const double *scales, int scale_count, int positions, simclr_hash_region *regions,
                               int capacity, simclr_error *err);

/* The difference hash of each of region_count regions of an image (pixels as above), as it is and
 * mirrored left to right (the region cut out, then mirrored): hashes[2 * r] and hashes[2 * r + 1]
 * (2 * region_count values, written by the caller's array). The region {0, 0, 1, 1} hashes as
 * simclr_image_difference_hash does. Returns 0, or -1 with an input error for channels other than
 * 1 or 3, a region outside the image or region_count < 1; an image smaller than 9 x 8 hashes as 0
 * everywhere. */
int simclr_image_region_hashes(const uint8_t *pixels, int height, int width, int channels,
                               const simclr_hash_region *regions, int region_count, uint64_t *hashes,
                               simclr_error *err);

SIMCLR_END_DECLS
#endif
