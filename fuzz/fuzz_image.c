/*
 * Fuzzes PNG/JPEG decoding (src/io/image_decode.c, image_png.c, image_jpeg.c) and the bilinear
 * resize (image_resize.c) that the folder reader and `simclr predict` apply to decoded images.
 *
 * Input:
 *   u8 options   bit 0: decode to 3 channels (else 1); bit 1: also decode through a file
 *                (simclr_image_decode_file) and check that it gives the same outcome and pixels
 *   u8 height    the resize target: 1 + height % 64
 *   u8 width     likewise
 *   the rest     the PNG or JPEG file
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "simclr/image_io.h"

/* FNV-1a of the pixels, to compare two decodes without holding both (a decode may be 805 MB). */
static uint64_t fuzz_image_hash(const uint8_t *pixels, size_t size)
{
    uint64_t hash = 14695981039346656037ull;
    for (size_t i = 0; i < size; i++) hash = (hash ^ pixels[i]) * 1099511628211ull;
    return hash;
}

int fuzz_image_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t options = fuzz_u8(&in);
    int channels = options & 1 ? 3 : 1;
    int out_height = 1 + fuzz_u8(&in) % 64;
    int out_width = 1 + fuzz_u8(&in) % 64;
    size_t length = 0;
    const uint8_t *bytes = fuzz_rest(&in, &length);

    /* Through a file first (simclr_image_decode_file), remembering only the outcome. */
    int file_status = 0, file_height = 0, file_width = 0;
    uint64_t file_hash = 0;
    if (options & 2) {
        char dir[512];
        fuzz_fresh_dir("image", dir, sizeof dir);
        char path[600];
        snprintf(path, sizeof path, "%s/image", dir);
        uint8_t *pixels = NULL;
        simclr_error err = {0};
        if (fuzz_write_file(dir, "image", bytes, length, length) != 0)
            options = (uint8_t)(options & ~2);
        else
            file_status =
                simclr_image_decode_file(path, channels, &pixels, &file_height, &file_width, &err);
        simclr_error_clear(&err); /* frees a message too long for err.message */
        if (pixels)
            file_hash = fuzz_image_hash(pixels, (size_t)file_height * (size_t)file_width *
                                                    (size_t)channels);
        free(pixels);
    }

    uint8_t *pixels = NULL;
    int height = 0, width = 0;
    simclr_error err = {0};
    simclr_error_clear(&err);
    int status =
        simclr_image_decode_memory(bytes, length, "fuzz-image", channels, &pixels, &height, &width, &err);
    if (status != 0) {
        FUZZ_CHECK(status == -1 && pixels == NULL);
        FUZZ_CHECK(err.kind != SIMCLR_ERROR_KIND_NONE && err.message[0] != '\0');
        simclr_error_clear(&err);
        if (options & 2) FUZZ_CHECK(file_status == -1);
        return status;
    }
    FUZZ_CHECK(pixels != NULL);
    FUZZ_CHECK(height >= 1 && height <= 16384 && width >= 1 && width <= 16384);
    /* Every decoded byte is readable (AddressSanitizer checks each) and the file gave the same. */
    size_t pixel_bytes = (size_t)height * (size_t)width * (size_t)channels;
    uint64_t hash = fuzz_image_hash(pixels, pixel_bytes);
    if (options & 2)
        FUZZ_CHECK(file_status == 0 && file_height == height && file_width == width &&
                   file_hash == hash);

    uint8_t *resized = malloc((size_t)out_height * (size_t)out_width * (size_t)channels);
    FUZZ_CHECK(resized != NULL);
    simclr_image_resize_bilinear(pixels, height, width, channels, resized, out_height, out_width);
    /* Resizing to the same size keeps the pixels (the folder reader copies them instead). */
    if (height <= 64 && width <= 64) {
        uint8_t *same = malloc(pixel_bytes);
        FUZZ_CHECK(same != NULL);
        simclr_image_resize_bilinear(pixels, height, width, channels, same, height, width);
        FUZZ_CHECK(memcmp(same, pixels, pixel_bytes) == 0);
        free(same);
    }
    free(resized);
    free(pixels);
    return 0;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_one(data, size);
    return 0;
}
#endif
