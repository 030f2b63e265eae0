#ifndef SIMCLR_SHA256_H
#define SIMCLR_SHA256_H
/*
 * SHA-256 (FIPS 180-4): what a run records about the files it depends on (the --from checkpoint,
 * the dataset's file list), in the form `sha256sum` prints, so a user can check it by hand.
 *
 *     simclr_sha256 hash;
 *     simclr_sha256_init(&hash);
 *     simclr_sha256_update(&hash, bytes, count);
 *     char hex[SIMCLR_SHA256_HEX_SIZE];
 *     simclr_sha256_final_hex(&hash, hex);
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"

#define SIMCLR_SHA256_HEX_SIZE 65 /* 64 hex digits and the terminating NUL */

typedef struct simclr_sha256 {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t block_used;
} simclr_sha256;

void simclr_sha256_init(simclr_sha256 *hash);
void simclr_sha256_update(simclr_sha256 *hash, const void *data, size_t count);
/* Finishes the hash: 32 bytes into digest. */
void simclr_sha256_final(simclr_sha256 *hash, uint8_t digest[32]);
/* Finishes the hash as 64 lowercase hex digits. */
void simclr_sha256_final_hex(simclr_sha256 *hash, char hex[SIMCLR_SHA256_HEX_SIZE]);

/* The SHA-256 of a whole file, as hex; err names the file when it cannot be read. */
int simclr_sha256_file(const char *path, char hex[SIMCLR_SHA256_HEX_SIZE], simclr_error *err);

#endif
