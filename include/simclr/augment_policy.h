#ifndef SIMCLR_AUGMENT_POLICY_H
#define SIMCLR_AUGMENT_POLICY_H
/*
 * The SimCLR and BYOL papers' augmentation policies, with torchvision's semantics (the seed's
 * pipeline stays in augment.h):
 *
 *   RandomResizedCrop(scale, ratio) -> RandomHorizontalFlip(0.5)
 *   -> RandomApply(ColorJitter(0.8 s, 0.8 s, 0.8 s, 0.2 s), 0.8)   (its four parts in random order)
 *   -> RandomGrayscale(0.2) -> RandomApply(GaussianBlur(~10 % of the side, sigma 0.1-2), p)
 *   -> RandomSolarize(0.5, p)
 *
 * Every op computes on float images in [0, 1] exactly as torchvision's tensor functional ops do
 * on a float tensor (image.float() / 255): resized_crop bilinear with align_corners=False (the
 * output keeps the image's size, so the resize never downscales and antialias=True and False
 * give the same result), adjust_brightness / adjust_contrast (against the mean of the grayscale
 * image) / adjust_saturation / adjust_hue (through torchvision's HSV), rgb_to_grayscale
 * (0.2989, 0.587, 0.114), gaussian_blur (reflect padding) and solarize. Parameter sampling follows
 * torchvision's transforms (10 tries of RandomResizedCrop, then the centre-crop fallback).
 *
 * Randomness: an image's parameters are a pure function of (seed, epoch, step, image, view)
 * (rng.h). Views 1 and 2 are the two views of a pair; BYOL's are asymmetric (blur 1.0 / 0.1,
 * solarize 0 / 0.2), so the view index selects the probabilities.
 *
 * Images: 1 or 3 channels (saturation, hue and grayscale leave a 1-channel image as it is, as
 * torchvision does). Layout HWC uint8 in, HWC float out.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef enum simclr_augment_policy_kind {
    SIMCLR_AUGMENT_POLICY_KIND_SEED,   /* augment.h's pipeline (SIMCLR_AUGMENT_CONTRASTIVE) */
    SIMCLR_AUGMENT_POLICY_KIND_SIMCLR,
    SIMCLR_AUGMENT_POLICY_KIND_BYOL,
} simclr_augment_policy_kind;

/* The names "seed", "simclr", "byol". */
const char *simclr_augment_policy_kind_name(simclr_augment_policy_kind kind);

typedef struct simclr_augment_policy {
    simclr_augment_policy_kind kind;
    float color_strength;                  /* s: scales the four jitter strengths */
    float crop_scale_min, crop_scale_max;  /* fraction of the image's area: 0.08, 1 */
    float crop_ratio_min, crop_ratio_max;  /* width / height: 3/4, 4/3 */
    float flip_probability;                /* 0.5 */
    float jitter_probability;              /* 0.8 */
    float brightness, contrast, saturation, hue; /* jitter strengths, s applied: 0.8 s x 3, 0.2 s */
    float grayscale_probability;           /* 0.2 */
    float blur_probability[2];             /* views 1 and 2: simclr 0.5 / 0.5, byol 1.0 / 0.1 */
    float blur_sigma_min, blur_sigma_max;  /* 0.1, 2.0 pixels */
    int blur_min_size;                     /* blur only when min(height, width) >= this: 64 */
    float solarize_probability[2];         /* simclr 0 / 0, byol 0 / 0.2 */
    float solarize_threshold;              /* 0.5 */
} simclr_augment_policy;

/* A policy's paper defaults with colour strength s (1.0; the SimCLR paper uses 0.5 on CIFAR).
 * simclr: jitter (0.8 s, 0.8 s, 0.8 s, 0.2 s); byol: (0.4 s, 0.4 s, 0.2 s, 0.1 s). */
simclr_augment_policy simclr_augment_policy_make(simclr_augment_policy_kind kind, float color_strength);

/* Checks a policy against an image shape: probabilities in [0, 1], 0 < scale_min <= scale_max
 * <= 1 (a crop no larger than the image), 0 < ratio_min <= ratio_max, strengths >= 0, hue <=
 * 0.5, 0 < sigma_min <= sigma_max, 1 or 3 channels. The message names the flag (--crop-scale,
 * ...) as the command line spells it. */
int simclr_augment_policy_validate(const simclr_augment_policy *policy, int channels, simclr_error *err);

/* One line naming the policy and every setting ("simclr color_strength=0.5 crop_scale=0.08,1 ..."),
 * as the config file and the checkpoint record it. */
void simclr_augment_policy_describe(const simclr_augment_policy *policy, char *out, size_t size);

/* The Gaussian blur kernel for a side: 10 % of the smaller side, made odd (96 -> 9, 224 -> 23),
 * at least 3. */
int simclr_augment_blur_kernel_size(int height, int width);

/* One image's transform, as drawn (or as a test sets it). */
typedef struct simclr_augment_policy_params {
    int crop_top, crop_left, crop_height, crop_width; /* torchvision's (i, j, h, w) */
    int flip;
    int jitter;            /* 1: apply the colour jitter below */
    int jitter_order[4];   /* 0 brightness, 1 contrast, 2 saturation, 3 hue, in application order */
    float brightness, contrast, saturation, hue; /* factors: 1 = identity (hue: 0) */
    int grayscale;
    int blur;
    int blur_kernel;       /* odd */
    float blur_sigma;
    int solarize;
    float solarize_threshold;
} simclr_augment_policy_params;

/* Parameters that leave the image as it is (whole-image crop, nothing else). */
void simclr_augment_policy_params_identity(int height, int width, simclr_augment_policy_params *params);

/* RandomResizedCrop.get_params on a height x width image, drawing from rng (rng.h stream). */
struct simclr_rng_stream;
void simclr_augment_crop_draw(struct simclr_rng_stream *rng, int height, int width, float scale_min,
                              float scale_max, float ratio_min, float ratio_max, int *top, int *left,
                              int *crop_height, int *crop_width);

/* Draws one image's parameters (view 1 or 2). */
void simclr_augment_policy_draw(const simclr_augment_policy *policy, int height, int width, uint64_t seed,
                                uint64_t epoch, uint64_t step, uint64_t image, uint64_t view,
                                simclr_augment_policy_params *params);

/* ---- The ops, in place on one HWC float image in [0, 1] (exposed for the tests) ---- */

/* torchvision resized_crop + hflip: out (height, width, channels) from the crop of in (uint8,
 * height x width) bilinearly resized back to height x width, mirrored when flip. */
void simclr_augment_resized_crop(const uint8_t *in, int height, int width, int channels, int top, int left,
                                 int crop_height, int crop_width, int flip, float *out);
void simclr_augment_adjust_brightness(float *image, size_t pixels, int channels, float factor);
void simclr_augment_adjust_contrast(float *image, size_t pixels, int channels, float factor);
void simclr_augment_adjust_saturation(float *image, size_t pixels, int channels, float factor);
void simclr_augment_adjust_hue(float *image, size_t pixels, int channels, float hue);
void simclr_augment_grayscale(float *image, size_t pixels, int channels);
void simclr_augment_solarize(float *image, size_t pixels, int channels, float threshold);
/* Gaussian blur with reflect padding; workspace holds simclr_augment_blur_workspace_floats. */
size_t simclr_augment_blur_workspace_floats(int height, int width, int channels, int kernel);
void simclr_augment_gaussian_blur(float *image, int height, int width, int channels, int kernel,
                                  float sigma, float *workspace);

/* Applies params to one HWC uint8 image: out is HWC float in [0, 1]. workspace holds
 * simclr_augment_policy_workspace_floats floats (one per thread, reused). */
size_t simclr_augment_policy_workspace_floats(int height, int width, int channels);
void simclr_augment_policy_apply(const uint8_t *in, int height, int width, int channels,
                                 const simclr_augment_policy_params *params, float *workspace, float *out);

/* A whole batch (images contiguous HWC uint8, out NHWC float), parallel over images (OpenMP);
 * the result does not depend on the thread count. The seed policy calls simclr_augment_batch with
 * SIMCLR_AUGMENT_CONTRASTIVE, bit for bit the seed's views. */
void simclr_augment_policy_batch(const simclr_augment_policy *policy, const uint8_t *images, size_t batch,
                                 int height, int width, int channels, uint64_t seed, uint64_t epoch,
                                 uint64_t step, uint64_t view, float *out);
/* Part of a batch (issue 14: a rank's share): images[i] draws as image first_image + i. */
void simclr_augment_policy_batch_from(const simclr_augment_policy *policy, const uint8_t *images,
                                      size_t batch, int height, int width, int channels, uint64_t seed,
                                      uint64_t epoch, uint64_t step, size_t first_image, uint64_t view,
                                      float *out);

SIMCLR_END_DECLS
#endif
