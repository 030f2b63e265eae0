/*
 * Moving a batch of activations between the float32 NHWC tensors of the rest of the program and
 * the layout and precision a run of conv layers keeps (nn.h, simclr_nn_layout): the network's input
 * going into the first conv, the last conv's features going into a dense layer, and their
 * gradients coming back. One pass over the tensor, converting to or from bf16 on the way.
 */
#include "simclr/nn.h"

#include "bf16.h"

/* Below this many elements a parallel region costs more than it saves. */
#define LAYOUT_PARALLEL_MIN 65536

const char *simclr_nn_layout_name(simclr_nn_layout layout)
{
    switch (layout) {
    case SIMCLR_NN_LAYOUT_NCHW: return "nchw";
    case SIMCLR_NN_LAYOUT_BLOCKED16: return "nChw16c";
    case SIMCLR_NN_LAYOUT_BLOCKED8: return "nChw8c";
    default: return "nhwc";
    }
}

int simclr_nn_layout_block(simclr_nn_layout layout)
{
    switch (layout) {
    case SIMCLR_NN_LAYOUT_BLOCKED16: return 16;
    case SIMCLR_NN_LAYOUT_BLOCKED8: return 8;
    default: return 0;
    }
}

/* out[offset + i] = in[i * stride] for i < count, rounded to bf16 where precision says so. */
static inline void store_run(void *out, simclr_nn_precision precision, size_t offset, const float *in,
                             size_t stride, size_t count)
{
    if (precision == SIMCLR_NN_PRECISION_BF16) {
        uint16_t *target = (uint16_t *)out + offset;
        for (size_t i = 0; i < count; i++) target[i] = bf16_from_f32(in[i * stride]);
    } else {
        float *target = (float *)out + offset;
        for (size_t i = 0; i < count; i++) target[i] = in[i * stride];
    }
}

/* out[i * stride] = in[offset + i] for i < count, widened from bf16 where precision says so. */
static inline void load_run(float *out, size_t stride, const void *in, simclr_nn_precision precision,
                            size_t offset, size_t count)
{
    if (precision == SIMCLR_NN_PRECISION_BF16) {
        const uint16_t *source = (const uint16_t *)in + offset;
        for (size_t i = 0; i < count; i++) out[i * stride] = bf16_to_f32(source[i]);
    } else {
        const float *source = (const float *)in + offset;
        for (size_t i = 0; i < count; i++) out[i * stride] = source[i];
    }
}

/* The loops below run over "rows", contiguous stretches of the non-NHWC side: in NCHW one
 * channel of one image (read from NHWC with stride C), in a blocked layout one block of one image
 * (a run of `block` elements per pixel), in NHWC one whole image. */

static size_t layout_rows(simclr_nn_layout layout, int batch, size_t channels)
{
    if (layout == SIMCLR_NN_LAYOUT_NCHW)
        return (size_t)batch * channels;
    if (simclr_nn_layout_block(layout) > 0)
        return (size_t)batch * (channels / (size_t)simclr_nn_layout_block(layout));
    return (size_t)batch;
}

void simclr_nn_activations_from_nhwc(void *out, simclr_nn_layout layout, simclr_nn_precision precision, const float *in,
                              int batch, int height, int width, int channels)
{
    size_t pixels = (size_t)height * (size_t)width, count = (size_t)channels;
    size_t block = (size_t)simclr_nn_layout_block(layout);
    size_t image = pixels * count, blocks = block ? count / block : 0;
    size_t rows = layout_rows(layout, batch, count);
#pragma omp parallel for schedule(static) if ((size_t)batch * image > LAYOUT_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        if (layout == SIMCLR_NN_LAYOUT_NCHW) {
            size_t n = r / count, c = r % count;
            store_run(out, precision, r * pixels, in + n * image + c, count, pixels);
        } else if (block > 0) {
            size_t n = r / blocks, b = r % blocks;
            for (size_t pixel = 0; pixel < pixels; pixel++)
                store_run(out, precision, (r * pixels + pixel) * block, in + n * image + pixel * count + b * block,
                          1, block);
        } else {
            store_run(out, precision, r * image, in + r * image, 1, image);
        }
    }
}

void simclr_nn_activations_to_nhwc(float *out, const void *in, simclr_nn_layout layout, simclr_nn_precision precision,
                            int batch, int height, int width, int channels)
{
    size_t pixels = (size_t)height * (size_t)width, count = (size_t)channels;
    size_t block = (size_t)simclr_nn_layout_block(layout);
    size_t image = pixels * count, blocks = block ? count / block : 0;
    size_t rows = layout_rows(layout, batch, count);
#pragma omp parallel for schedule(static) if ((size_t)batch * image > LAYOUT_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        if (layout == SIMCLR_NN_LAYOUT_NCHW) {
            size_t n = r / count, c = r % count;
            load_run(out + n * image + c, count, in, precision, r * pixels, pixels);
        } else if (block > 0) {
            size_t n = r / blocks, b = r % blocks;
            for (size_t pixel = 0; pixel < pixels; pixel++)
                load_run(out + n * image + pixel * count + b * block, 1, in, precision, (r * pixels + pixel) * block,
                         block);
        } else {
            load_run(out + r * image, 1, in, precision, r * image, image);
        }
    }
}
