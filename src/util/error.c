#include "simclr/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes ownership of text (heap, or NULL when out of memory: then `fallback`, cut to fit, is used)
 * as err's message. text may have been formatted from err's own message: the old one is released
 * only here, after. */
static void error_take(simclr_error *err, simclr_error_kind kind, char *text, const char *fallback)
{
    char *old_long = err->long_message;
    err->kind = kind;
    err->long_message = NULL;
    const char *whole = text ? text : fallback;
    size_t length = strlen(whole);
    if (length < sizeof err->message) {
        memmove(err->message, whole, length + 1);
        free(text);
    } else {
        static const char cut[] = "...";
        size_t kept = sizeof err->message - sizeof cut;
        memmove(err->message, whole, kept);
        memcpy(err->message + kept, cut, sizeof cut);
        if (text) err->long_message = text;
    }
    if (old_long != err->long_message) free(old_long);
}

static char *format_text(const char *format, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int length = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (length < 0) return NULL;
    char *text = malloc((size_t)length + 1);
    if (text) vsnprintf(text, (size_t)length + 1, format, args);
    return text;
}

static void error_vset(simclr_error *err, simclr_error_kind kind, const char *format, va_list args)
{
    if (!err) return;
    error_take(err, kind, format_text(format, args), "out of memory formatting an error message");
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
    if (err) simclr_error_append(err, ": %s", strerror(saved_errno));
    return -1;
}

void simclr_error_append(simclr_error *err, const char *format, ...)
{
    if (!err) return;
    va_list args;
    va_start(args, format);
    char *tail = format_text(format, args);
    va_end(args);
    const char *head = simclr_error_message(err);
    size_t head_length = strlen(head), tail_length = tail ? strlen(tail) : 0;
    char *text = tail ? malloc(head_length + tail_length + 1) : NULL;
    if (text) {
        memcpy(text, head, head_length);
        memcpy(text + head_length, tail, tail_length + 1);
    }
    free(tail);
    if (text) error_take(err, err->kind, text, "");
}

const char *simclr_error_message(const simclr_error *err)
{
    if (!err) return "";
    return err->long_message ? err->long_message : err->message;
}

void simclr_error_clear(simclr_error *err)
{
    if (!err) return;
    free(err->long_message);
    err->long_message = NULL;
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
