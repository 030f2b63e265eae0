#ifndef SIMCLR_CLI_EMBEDDING_CACHE_H
#define SIMCLR_CLI_EMBEDDING_CACHE_H
/*
 * The embeddings of a folder, kept beside the run for the next similar, dedup or select (issue 26).
 *
 * A cache is two files in the cache directory (by default `embedding_cache/` beside the
 * checkpoint), named by the SHA-256 of the folder's absolute path and the features asked for:
 *   KEY.f32    the normalised feature rows, little-endian float32, one image after another;
 *   KEY.index  a text header (format, the checkpoint's SHA-256, features, input shape and resize,
 *              width, rows, the SHA-256 of KEY.f32) and one line per row: size, mtime (ns), path.
 * A file's row is reused when its path, size and modification time are those recorded and the
 * checkpoint's bytes are the same; every other file is decoded and embedded. The cache is
 * rewritten (each file atomically, KEY.f32 first) when anything changed, and holds exactly the
 * images of the last run. A cache that does not check out (unreadable, truncated, rows whose
 * SHA-256 differs, an index that does not parse) is reported on stderr and rebuilt; one made by
 * another checkpoint or for other features is silently rebuilt.
 */
#include <stddef.h>

#include "image_bank.h"
#include "simclr/error.h"

typedef struct embedding_cache embedding_cache;

typedef struct embedding_cache_options {
    const char *directory;      /* where the cache files live (created if missing) */
    const char *folder;         /* the folder whose images are embedded (names the cache) */
    const char *model_path;     /* the checkpoint (its bytes are hashed) */
    const char *features;       /* "encoder" or "projection" */
    const char *input;          /* "HxWxC crop|squash": what a row was computed from */
    int dim;
    int quiet;                  /* 1: no "rebuilt" note on stderr */
} embedding_cache_options;

/* Reads the cache of options->folder if there is one and hashes the checkpoint; a missing or
 * unusable cache is not an error (the rows are then all computed). Fails only on what prevents
 * writing a cache (the directory cannot be created, out of memory). */
int embedding_cache_open(embedding_cache **cache, const embedding_cache_options *options, simclr_error *err);

/* Matches list's files (stat: size and modification time) against the cache; afterwards
 * embedding->cached_features gives the rows that can be reused. */
int embedding_cache_match(embedding_cache *cache, const image_list *list, image_embedding *embedding,
                          simclr_error *err);

/* The sink that records each row for the new cache, then hands it on to sink (may be NULL). */
int embedding_cache_sink(void *cache, const float *features, size_t first, size_t count, simclr_error *err);
void embedding_cache_forward_to(embedding_cache *cache, image_features_sink sink, void *context);

/* After the embedding: writes the new cache for list (its files as kept) unless it is the cache
 * already there. *rewritten (may be NULL) says whether it was written. */
int embedding_cache_commit(embedding_cache *cache, const image_list *list, int *rewritten, simclr_error *err);

/* The cache's path without extension, for messages. */
const char *embedding_cache_name(const embedding_cache *cache);

void embedding_cache_close(embedding_cache *cache);

#endif
