/*
 * The simclr / byol augmentation policies (augment_policy.h):
 *   - every op with fixed parameters against torchvision's functional ops on real CIFAR-10
 *     images and a 96x96 image (fixtures from tools/make_torchvision_augment_fixtures.py, stored
 *     as uint16 = round(x * 65535)); tolerance 2e-5 absolute (quantisation 7.7e-6 plus float
 *     rounding in a different summation order);
 *   - the parameter sampling by its distributions: RandomResizedCrop's area and aspect-ratio
 *     histograms against torchvision's own get_params (fixture), jitter factor ranges and means,
 *     the jitter order's 24 permutations, flip / jitter / grayscale / blur / solarize rates within
 *     binomial bounds (5 standard deviations), BYOL's per-view asymmetry;
 *   - purity and threading: a batch is the same whatever the thread count, the seed policy is the
 *     seed's pipeline bit for bit, validation names the flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/augment.h"
#include "simclr/augment_policy.h"
#include "simclr/rng.h"
#include "test_support.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 2e-5

static float *load_u16_fixture(const char *name, size_t count)
{
    size_t size = 0;
    uint8_t *bytes = test_load_fixture_bytes(name, &size);
    if (size != count * 2) fail_msg("fixture %s holds %zu bytes, expected %zu", name, size, count * 2);
    float *values = malloc(count * sizeof(float));
    assert_non_null(values);
    for (size_t i = 0; i < count; i++)
        values[i] = (float)(bytes[2 * i] | (bytes[2 * i + 1] << 8)) / 65535.0f;
    free(bytes);
    return values;
}

static void to_float(const uint8_t *in, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++) out[i] = (float)in[i] / 255.0f;
}

/* One line of tv_augment_cases.txt: runs our op and compares with torchvision's output. */
static void run_case(char *line, int *cases)
{
    char output[128], input[128], op[32];
    int height = 0, width = 0, used = 0;
    if (sscanf(line, "%127s %127s %d %d %31s %n", output, input, &height, &width, op, &used) < 5)
        fail_msg("bad case line: %s", line);
    const char *args = line + used;
    size_t count = (size_t)height * width * 3, pixels = (size_t)height * width;
    size_t size = 0;
    uint8_t *image = test_load_fixture_bytes(input, &size);
    assert_int_equal(size, count);
    float *expected = load_u16_fixture(output, count);
    float *out = calloc(count, sizeof(float));
    float *workspace = calloc(simclr_augment_policy_workspace_floats(height, width, 3), sizeof(float));
    assert_non_null(out);
    assert_non_null(workspace);
    to_float(image, count, out);
    if (strcmp(op, "crop") == 0) {
        int top, left, h, w, flip;
        assert_int_equal(sscanf(args, "%d %d %d %d %d", &top, &left, &h, &w, &flip), 5);
        simclr_augment_resized_crop(image, height, width, 3, top, left, h, w, flip, out);
    } else if (strcmp(op, "brightness") == 0 || strcmp(op, "contrast") == 0 ||
               strcmp(op, "saturation") == 0 || strcmp(op, "hue") == 0 ||
               strcmp(op, "solarize") == 0) {
        float value;
        assert_int_equal(sscanf(args, "%f", &value), 1);
        if (op[0] == 'b') simclr_augment_adjust_brightness(out, pixels, 3, value);
        if (op[0] == 'c') simclr_augment_adjust_contrast(out, pixels, 3, value);
        if (op[0] == 's' && op[1] == 'a') simclr_augment_adjust_saturation(out, pixels, 3, value);
        if (op[0] == 'h') simclr_augment_adjust_hue(out, pixels, 3, value);
        if (op[0] == 's' && op[1] == 'o') simclr_augment_solarize(out, pixels, 3, value);
    } else if (strcmp(op, "grayscale") == 0) {
        simclr_augment_grayscale(out, pixels, 3);
    } else if (strcmp(op, "blur") == 0) {
        int kernel;
        float sigma;
        assert_int_equal(sscanf(args, "%d %f", &kernel, &sigma), 2);
        simclr_augment_gaussian_blur(out, height, width, 3, kernel, sigma, workspace);
    } else if (strcmp(op, "pipeline") == 0) {
        simclr_augment_policy_params p;
        simclr_augment_policy_params_identity(height, width, &p);
        char order[8];
        assert_int_equal(sscanf(args, "%d %d %d %d %d %d %7s %f %f %f %f %d %d %d %f %d %f", &p.crop_top,
                                &p.crop_left, &p.crop_height, &p.crop_width, &p.flip, &p.jitter, order,
                                &p.brightness, &p.contrast, &p.saturation, &p.hue, &p.grayscale, &p.blur,
                                &p.blur_kernel, &p.blur_sigma, &p.solarize, &p.solarize_threshold),
                         17);
        for (int k = 0; k < 4; k++) p.jitter_order[k] = order[k] - '0';
        simclr_augment_policy_apply(image, height, width, 3, &p, workspace, out);
    } else {
        fail_msg("unknown op %s", op);
    }
    test_assert_close(output, out, expected, count, TOLERANCE, 0.0);
    (*cases)++;
    free(workspace);
    free(out);
    free(expected);
    free(image);
}

static void test_ops_match_torchvision(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *text = test_load_fixture_bytes("tv_augment_cases.txt", &size);
    char *copy = calloc(size + 1, 1);
    assert_non_null(copy);
    memcpy(copy, text, size);
    int cases = 0;
    char *saveptr = NULL;
    for (char *line = strtok_r(copy, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr))
        if (line[0] != '#' && line[0] != '\0') run_case(line, &cases);
    assert_true(cases >= 25);
    free(copy);
    free(text);
}

/* |observed - expected| within 5 standard deviations of a binomial proportion over n. */
static void assert_rate(const char *what, double observed, double expected, double n)
{
    double sd = sqrt(expected * (1.0 - expected) / n);
    double bound = 5.0 * sd + 1e-9;
    if (fabs(observed - expected) > bound)
        fail_msg("%s: rate %.5f, expected %.5f +- %.5f", what, observed, expected, bound);
}

static void test_crop_distribution_matches_torchvision(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *text = test_load_fixture_bytes("tv_crop_histogram.txt", &size);
    char *copy = calloc(size + 1, 1);
    assert_non_null(copy);
    memcpy(copy, text, size);
    const int draws = 40000;
    int checked = 0;
    char *saveptr = NULL;
    for (char *line = strtok_r(copy, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr)) {
        if (line[0] == '#') continue;
        int side = 0, used = 0;
        char kind[16];
        assert_true(sscanf(line, "%d %15s %n", &side, kind, &used) >= 2);
        double expected[10];
        int bins = strcmp(kind, "whole") == 0 ? 1 : 10;
        const char *cursor = line + used;
        for (int b = 0; b < bins; b++) {
            int n = 0;
            assert_int_equal(sscanf(cursor, "%lf%n", &expected[b], &n), 1);
            cursor += n;
        }
        double observed[10] = {0};
        const double log_lo = log(0.75), log_hi = log(4.0 / 3.0);
        for (int d = 0; d < draws; d++) {
            simclr_rng_stream rng = simclr_rng_stream_make(7, SIMCLR_RNG_PURPOSE_AUGMENT, 0, 0, (uint64_t)d, 1);
            int top, left, h, w;
            simclr_augment_crop_draw(&rng, side, side, 0.08f, 1.0f, 0.75f, 4.0f / 3.0f, &top, &left, &h, &w);
            assert_true(h >= 1 && h <= side && w >= 1 && w <= side);
            assert_true(top >= 0 && top + h <= side && left >= 0 && left + w <= side);
            if (bins == 1) {
                observed[0] += h == side && w == side;
            } else if (kind[0] == 'a') {
                int b = (int)((double)h * w / ((double)side * side) * 10.0);
                observed[b > 9 ? 9 : b] += 1;
            } else {
                int b = (int)((log((double)w / h) - log_lo) / (log_hi - log_lo) * 10.0);
                observed[b < 0 ? 0 : b > 9 ? 9 : b] += 1;
            }
        }
        for (int b = 0; b < bins; b++) {
            char what[64];
            snprintf(what, sizeof what, "crop %d px %s bin %d", side, kind, b);
            /* The reference histogram has its own sampling error (200000 draws): widen by it. */
            double p = expected[b];
            double sd = sqrt(p * (1 - p) / draws + p * (1 - p) / 200000.0);
            if (fabs(observed[b] / draws - p) > 5.0 * sd + 1e-9)
                fail_msg("%s: %.5f, torchvision %.5f +- %.5f", what, observed[b] / draws, p, 5 * sd);
        }
        checked++;
    }
    assert_int_equal(checked, 6);
    free(copy);
    free(text);
}

static void test_crop_fallback_is_centre(void **state)
{
    (void)state;
    /* A 10 x 100 image: no crop with ratio in [3/4, 4/3] fits... except small ones; with scale
     * [0.9, 1] none does, so the fallback crops the centre at ratio 4/3: h = 10, w = 13. */
    simclr_rng_stream rng = simclr_rng_stream_make(1, SIMCLR_RNG_PURPOSE_AUGMENT, 0, 0, 0, 1);
    int top, left, h, w;
    simclr_augment_crop_draw(&rng, 10, 100, 0.9f, 1.0f, 0.75f, 4.0f / 3.0f, &top, &left, &h, &w);
    assert_int_equal(h, 10);
    assert_int_equal(w, 13);
    assert_int_equal(top, 0);
    assert_int_equal(left, (100 - 13) / 2);
    /* Tall: w = width, h = round(w / (3/4)). */
    simclr_augment_crop_draw(&rng, 100, 10, 0.9f, 1.0f, 0.75f, 4.0f / 3.0f, &top, &left, &h, &w);
    assert_int_equal(w, 10);
    assert_int_equal(h, 13);
    assert_int_equal(top, (100 - 13) / 2);
}

static void test_parameter_distributions(void **state)
{
    (void)state;
    const int n = 20000;
    simclr_augment_policy simclr = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SIMCLR, 0.5f);
    simclr_augment_policy byol = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_BYOL, 1.0f);
    double flips = 0, jitters = 0, grays = 0, blurs96 = 0, blurs32 = 0, solar = 0;
    double b_min = 10, b_max = -10, b_sum = 0, h_min = 10, h_max = -10, sigma_min = 10, sigma_max = -10;
    int permutations[24] = {0};
    for (int i = 0; i < n; i++) {
        simclr_augment_policy_params p, small;
        simclr_augment_policy_draw(&simclr, 96, 96, 3, 1, 2, (uint64_t)i, 1, &p);
        simclr_augment_policy_draw(&simclr, 32, 32, 3, 1, 2, (uint64_t)i, 1, &small);
        flips += p.flip;
        jitters += p.jitter;
        grays += p.grayscale;
        blurs96 += p.blur;
        blurs32 += small.blur;
        solar += p.solarize;
        b_min = fmin(b_min, p.brightness);
        b_max = fmax(b_max, p.brightness);
        b_sum += p.brightness;
        h_min = fmin(h_min, p.hue);
        h_max = fmax(h_max, p.hue);
        sigma_min = fmin(sigma_min, p.blur_sigma);
        sigma_max = fmax(sigma_max, p.blur_sigma);
        assert_true(p.contrast >= 0.6f && p.contrast <= 1.4f);
        assert_true(p.saturation >= 0.6f && p.saturation <= 1.4f);
        assert_int_equal(p.blur_kernel, 9);
        /* Lehmer code of the order. */
        int code = 0, used[4] = {0};
        for (int k = 0; k < 4; k++) {
            int smaller = 0;
            for (int m = 0; m < p.jitter_order[k]; m++) smaller += !used[m];
            used[p.jitter_order[k]] = 1;
            code = code * (4 - k) + smaller;
        }
        permutations[code]++;
    }
    assert_rate("flip", flips / n, 0.5, n);
    assert_rate("jitter", jitters / n, 0.8, n);
    assert_rate("grayscale", grays / n, 0.2, n);
    assert_rate("blur at 96 px", blurs96 / n, 0.5, n);
    assert_true(blurs32 == 0); /* off below 64 px */
    assert_true(solar == 0);
    /* Strength 0.5: brightness factor uniform in [0.6, 1.4], hue in [-0.1, 0.1]. */
    assert_true(b_min >= 0.6 && b_min < 0.61 && b_max <= 1.4 && b_max > 1.39);
    assert_true(fabs(b_sum / n - 1.0) < 5 * 0.8 / sqrt(12.0 * n));
    assert_true(h_min >= -0.1 && h_min < -0.099 && h_max <= 0.1 && h_max > 0.099);
    assert_true(sigma_min >= 0.1 && sigma_min < 0.11 && sigma_max <= 2.0 && sigma_max > 1.99);
    for (int k = 0; k < 24; k++) assert_rate("jitter order permutation", permutations[k] / (double)n, 1.0 / 24, n);

    /* BYOL: blur 1.0 / 0.1, solarize 0 / 0.2 on views 1 / 2; brightness 0.4 -> [0.6, 1.4]. */
    double blur_view[2] = {0, 0}, solar_view[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        for (int view = 1; view <= 2; view++) {
            simclr_augment_policy_params p;
            simclr_augment_policy_draw(&byol, 96, 96, 5, 0, 0, (uint64_t)i, (uint64_t)view, &p);
            blur_view[view - 1] += p.blur;
            solar_view[view - 1] += p.solarize;
            assert_true(p.brightness >= 0.6f && p.brightness <= 1.4f);
            assert_true(p.saturation >= 0.8f && p.saturation <= 1.2f);
            assert_true(p.hue >= -0.1f && p.hue <= 0.1f);
        }
    }
    assert_true(blur_view[0] == n);
    assert_rate("byol blur view 2", blur_view[1] / n, 0.1, n);
    assert_true(solar_view[0] == 0);
    assert_rate("byol solarize view 2", solar_view[1] / n, 0.2, n);
}

static uint8_t *random_images(size_t count, uint64_t seed)
{
    uint8_t *images = malloc(count);
    assert_non_null(images);
    simclr_rng_stream rng = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_INIT, 0, 0, 0, 0);
    for (size_t i = 0; i < count; i++) images[i] = (uint8_t)simclr_rng_below(&rng, 256);
    return images;
}

static void test_batch_is_pure_and_thread_independent(void **state)
{
    (void)state;
    const int batch = 9, side = 64;
    size_t image = (size_t)side * side * 3, count = batch * image;
    uint8_t *images = random_images(count, 3);
    float *one = malloc(count * sizeof(float)), *two = malloc(count * sizeof(float));
    assert_non_null(one);
    assert_non_null(two);
    simclr_augment_policy byol = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_BYOL, 1.0f);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    simclr_augment_policy_batch(&byol, images, batch, side, side, 3, 11, 2, 5, 2, one);
    omp_set_num_threads(threads > 1 ? threads : 2);
    simclr_augment_policy_batch(&byol, images, batch, side, side, 3, 11, 2, 5, 2, two);
    omp_set_num_threads(threads);
    assert_memory_equal(one, two, count * sizeof(float));
    for (size_t i = 0; i < count; i++) assert_true(one[i] >= 0.0f && one[i] <= 1.0f);
    /* Another view draws other parameters. */
    simclr_augment_policy_batch(&byol, images, batch, side, side, 3, 11, 2, 5, 1, two);
    assert_true(memcmp(one, two, count * sizeof(float)) != 0);
    /* The seed policy is the seed's pipeline, bit for bit. */
    simclr_augment_policy seed = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SEED, 1.0f);
    simclr_augment_policy_batch(&seed, images, batch, side, side, 3, 11, 2, 5, 1, one);
    simclr_augment_batch(images, batch, side, side, 3, &SIMCLR_AUGMENT_CONTRASTIVE, 11, 2, 5, 1, two);
    assert_memory_equal(one, two, count * sizeof(float));
    free(one);
    free(two);
    free(images);
}

static void test_gray_images(void **state)
{
    (void)state;
    /* One channel: saturation, hue and grayscale leave it; contrast blends with its own mean. */
    float image[4] = {0.1f, 0.3f, 0.5f, 0.9f};
    float copy[4];
    memcpy(copy, image, sizeof image);
    simclr_augment_adjust_saturation(image, 4, 1, 0.2f);
    simclr_augment_adjust_hue(image, 4, 1, 0.3f);
    simclr_augment_grayscale(image, 4, 1);
    assert_memory_equal(image, copy, sizeof image);
    simclr_augment_adjust_contrast(image, 4, 1, 0.5f); /* mean 0.45 */
    float expected[4] = {0.275f, 0.375f, 0.475f, 0.675f};
    test_assert_close("gray contrast", image, expected, 4, 1e-6, 0.0);
}

static void expect_invalid(simclr_augment_policy policy, const char *flag)
{
    simclr_error err = {0};
    assert_int_equal(simclr_augment_policy_validate(&policy, 3, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, flag)) fail_msg("message '%s' does not name %s", err.message, flag);
}

static void test_validation_names_the_flag(void **state)
{
    (void)state;
    simclr_augment_policy good = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SIMCLR, 1.0f);
    simclr_error err = {0};
    assert_int_equal(simclr_augment_policy_validate(&good, 3, &err), 0);
    assert_int_equal(simclr_augment_policy_validate(&good, 4, &err), -1);
    simclr_augment_policy p = good;
    p.crop_scale_min = 0.9f, p.crop_scale_max = 0.5f;
    expect_invalid(p, "--crop-scale");
    p = good, p.crop_scale_max = 1.5f;
    expect_invalid(p, "larger than the image");
    p = good, p.crop_ratio_min = 2.0f;
    expect_invalid(p, "--crop-ratio");
    p = good, p.grayscale_probability = 1.2f;
    expect_invalid(p, "--grayscale-probability");
    p = good, p.blur_probability[1] = -0.1f;
    expect_invalid(p, "--blur-probability");
    p = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SIMCLR, 3.0f);
    expect_invalid(p, "--color-strength");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_match_torchvision),
        cmocka_unit_test(test_crop_distribution_matches_torchvision),
        cmocka_unit_test(test_crop_fallback_is_centre),
        cmocka_unit_test(test_parameter_distributions),
        cmocka_unit_test(test_batch_is_pure_and_thread_independent),
        cmocka_unit_test(test_gray_images),
        cmocka_unit_test(test_validation_names_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
