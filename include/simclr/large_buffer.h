#ifndef SIMCLR_LARGE_BUFFER_H
#define SIMCLR_LARGE_BUFFER_H
/*
 * Zeroed buffers for the large tensors allocated once per run (activations, oneDNN scratchpads):
 * aligned to 2 MiB and, when at least that large, marked MADV_HUGEPAGE so that Linux backs them
 * with transparent huge pages when its policy is "madvise" (Debian's default), which the
 * convolutions' strided walks over hundreds of MB want (fewer TLB misses). Release with free().
 */
#include <stddef.h>

#include "simclr/error.h"

/* Like checked_calloc (NULL with err set on failure), for count * size bytes. */
void *large_buffer_calloc(size_t count, size_t size, const char *what, error *err);

#endif
