#ifndef SIMCLR_IMAGE_MATCH_H
#define SIMCLR_IMAGE_MATCH_H
/*
 * Whether two images are copies of each other up to a crop, a left-right mirror and a change of
 * brightness, contrast or colour (issue 26: `simclr dedup` checks the pairs its difference hashes
 * propose). Each image is kept as a small luma thumbnail (simclr_image_match_thumbnail: 32 x 32
 * cell means of the whole image, ITU-R BT.601 luma, real-valued cell borders); two thumbnails
 * match as well as the best alignment of one's whole image with a region of the other: the
 * Pearson correlation of their 12 x 12 cell means, over the regions whose sides are 1, 0.95, 0.9
 * and 0.85 of the image's at 5 x 5 places (from corner to corner), each read as it is and
 * mirrored, either image the cropped one. A crop of 10 % scaled back, re-encoded and tinted
 * correlates above 0.95 with its original; unrelated images rarely do, even where their hashes
 * are close (docs/RESULTS.md, "Near-duplicates").
 *
 *     static uint8_t photo[96 * 96 * 3], copy[32 * 32 * 3];                // RGB, row-major
 *     for (int i = 0; i < 96 * 96 * 3; i++) photo[i] = (uint8_t)(i / 288 * 2 + i % 288 / 9);
 *     for (int i = 0; i < 32 * 32 * 3; i++) copy[i] = (uint8_t)(i / 96 * 6 + i % 96 / 3 * 3 + 10);
 *     uint8_t a[SIMCLR_MATCH_THUMBNAIL_BYTES], b[SIMCLR_MATCH_THUMBNAIL_BYTES];
 *     simclr_image_match_thumbnail(photo, 96, 96, 3, a);
 *     simclr_image_match_thumbnail(copy, 32, 32, 3, b);
 *     if (simclr_image_match(a, b) >= 0.9) printf("copies\n");
 */
#include <stdint.h>

#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_MATCH_THUMBNAIL_SIDE 32
#define SIMCLR_MATCH_THUMBNAIL_BYTES (SIMCLR_MATCH_THUMBNAIL_SIDE * SIMCLR_MATCH_THUMBNAIL_SIDE)

/* Writes the thumbnail (SIMCLR_MATCH_THUMBNAIL_BYTES, row-major) of pixels (height x width x
 * channels bytes, channels 1 or 3, row-major); any other channel count or an empty image gives a
 * flat thumbnail (0 everywhere), which matches nothing. */
void simclr_image_match_thumbnail(const uint8_t *pixels, int height, int width, int channels, uint8_t *thumbnail);

/* The best correlation, in [-1, 1], of one thumbnail's whole image with a region of the other
 * (see above); 0 when either is flat (a single grey). Symmetric: match(a, b) == match(b, a). */
double simclr_image_match(const uint8_t *a, const uint8_t *b);

SIMCLR_END_DECLS
#endif
