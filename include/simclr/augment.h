#ifndef SIMCLR_AUGMENT_H
#define SIMCLR_AUGMENT_H
/*
 * The seed's augmentation pipeline, exactly (see shared/reference/SEED.md):
 *   Rescaling(1/255) -> RandomFlip("horizontal") -> RandomTranslation(z/2, z/2)
 *   -> RandomZoom((-z, 0), (-z, 0)) -> RandomColorAffine(brightness, jitter),   z = 1 - sqrt(min_area)
 * Translation and zoom sample the input bilinearly with Keras "reflect" fill (edge repeated:
 * dcba|abcd|dcba). Any channel count: the colour matrix is C x C.
 *
 * Randomness: the parameters of one image are a pure function of
 * (seed, epoch, step, image index within the batch, view), drawn from rng.h, so a batch is the
 * same whatever the thread count.
 *
 * Output layout: NHWC float32 in [0, 1], the layout the training engine consumes.
 */
#include <stddef.h>
#include <stdint.h>
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_AUGMENT_MAX_CHANNELS 4

typedef struct simclr_augment_strength {
    float min_area;   /* zoom/translation strength: z = 1 - sqrt(min_area) */
    float brightness; /* colour affine: scale 1 + U(-brightness, brightness) on the diagonal */
    float jitter;     /* colour affine: + U(-jitter, jitter) on every matrix entry */
} simclr_augment_strength;

/* The seed's two strengths. */
extern const simclr_augment_strength SIMCLR_AUGMENT_CONTRASTIVE;     /* 0.25, 0.6, 0.2 */
extern const simclr_augment_strength SIMCLR_AUGMENT_CLASSIFICATION;  /* 0.75, 0.3, 0.1 */

/* One image's transform, as drawn (or as a test sets it). */
typedef struct simclr_augment_params {
    int flip;              /* 1: mirror the width axis */
    float translate_y;     /* pixels, output (x, y) samples input (x - dx, y - dy) */
    float translate_x;
    float zoom_y;          /* in (0, 1]: input y = zoom_y * y + (H-1)/2 * (1 - zoom_y) */
    float zoom_x;
    float color[SIMCLR_AUGMENT_MAX_CHANNELS * SIMCLR_AUGMENT_MAX_CHANNELS]; /* C x C, row-major: out = in_row @ M */
} simclr_augment_params;

/* Draws the parameters of one image. */
void simclr_augment_draw(const simclr_augment_strength *strength, int height, int width, int channels,
                  uint64_t seed, uint64_t epoch, uint64_t step, uint64_t image, uint64_t view,
                  simclr_augment_params *params);

/* Applies params to one HWC uint8 image, writing HWC float in [0, 1] (rescale, flip, translate,
 * zoom, colour affine with clipping). in and out must not overlap. */
void simclr_augment_apply(const uint8_t *in, int height, int width, int channels,
                   const simclr_augment_params *params, float *out);

/* Bytes of working memory simclr_augment_apply_workspace needs for one height x width x channels image
 * (the translated image between the two resampling passes, and the sampling taps). */
size_t simclr_augment_workspace_size(int height, int width, int channels);

/* simclr_augment_apply without allocating: workspace is caller-owned memory of
 * simclr_augment_workspace_size(height, width, channels) bytes from malloc (or aligned like it), reused
 * across calls; one per thread. */
void simclr_augment_apply_workspace(const uint8_t *in, int height, int width, int channels,
                             const simclr_augment_params *params, void *workspace, float *out);

/* Inference: rescaling only (x / 255). */
void simclr_augment_rescale(const uint8_t *in, size_t count, float *out);

/* A whole batch: images[i] is HWC uint8 (batch images, contiguous), out is NHWC float.
 * strength NULL means inference (rescale only). Parallel over images (OpenMP); the result does
 * not depend on the thread count. */
void simclr_augment_batch(const uint8_t *images, size_t batch, int height, int width, int channels,
                   const simclr_augment_strength *strength, uint64_t seed, uint64_t epoch, uint64_t step,
                   uint64_t view, float *out);
/* Part of a batch (issue 14: a rank's share): images[i] draws as image first_image + i of the
 * whole batch, so the views are those the whole batch would give. */
void simclr_augment_batch_from(const uint8_t *images, size_t batch, int height, int width, int channels,
                               const simclr_augment_strength *strength, uint64_t seed, uint64_t epoch,
                               uint64_t step, size_t first_image, uint64_t view, float *out);

SIMCLR_END_DECLS
#endif
