/*
 * image_io: PNG round trips, JPEG decoding, channel conversion, clean errors on bad files, and the
 * half-pixel bilinear resize.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <jpeglib.h> /* after stdio.h, which it needs */

#include "simclr/image_io.h"

#include <png.h>

/* A pattern that differs in every pixel and channel, so transposed or shifted data shows. */
static uint8_t *make_pattern(int height, int width, int channels)
{
    uint8_t *pixels = malloc((size_t)height * width * channels);
    assert_non_null(pixels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
                pixels[((size_t)y * width + x) * channels + c] = (uint8_t)(y * 37 + x * 11 + c * 80);
    return pixels;
}

static char *join_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    assert_non_null(path);
    snprintf(path, size, "%s/%s", dir, name);
    return path;
}

/* Decoding must fail with an input error that names the file. */
static void assert_decode_fails(const char *path, const char *expected_phrase)
{
    simclr_error err = {0};
    simclr_error_clear(&err);
    uint8_t *pixels = NULL;
    int height = -1, width = -1;
    assert_int_equal(simclr_image_decode_file(path, 3, &pixels, &height, &width, &err), -1);
    assert_null(pixels);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, path)) fail_msg("message does not name %s: %s", path, err.message);
    if (expected_phrase && !strstr(err.message, expected_phrase))
        fail_msg("expected '%s' in: %s", expected_phrase, err.message);
}

static void test_png_round_trip_grey_and_rgb(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    for (int channels = 1; channels <= 3; channels += 2) {
        const int height = 5, width = 7; /* rows != cols catches a transposition */
        uint8_t *pattern = make_pattern(height, width, channels);
        char *path = join_path(dir, channels == 1 ? "grey.png" : "rgb.png");
        simclr_error err = {0};
        assert_int_equal(simclr_image_write_png(path, pattern, height, width, channels, &err), 0);
        uint8_t *decoded = NULL;
        int decoded_height = 0, decoded_width = 0;
        assert_int_equal(simclr_image_decode_file(path, channels, &decoded, &decoded_height,
                                           &decoded_width, &err), 0);
        assert_int_equal(decoded_height, height);
        assert_int_equal(decoded_width, width);
        assert_memory_equal(decoded, pattern, (size_t)height * width * channels);
        free(decoded);
        free(pattern);
        free(path);
    }
    test_remove_tree(dir);
    free(dir);
}

static void test_png_channel_conversion(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    simclr_error err = {0};
    /* RGB file read as grey: ITU-R 601 luma, rounded (PIL's convert("L")). */
    const uint8_t rgb[2 * 3] = {255, 0, 0, 10, 200, 90};
    char *rgb_path = join_path(dir, "rgb.png");
    assert_int_equal(simclr_image_write_png(rgb_path, rgb, 1, 2, 3, &err), 0);
    uint8_t *grey = NULL;
    int height = 0, width = 0;
    assert_int_equal(simclr_image_decode_file(rgb_path, 1, &grey, &height, &width, &err), 0);
    assert_int_equal(height, 1);
    assert_int_equal(width, 2);
    assert_int_equal(grey[0], (int)lround(0.299 * 255));
    assert_true(abs(grey[1] - (int)lround(0.299 * 10 + 0.587 * 200 + 0.114 * 90)) <= 1);
    free(grey);

    /* Grey file read as RGB: the value replicated. */
    const uint8_t grey_pixels[3] = {0, 128, 255};
    char *grey_path = join_path(dir, "grey.png");
    assert_int_equal(simclr_image_write_png(grey_path, grey_pixels, 3, 1, 1, &err), 0);
    uint8_t *rgb_decoded = NULL;
    assert_int_equal(simclr_image_decode_file(grey_path, 3, &rgb_decoded, &height, &width, &err), 0);
    const uint8_t expected[9] = {0, 0, 0, 128, 128, 128, 255, 255, 255};
    assert_memory_equal(rgb_decoded, expected, 9);
    free(rgb_decoded);

    /* RGBA file read as RGB: alpha dropped, colour kept as it is. */
    const uint8_t rgba[2 * 4] = {10, 20, 30, 0, 40, 50, 60, 128};
    char *rgba_path = join_path(dir, "rgba.png");
    assert_int_equal(simclr_image_write_png(rgba_path, rgba, 1, 2, 4, &err), 0);
    assert_int_equal(simclr_image_decode_file(rgba_path, 3, &rgb_decoded, &height, &width, &err), 0);
    const uint8_t without_alpha[6] = {10, 20, 30, 40, 50, 60};
    assert_memory_equal(rgb_decoded, without_alpha, 6);
    free(rgb_decoded);

    free(rgb_path);
    free(grey_path);
    free(rgba_path);
    test_remove_tree(dir);
    free(dir);
}

/* Encodes pixels as a baseline JPEG (quality 95) in memory with libjpeg. */
static unsigned char *encode_jpeg(const uint8_t *pixels, int height, int width, int channels,
                                  unsigned long *size)
{
    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    info.err = jpeg_std_error(&errors);
    jpeg_create_compress(&info);
    unsigned char *buffer = NULL;
    *size = 0;
    jpeg_mem_dest(&info, &buffer, size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, 95, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * width * channels);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    return buffer;
}

static void test_jpeg_decode_within_jpeg_error(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    for (int channels = 1; channels <= 3; channels += 2) {
        const int height = 16, width = 24;
        uint8_t *smooth = malloc((size_t)height * width * channels);
        assert_non_null(smooth);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    smooth[((size_t)y * width + x) * channels + c] = (uint8_t)(20 + 4 * x + 3 * y + 15 * c);
        unsigned long size = 0;
        unsigned char *jpeg = encode_jpeg(smooth, height, width, channels, &size);
        char *path = test_write_file(dir, channels == 1 ? "grey.jpg" : "rgb.jpg", jpeg, size);

        uint8_t *decoded = NULL;
        int decoded_height = 0, decoded_width = 0;
        simclr_error err = {0};
        assert_int_equal(simclr_image_decode_file(path, channels, &decoded, &decoded_height,
                                           &decoded_width, &err), 0);
        assert_int_equal(decoded_height, height);
        assert_int_equal(decoded_width, width);
        int worst = 0;
        for (size_t i = 0; i < (size_t)height * width * channels; i++) {
            int difference = abs(decoded[i] - smooth[i]);
            if (difference > worst) worst = difference;
        }
        printf("jpeg %d channel(s): worst difference %d\n", channels, worst);
        assert_true(worst <= 8); /* quality 95 on a smooth ramp; chroma subsampling included */

        /* Truncated: libjpeg would pad it with grey; we refuse it. */
        char *truncated = test_write_file(dir, "truncated.jpg", jpeg, size / 2);
        assert_decode_fails(truncated, "JPEG");
        free(truncated);
        free(decoded);
        free(jpeg);
        free(smooth);
        free(path);
    }
    test_remove_tree(dir);
    free(dir);
}

/* A PNG whose IHDR declares width x height, with a correct CRC and nothing after it. */
static size_t make_png_header(uint8_t *out, uint32_t width, uint32_t height)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t chunk[4 + 4 + 13] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    for (int i = 0; i < 4; i++) {
        chunk[8 + i] = (uint8_t)(width >> (24 - 8 * i));
        chunk[12 + i] = (uint8_t)(height >> (24 - 8 * i));
    }
    chunk[16] = 8; /* bit depth */
    chunk[17] = 2; /* RGB */
    uLong crc = crc32(0L, chunk + 4, 4 + 13);
    memcpy(out, signature, 8);
    memcpy(out + 8, chunk, sizeof chunk);
    for (int i = 0; i < 4; i++) out[8 + sizeof chunk + i] = (uint8_t)(crc >> (24 - 8 * i));
    return 8 + sizeof chunk + 4;
}

static void test_bad_files_give_errors_naming_the_file(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char *missing = join_path(dir, "missing.png");
    assert_decode_fails(missing, "cannot open");
    free(missing);

    char *empty = test_write_file(dir, "empty.png", "", 0);
    assert_decode_fails(empty, "empty");
    free(empty);

    const char text[] = "this is not an image at all";
    char *garbage = test_write_file(dir, "garbage.png", text, sizeof text);
    assert_decode_fails(garbage, "not a PNG or JPEG");
    free(garbage);

    /* A real PNG cut at every length: each must fail cleanly. */
    uint8_t *pattern = make_pattern(9, 13, 3);
    char *good = join_path(dir, "good.png");
    simclr_error err = {0};
    assert_int_equal(simclr_image_write_png(good, pattern, 9, 13, 3, &err), 0);
    FILE *file = fopen(good, "rb");
    assert_non_null(file);
    uint8_t bytes[4096];
    size_t size = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    assert_true(size > 60 && size < sizeof bytes);
    for (size_t cut = 1; cut < size; cut++) {
        uint8_t *pixels = NULL;
        int height = 0, width = 0;
        simclr_error_clear(&err);
        if (simclr_image_decode_memory(bytes, cut, "cut.png", 3, &pixels, &height, &width, &err) == 0)
            fail_msg("a PNG cut to %zu of %zu bytes decoded", cut, size);
        assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
        assert_non_null(strstr(err.message, "cut.png"));
    }
    char *half = test_write_file(dir, "half.png", bytes, size / 2);
    assert_decode_fails(half, "PNG");
    free(half);

    /* Flipped bytes past the signature: an error or an image, never a crash. */
    for (size_t i = 8; i < size; i += 3) {
        uint8_t corrupt[4096];
        memcpy(corrupt, bytes, size);
        corrupt[i] ^= 0x5a;
        uint8_t *pixels = NULL;
        int height = 0, width = 0;
        if (simclr_image_decode_memory(corrupt, size, "flipped.png", 3, &pixels, &height, &width, &err) == 0)
            free(pixels);
    }

    /* Declared sizes beyond the limit are refused before any allocation. */
    uint8_t header[64];
    size_t header_size = make_png_header(header, 20000, 10);
    char *huge = test_write_file(dir, "huge.png", header, header_size);
    assert_decode_fails(huge, "16384");
    free(huge);

    /* Within the limit but far too short for its pixels (deflate reaches at most 1032:1): refused
     * as truncated before allocating the 768 MB it declares. */
    header_size = make_png_header(header, 16384, 16384);
    uint8_t idat[12 + 10] = {0, 0, 0, 10, 'I', 'D', 'A', 'T'};
    uLong idat_crc = crc32(0L, idat + 4, 4 + 10);
    for (int i = 0; i < 4; i++) idat[18 + i] = (uint8_t)(idat_crc >> (24 - 8 * i));
    memcpy(header + header_size, idat, sizeof idat);
    char *short_png = test_write_file(dir, "short.png", header, header_size + sizeof idat);
    assert_decode_fails(short_png, "truncated");
    free(short_png);

    free(good);
    free(pattern);
    test_remove_tree(dir);
    free(dir);
}

/* A palette PNG with tRNS transparency (common for icons) decodes to its RGB colours, alpha
 * dropped. */
static void test_palette_png_with_transparency(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/palette.png", dir);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng failed writing the test image");
    png_init_io(png, file);
    png_set_IHDR(png, info, 3, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color palette[3] = {{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
    png_set_PLTE(png, info, palette, 3);
    png_byte alpha[3] = {0, 128, 255};
    png_set_tRNS(png, info, alpha, 3, NULL);
    png_write_info(png, info);
    png_byte rows[2][3] = {{0, 1, 2}, {2, 1, 0}};
    for (int y = 0; y < 2; y++) png_write_row(png, rows[y]);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(file);

    uint8_t *pixels = NULL;
    int height = 0, width = 0;
    simclr_error err = {0};
    if (simclr_image_decode_file(path, 3, &pixels, &height, &width, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(height, 2);
    assert_int_equal(width, 3);
    const uint8_t expected[18] = {255, 0, 0, 0, 255, 0, 10, 20, 30, 10, 20, 30, 0, 255, 0, 255, 0, 0};
    assert_memory_equal(pixels, expected, sizeof expected);
    free(pixels);
    test_remove_tree(dir);
    free(dir);
}

/* Issue 27: a file's size from its headers only, as the folder index reads it. */
static void test_read_size_from_headers(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    simclr_error err = {0};
    uint8_t *pattern = make_pattern(9, 13, 3);
    char *png = join_path(dir, "a.png");
    assert_int_equal(simclr_image_write_png(png, pattern, 9, 13, 3, &err), 0);
    int height = 0, width = 0;
    if (simclr_image_read_size(png, &height, &width, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(height, 9);
    assert_int_equal(width, 13);
    unsigned long size = 0;
    unsigned char *jpeg = encode_jpeg(pattern, 9, 13, 3, &size);
    char *jpg = test_write_file(dir, "b.jpg", (const char *)jpeg, size);
    height = width = 0;
    if (simclr_image_read_size(jpg, &height, &width, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(height, 9);
    assert_int_equal(width, 13);
    /* Only the headers are needed: the JPEG cut after them still has a size (decoding it fails). */
    size_t scan = 2;
    while (scan + 1 < size && !(jpeg[scan] == 0xff && jpeg[scan + 1] == 0xda)) scan++;
    assert_true(scan + 16 < size);
    char *cut = test_write_file(dir, "cut.jpg", (const char *)jpeg, scan + 16);
    assert_int_equal(simclr_image_read_size(cut, &height, &width, &err), 0);
    uint8_t *pixels = NULL;
    assert_int_equal(simclr_image_decode_file(cut, 3, &pixels, &height, &width, &err), -1);
    /* Not an image, a PNG declaring a huge size, a missing file: errors naming the file. */
    char *text = test_write_file(dir, "c.png", "hello, not an image", 19);
    assert_int_equal(simclr_image_read_size(text, &height, &width, &err), -1);
    assert_non_null(strstr(err.message, "c.png"));
    assert_non_null(strstr(err.message, "not a PNG or JPEG"));
    uint8_t header[64];
    size_t length = make_png_header(header, 100000, 10);
    char *huge = test_write_file(dir, "d.png", (const char *)header, length);
    assert_int_equal(simclr_image_read_size(huge, &height, &width, &err), -1);
    assert_non_null(strstr(err.message, "100000 x 10"));
    char *missing = join_path(dir, "none.jpg");
    assert_int_equal(simclr_image_read_size(missing, &height, &width, &err), -1);
    assert_non_null(strstr(err.message, "none.jpg"));
    free(jpeg);
    free(pattern);
    free(png);
    free(jpg);
    free(cut);
    free(text);
    free(huge);
    free(missing);
    test_remove_tree(dir);
    free(dir);
}

/* Issue 25: a large JPEG decodes at the DCT scaling that keeps at least the target size (256 to
 * 32: 1/8; to 33: 1/4; to 200: full), and fitting it that way gives what decoding in full and
 * resizing gives, to a few levels on a smooth image. */
static void test_jpeg_dct_scaling(void **state)
{
    (void)state;
    enum { SIDE = 256 };
    uint8_t *smooth = malloc(SIDE * SIDE * 3);
    assert_non_null(smooth);
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < 3; c++) smooth[(y * SIDE + x) * 3 + c] = (uint8_t)((x + 2 * y + 40 * c) / 4);
    unsigned long size = 0;
    unsigned char *jpeg = encode_jpeg(smooth, SIDE, SIDE, 3, &size);
    char *dir = test_make_temp_dir();
    char *path = test_write_file(dir, "big.jpg", (const char *)jpeg, size);
    simclr_error err = {0};
    const int targets[3] = {32, 33, 200}, expected[3] = {32, 64, 256};
    for (int t = 0; t < 3; t++) {
        uint8_t *pixels = NULL;
        int height = 0, width = 0;
        if (simclr_image_decode_file_at_least(path, 3, targets[t], targets[t], &pixels, &height, &width, &err) != 0)
            fail_msg("%s", err.message);
        assert_int_equal(height, expected[t]);
        assert_int_equal(width, expected[t]);
        free(pixels);
    }
    uint8_t fitted[32 * 32 * 3], reference[32 * 32 * 3];
    if (simclr_image_load_fitted(path, fitted, 32, 32, 3, SIMCLR_IMAGE_RESIZE_CROP, &err) != 0) fail_msg("%s", err.message);
    uint8_t *full = NULL;
    int height = 0, width = 0;
    if (simclr_image_decode_file(path, 3, &full, &height, &width, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(height, SIDE);
    simclr_image_resize_bilinear(full, SIDE, SIDE, 3, reference, 32, 32);
    int worst = 0;
    for (int i = 0; i < 32 * 32 * 3; i++) {
        int difference = abs((int)fitted[i] - (int)reference[i]);
        if (difference > worst) worst = difference;
    }
    printf("  DCT 1/8 + fit against full decode + resize: worst difference %d\n", worst);
    assert_true(worst <= 6);
    free(full);
    free(jpeg);
    free(smooth);
    free(path);
    test_remove_tree(dir);
    free(dir);
}

/* Crop keeps the centred region with the output's aspect ratio; squash the whole image. */
static void test_resize_crop_and_squash(void **state)
{
    (void)state;
    /* A 2 x 6 grey ramp by column: 0 10 20 30 40 50. To 2 x 2, crop takes columns 2..3. */
    uint8_t in[12], out[4];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 6; x++) in[y * 6 + x] = (uint8_t)(10 * x);
    assert_int_equal(simclr_image_resize_to(in, 2, 6, 1, out, 2, 2, SIMCLR_IMAGE_RESIZE_CROP), 0);
    assert_int_equal(out[0], 20);
    assert_int_equal(out[1], 30);
    assert_int_equal(simclr_image_resize_to(in, 2, 6, 1, out, 2, 2, SIMCLR_IMAGE_RESIZE_SQUASH), 0);
    uint8_t squashed[4];
    simclr_image_resize_bilinear(in, 2, 6, 1, squashed, 2, 2);
    assert_memory_equal(out, squashed, 4);
    /* Tall: 6 x 2 by row, to 2 x 2: rows 2..3 (contiguous, no copy). */
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 2; x++) in[y * 2 + x] = (uint8_t)(10 * y);
    assert_int_equal(simclr_image_resize_to(in, 6, 2, 1, out, 2, 2, SIMCLR_IMAGE_RESIZE_CROP), 0);
    assert_int_equal(out[0], 20);
    assert_int_equal(out[2], 30);
    simclr_image_resize_mode mode;
    assert_int_equal(simclr_image_resize_mode_parse("crop", &mode), 0);
    assert_int_equal(mode, SIMCLR_IMAGE_RESIZE_CROP);
    assert_string_equal(simclr_image_resize_mode_name(SIMCLR_IMAGE_RESIZE_SQUASH), "squash");
    assert_int_equal(simclr_image_resize_mode_parse("stretch", &mode), -1);
}

static void test_resize_identity_and_constant(void **state)
{
    (void)state;
    uint8_t *pattern = make_pattern(6, 5, 3);
    uint8_t same[6 * 5 * 3];
    simclr_image_resize_bilinear(pattern, 6, 5, 3, same, 6, 5);
    assert_memory_equal(same, pattern, sizeof same);
    free(pattern);

    uint8_t constant[7 * 3 * 3];
    memset(constant, 77, sizeof constant);
    for (int out_height = 1; out_height <= 12; out_height += 5) {
        for (int out_width = 1; out_width <= 12; out_width += 4) {
            uint8_t resized[12 * 12 * 3];
            simclr_image_resize_bilinear(constant, 7, 3, 3, resized, out_height, out_width);
            for (int i = 0; i < out_height * out_width * 3; i++) assert_int_equal(resized[i], 77);
        }
    }
}

static void test_resize_half_pixel_bilinear(void **state)
{
    (void)state;
    /* 2x2 -> 4x4: output i samples (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, i.e. weights
     * (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1) on the two source pixels (clamped at the ends). */
    const uint8_t in[4] = {0, 100, 200, 40};
    const double weight[4][2] = {{1, 0}, {0.75, 0.25}, {0.25, 0.75}, {0, 1}};
    uint8_t out[16];
    simclr_image_resize_bilinear(in, 2, 2, 1, out, 4, 4);
    for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
            double value = 0;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) value += weight[y][i] * weight[x][j] * in[i * 2 + j];
            assert_int_equal(out[y * 4 + x], (int)floor(value + 0.5));
        }
    }
    assert_int_equal(out[1 * 4 + 1], 59); /* 0.75*0.25*100 + 0.25*0.75*200 + 0.0625*40 = 58.75 */

    /* 4x4 -> 2x2 samples positions 0.5 and 2.5: the mean of each 2x2 block (not the corners, as
     * align_corners would). */
    const uint8_t block[16] = {0, 10, 100, 110, 20, 30, 120, 130, 200, 210, 40, 50, 220, 230, 60, 70};
    uint8_t small[4];
    simclr_image_resize_bilinear(block, 4, 4, 1, small, 2, 2);
    const uint8_t means[4] = {15, 115, 215, 55};
    assert_memory_equal(small, means, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_round_trip_grey_and_rgb),
        cmocka_unit_test(test_png_channel_conversion),
        cmocka_unit_test(test_jpeg_decode_within_jpeg_error),
        cmocka_unit_test(test_bad_files_give_errors_naming_the_file),
        cmocka_unit_test(test_palette_png_with_transparency),
        cmocka_unit_test(test_resize_identity_and_constant),
        cmocka_unit_test(test_read_size_from_headers),
        cmocka_unit_test(test_resize_crop_and_squash),
        cmocka_unit_test(test_jpeg_dct_scaling),
        cmocka_unit_test(test_resize_half_pixel_bilinear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
