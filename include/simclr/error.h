#ifndef SIMCLR_ERROR_H
#define SIMCLR_ERROR_H
/*
 * Errors: library functions return 0 on success and -1 on failure, filling an `error` that the
 * caller owns. The message names the file or flag at fault and says what was expected, so the
 * command line can print it as it is and exit with status 2 (bad input) or 1 (anything else).
 */
#include <stddef.h>
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef enum simclr_error_kind {
    SIMCLR_ERROR_KIND_NONE = 0,
    SIMCLR_ERROR_KIND_INPUT,    /* bad user input: flag, file, data; exit status 2 */
    SIMCLR_ERROR_KIND_RESOURCE, /* out of memory, disk full, library failure; exit status 1 */
    SIMCLR_ERROR_KIND_INTERRUPTED, /* stopped by a signal after saving a checkpoint; exit status 130 */
} simclr_error_kind;

/* Start every simclr_error zeroed (`simclr_error err = {0};`): setting one releases the long
 * message an earlier failure left in it. */
typedef struct simclr_error {
    simclr_error_kind kind;
    /* The message, whole when it fits; a longer one is cut here (ending in "...") and kept whole
     * in long_message. Read simclr_error_message() for the whole text. */
    char message[1024];
    char *long_message; /* NULL, or the whole message when longer than message[]; heap-owned */
} simclr_error;

/* The whole message ("" when there is none). Valid until err is set again or cleared. */
const char *simclr_error_message(const simclr_error *err);

/* Sets err (if not NULL) to a printf-formatted message of the given kind; returns -1 so callers
 * can write `return simclr_error_set(err, ...)`. */
int simclr_error_set(simclr_error *err, simclr_error_kind kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Like simclr_error_set with SIMCLR_ERROR_KIND_INPUT. */
int simclr_error_input(simclr_error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Like simclr_error_set with SIMCLR_ERROR_KIND_RESOURCE, appending strerror(errno). */
int simclr_error_system(simclr_error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Appends printf-formatted text to err's message, keeping its kind. */
void simclr_error_append(simclr_error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to "no error", freeing a long message. Call it on an error whose message may be
 * long before the error goes out of scope. */
void simclr_error_clear(simclr_error *err);

/* Allocation through one place: returns zeroed memory or NULL with err set (SIMCLR_ERROR_KIND_RESOURCE,
 * naming `what` and the size). Free with free(). */
void *simclr_checked_calloc(size_t count, size_t size, const char *what, simclr_error *err);

SIMCLR_END_DECLS
#endif
