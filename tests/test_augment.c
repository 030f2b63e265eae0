#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"

#include "simclr/augment.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parameters with no effect: no flip, no shift, zoom 1, identity colour for `channels`. */
static simclr_augment_params identity_params(int channels)
{
    simclr_augment_params params = {.flip = 0, .zoom_y = 1.0f, .zoom_x = 1.0f};
    for (int c = 0; c < channels; c++) params.color[c * channels + c] = 1.0f;
    return params;
}

static float rescaled(uint8_t value) { return (float)value * (1.0f / 255.0f); }

/* An image whose values change with row, column and channel differently, so any mirrored,
 * transposed or shifted result is visibly wrong. Caller frees. */
static uint8_t *make_image(int height, int width, int channels)
{
    uint8_t *image = malloc((size_t)height * width * channels);
    assert_non_null(image);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
                image[((size_t)y * width + x) * channels + c] =
                    (uint8_t)((37 * y + 11 * x * x + 71 * c + 5 * x * y + 3) % 256);
    return image;
}

static void test_inference_is_rescale(void **state)
{
    (void)state;
    enum { BATCH = 3, H = 5, W = 4, C = 3, COUNT = BATCH * H * W * C };
    uint8_t images[COUNT];
    for (int i = 0; i < COUNT; i++) images[i] = (uint8_t)(i * 7 + 1);
    images[0] = 0;
    images[1] = 255;
    float out[COUNT];
    simclr_augment_batch(images, BATCH, H, W, C, NULL, 42, 0, 0, 0, out);
    for (int i = 0; i < COUNT; i++) {
        assert_true(out[i] == rescaled(images[i]));
        assert_true(fabsf(out[i] - (float)images[i] / 255.0f) <= 1e-7f);
    }
    assert_true(out[0] == 0.0f && out[1] == 1.0f);

    /* Identity parameters through the full pipeline leave exactly the rescaled image. */
    float applied[H * W * C];
    simclr_augment_params params = identity_params(C);
    simclr_augment_apply(images, H, W, C, &params, applied);
    assert_memory_equal(applied, out, sizeof applied);
}

static void test_flip_is_exact(void **state)
{
    (void)state;
    enum { H = 4, W = 7, C = 2 };
    uint8_t *image = make_image(H, W, C);
    simclr_augment_params params = identity_params(C);
    params.flip = 1;
    float out[H * W * C];
    simclr_augment_apply(image, H, W, C, &params, out);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++)
                assert_true(out[(y * W + x) * C + c] ==
                            rescaled(image[(y * W + (W - 1 - x)) * C + c]));
    free(image);
}

/* One-channel H x W image with value 10*y + x, translated by (dy, dx); compares with a table. */
static void check_translation(float dy, float dx, const float expected_values[4][5])
{
    enum { H = 4, W = 5 };
    uint8_t image[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) image[y * W + x] = (uint8_t)(10 * y + x);
    simclr_augment_params params = identity_params(1);
    params.translate_y = dy;
    params.translate_x = dx;
    float out[H * W], expected[H * W];
    simclr_augment_apply(image, H, W, 1, &params, out);
    for (int i = 0; i < H * W; i++) expected[i] = expected_values[i / W][i % W] / 255.0f;
    test_assert_close("translation", out, expected, H * W, 1e-6, 0.0);
}

static void test_integer_translation_reflects_edge(void **state)
{
    (void)state;
    /* Output (x, y) reads input (x + 2, y - 1). Rows: -1 -> 0 (edge repeated), then 0, 1, 2.
     * Columns 2, 3, 4, then 5 -> 4 and 6 -> 3: dcba|abcd|dcba, the edge pixel repeated. */
    const float shifted[4][5] = {{2, 3, 4, 4, 3}, {2, 3, 4, 4, 3}, {12, 13, 14, 14, 13},
                                 {22, 23, 24, 24, 23}};
    check_translation(1.0f, -2.0f, shifted);

    /* Far out: columns -7..-3 fold to 3, 4, 4, 3, 2 (period 2W = 10, -6 -> 4, -7 -> 3). */
    const float far[4][5] = {{3, 4, 4, 3, 2}, {13, 14, 14, 13, 12}, {23, 24, 24, 23, 22},
                             {33, 34, 34, 33, 32}};
    check_translation(0.0f, 7.0f, far);

    /* Half a pixel: column 0 reads x = -0.5, which TensorFlow folds to -x-1 = -0.5 and clamps
     * to 0 before interpolating, so it is the edge pixel itself, not a blend with a mirror. */
    const float half[4][5] = {{0, 0.5f, 1.5f, 2.5f, 3.5f}, {10, 10.5f, 11.5f, 12.5f, 13.5f},
                              {20, 20.5f, 21.5f, 22.5f, 23.5f}, {30, 30.5f, 31.5f, 32.5f, 33.5f}};
    check_translation(0.0f, 0.5f, half);
}

static void test_zoom_keeps_centre_and_follows_formula(void **state)
{
    (void)state;
    /* A linear ramp: bilinear interpolation reproduces it exactly, so every output pixel tells
     * where it sampled: value = 20 x_in + 3 y_in. */
    enum { H = 7, W = 9 };
    uint8_t image[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) image[y * W + x] = (uint8_t)(20 * x + 3 * y);
    simclr_augment_params params = identity_params(1);
    params.zoom_y = 0.6f;
    params.zoom_x = 0.83f;
    float out[H * W], expected[H * W];
    simclr_augment_apply(image, H, W, 1, &params, out);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            float x_in = params.zoom_x * x + (W - 1) / 2.0f * (1.0f - params.zoom_x);
            float y_in = params.zoom_y * y + (H - 1) / 2.0f * (1.0f - params.zoom_y);
            expected[y * W + x] = (20.0f * x_in + 3.0f * y_in) / 255.0f;
        }
    }
    test_assert_close("zoom ramp", out, expected, H * W, 1e-5, 0.0);
    int centre = (H / 2) * W + W / 2;
    assert_true(fabsf(out[centre] - rescaled(image[centre])) <= 1e-6f);
}

static void test_color_affine_is_row_times_matrix_clipped(void **state)
{
    (void)state;
    enum { H = 6, W = 5, C = 3 };
    uint8_t *image = make_image(H, W, C);
    /* Not symmetric, so M and its transpose give different results. */
    const float matrix[C * C] = {1.3f, -0.4f, 0.25f, 0.6f, 0.9f, -0.35f, -0.2f, 0.45f, 1.5f};
    simclr_augment_params params = identity_params(C);
    memcpy(params.color, matrix, sizeof matrix);
    float out[H * W * C], expected[H * W * C];
    simclr_augment_apply(image, H, W, C, &params, out);
    int clipped = 0;
    for (int p = 0; p < H * W; p++) {
        for (int j = 0; j < C; j++) {
            double sum = 0.0;
            for (int k = 0; k < C; k++)
                sum += (double)rescaled(image[p * C + k]) * matrix[k * C + j];
            clipped += sum < 0.0 || sum > 1.0;
            expected[p * C + j] = (float)fmin(fmax(sum, 0.0), 1.0);
            assert_true(out[p * C + j] >= 0.0f && out[p * C + j] <= 1.0f);
        }
    }
    assert_true(clipped > 0); /* the clip was exercised */
    test_assert_close("colour affine", out, expected, H * W * C, 1e-6, 0.0);
    free(image);
}

static void test_batch_is_independent_of_thread_count(void **state)
{
    (void)state;
    enum { BATCH = 13, H = 12, W = 10, C = 3, SIZE = H * W * C };
    uint8_t images[BATCH * SIZE];
    for (size_t i = 0; i < sizeof images; i++) images[i] = (uint8_t)(i * 2654435761u >> 24);
    static float one_thread[BATCH * SIZE], two_threads[BATCH * SIZE];
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    simclr_augment_batch(images, BATCH, H, W, C, &SIMCLR_AUGMENT_CONTRASTIVE, 7, 3, 11, 1, one_thread);
    omp_set_num_threads(2);
    simclr_augment_batch(images, BATCH, H, W, C, &SIMCLR_AUGMENT_CONTRASTIVE, 7, 3, 11, 1, two_threads);
    omp_set_num_threads(saved);
    assert_memory_equal(one_thread, two_threads, sizeof one_thread);

    /* And each image is exactly draw(key of image i) then apply. */
    for (int i = 0; i < BATCH; i++) {
        simclr_augment_params params;
        float single[SIZE];
        simclr_augment_draw(&SIMCLR_AUGMENT_CONTRASTIVE, H, W, C, 7, 3, 11, (uint64_t)i, 1, &params);
        simclr_augment_apply(images + i * SIZE, H, W, C, &params, single);
        assert_memory_equal(single, one_thread + i * SIZE, sizeof single);
    }
}

static void test_views_steps_and_images_differ(void **state)
{
    (void)state;
    simclr_augment_params base, other;
    simclr_augment_draw(&SIMCLR_AUGMENT_CONTRASTIVE, 96, 96, 3, 1, 0, 0, 0, 0, &base);
    simclr_augment_draw(&SIMCLR_AUGMENT_CONTRASTIVE, 96, 96, 3, 1, 0, 0, 0, 0, &other);
    assert_memory_equal(&base, &other, sizeof base);
    /* Change one key part at a time: view, step, epoch, image, seed. */
    const uint64_t keys[5][5] = {{1, 0, 0, 0, 1}, {1, 0, 1, 0, 0}, {1, 1, 0, 0, 0},
                                 {1, 0, 0, 1, 0}, {2, 0, 0, 0, 0}};
    for (int k = 0; k < 5; k++) {
        simclr_augment_draw(&SIMCLR_AUGMENT_CONTRASTIVE, 96, 96, 3, keys[k][0], keys[k][1], keys[k][2],
                     keys[k][3], keys[k][4], &other);
        assert_true(other.translate_x != base.translate_x);
        assert_true(other.zoom_y != base.zoom_y);
        assert_true(other.color[1] != base.color[1]);
    }
}

static void check_draw_statistics(const simclr_augment_strength *strength)
{
    enum { H = 96, W = 80, C = 3, DRAWS = 20000 };
    float zoom = 1.0f - sqrtf(strength->min_area);
    float max_dy = zoom / 2 * H, max_dx = zoom / 2 * W;
    int flips = 0;
    float largest_dy = 0.0f, largest_dx = 0.0f, smallest_zoom = 1.0f;
    double sum_dx = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        simclr_augment_params p;
        simclr_augment_draw(strength, H, W, C, 99, 0, 5, (uint64_t)i, 0, &p);
        flips += p.flip;
        assert_true(fabsf(p.translate_y) <= max_dy && fabsf(p.translate_x) <= max_dx);
        assert_true(p.zoom_y >= 1.0f - zoom - 1e-6f && p.zoom_y <= 1.0f);
        assert_true(p.zoom_x >= 1.0f - zoom - 1e-6f && p.zoom_x <= 1.0f);
        for (int r = 0; r < C; r++) {
            for (int c = 0; c < C; c++) {
                float value = p.color[r * C + c];
                float centre = r == c ? 1.0f : 0.0f;
                float reach = (r == c ? strength->brightness : 0.0f) + strength->jitter + 1e-6f;
                assert_true(fabsf(value - centre) <= reach);
            }
        }
        largest_dy = fmaxf(largest_dy, fabsf(p.translate_y));
        largest_dx = fmaxf(largest_dx, fabsf(p.translate_x));
        smallest_zoom = fminf(smallest_zoom, fminf(p.zoom_y, p.zoom_x));
        sum_dx += p.translate_x;
    }
    /* 20000 fair coins: standard deviation 71, so +-400 is far beyond chance. */
    assert_in_range(flips, DRAWS / 2 - 400, DRAWS / 2 + 400);
    /* The ranges are used up to their ends, scaled by the right axis (H != W). */
    assert_true(largest_dy > 0.99f * max_dy && largest_dx > 0.99f * max_dx);
    assert_true(smallest_zoom < 1.0f - 0.99f * zoom);
    assert_true(fabs(sum_dx / DRAWS) < 0.05 * max_dx);
}

static void test_draw_statistics(void **state)
{
    (void)state;
    check_draw_statistics(&SIMCLR_AUGMENT_CONTRASTIVE);
    check_draw_statistics(&SIMCLR_AUGMENT_CLASSIFICATION);
    assert_true(SIMCLR_AUGMENT_CONTRASTIVE.min_area == 0.25f && SIMCLR_AUGMENT_CONTRASTIVE.brightness == 0.6f &&
                SIMCLR_AUGMENT_CONTRASTIVE.jitter == 0.2f);
    assert_true(SIMCLR_AUGMENT_CLASSIFICATION.min_area == 0.75f &&
                SIMCLR_AUGMENT_CLASSIFICATION.brightness == 0.3f && SIMCLR_AUGMENT_CLASSIFICATION.jitter == 0.1f);
}

/* Mirrors CASES in tools/make_keras_augment_fixtures.py: M = scale * I + J, cut to C x C. */
typedef struct keras_case {
    const char *name;
    int flip;
    float dy, dx, zoom_y, zoom_x, scale;
    float jitter[3][3];
} keras_case;

static const keras_case KERAS_CASES[] = {
    {"flip", 1, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, {{0}}},
    {"shift_int", 0, 2.0f, -3.0f, 1.0f, 1.0f, 1.0f, {{0}}},
    {"shift_frac", 0, -1.75f, 2.4f, 1.0f, 1.0f, 1.0f, {{0}}},
    {"shift_far", 0, -5.5f, 7.9f, 1.0f, 1.0f, 1.0f, {{0}}},
    {"zoom", 0, 0.0f, 0.0f, 0.6f, 0.83f, 1.0f, {{0}}},
    {"color", 0, 0.0f, 0.0f, 1.0f, 1.0f, 1.45f,
     {{0.12f, -0.18f, 0.05f}, {-0.07f, 0.19f, -0.2f}, {0.15f, 0.02f, -0.11f}}},
    {"all", 1, 1.3f, -2.2f, 0.71f, 0.55f, 0.62f,
     {{0.17f, 0.09f, -0.04f}, {-0.13f, 0.01f, 0.2f}, {0.06f, -0.19f, 0.14f}}},
};

static void check_keras_image(const char *image_name, int height, int width, int channels)
{
    char name[128];
    size_t size = (size_t)height * width * channels, input_size = 0;
    snprintf(name, sizeof name, "augment_%s_input.u8", image_name);
    uint8_t *image = test_load_fixture_bytes(name, &input_size);
    assert_int_equal(input_size, size);
    /* The C generator must agree with the script's, or the fixture is stale. */
    uint8_t *regenerated = make_image(height, width, channels);
    assert_memory_equal(image, regenerated, size);
    free(regenerated);

    float *out = malloc(size * sizeof(float));
    assert_non_null(out);
    for (size_t k = 0; k < sizeof KERAS_CASES / sizeof KERAS_CASES[0]; k++) {
        const keras_case *kc = &KERAS_CASES[k];
        simclr_augment_params params = {.flip = kc->flip, .translate_y = kc->dy, .translate_x = kc->dx,
                                 .zoom_y = kc->zoom_y, .zoom_x = kc->zoom_x};
        for (int r = 0; r < channels; r++)
            for (int c = 0; c < channels; c++)
                params.color[r * channels + c] = (r == c ? kc->scale : 0.0f) + kc->jitter[r][c];
        simclr_augment_apply(image, height, width, channels, &params, out);
        snprintf(name, sizeof name, "augment_%s_%s.f32", image_name, kc->name);
        float *expected = test_load_fixture_floats(name, size);
        test_assert_close(name, out, expected, size, 1e-5, 0.0);
        free(expected);
    }
    free(out);
    free(image);
}

static void test_matches_keras(void **state)
{
    (void)state;
    check_keras_image("rgb7x9", 7, 9, 3);
    check_keras_image("gray6x5", 6, 5, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inference_is_rescale),
        cmocka_unit_test(test_flip_is_exact),
        cmocka_unit_test(test_integer_translation_reflects_edge),
        cmocka_unit_test(test_zoom_keeps_centre_and_follows_formula),
        cmocka_unit_test(test_color_affine_is_row_times_matrix_clipped),
        cmocka_unit_test(test_batch_is_independent_of_thread_count),
        cmocka_unit_test(test_views_steps_and_images_differ),
        cmocka_unit_test(test_draw_statistics),
        cmocka_unit_test(test_matches_keras),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
