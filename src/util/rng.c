#include "simclr/rng.h"

uint64_t rng_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

rng_stream rng_stream_make(uint64_t seed, rng_purpose purpose, uint64_t a, uint64_t b, uint64_t c,
                           uint64_t d)
{
    uint64_t key = rng_mix64(seed);
    key = rng_mix64(key ^ (uint64_t)purpose);
    key = rng_mix64(key ^ a);
    key = rng_mix64(key ^ b);
    key = rng_mix64(key ^ c);
    key = rng_mix64(key ^ d);
    rng_stream stream = {.key = key, .counter = 0};
    return stream;
}

uint64_t rng_next_u64(rng_stream *stream)
{
    uint64_t value = rng_mix64(stream->key ^ rng_mix64(stream->counter));
    stream->counter++;
    return value;
}

float rng_uniform01(rng_stream *stream)
{
    return (float)(rng_next_u64(stream) >> 40) * (1.0f / 16777216.0f);
}

float rng_uniform(rng_stream *stream, float low, float high)
{
    return low + (high - low) * rng_uniform01(stream);
}

uint64_t rng_below(rng_stream *stream, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
    for (;;) {
        uint64_t value = rng_next_u64(stream);
        if (value >= threshold) return value % bound;
    }
}

void rng_shuffle_sizes(rng_stream *stream, size_t *indices, size_t count)
{
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)rng_below(stream, i);
        size_t tmp = indices[i - 1];
        indices[i - 1] = indices[j];
        indices[j] = tmp;
    }
}
