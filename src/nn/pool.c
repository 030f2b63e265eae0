/*
 * Max pooling and global average pooling over NHWC, NCHW or nChw16c activations, float or bf16.
 * Every layout is seen as planes of H x W positions of `lanes` consecutive channels (as in
 * batchnorm.c): NHWC one plane per image with lanes = C, NCHW one plane per channel with lanes 1,
 * nChw16c / nChw8c one plane per channel block with lanes 16 / 8; plane p of image n holds channels
 * (p % planes_per_image) * lanes ...
 */
#include "simclr/nn.h"

#include <float.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"

/* Below this many elements a parallel region costs more than it saves. */
#define POOL_PARALLEL_MIN 65536

typedef struct pool_planes {
    size_t per_image, lanes;
} pool_planes;

static pool_planes planes_of(simclr_nn_layout layout, int channels)
{
    size_t c = (size_t)channels;
    if (layout == SIMCLR_NN_LAYOUT_NCHW) return (pool_planes){c, 1};
    size_t block = (size_t)simclr_nn_layout_block(layout);
    if (block > 0) return (pool_planes){c / block, block};
    return (pool_planes){1, c};
}

static inline float load(const void *values, simclr_nn_precision precision, size_t i)
{
    return precision == SIMCLR_NN_PRECISION_BF16 ? bf16_to_f32(((const uint16_t *)values)[i])
                                                 : ((const float *)values)[i];
}

static inline void store(void *values, simclr_nn_precision precision, size_t i, float value)
{
    if (precision == SIMCLR_NN_PRECISION_BF16)
        ((uint16_t *)values)[i] = bf16_from_f32(value);
    else
        ((float *)values)[i] = value;
}

int simclr_max_pool_check(const simclr_max_pool_config *config, simclr_error *err)
{
    int out_height = simclr_conv2d_output_size(config->in_height, config->kernel, config->stride,
                                               config->padding);
    int out_width = simclr_conv2d_output_size(config->in_width, config->kernel, config->stride,
                                              config->padding);
    if (config->kernel < 1 || config->stride < 1 || out_height < 1 || out_width < 1)
        return simclr_error_input(err, "max pool: a %dx%d input is too small for a %dx%d window with stride %d",
                                  config->in_height, config->in_width, config->kernel, config->kernel,
                                  config->stride);
    if (config->padding < 0 || config->padding > config->kernel / 2)
        return simclr_error_input(err, "max pool: padding %d (expected 0..%d, half the window)", config->padding,
                                  config->kernel / 2);
    int block = simclr_nn_layout_block(config->layout);
    if (block > 0 && config->channels % block != 0)
        return simclr_error_input(err, "max pool: %d channels in the %s layout (expected a multiple of %d)",
                                  config->channels, simclr_nn_layout_name(config->layout), block);
    return 0;
}

/* For each output element of one plane: the in-plane index (y * W + x) * lanes + lane of its
 * window's first maximum. */
static void plane_argmax(const simclr_max_pool_config *c, size_t lanes, const void *plane_in, size_t plane_offset,
                         int out_height, int out_width, int32_t *argmax)
{
    for (int oy = 0; oy < out_height; oy++)
        for (int ox = 0; ox < out_width; ox++)
            for (size_t l = 0; l < lanes; l++) {
                float best = -FLT_MAX;
                int32_t best_index = -1;
                for (int ky = 0; ky < c->kernel; ky++) {
                    int y = oy * c->stride + ky - c->padding;
                    if (y < 0 || y >= c->in_height) continue;
                    for (int kx = 0; kx < c->kernel; kx++) {
                        int x = ox * c->stride + kx - c->padding;
                        if (x < 0 || x >= c->in_width) continue;
                        int32_t index = (int32_t)(((size_t)y * c->in_width + x) * lanes + l);
                        float value = load(plane_in, c->precision, plane_offset + (size_t)index);
                        if (best_index < 0 || value > best) {
                            best = value;
                            best_index = index;
                        }
                    }
                }
                argmax[((size_t)oy * out_width + ox) * lanes + l] = best_index;
            }
}

void simclr_max_pool_forward(const simclr_max_pool_config *config, void *out, const void *in, int batch)
{
    int out_height = simclr_conv2d_output_size(config->in_height, config->kernel, config->stride, config->padding);
    int out_width = simclr_conv2d_output_size(config->in_width, config->kernel, config->stride, config->padding);
    pool_planes p = planes_of(config->layout, config->channels);
    size_t planes = (size_t)batch * p.per_image;
    size_t in_plane = (size_t)config->in_height * config->in_width * p.lanes;
    size_t out_plane = (size_t)out_height * out_width * p.lanes;
#pragma omp parallel for schedule(static) if (planes * in_plane > POOL_PARALLEL_MIN)
    for (size_t plane = 0; plane < planes; plane++) {
        for (int oy = 0; oy < out_height; oy++)
            for (int ox = 0; ox < out_width; ox++)
                for (size_t l = 0; l < p.lanes; l++) {
                    float best = -FLT_MAX;
                    int found = 0;
                    for (int ky = 0; ky < config->kernel; ky++) {
                        int y = oy * config->stride + ky - config->padding;
                        if (y < 0 || y >= config->in_height) continue;
                        for (int kx = 0; kx < config->kernel; kx++) {
                            int x = ox * config->stride + kx - config->padding;
                            if (x < 0 || x >= config->in_width) continue;
                            float value = load(in, config->precision,
                                               plane * in_plane + ((size_t)y * config->in_width + x) * p.lanes + l);
                            if (!found || value > best) best = value;
                            found = 1;
                        }
                    }
                    store(out, config->precision, plane * out_plane + ((size_t)oy * out_width + ox) * p.lanes + l,
                          best);
                }
    }
}

int simclr_max_pool_backward(const simclr_max_pool_config *config, void *d_in, const void *d_out,
                             const void *in, int batch, simclr_error *err)
{
    int out_height = simclr_conv2d_output_size(config->in_height, config->kernel, config->stride, config->padding);
    int out_width = simclr_conv2d_output_size(config->in_width, config->kernel, config->stride, config->padding);
    pool_planes p = planes_of(config->layout, config->channels);
    size_t planes = (size_t)batch * p.per_image;
    size_t in_plane = (size_t)config->in_height * config->in_width * p.lanes;
    size_t out_plane = (size_t)out_height * out_width * p.lanes;
    int parallel = planes * in_plane > POOL_PARALLEL_MIN;
    int threads = parallel ? omp_get_max_threads() : 1;
    int32_t *scratch = simclr_checked_calloc((size_t)threads * out_plane, sizeof(int32_t), "max pool maxima", err);
    if (!scratch) return -1;
    size_t element = simclr_nn_precision_element_size(config->precision);
#pragma omp parallel num_threads(threads) if (parallel)
    {
        int32_t *argmax = scratch + (size_t)omp_get_thread_num() * out_plane;
#pragma omp for schedule(static)
        for (size_t plane = 0; plane < planes; plane++) {
            /* The maxima first: d_in may be in. */
            plane_argmax(config, p.lanes, in, plane * in_plane, out_height, out_width, argmax);
            memset((char *)d_in + plane * in_plane * element, 0, in_plane * element);
            for (size_t o = 0; o < out_plane; o++) {
                size_t target = plane * in_plane + (size_t)argmax[o];
                store(d_in, config->precision, target,
                      load(d_in, config->precision, target) + load(d_out, config->precision, plane * out_plane + o));
            }
        }
    }
    free(scratch);
    return 0;
}

void simclr_global_avg_pool_forward(float *out, const void *in, simclr_nn_layout layout,
                                    simclr_nn_precision precision, int batch, int height, int width,
                                    int channels)
{
    pool_planes p = planes_of(layout, channels);
    size_t positions = (size_t)height * width, planes = (size_t)batch * p.per_image;
    size_t in_plane = positions * p.lanes;
#pragma omp parallel for schedule(static) if (planes * in_plane > POOL_PARALLEL_MIN)
    for (size_t plane = 0; plane < planes; plane++) {
        size_t n = plane / p.per_image, first_channel = (plane % p.per_image) * p.lanes;
        float *target = out + n * (size_t)channels + first_channel;
        for (size_t l = 0; l < p.lanes; l++) target[l] = 0.0f;
        for (size_t position = 0; position < positions; position++)
            for (size_t l = 0; l < p.lanes; l++)
                target[l] += load(in, precision, plane * in_plane + position * p.lanes + l);
        for (size_t l = 0; l < p.lanes; l++) target[l] /= (float)positions;
    }
}

void simclr_global_avg_pool_backward(void *d_in, const float *d_out, simclr_nn_layout layout,
                                     simclr_nn_precision precision, int batch, int height, int width,
                                     int channels)
{
    pool_planes p = planes_of(layout, channels);
    size_t positions = (size_t)height * width, planes = (size_t)batch * p.per_image;
    size_t in_plane = positions * p.lanes;
#pragma omp parallel for schedule(static) if (planes * in_plane > POOL_PARALLEL_MIN)
    for (size_t plane = 0; plane < planes; plane++) {
        size_t n = plane / p.per_image, first_channel = (plane % p.per_image) * p.lanes;
        const float *source = d_out + n * (size_t)channels + first_channel;
        for (size_t position = 0; position < positions; position++)
            for (size_t l = 0; l < p.lanes; l++)
                store(d_in, precision, plane * in_plane + position * p.lanes + l, source[l] / (float)positions);
    }
}
