#ifndef SIMCLR_ERROR_H
#define SIMCLR_ERROR_H
/*
 * Errors: library functions return 0 on success and -1 on failure, filling an `error` that the
 * caller owns. The message names the file or flag at fault and says what was expected, so the
 * command line can print it as it is and exit with status 2 (bad input) or 1 (anything else).
 */
#include <stddef.h>

typedef enum error_kind {
    ERROR_KIND_NONE = 0,
    ERROR_KIND_INPUT,    /* bad user input: flag, file, data; exit status 2 */
    ERROR_KIND_RESOURCE, /* out of memory, disk full, library failure; exit status 1 */
    ERROR_KIND_INTERRUPTED, /* stopped by a signal after saving a checkpoint; exit status 130 */
} error_kind;

typedef struct error {
    error_kind kind;
    char message[1024];
} error;

/* Sets err (if not NULL) to a printf-formatted message of the given kind; returns -1 so callers
 * can write `return error_set(err, ...)`. */
int error_set(error *err, error_kind kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Like error_set with ERROR_KIND_INPUT. */
int error_input(error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Like error_set with ERROR_KIND_RESOURCE, appending strerror(errno). */
int error_system(error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to "no error". */
void error_clear(error *err);

/* Allocation through one place: returns zeroed memory or NULL with err set (ERROR_KIND_RESOURCE,
 * naming `what` and the size). Free with free(). */
void *checked_calloc(size_t count, size_t size, const char *what, error *err);

#endif
