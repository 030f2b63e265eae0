/*
 * Element-wise activations. Large tensors (feature maps of a 1050-image batch) are split across
 * OpenMP threads; small ones run on the calling thread.
 */
#include "simclr/nn.h"

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
