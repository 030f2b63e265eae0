#ifndef SIMCLR_RNG_H
#define SIMCLR_RNG_H
/*
 * Counter-based random numbers. Every random draw in simclr is a pure function of a key
 * (seed, purpose, epoch, step, item, view) and a draw index, so results do not depend on the
 * thread count or on the order in which images are processed, and a resumed run draws exactly
 * what the uninterrupted run would have drawn.
 */
#include <stddef.h>
#include <stdint.h>

/* What a stream of numbers is for; part of the key so different uses never share numbers. */
typedef enum rng_purpose {
    RNG_PURPOSE_AUGMENT = 1,
    RNG_PURPOSE_SHUFFLE_UNLABELED = 2,
    RNG_PURPOSE_SHUFFLE_LABELED = 3,
    RNG_PURPOSE_LABELED_SUBSET = 4,
    RNG_PURPOSE_INIT = 5,
} rng_purpose;

typedef struct rng_stream {
    uint64_t key;     /* hash of the whole key */
    uint64_t counter; /* index of the next draw */
} rng_stream;

/* Mixes a 64-bit value (splitmix64 finaliser); a bijection with good avalanche. */
uint64_t rng_mix64(uint64_t x);

/* A stream keyed by (seed, purpose, a, b, c, d); the meaning of a..d is the caller's (for
 * augmentation: epoch, step, image, view). */
rng_stream rng_stream_make(uint64_t seed, rng_purpose purpose, uint64_t a, uint64_t b, uint64_t c,
                           uint64_t d);

/* The next 64 random bits. */
uint64_t rng_next_u64(rng_stream *stream);

/* Uniform float in [0, 1) with 24 random bits. */
float rng_uniform01(rng_stream *stream);

/* Uniform float in [low, high). */
float rng_uniform(rng_stream *stream, float low, float high);

/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint64_t rng_below(rng_stream *stream, uint64_t bound);

/* Fisher-Yates shuffle of indices[0..count) drawing from stream. */
void rng_shuffle_sizes(rng_stream *stream, size_t *indices, size_t count);

#endif
