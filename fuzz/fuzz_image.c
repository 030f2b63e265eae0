/*
 * Fuzzes PNG/JPEG decoding (src/io/image_decode.c, image_png.c, image_jpeg.c) and the bilinear
 * resize (image_resize.c) that the folder reader and `simclr predict` apply to decoded images.
 *
 * Input:
 *   u8 options   bit 0: decode to 3 channels (else 1); bit 1: also decode through a file
 *                (image_decode_file) and check that it gives the same pixels
 *   u8 height    the resize target: 1 + height % 64
 *   u8 width     likewise
 *   the rest     the PNG or JPEG file
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "simclr/image_io.h"

int fuzz_image_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t options = fuzz_u8(&in);
    int channels = options & 1 ? 3 : 1;
    int out_height = 1 + fuzz_u8(&in) % 64;
    int out_width = 1 + fuzz_u8(&in) % 64;
    size_t length = 0;
    const uint8_t *bytes = fuzz_rest(&in, &length);

    uint8_t *pixels = NULL;
    int height = 0, width = 0;
    error err;
    error_clear(&err);
    int status =
        image_decode_memory(bytes, length, "fuzz-image", channels, &pixels, &height, &width, &err);
    if (status != 0) {
        FUZZ_CHECK(status == -1 && pixels == NULL);
        FUZZ_CHECK(err.kind != ERROR_KIND_NONE && err.message[0] != '\0');
    } else {
        FUZZ_CHECK(pixels != NULL);
        FUZZ_CHECK(height >= 1 && height <= 16384 && width >= 1 && width <= 16384);
    }

    if (options & 2) {
        char dir[512];
        fuzz_fresh_dir("image", dir, sizeof dir);
        if (fuzz_write_file(dir, "image", bytes, length, length) == 0) {
            char path[600];
            snprintf(path, sizeof path, "%s/image", dir);
            uint8_t *again = NULL;
            int again_height = 0, again_width = 0;
            error again_err;
            int again_status = image_decode_file(path, channels, &again, &again_height,
                                                 &again_width, &again_err);
            FUZZ_CHECK(again_status == status);
            if (again_status == 0) {
                FUZZ_CHECK(again_height == height && again_width == width);
                FUZZ_CHECK(memcmp(again, pixels, (size_t)height * (size_t)width *
                                                     (size_t)channels) == 0);
            }
            free(again);
        }
    }
    if (status != 0) return status;

    /* Every decoded byte is readable (AddressSanitizer checks each). */
    size_t pixel_bytes = (size_t)height * (size_t)width * (size_t)channels;
    unsigned checksum = 0;
    for (size_t i = 0; i < pixel_bytes; i++) checksum += pixels[i];
    (void)checksum;

    uint8_t *resized = malloc((size_t)out_height * (size_t)out_width * (size_t)channels);
    FUZZ_CHECK(resized != NULL);
    image_resize_bilinear(pixels, height, width, channels, resized, out_height, out_width);
    /* Resizing to the same size keeps the pixels (the folder reader copies them instead). */
    if (height <= 64 && width <= 64) {
        uint8_t *same = malloc(pixel_bytes);
        FUZZ_CHECK(same != NULL);
        image_resize_bilinear(pixels, height, width, channels, same, height, width);
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
