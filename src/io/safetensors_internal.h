#ifndef SIMCLR_IO_SAFETENSORS_INTERNAL_H
#define SIMCLR_IO_SAFETENSORS_INTERNAL_H
/*
 * Private to src/io/safetensors_*.c: the header parser and the helpers the reader and writer
 * share.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/safetensors.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian and is copied as it is");

/* Parses the JSON header (length bytes, not NUL-terminated) into file->tensors and
 * file->metadata, checking only its syntax, field names, dtypes and number ranges; offsets are
 * checked by the reader. On failure the arrays may be partly filled: simclr_safetensors_close frees them.
 * name is the file, for messages. */
int simclr_safetensors_parse_header(const char *json, size_t length, const char *name,
                             simclr_safetensors_file *file, simclr_error *err);

/* Sets *dtype from its name ("F32"...); returns -1 for an unknown name. */
int simclr_safetensors_dtype_from_name(const char *dtype_name, simclr_safetensors_dtype *dtype);

/* Length (1..4) of the valid UTF-8 sequence at text (available bytes there), or 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are invalid, as JSON requires. */
size_t simclr_safetensors_utf8_sequence_length(const unsigned char *text, size_t available);

/* Makes room for `needed` items of item_size in *items (capacity doubling); -1 with err set when
 * out of memory. */
int simclr_safetensors_grow_array(void **items, size_t *capacity, size_t needed, size_t item_size,
                           const char *what, simclr_error *err);

/* Writes "[64, 3, 3, 3]" into buffer (truncated to size). */
void simclr_safetensors_format_shape(char *buffer, size_t size, const int64_t *shape, int ndim);

#endif
