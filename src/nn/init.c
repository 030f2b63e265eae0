/*
 * Weight initialisation, drawn from a counter-based stream so a model's initial weights depend
 * only on the seed.
 */
#include "simclr/nn.h"

#include <math.h>

void simclr_nn_glorot_uniform(float *weights, size_t count, int fan_in, int fan_out, simclr_rng_stream *stream)
{
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (size_t i = 0; i < count; i++) weights[i] = simclr_rng_uniform(stream, -limit, limit);
}
