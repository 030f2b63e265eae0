/*
 * ColorJitter's four parts, RandomGrayscale and solarize, as torchvision's functional_tensor.py
 * computes them on a float image in [0, 1] (operation for operation, in float32):
 *   _blend(a, b, r) = clamp(r * a + (1 - r) * b, 0, 1)
 *   brightness: _blend(img, 0, f);  contrast: _blend(img, mean(grayscale(img)), f) (one mean per
 *   image);  saturation: _blend(img, grayscale(img), f);  grayscale: 0.2989 r + 0.587 g + 0.114 b
 *   hue: _rgb2hsv, h = (h + hue) mod 1, _hsv2rgb;  solarize: x >= threshold ? 1 - x : x.
 * 1-channel images: saturation and hue leave them unchanged and the contrast mean is the image's
 * own mean (torchvision's rules for 1-channel tensors).
 */
#include "simclr/augment_policy.h"

#include <math.h>

static inline float clamp01(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }

static inline float luma(const float *pixel)
{
    return 0.2989f * pixel[0] + 0.587f * pixel[1] + 0.114f * pixel[2];
}

void simclr_augment_adjust_brightness(float *image, size_t pixels, int channels, float factor)
{
    size_t count = pixels * (size_t)channels;
    for (size_t i = 0; i < count; i++) image[i] = clamp01(factor * image[i]);
}

void simclr_augment_adjust_contrast(float *image, size_t pixels, int channels, float factor)
{
    /* torch.mean over the whole image; a double sum stands in for its pairwise float sum. */
    double sum = 0.0;
    if (channels == 3)
        for (size_t p = 0; p < pixels; p++) sum += (double)luma(image + 3 * p);
    else
        for (size_t i = 0; i < pixels * (size_t)channels; i++) sum += (double)image[i];
    float mean = (float)(sum / (double)(pixels * (size_t)(channels == 3 ? 1 : channels)));
    float other = (float)(1.0 - (double)factor) * mean;
    size_t count = pixels * (size_t)channels;
    for (size_t i = 0; i < count; i++) image[i] = clamp01(factor * image[i] + other);
}

void simclr_augment_adjust_saturation(float *image, size_t pixels, int channels, float factor)
{
    if (channels != 3) return;
    float rest = (float)(1.0 - (double)factor);
    for (size_t p = 0; p < pixels; p++) {
        float *pixel = image + 3 * p;
        float gray = luma(pixel);
        for (int c = 0; c < 3; c++) pixel[c] = clamp01(factor * pixel[c] + rest * gray);
    }
}

void simclr_augment_grayscale(float *image, size_t pixels, int channels)
{
    if (channels != 3) return;
    for (size_t p = 0; p < pixels; p++) {
        float *pixel = image + 3 * p;
        float gray = luma(pixel);
        pixel[0] = pixel[1] = pixel[2] = gray;
    }
}

/* torchvision's _rgb2hsv and _hsv2rgb for one pixel. */
static inline void rgb_to_hsv(const float *rgb, float *h, float *s, float *v)
{
    float r = rgb[0], g = rgb[1], b = rgb[2];
    float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
    int equal = maxc == minc;
    float cr = maxc - minc;
    *s = cr / (equal ? 1.0f : maxc);
    float divisor = equal ? 1.0f : cr;
    /* Only the two of rc, gc, bc the case needs (each as torchvision computes it). */
    float hue;
    if (maxc == r)
        hue = (maxc - b) / divisor - (maxc - g) / divisor;
    else if (maxc == g)
        hue = 2.0f + (maxc - r) / divisor - (maxc - b) / divisor;
    else
        hue = 4.0f + (maxc - g) / divisor - (maxc - r) / divisor;
    /* torch.fmod(h / 6 + 1, 1) on a value in [0, 2): x - floor(x) is the same, exactly. */
    float wrapped = hue / 6.0f + 1.0f;
    *h = wrapped - floorf(wrapped);
    *v = maxc;
}

static inline void hsv_to_rgb(float h, float s, float v, float *rgb)
{
    float i_float = floorf(h * 6.0f);
    float f = h * 6.0f - i_float;
    int i = ((int)i_float % 6 + 6) % 6;
    float p = clamp01(v * (1.0f - s));
    float q = clamp01(v * (1.0f - s * f));
    float t = clamp01(v * (1.0f - s * (1.0f - f)));
    const float table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    rgb[0] = table[i][0];
    rgb[1] = table[i][1];
    rgb[2] = table[i][2];
}

void simclr_augment_adjust_hue(float *image, size_t pixels, int channels, float hue)
{
    if (channels != 3) return;
    for (size_t p = 0; p < pixels; p++) {
        float *pixel = image + 3 * p;
        float h, s, v;
        rgb_to_hsv(pixel, &h, &s, &v);
        /* Python's %: the result takes the sign of the divisor. */
        h = h + hue;
        h = h - floorf(h);
        hsv_to_rgb(h, s, v, pixel);
    }
}

void simclr_augment_solarize(float *image, size_t pixels, int channels, float threshold)
{
    size_t count = pixels * (size_t)channels;
    for (size_t i = 0; i < count; i++)
        if (image[i] >= threshold) image[i] = 1.0f - image[i];
}
