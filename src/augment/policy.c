/*
 * The simclr and byol policies: defaults, validation, parameter draws (torchvision's transforms'
 * order and distributions) and the per-image pipeline. Draw order within an image's stream:
 * crop (as get_params: two uniforms per try, then top and left), flip, whether to jitter, the
 * jitter's order (Fisher-Yates of 4, as torch.randperm) and its four factors, grayscale, whether
 * to blur and the sigma, whether to solarize. Every draw is made whatever the earlier outcomes,
 * except the crop's tries, so the stream position of each decision is fixed.
 */
#include "simclr/augment_policy.h"

#include <stdio.h>
#include <stdlib.h>

#include "policy_internal.h"
#include "simclr/augment.h"
#include "simclr/rng.h"

const char *simclr_augment_policy_kind_name(simclr_augment_policy_kind kind)
{
    switch (kind) {
    case SIMCLR_AUGMENT_POLICY_KIND_SEED: return "seed";
    case SIMCLR_AUGMENT_POLICY_KIND_SIMCLR: return "simclr";
    case SIMCLR_AUGMENT_POLICY_KIND_BYOL: return "byol";
    }
    return "unknown";
}

simclr_augment_policy simclr_augment_policy_make(simclr_augment_policy_kind kind, float color_strength)
{
    simclr_augment_policy policy = {
        .kind = kind,
        .color_strength = color_strength,
        .crop_scale_min = 0.08f,
        .crop_scale_max = 1.0f,
        .crop_ratio_min = 3.0f / 4.0f,
        .crop_ratio_max = 4.0f / 3.0f,
        .flip_probability = 0.5f,
        .jitter_probability = 0.8f,
        .brightness = 0.8f * color_strength,
        .contrast = 0.8f * color_strength,
        .saturation = 0.8f * color_strength,
        .hue = 0.2f * color_strength,
        .grayscale_probability = 0.2f,
        .blur_probability = {0.5f, 0.5f},
        .blur_sigma_min = 0.1f,
        .blur_sigma_max = 2.0f,
        .blur_min_size = 64,
        .solarize_probability = {0.0f, 0.0f},
        .solarize_threshold = 0.5f,
    };
    if (kind == SIMCLR_AUGMENT_POLICY_KIND_BYOL) {
        policy.brightness = 0.4f * color_strength;
        policy.contrast = 0.4f * color_strength;
        policy.saturation = 0.2f * color_strength;
        policy.hue = 0.1f * color_strength;
        policy.blur_probability[0] = 1.0f;
        policy.blur_probability[1] = 0.1f;
        policy.solarize_probability[1] = 0.2f;
    }
    return policy;
}

static int probability_ok(float p) { return p >= 0.0f && p <= 1.0f; }

int simclr_augment_policy_validate(const simclr_augment_policy *p, int channels, simclr_error *err)
{
    if (p->kind == SIMCLR_AUGMENT_POLICY_KIND_SEED) return 0;
    if (channels != 1 && channels != 3)
        return simclr_error_input(err, "--augment %s: images have %d channels; the policy needs 1 or 3",
                                  simclr_augment_policy_kind_name(p->kind), channels);
    if (!(p->crop_scale_min > 0.0f) || !(p->crop_scale_min <= p->crop_scale_max))
        return simclr_error_input(err, "--crop-scale %g,%g: expected 0 < MIN <= MAX (fractions of the "
                                  "image's area)",
                                  (double)p->crop_scale_min, (double)p->crop_scale_max);
    if (p->crop_scale_max > 1.0f)
        return simclr_error_input(err, "--crop-scale %g,%g: a crop cannot be larger than the image "
                                  "(MAX <= 1)",
                                  (double)p->crop_scale_min, (double)p->crop_scale_max);
    if (!(p->crop_ratio_min > 0.0f) || !(p->crop_ratio_min <= p->crop_ratio_max))
        return simclr_error_input(err, "--crop-ratio %g,%g: expected 0 < MIN <= MAX (width / height)",
                                  (double)p->crop_ratio_min, (double)p->crop_ratio_max);
    const char *names[5] = {"--flip-probability", "--jitter-probability", "--grayscale-probability",
                            "--blur-probability", "--solarize-probability"};
    float values[7] = {p->flip_probability,        p->jitter_probability,
                       p->grayscale_probability,   p->blur_probability[0],
                       p->solarize_probability[0], p->blur_probability[1],
                       p->solarize_probability[1]};
    for (int i = 0; i < 7; i++) {
        int name = i < 5 ? i : i - 2;
        if (!probability_ok(values[i]))
            return simclr_error_input(err, "%s %g: expected a probability in [0, 1]", names[name],
                                      (double)values[i]);
    }
    if (!(p->color_strength >= 0.0f))
        return simclr_error_input(err, "--color-strength %g: expected a number >= 0",
                                  (double)p->color_strength);
    if (!(p->hue <= 0.5f))
        return simclr_error_input(err, "--color-strength %g: the hue jitter %g exceeds 0.5 (colour "
                                  "strength at most %g for this policy)",
                                  (double)p->color_strength, (double)p->hue,
                                  (double)(0.5f * p->color_strength / p->hue));
    if (!(p->blur_sigma_min > 0.0f) || !(p->blur_sigma_min <= p->blur_sigma_max))
        return simclr_error_input(err, "blur sigma %g..%g: expected 0 < MIN <= MAX",
                                  (double)p->blur_sigma_min, (double)p->blur_sigma_max);
    return 0;
}

void simclr_augment_policy_describe(const simclr_augment_policy *p, char *out, size_t size)
{
    if (p->kind == SIMCLR_AUGMENT_POLICY_KIND_SEED) {
        snprintf(out, size, "seed");
        return;
    }
    snprintf(out, size,
             "%s color_strength=%g crop_scale=%g,%g crop_ratio=%g,%g flip=%g jitter=%g "
             "brightness=%g contrast=%g saturation=%g hue=%g grayscale=%g blur=%g,%g "
             "blur_sigma=%g,%g blur_min_size=%d solarize=%g,%g solarize_threshold=%g",
             simclr_augment_policy_kind_name(p->kind), (double)p->color_strength,
             (double)p->crop_scale_min, (double)p->crop_scale_max, (double)p->crop_ratio_min,
             (double)p->crop_ratio_max, (double)p->flip_probability, (double)p->jitter_probability,
             (double)p->brightness, (double)p->contrast, (double)p->saturation, (double)p->hue,
             (double)p->grayscale_probability, (double)p->blur_probability[0],
             (double)p->blur_probability[1], (double)p->blur_sigma_min, (double)p->blur_sigma_max,
             p->blur_min_size, (double)p->solarize_probability[0], (double)p->solarize_probability[1],
             (double)p->solarize_threshold);
}

void simclr_augment_policy_params_identity(int height, int width, simclr_augment_policy_params *params)
{
    *params = (simclr_augment_policy_params){.crop_height = height,
                                             .crop_width = width,
                                             .jitter_order = {0, 1, 2, 3},
                                             .brightness = 1.0f,
                                             .contrast = 1.0f,
                                             .saturation = 1.0f,
                                             .blur_kernel = simclr_augment_blur_kernel_size(height, width),
                                             .blur_sigma = 1.0f,
                                             .solarize_threshold = 0.5f};
}

/* Uniform in [max(0, 1 - strength), 1 + strength], ColorJitter's factor range. */
static float jitter_factor(simclr_rng_stream *rng, float strength)
{
    float low = 1.0f - strength;
    if (low < 0.0f) low = 0.0f;
    return simclr_rng_uniform(rng, low, 1.0f + strength);
}

void simclr_augment_policy_draw(const simclr_augment_policy *policy, int height, int width, uint64_t seed,
                                uint64_t epoch, uint64_t step, uint64_t image, uint64_t view,
                                simclr_augment_policy_params *params)
{
    simclr_rng_stream rng = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_AUGMENT, epoch, step, image, view);
    simclr_augment_policy_params_identity(height, width, params);
    simclr_augment_crop_draw(&rng, height, width, policy->crop_scale_min, policy->crop_scale_max,
                             policy->crop_ratio_min, policy->crop_ratio_max, &params->crop_top,
                             &params->crop_left, &params->crop_height, &params->crop_width);
    params->flip = simclr_rng_uniform01(&rng) < policy->flip_probability;
    params->jitter = simclr_rng_uniform01(&rng) < policy->jitter_probability;
    for (int i = 3; i > 0; i--) {
        int j = (int)simclr_rng_below(&rng, (uint64_t)i + 1);
        int swap = params->jitter_order[i];
        params->jitter_order[i] = params->jitter_order[j];
        params->jitter_order[j] = swap;
    }
    params->brightness = jitter_factor(&rng, policy->brightness);
    params->contrast = jitter_factor(&rng, policy->contrast);
    params->saturation = jitter_factor(&rng, policy->saturation);
    params->hue = simclr_rng_uniform(&rng, -policy->hue, policy->hue);
    params->grayscale = simclr_rng_uniform01(&rng) < policy->grayscale_probability;
    int pair = view == 2 ? 1 : 0;
    int side = height < width ? height : width;
    int blur = simclr_rng_uniform01(&rng) < policy->blur_probability[pair];
    params->blur = blur && side >= policy->blur_min_size;
    params->blur_sigma = simclr_rng_uniform(&rng, policy->blur_sigma_min, policy->blur_sigma_max);
    params->solarize = simclr_rng_uniform01(&rng) < policy->solarize_probability[pair];
    params->solarize_threshold = policy->solarize_threshold;
}

size_t simclr_augment_policy_workspace_floats(int height, int width, int channels)
{
    /* The blur's workspace (its kernel is at most 255), or the crop's rows and taps (4 floats'
     * room each): they are not needed at the same time. */
    size_t blur = simclr_augment_blur_workspace_floats(height, width, channels, 255);
    size_t crop = (size_t)height * width * channels + 4 * ((size_t)height + width);
    return blur > crop ? blur : crop;
}

void simclr_augment_policy_apply(const uint8_t *in, int height, int width, int channels,
                                 const simclr_augment_policy_params *params, float *workspace, float *out)
{
    size_t pixels = (size_t)height * width;
    simclr_augment_linear_tap *taps = (simclr_augment_linear_tap *)(workspace + pixels * channels);
    simclr_augment_resized_crop_taps(in, height, width, channels, params->crop_top, params->crop_left,
                                     params->crop_height, params->crop_width, params->flip, taps, workspace,
                                     out);
    if (params->jitter) {
        for (int k = 0; k < 4; k++) {
            switch (params->jitter_order[k]) {
            case 0: simclr_augment_adjust_brightness(out, pixels, channels, params->brightness); break;
            case 1: simclr_augment_adjust_contrast(out, pixels, channels, params->contrast); break;
            case 2: simclr_augment_adjust_saturation(out, pixels, channels, params->saturation); break;
            default: simclr_augment_adjust_hue(out, pixels, channels, params->hue); break;
            }
        }
    }
    if (params->grayscale) simclr_augment_grayscale(out, pixels, channels);
    if (params->blur)
        simclr_augment_gaussian_blur(out, height, width, channels, params->blur_kernel, params->blur_sigma,
                                     workspace);
    if (params->solarize) simclr_augment_solarize(out, pixels, channels, params->solarize_threshold);
}

void simclr_augment_policy_batch(const simclr_augment_policy *policy, const uint8_t *images, size_t batch,
                                 int height, int width, int channels, uint64_t seed, uint64_t epoch,
                                 uint64_t step, uint64_t view, float *out)
{
    simclr_augment_policy_batch_from(policy, images, batch, height, width, channels, seed, epoch, step, 0,
                                     view, out);
}

void simclr_augment_policy_batch_from(const simclr_augment_policy *policy, const uint8_t *images,
                                      size_t batch, int height, int width, int channels, uint64_t seed,
                                      uint64_t epoch, uint64_t step, size_t first_image, uint64_t view,
                                      float *out)
{
    if (policy->kind == SIMCLR_AUGMENT_POLICY_KIND_SEED) {
        simclr_augment_batch_from(images, batch, height, width, channels, &SIMCLR_AUGMENT_CONTRASTIVE, seed,
                                  epoch, step, first_image, view, out);
        return;
    }
    size_t image_size = (size_t)height * width * channels;
#pragma omp parallel
    {
        float *workspace = malloc(simclr_augment_policy_workspace_floats(height, width, channels) *
                                  sizeof(float));
        if (!workspace) {
            fprintf(stderr, "simclr: out of memory allocating the augmentation workspace\n");
            abort();
        }
#pragma omp for schedule(static)
        for (size_t i = 0; i < batch; i++) {
            simclr_augment_policy_params params;
            simclr_augment_policy_draw(policy, height, width, seed, epoch, step, first_image + i, view,
                                       &params);
            simclr_augment_policy_apply(images + i * image_size, height, width, channels, &params,
                                        workspace, out + i * image_size);
        }
        free(workspace);
    }
}
