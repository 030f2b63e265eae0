/*
 * simclr_image_fit / simclr_image_load_fitted: one image of any size to a model's input shape,
 * the same steps for files (predict, the inference API) and for a caller's pixel buffer.
 */
#include "simclr/image_io.h"

#include <stdlib.h>
#include <string.h>

#include "io/image_codecs.h"

int simclr_image_fit(const uint8_t *in, int in_height, int in_width, int in_channels,
                     const char *name, uint8_t *out, int height, int width, int channels,
                     simclr_image_resize_mode mode, simclr_error *err)
{
    if (in_channels != 1 && in_channels != 3)
        return simclr_error_input(err, "%s: %d channels, expected 1 (grey) or 3 (RGB)", name,
                                  in_channels);
    if (in_height < 1 || in_width < 1 || in_height > IMAGE_MAX_SIDE || in_width > IMAGE_MAX_SIDE)
        return simclr_error_input(err, "%s: %d x %d pixels, expected 1 to %d per side", name,
                                  in_height, in_width, IMAGE_MAX_SIDE);
    if (channels != 1 && channels != 3)
        return simclr_error_input(err, "%s: cannot convert to %d channels (expected 1 or 3)",
                                  name, channels);
    size_t in_pixels = (size_t)in_height * (size_t)in_width;
    if (in_height == height && in_width == width) {
        simclr_image_convert_channels(in, in_pixels, in_channels, out, channels);
        return 0;
    }
    const uint8_t *source = in;
    uint8_t *converted = NULL;
    if (in_channels != channels) {
        converted = malloc(in_pixels * (size_t)channels);
        if (!converted)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory", name);
        simclr_image_convert_channels(in, in_pixels, in_channels, converted, channels);
        source = converted;
    }
    int status = simclr_image_resize_to(source, in_height, in_width, channels, out, height, width, mode);
    free(converted);
    if (status != 0) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory", name);
    return 0;
}

int simclr_image_load_fitted(const char *path, uint8_t *out, int height, int width, int channels,
                             simclr_image_resize_mode mode, simclr_error *err)
{
    uint8_t *decoded = NULL;
    int decoded_height = 0, decoded_width = 0;
    if (simclr_image_decode_file_at_least(path, channels, height, width, &decoded, &decoded_height, &decoded_width,
                                          err) != 0)
        return -1;
    int status = simclr_image_fit(decoded, decoded_height, decoded_width, channels, path, out,
                                  height, width, channels, mode, err);
    free(decoded);
    return status;
}
