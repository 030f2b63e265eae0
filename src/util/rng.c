#include "simclr/rng.h"

uint64_t simclr_rng_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

simclr_rng_stream simclr_rng_stream_make(uint64_t seed, simclr_rng_purpose purpose, uint64_t a, uint64_t b, uint64_t c,
                           uint64_t d)
{
    uint64_t key = simclr_rng_mix64(seed);
    key = simclr_rng_mix64(key ^ (uint64_t)purpose);
    key = simclr_rng_mix64(key ^ a);
    key = simclr_rng_mix64(key ^ b);
    key = simclr_rng_mix64(key ^ c);
    key = simclr_rng_mix64(key ^ d);
    simclr_rng_stream stream = {.key = key, .counter = 0};
    return stream;
}

uint64_t simclr_rng_next_u64(simclr_rng_stream *stream)
{
    uint64_t value = simclr_rng_mix64(stream->key ^ simclr_rng_mix64(stream->counter));
    stream->counter++;
    return value;
}

float simclr_rng_uniform01(simclr_rng_stream *stream)
{
    return (float)(simclr_rng_next_u64(stream) >> 40) * (1.0f / 16777216.0f);
}

float simclr_rng_uniform(simclr_rng_stream *stream, float low, float high)
{
    return low + (high - low) * simclr_rng_uniform01(stream);
}

uint64_t simclr_rng_below(simclr_rng_stream *stream, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
    for (;;) {
        uint64_t value = simclr_rng_next_u64(stream);
        if (value >= threshold) return value % bound;
    }
}

void simclr_rng_shuffle_sizes(simclr_rng_stream *stream, size_t *indices, size_t count)
{
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)simclr_rng_below(stream, i);
        size_t tmp = indices[i - 1];
        indices[i - 1] = indices[j];
        indices[j] = tmp;
    }
}
