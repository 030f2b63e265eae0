/* The crop-tolerant match of `simclr dedup --match-threshold` (image_match.h): an image and its
 * copies (cropped by 10 % at any place and scaled back, mirrored, brighter and with more contrast,
 * tinted) correlate near 1 once aligned; unrelated textures do not; flat images match nothing; the
 * thumbnail is the area average of the image; the score is symmetric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/image_io.h"
#include "simclr/image_match.h"
#include "test_support.h"

enum { SIDE = 64 };

static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* A smooth random texture (a sum of a few random waves) in RGB, like a photograph's structure. */
static void make_texture(uint8_t *pixels, uint64_t seed)
{
    double fx[4], fy[4], phase[4], weight[4];
    for (int k = 0; k < 4; k++) {
        fx[k] = (double)(next_random(&seed) % 1000) / 1000.0 * 0.3;
        fy[k] = (double)(next_random(&seed) % 1000) / 1000.0 * 0.3;
        phase[k] = (double)(next_random(&seed) % 1000) / 1000.0 * 6.28;
        weight[k] = 20.0 + (double)(next_random(&seed) % 30);
    }
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            double v = 128.0;
            for (int k = 0; k < 4; k++) v += weight[k] * sin(fx[k] * x + fy[k] * y + phase[k]);
            for (int c = 0; c < 3; c++) {
                double channel = v + (c - 1) * 10.0;
                pixels[(y * SIDE + x) * 3 + c] = (uint8_t)(channel < 0 ? 0 : channel > 255 ? 255 : channel);
            }
        }
}

static double match_images(const uint8_t *a, int a_side, const uint8_t *b, int b_side)
{
    uint8_t ta[SIMCLR_MATCH_THUMBNAIL_BYTES], tb[SIMCLR_MATCH_THUMBNAIL_BYTES];
    simclr_image_match_thumbnail(a, a_side, a_side, 3, ta);
    simclr_image_match_thumbnail(b, b_side, b_side, 3, tb);
    double ab = simclr_image_match(ta, tb), ba = simclr_image_match(tb, ta);
    assert_true(ab == ba); /* symmetric, exactly */
    return ab;
}

static void test_copies_match(void **state)
{
    (void)state;
    static uint8_t image[SIDE * SIDE * 3], crop[SIDE * SIDE * 3], copy[SIDE * SIDE * 3];
    enum { CUT = SIDE * 9 / 10 }; /* 57 of 64: cropped by 10 % */
    double worst = 1.0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        make_texture(image, seed);
        for (int oy = 0; oy <= SIDE - CUT; oy += 2)
            for (int ox = 0; ox <= SIDE - CUT; ox += 3) {
                for (int y = 0; y < CUT; y++)
                    memcpy(crop + (size_t)y * CUT * 3, image + ((size_t)(y + oy) * SIDE + (size_t)ox) * 3,
                           (size_t)CUT * 3);
                simclr_image_resize_bilinear(crop, CUT, CUT, 3, copy, SIDE, SIDE);
                double score = match_images(image, SIDE, copy, SIDE);
                if (score < worst) worst = score;
            }
        /* Mirrored, brighter with more contrast, tinted; and at another size. */
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++)
                for (int c = 0; c < 3; c++) {
                    double v = image[(y * SIDE + (SIDE - 1 - x)) * 3 + c] * 1.2 + 10.0 + (c == 0 ? 24 : c == 1 ? 8 : -16);
                    copy[(y * SIDE + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
        double score = match_images(image, SIDE, copy, SIDE);
        if (score < worst) worst = score;
        simclr_image_resize_bilinear(image, SIDE, SIDE, 3, crop, 40, 40);
        score = match_images(image, SIDE, crop, 40);
        if (score < worst) worst = score;
    }
    printf("  the lowest score of a copy: %.4f\n", worst);
    assert_true(worst > 0.95);
}

static void test_unrelated_images_do_not(void **state)
{
    (void)state;
    static uint8_t a[SIDE * SIDE * 3], b[SIDE * SIDE * 3];
    double highest = -1.0;
    for (uint64_t seed = 100; seed < 130; seed++) {
        make_texture(a, seed);
        make_texture(b, seed + 1000);
        double score = match_images(a, SIDE, b, SIDE);
        if (score > highest) highest = score;
    }
    printf("  the highest score of two unrelated textures: %.4f\n", highest);
    assert_true(highest < 0.9);
    /* Flat images (any grey) match nothing, themselves included. */
    memset(a, 90, sizeof a);
    memset(b, 200, sizeof b);
    assert_true(match_images(a, SIDE, b, SIDE) == 0.0);
    assert_true(match_images(a, SIDE, a, SIDE) == 0.0);
    make_texture(b, 7);
    assert_true(match_images(a, SIDE, b, SIDE) == 0.0);
    /* An image matches itself at 1. */
    assert_true(fabs(match_images(b, SIDE, b, SIDE) - 1.0) < 1e-9);
}

static void test_thumbnail_is_the_area_average(void **state)
{
    (void)state;
    /* 64 x 64 grey: each thumbnail cell the mean of a 2 x 2 block. */
    static uint8_t grey[SIDE * SIDE], thumbnail[SIMCLR_MATCH_THUMBNAIL_BYTES];
    uint64_t seed = 5;
    for (int i = 0; i < SIDE * SIDE; i++) grey[i] = (uint8_t)(next_random(&seed) % 256);
    simclr_image_match_thumbnail(grey, SIDE, SIDE, 1, thumbnail);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
            int sum = grey[(2 * y) * SIDE + 2 * x] + grey[(2 * y) * SIDE + 2 * x + 1] +
                      grey[(2 * y + 1) * SIDE + 2 * x] + grey[(2 * y + 1) * SIDE + 2 * x + 1];
            assert_int_equal(thumbnail[y * 32 + x], (int)lround(sum / 4.0));
        }
    /* 16 x 16: each pixel covers 2 x 2 cells. */
    static uint8_t small[16 * 16];
    for (int i = 0; i < 16 * 16; i++) small[i] = (uint8_t)(i * 7 % 256);
    simclr_image_match_thumbnail(small, 16, 16, 1, thumbnail);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) assert_int_equal(thumbnail[y * 32 + x], small[(y / 2) * 16 + x / 2]);
    /* RGB: BT.601 luma. 3 x 3 of one colour. */
    uint8_t rgb[3 * 3 * 3];
    for (int i = 0; i < 9; i++) {
        rgb[i * 3] = 200;
        rgb[i * 3 + 1] = 100;
        rgb[i * 3 + 2] = 50;
    }
    simclr_image_match_thumbnail(rgb, 3, 3, 3, thumbnail);
    assert_int_equal(thumbnail[0], (int)lround(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
    assert_int_equal(thumbnail[32 * 32 - 1], thumbnail[0]);
    /* Other channel counts and no pixels: flat zeros. */
    simclr_image_match_thumbnail(rgb, 3, 3, 4, thumbnail);
    for (int i = 0; i < SIMCLR_MATCH_THUMBNAIL_BYTES; i++) assert_int_equal(thumbnail[i], 0);
    simclr_image_match_thumbnail(NULL, 3, 3, 3, thumbnail);
    assert_int_equal(thumbnail[17], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_match),
        cmocka_unit_test(test_unrelated_images_do_not),
        cmocka_unit_test(test_thumbnail_is_the_area_average),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
