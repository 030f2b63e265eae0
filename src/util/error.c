#include "simclr/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void error_vset(simclr_error *err, simclr_error_kind kind, const char *format, va_list args)
{
    if (!err) return;
    err->kind = kind;
    vsnprintf(err->message, sizeof err->message, format, args);
}

int simclr_error_set(simclr_error *err, simclr_error_kind kind, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    error_vset(err, kind, format, args);
    va_end(args);
    return -1;
}

int simclr_error_input(simclr_error *err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    error_vset(err, SIMCLR_ERROR_KIND_INPUT, format, args);
    va_end(args);
    return -1;
}

int simclr_error_system(simclr_error *err, const char *format, ...)
{
    int saved_errno = errno;
    va_list args;
    va_start(args, format);
    error_vset(err, SIMCLR_ERROR_KIND_RESOURCE, format, args);
    va_end(args);
    if (err) {
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof err->message - used, ": %s", strerror(saved_errno));
    }
    return -1;
}

void simclr_error_clear(simclr_error *err)
{
    if (!err) return;
    err->kind = SIMCLR_ERROR_KIND_NONE;
    err->message[0] = '\0';
}

void *simclr_checked_calloc(size_t count, size_t size, const char *what, simclr_error *err)
{
    if (count == 0 || size == 0) {
        count = 1;
        size = 1;
    }
    void *memory = calloc(count, size);
    if (!memory) {
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory allocating %s (%zu x %zu bytes)", what,
                  count, size);
    }
    return memory;
}
