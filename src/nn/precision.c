/*
 * bf16 <-> float32 conversion for the tensors that cross between bf16 convolutions and the
 * float32 rest of the program (the network's input, the features entering the first dense
 * layer, and their gradients). bf16 is the upper 16 bits of a float32; rounding is to nearest,
 * ties to even, as oneDNN and PyTorch round.
 */
#include "simclr/nn.h"

#include "bf16.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PRECISION_PARALLEL_MIN 65536

const char *simclr_nn_precision_name(simclr_nn_precision precision)
{
    return precision == SIMCLR_NN_PRECISION_BF16 ? "bf16" : "fp32";
}

size_t simclr_nn_precision_element_size(simclr_nn_precision precision)
{
    return precision == SIMCLR_NN_PRECISION_BF16 ? sizeof(uint16_t) : sizeof(float);
}

void simclr_nn_f32_to_bf16(uint16_t *out, const float *in, size_t count)
{
#pragma omp parallel for simd schedule(static) if (count > PRECISION_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) out[i] = bf16_from_f32(in[i]);
}

void simclr_nn_bf16_to_f32(float *out, const uint16_t *in, size_t count)
{
#pragma omp parallel for simd schedule(static) if (count > PRECISION_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) out[i] = bf16_to_f32(in[i]);
}
