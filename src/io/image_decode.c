/*
 * image_decode_*: read the file, sniff PNG or JPEG from its first bytes, decode, then convert to
 * the channel count the caller asked for.
 */
#include "io/image_codecs.h"
#include "simclr/image_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Compressed files above this are refused before reading: an image within 16384 x 16384 x 3
 * would not need it. */
#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_signature[3] = {0xff, 0xd8, 0xff};

/* ITU-R 601 luma in 16-bit fixed point, as PIL's convert("L") computes it. */
static uint8_t luma_of_rgb(const uint8_t *rgb)
{
    return (uint8_t)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

void simclr_image_convert_channels(const uint8_t *in, size_t pixel_count, int in_channels,
                                   uint8_t *out, int out_channels)
{
    if (in_channels == out_channels) {
        if (in != out) memcpy(out, in, pixel_count * (size_t)in_channels);
    } else if (in_channels == 3) {
        for (size_t i = 0; i < pixel_count; i++) out[i] = luma_of_rgb(in + 3 * i);
    } else {
        for (size_t i = 0; i < pixel_count; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = in[i];
    }
}

/* Converts *pixels from `from` to `to` channels (1 <-> 3), replacing the buffer when it grows. */
static int convert_channels(uint8_t **pixels, size_t pixel_count, int from, int to,
                            const char *name, simclr_error *err)
{
    if (from == to) return 0;
    uint8_t *source = *pixels;
    if (from == 3 && to == 1) {
        simclr_image_convert_channels(source, pixel_count, 3, source, 1);
        return 0;
    }
    uint8_t *rgb = malloc(pixel_count * 3);
    if (!rgb) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory", name);
    simclr_image_convert_channels(source, pixel_count, 1, rgb, 3);
    free(source);
    *pixels = rgb;
    return 0;
}

static int decode_memory(const uint8_t *bytes, size_t size, const char *name, int channels, int min_height,
                         int min_width, uint8_t **pixels, int *height, int *width, simclr_error *err)
{
    if (channels != 1 && channels != 3)
        return simclr_error_input(err, "%s: cannot decode to %d channels (expected 1 or 3)", name,
                           channels);
    if (size == 0) return simclr_error_input(err, "%s: file is empty, expected a PNG or JPEG image", name);

    uint8_t *decoded = NULL;
    int decoded_height = 0, decoded_width = 0, decoded_channels = 0;
    int status;
    if (size >= sizeof png_signature && memcmp(bytes, png_signature, sizeof png_signature) == 0) {
        status = simclr_image_png_decode(bytes, size, name, &decoded, &decoded_height, &decoded_width,
                                  &decoded_channels, err);
    } else if (size >= sizeof jpeg_signature &&
               memcmp(bytes, jpeg_signature, sizeof jpeg_signature) == 0) {
        status = simclr_image_jpeg_decode(bytes, size, name, min_height, min_width, &decoded, &decoded_height,
                                          &decoded_width, &decoded_channels, err);
    } else {
        return simclr_error_input(err, "%s: not a PNG or JPEG image (starts with bytes %02x %02x %02x)",
                           name, bytes[0], size > 1 ? bytes[1] : 0, size > 2 ? bytes[2] : 0);
    }
    if (status != 0) return -1;

    size_t pixel_count = (size_t)decoded_height * (size_t)decoded_width;
    if (convert_channels(&decoded, pixel_count, decoded_channels, channels, name, err) != 0) {
        free(decoded);
        return -1;
    }
    *pixels = decoded;
    *height = decoded_height;
    *width = decoded_width;
    return 0;
}

int simclr_image_decode_memory(const uint8_t *bytes, size_t size, const char *name, int channels,
                               uint8_t **pixels, int *height, int *width, simclr_error *err)
{
    return decode_memory(bytes, size, name, channels, 0, 0, pixels, height, width, err);
}

/* Reads the whole file into a fresh buffer (caller frees). */
static int read_whole_file(const char *path, uint8_t **bytes, size_t *size, simclr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_input(err, "cannot open image %s: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return simclr_error_input(err, "%s: not a regular file, expected a PNG or JPEG image", path);
    }
    if ((unsigned long long)info.st_size > IMAGE_MAX_FILE_BYTES) {
        fclose(file);
        return simclr_error_input(err, "%s: %lld bytes is too large for an image file", path,
                           (long long)info.st_size);
    }
    size_t length = (size_t)info.st_size;
    uint8_t *buffer = malloc(length ? length : 1);
    if (!buffer) {
        fclose(file);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory reading %zu bytes", path,
                         length);
    }
    size_t got = fread(buffer, 1, length, file);
    int read_failed = ferror(file);
    fclose(file);
    if (got != length || read_failed) {
        free(buffer);
        return simclr_error_input(err, "%s: read %zu of %zu bytes (file changed or unreadable)", path,
                           got, length);
    }
    *bytes = buffer;
    *size = length;
    return 0;
}

/* The size file (at path, for messages) declares, from its first bytes. */
static int read_size_of(FILE *file, const char *path, int *height, int *width, simclr_error *err)
{
    uint8_t head[24];
    size_t got = fread(head, 1, sizeof head, file);
    if (got >= sizeof png_signature && memcmp(head, png_signature, sizeof png_signature) == 0) {
        /* The first chunk of a PNG is IHDR: length 13, type, width and height big-endian. */
        uint32_t declared_width = (uint32_t)head[16] << 24 | (uint32_t)head[17] << 16 | (uint32_t)head[18] << 8 | head[19];
        uint32_t declared_height = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 | (uint32_t)head[22] << 8 | head[23];
        if (got < sizeof head || memcmp(head + 12, "IHDR", 4) != 0)
            return simclr_error_input(err, "%s: not a valid PNG image (no IHDR chunk first)", path);
        if (declared_width == 0 || declared_height == 0 || declared_width > IMAGE_MAX_SIDE ||
            declared_height > IMAGE_MAX_SIDE)
            return simclr_error_input(err, "%s: PNG declares %u x %u pixels; expected 1 to %d per side", path,
                                      (unsigned)declared_width, (unsigned)declared_height, IMAGE_MAX_SIDE);
        *height = (int)declared_height;
        *width = (int)declared_width;
        return 0;
    }
    if (got >= sizeof jpeg_signature && memcmp(head, jpeg_signature, sizeof jpeg_signature) == 0) {
        rewind(file);
        return simclr_image_jpeg_read_size(file, path, height, width, err);
    }
    return simclr_error_input(err, "%s: not a PNG or JPEG image (unrecognised first bytes)", path);
}

/* Whether file (size bytes) ends as a whole PNG or JPEG does. */
static int check_ending_of(FILE *file, const char *path, long size, simclr_error *err)
{
    uint8_t head[8], tail[1024];
    rewind(file);
    size_t got = fread(head, 1, sizeof head, file);
    long want = size < (long)sizeof tail ? size : (long)sizeof tail;
    size_t read = fseek(file, size - want, SEEK_SET) == 0 ? fread(tail, 1, (size_t)want, file) : 0;
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    if (got >= sizeof png_signature && memcmp(head, png_signature, sizeof png_signature) == 0) {
        if (read >= sizeof iend && memcmp(tail + read - sizeof iend, iend, sizeof iend) == 0) return 0;
        return simclr_error_input(err, "%s: truncated PNG (it does not end with its IEND chunk)", path);
    }
    if (got >= sizeof jpeg_signature && memcmp(head, jpeg_signature, sizeof jpeg_signature) == 0) {
        for (size_t i = read; i >= 2; i--)
            if (tail[i - 2] == 0xff && tail[i - 1] == 0xd9) return 0;
        return simclr_error_input(err, "%s: truncated JPEG (no end-of-image marker)", path);
    }
    return simclr_error_input(err, "%s: not a PNG or JPEG image (unrecognised first bytes)", path);
}

int simclr_image_read_size(const char *path, int *height, int *width, simclr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_input(err, "cannot open image %s: %s", path, strerror(errno));
    struct stat info;
    int status = -1;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode))
        simclr_error_input(err, "%s: not a regular file, expected a PNG or JPEG image", path);
    else
        status = read_size_of(file, path, height, width, err);
    fclose(file);
    return status;
}

int simclr_image_check_ending(const char *path, simclr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_input(err, "cannot open image %s: %s", path, strerror(errno));
    struct stat info;
    int status = -1;
    if (fstat(fileno(file), &info) != 0) simclr_error_system(err, "%s: cannot stat", path);
    else status = check_ending_of(file, path, (long)info.st_size, err);
    fclose(file);
    return status;
}

int simclr_image_read_header(const char *path, int *height, int *width, struct stat *info, simclr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_input(err, "cannot open image %s: %s", path, strerror(errno));
    struct stat own;
    if (!info) info = &own;
    int status = -1;
    if (fstat(fileno(file), info) != 0 || !S_ISREG(info->st_mode))
        simclr_error_input(err, "%s: not a regular file, expected a PNG or JPEG image", path);
    else if (read_size_of(file, path, height, width, err) == 0)
        status = check_ending_of(file, path, (long)info->st_size, err);
    fclose(file);
    return status;
}

int simclr_image_decode_file_at_least(const char *path, int channels, int min_height, int min_width,
                                      uint8_t **pixels, int *height, int *width, simclr_error *err)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (read_whole_file(path, &bytes, &size, err) != 0) return -1;
    int status = decode_memory(bytes, size, path, channels, min_height, min_width, pixels, height, width, err);
    free(bytes);
    return status;
}

int simclr_image_decode_file(const char *path, int channels, uint8_t **pixels, int *height, int *width,
                             simclr_error *err)
{
    return simclr_image_decode_file_at_least(path, channels, 0, 0, pixels, height, width, err);
}
