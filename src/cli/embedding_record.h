#ifndef SIMCLR_CLI_EMBEDDING_RECORD_H
#define SIMCLR_CLI_EMBEDDING_RECORD_H
/*
 * Which model made an embed --out FILE.npy (issue 26): `simclr embed` writes FILE.json beside it,
 *   {"format": "simclr embeddings 1", "model": PATH, "model_sha256": HEX, "features": "encoder",
 *    "rows": N, "dim": D}
 * and `similar --embeddings FILE.npy --model CKPT` refuses rows made by another checkpoint (by
 * the SHA-256 of its bytes) or other features, naming both.
 */
#include <stddef.h>

#include "simclr/error.h"

/* Writes npy_path's record (FILE.json for FILE.npy), atomically. */
int embedding_record_write(const char *npy_path, const char *model_path, const char *features, size_t rows, int dim,
                           simclr_error *err);

/* Checks npy_path's record against the checkpoint at model_path and the features asked for:
 * 0 when they match, 1 when there is no record (rows saved by other means: only their width can
 * be checked), -1 with an input error naming both models or both kinds of features otherwise, or
 * when the record cannot be read. */
int embedding_record_check(const char *npy_path, const char *model_path, const char *features, simclr_error *err);

#endif
