#ifndef SIMCLR_AUGMENT_POLICY_INTERNAL_H
#define SIMCLR_AUGMENT_POLICY_INTERNAL_H
/* Shared by crop.c and policy.c: the resized crop writing its sampling taps into a caller's
 * workspace instead of allocating them. */
#include <stddef.h>
#include <stdint.h>

/* One output row's (or column's) two input indices and their weights. */
typedef struct simclr_augment_linear_tap {
    int low, high;
    float w_low, w_high;
} simclr_augment_linear_tap;

/* simclr_augment_resized_crop with caller memory: taps has room for height + width taps,
 * rows_buffer for crop_height x width x channels floats. */
void simclr_augment_resized_crop_taps(const uint8_t *in, int height, int width, int channels, int top,
                                      int left, int crop_height, int crop_width, int flip,
                                      simclr_augment_linear_tap *taps, float *rows_buffer, float *out);

#endif
