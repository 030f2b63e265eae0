/*
 * torchvision's gaussian_blur on a float image: the 1-d kernel exp(-0.5 (x / sigma)^2) at
 * x = -(k-1)/2 .. (k-1)/2, normalised to sum 1; the image padded by k/2 with "reflect" (mirror
 * without repeating the edge: c b | a b c d | c b); torchvision convolves with the outer product
 * of the two 1-d kernels, this file with the two 1-d kernels in turn (the same sums in another
 * order: equal to float rounding).
 */
#include "simclr/augment_policy.h"

#include <math.h>

#define BLUR_MAX_KERNEL 255

int simclr_augment_blur_kernel_size(int height, int width)
{
    int side = height < width ? height : width;
    int kernel = side / 10;
    if (kernel % 2 == 0) kernel += 1;
    if (kernel < 3) kernel = 3;
    if (kernel > BLUR_MAX_KERNEL) kernel = BLUR_MAX_KERNEL;
    return kernel;
}

size_t simclr_augment_blur_workspace_floats(int height, int width, int channels, int kernel)
{
    if (kernel > BLUR_MAX_KERNEL) kernel = BLUR_MAX_KERNEL;
    /* The row-blurred image, then one reflected row. */
    return (size_t)height * width * channels + ((size_t)width + (size_t)kernel) * channels;
}

/* Index i of an axis of n pixels under reflect padding. */
static inline int reflect_index(int i, int n)
{
    if (n == 1) return 0;
    while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * (n - 1) - i;
    }
    return i;
}

void simclr_augment_gaussian_blur(float *image, int height, int width, int channels, int kernel,
                                  float sigma, float *workspace)
{
    if (kernel < 1) return;
    if (kernel > BLUR_MAX_KERNEL) kernel = BLUR_MAX_KERNEL;
    float weights[BLUR_MAX_KERNEL];
    float half = (float)(kernel - 1) * 0.5f;
    float sum = 0.0f;
    for (int i = 0; i < kernel; i++) {
        float x = -half + (float)i;
        float z = x / sigma;
        weights[i] = expf(-0.5f * z * z);
        sum += weights[i];
    }
    for (int i = 0; i < kernel; i++) weights[i] /= sum;
    int radius = kernel / 2;
    size_t row_stride = (size_t)width * channels;
    /* Along the width: each row copied once with its reflected margins into the workspace's
     * tail, then convolved tap by tap over the whole row (no index arithmetic in the inner loop);
     * the result goes to the workspace's head. Then along the height back into the image. */
    float *padded = workspace + (size_t)height * row_stride;
    for (int y = 0; y < height; y++) {
        const float *src = image + (size_t)y * row_stride;
        for (int x = -radius; x < width + radius; x++) {
            const float *pixel = src + (size_t)reflect_index(x, width) * channels;
            float *dst = padded + (size_t)(x + radius) * channels;
            for (int c = 0; c < channels; c++) dst[c] = pixel[c];
        }
        float *dst = workspace + (size_t)y * row_stride;
        for (size_t i = 0; i < row_stride; i++) dst[i] = 0.0f;
        for (int k = 0; k < kernel; k++) {
            const float *tap = padded + (size_t)k * channels;
            float w = weights[k];
            for (size_t i = 0; i < row_stride; i++) dst[i] += w * tap[i];
        }
    }
    for (int y = 0; y < height; y++) {
        float *dst = image + (size_t)y * row_stride;
        for (size_t i = 0; i < row_stride; i++) dst[i] = 0.0f;
        for (int k = 0; k < kernel; k++) {
            const float *src = workspace + (size_t)reflect_index(y + k - radius, height) * row_stride;
            float w = weights[k];
            for (size_t i = 0; i < row_stride; i++) dst[i] += w * src[i];
        }
    }
}
