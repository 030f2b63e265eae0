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
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* What a stream of numbers is for; part of the key so different uses never share numbers. */
typedef enum simclr_rng_purpose {
    SIMCLR_RNG_PURPOSE_AUGMENT = 1,
    SIMCLR_RNG_PURPOSE_SHUFFLE_UNLABELED = 2,
    SIMCLR_RNG_PURPOSE_SHUFFLE_LABELED = 3,
    SIMCLR_RNG_PURPOSE_LABELED_SUBSET = 4,
    SIMCLR_RNG_PURPOSE_INIT = 5,
} simclr_rng_purpose;

typedef struct simclr_rng_stream {
    uint64_t key;     /* hash of the whole key */
    uint64_t counter; /* index of the next draw */
} simclr_rng_stream;

/* Mixes a 64-bit value (splitmix64 finaliser); a bijection with good avalanche. */
uint64_t simclr_rng_mix64(uint64_t x);

/* A stream keyed by (seed, purpose, a, b, c, d); the meaning of a..d is the caller's (for
 * augmentation: epoch, step, image, view). */
simclr_rng_stream simclr_rng_stream_make(uint64_t seed, simclr_rng_purpose purpose, uint64_t a, uint64_t b, uint64_t c,
                           uint64_t d);

/* The next 64 random bits. */
uint64_t simclr_rng_next_u64(simclr_rng_stream *stream);

/* Uniform float in [0, 1) with 24 random bits. */
float simclr_rng_uniform01(simclr_rng_stream *stream);

/* Uniform float in [low, high). */
float simclr_rng_uniform(simclr_rng_stream *stream, float low, float high);

/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint64_t simclr_rng_below(simclr_rng_stream *stream, uint64_t bound);

/* Fisher-Yates shuffle of indices[0..count) drawing from stream. */
void simclr_rng_shuffle_sizes(simclr_rng_stream *stream, size_t *indices, size_t count);

SIMCLR_END_DECLS
#endif
