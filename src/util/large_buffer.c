#include "simclr/large_buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The x86-64 transparent huge page size. */
#define LARGE_BUFFER_HUGE_PAGE ((size_t)2 << 20)

void *large_buffer_calloc(size_t count, size_t size, const char *what, error *err)
{
    if (size != 0 && count > SIZE_MAX / size) {
        error_set(err, ERROR_KIND_RESOURCE, "%s: %zu x %zu bytes overflow", what, count, size);
        return NULL;
    }
    size_t bytes = count * size;
    if (bytes < LARGE_BUFFER_HUGE_PAGE) return checked_calloc(count, size, what, err);
    size_t rounded = (bytes + LARGE_BUFFER_HUGE_PAGE - 1) / LARGE_BUFFER_HUGE_PAGE *
                     LARGE_BUFFER_HUGE_PAGE;
    void *buffer = NULL;
    if (posix_memalign(&buffer, LARGE_BUFFER_HUGE_PAGE, rounded) != 0) {
        error_set(err, ERROR_KIND_RESOURCE, "out of memory allocating %s (%zu bytes)", what, bytes);
        return NULL;
    }
    /* Advice only: without transparent huge pages the buffer works the same. */
    (void)madvise(buffer, rounded, MADV_HUGEPAGE);
    memset(buffer, 0, rounded);
    return buffer;
}
