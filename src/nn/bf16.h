#ifndef SIMCLR_NN_BF16_H
#define SIMCLR_NN_BF16_H
/* One value float32 <-> bf16, shared by the conversion loops of precision.c and layout.c. bf16 is
 * the upper 16 bits of a float32; rounding is to nearest, ties to even, as oneDNN and PyTorch
 * round, and a NaN stays a NaN. */
#include <stdint.h>
#include <string.h>

static inline uint16_t bf16_from_f32(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u); /* NaN */
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

static inline float bf16_to_f32(uint16_t value)
{
    uint32_t bits = (uint32_t)value << 16;
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

#endif
