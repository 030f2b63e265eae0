/*
 * Element-wise activations and the residual add. Large tensors (feature maps of a 1050-image batch) are split across
 * OpenMP threads; small ones run on the calling thread.
 */
#include "simclr/nn.h"

#include "bf16.h"
#include "util/multiversion.h"

/* Below this many elements a parallel region costs more than it saves. */
#define ACTIVATION_PARALLEL_MIN 65536

void simclr_relu_forward(float *out, const float *in, size_t count)
{
#pragma omp parallel for simd schedule(static) if (count > ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void simclr_relu_backward(float *d_x, const float *d_y, const float *y, size_t count)
{
#pragma omp parallel for simd schedule(static) if (count > ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) d_x[i] = y[i] > 0.0f ? d_y[i] : 0.0f;
}

/* The residual add over [first, last) (a thread's share), multiversioned (util/multiversion.h:
 * a ResNet step's largest own loop after batchnorm's). */
SIMCLR_MULTIVERSIONED static void add_range_bf16(uint16_t *o, const uint16_t *x, const uint16_t *y, int relu,
                                                 size_t first, size_t last)
{
    for (size_t i = first; i < last; i++) {
        float value = bf16_to_f32(x[i]) + bf16_to_f32(y[i]);
        o[i] = bf16_from_f32(relu && !(value > 0.0f) ? 0.0f : value);
    }
}

SIMCLR_MULTIVERSIONED static void add_range_f32(float *o, const float *x, const float *y, int relu, size_t first,
                                                size_t last)
{
    for (size_t i = first; i < last; i++) {
        float value = x[i] + y[i];
        o[i] = relu && !(value > 0.0f) ? 0.0f : value;
    }
}

void simclr_add_forward(void *out, const void *a, const void *b, size_t count,
                        simclr_nn_precision precision, simclr_nn_activation activation)
{
    int relu = activation == SIMCLR_NN_ACTIVATION_RELU;
#pragma omp parallel if (count > ACTIVATION_PARALLEL_MIN)
    {
        size_t first, last;
        simclr_thread_share(count, &first, &last);
        if (precision == SIMCLR_NN_PRECISION_BF16)
            add_range_bf16(out, a, b, relu, first, last);
        else
            add_range_f32(out, a, b, relu, first, last);
    }
}
