/*
 * A strict parser for the JSON subset a safetensors header uses: one object whose values are
 * either the "__metadata__" object of strings or tensor objects with exactly the fields "dtype"
 * (a string), "shape" and "data_offsets" (arrays of non-negative integers). Anything else -
 * floats, booleans, null, nested objects, unknown fields, trailing commas, invalid UTF-8 - is an
 * error that says what was found and where.
 */
#include "io/safetensors_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct header_cursor {
    const char *text;
    size_t length;
    size_t position;
    const char *name; /* the file, for messages */
    simclr_error *err;
} header_cursor;

static int header_fail(header_cursor *cursor, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int header_fail(header_cursor *cursor, const char *format, ...)
{
    char problem[512];
    va_list args;
    va_start(args, format);
    vsnprintf(problem, sizeof problem, format, args);
    va_end(args);
    return simclr_error_input(cursor->err, "%s: invalid safetensors header: %s (at byte %zu of the JSON)",
                       cursor->name, problem, cursor->position);
}

static int at_end(const header_cursor *cursor) { return cursor->position >= cursor->length; }

static int peek(const header_cursor *cursor)
{
    return at_end(cursor) ? -1 : (unsigned char)cursor->text[cursor->position];
}

static void skip_whitespace(header_cursor *cursor)
{
    while (!at_end(cursor)) {
        char c = cursor->text[cursor->position];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        cursor->position++;
    }
}

static int expect_char(header_cursor *cursor, char expected, const char *context)
{
    skip_whitespace(cursor);
    if (peek(cursor) != (unsigned char)expected) {
        if (at_end(cursor))
            return header_fail(cursor, "expected '%c' %s, found the end of the header", expected,
                               context);
        return header_fail(cursor, "expected '%c' %s, found '%c'", expected, context,
                           cursor->text[cursor->position]);
    }
    cursor->position++;
    return 0;
}

size_t simclr_safetensors_utf8_sequence_length(const unsigned char *text, size_t available)
{
    if (available == 0) return 0;
    unsigned char lead = text[0];
    if (lead < 0x80) return 1;
    size_t length;
    unsigned char second_min = 0x80, second_max = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) second_min = 0xa0; /* overlong */
        if (lead == 0xed) second_max = 0x9f; /* UTF-16 surrogates */
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) second_min = 0x90; /* overlong */
        if (lead == 0xf4) second_max = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (available < length) return 0;
    if (text[1] < second_min || text[1] > second_max) return 0;
    for (size_t i = 2; i < length; i++)
        if (text[i] < 0x80 || text[i] > 0xbf) return 0;
    return length;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at text (at least 4 bytes there); -1 if any is not hex. */
static long read_hex4(const char *text)
{
    long value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(text[i]);
        if (digit < 0) return -1;
        value = value * 16 + digit;
    }
    return value;
}

static size_t encode_utf8(unsigned long code_point, char *out)
{
    if (code_point < 0x80) {
        out[0] = (char)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = (char)(0xc0 | (code_point >> 6));
        out[1] = (char)(0x80 | (code_point & 0x3f));
        return 2;
    }
    if (code_point < 0x10000) {
        out[0] = (char)(0xe0 | (code_point >> 12));
        out[1] = (char)(0x80 | ((code_point >> 6) & 0x3f));
        out[2] = (char)(0x80 | (code_point & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (code_point >> 18));
    out[1] = (char)(0x80 | ((code_point >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((code_point >> 6) & 0x3f));
    out[3] = (char)(0x80 | (code_point & 0x3f));
    return 4;
}

/* Decodes the \uXXXX escape (with its low surrogate, if any) starting at the backslash at
 * text[*index]; end bounds the string. Appends the UTF-8 bytes to out. */
static int decode_unicode_escape(header_cursor *cursor, size_t *index, size_t end, char *out,
                                 size_t *out_length)
{
    const char *text = cursor->text;
    size_t i = *index;
    long unit = i + 6 <= end ? read_hex4(text + i + 2) : -1;
    if (unit < 0) {
        cursor->position = i;
        return header_fail(cursor, "\\u escape needs 4 hex digits");
    }
    unsigned long code_point = (unsigned long)unit;
    i += 6;
    if (unit >= 0xdc00 && unit <= 0xdfff) {
        cursor->position = i - 6;
        return header_fail(cursor, "unpaired low surrogate \\u%04lx", (unsigned long)unit);
    }
    if (unit >= 0xd800 && unit <= 0xdbff) {
        long low = (i + 6 <= end && text[i] == '\\' && text[i + 1] == 'u') ? read_hex4(text + i + 2)
                                                                           : -1;
        if (low < 0xdc00 || low > 0xdfff) {
            cursor->position = i - 6;
            return header_fail(cursor, "high surrogate \\u%04lx without its low half",
                               (unsigned long)unit);
        }
        code_point = 0x10000 + (((unsigned long)unit - 0xd800) << 10) + ((unsigned long)low - 0xdc00);
        i += 6;
    }
    if (code_point == 0) {
        cursor->position = *index;
        return header_fail(cursor, "\\u0000 (NUL) is not allowed in names or metadata");
    }
    *out_length += encode_utf8(code_point, out + *out_length);
    *index = i;
    return 0;
}

/* Parses a JSON string into a fresh NUL-terminated UTF-8 copy (*out, caller frees). */
static int parse_string(header_cursor *cursor, char **out, const char *what)
{
    skip_whitespace(cursor);
    if (peek(cursor) != '"') {
        if (at_end(cursor)) return header_fail(cursor, "expected %s, found the end", what);
        return header_fail(cursor, "expected %s (a string), found '%c'", what,
                           cursor->text[cursor->position]);
    }
    size_t start = cursor->position + 1;
    /* First pass: find the closing quote, so the copy is sized by this string alone. */
    size_t end = start;
    for (;;) {
        if (end >= cursor->length) return header_fail(cursor, "unterminated string");
        char c = cursor->text[end];
        if (c == '"') break;
        end += c == '\\' ? 2 : 1;
    }
    char *decoded = malloc(end - start + 1); /* escapes only shrink */
    if (!decoded)
        return simclr_error_set(cursor->err, SIMCLR_ERROR_KIND_RESOURCE, "%s: out of memory parsing header",
                         cursor->name);
    size_t length = 0;
    const unsigned char *text = (const unsigned char *)cursor->text;
    for (size_t i = start; i < end;) {
        unsigned char c = text[i];
        if (c < 0x20) {
            free(decoded);
            cursor->position = i;
            return header_fail(cursor, "control character 0x%02x inside a string", c);
        }
        if (c != '\\') {
            size_t sequence = simclr_safetensors_utf8_sequence_length(text + i, end - i);
            if (sequence == 0) {
                free(decoded);
                cursor->position = i;
                return header_fail(cursor, "invalid UTF-8 byte 0x%02x inside a string", c);
            }
            memcpy(decoded + length, text + i, sequence);
            length += sequence;
            i += sequence;
            continue;
        }
        char escaped = (char)text[i + 1]; /* the first pass guarantees i + 1 < end */
        static const char escape_letters[] = "\"\\/bfnrt";
        static const char escape_values[] = "\"\\/\b\f\n\r\t";
        const char *simple = escaped != '\0' ? strchr(escape_letters, escaped) : NULL;
        if (simple) {
            decoded[length++] = escape_values[simple - escape_letters];
            i += 2;
        } else if (escaped == 'u') {
            if (decode_unicode_escape(cursor, &i, end, decoded, &length) != 0) {
                free(decoded);
                return -1;
            }
        } else {
            free(decoded);
            cursor->position = i;
            return header_fail(cursor, "invalid escape '\\%c' in a string", escaped);
        }
    }
    decoded[length] = '\0';
    cursor->position = end + 1;
    *out = decoded;
    return 0;
}

/* Parses a non-negative JSON integer no larger than limit. */
static int parse_unsigned(header_cursor *cursor, uint64_t limit, uint64_t *value, const char *what)
{
    skip_whitespace(cursor);
    int c = peek(cursor);
    if (c == '-') return header_fail(cursor, "%s must not be negative", what);
    if (c < '0' || c > '9') {
        if (c < 0) return header_fail(cursor, "expected %s, found the end", what);
        return header_fail(cursor, "expected %s (an integer), found '%c'", what, c);
    }
    if (c == '0' && cursor->position + 1 < cursor->length &&
        cursor->text[cursor->position + 1] >= '0' && cursor->text[cursor->position + 1] <= '9')
        return header_fail(cursor, "%s has a leading zero", what);
    uint64_t result = 0;
    while ((c = peek(cursor)) >= '0' && c <= '9') {
        uint64_t digit = (uint64_t)(c - '0');
        if (result > (limit - digit) / 10) return header_fail(cursor, "%s is too large", what);
        result = result * 10 + digit;
        cursor->position++;
    }
    if (c == '.' || c == 'e' || c == 'E')
        return header_fail(cursor, "%s must be an integer, found a fraction or exponent", what);
    *value = result;
    return 0;
}

/* Parses [n, n, ...] with at most max_count entries. */
static int parse_unsigned_array(header_cursor *cursor, uint64_t limit, uint64_t *values,
                                int max_count, int *count, const char *what)
{
    if (expect_char(cursor, '[', what) != 0) return -1;
    *count = 0;
    skip_whitespace(cursor);
    if (peek(cursor) == ']') {
        cursor->position++;
        return 0;
    }
    for (;;) {
        if (*count == max_count)
            return header_fail(cursor, "%s has more than %d entries", what, max_count);
        if (parse_unsigned(cursor, limit, &values[*count], what) != 0) return -1;
        (*count)++;
        skip_whitespace(cursor);
        int c = peek(cursor);
        cursor->position++;
        if (c == ']') return 0;
        if (c != ',') {
            cursor->position--;
            return header_fail(cursor, "expected ',' or ']' in %s", what);
        }
    }
}

/* After a member: consumes ',' (returns 1: another member follows) or '}' (returns 0). */
static int parse_member_separator(header_cursor *cursor, const char *context)
{
    skip_whitespace(cursor);
    int c = peek(cursor);
    if (c == ',') {
        cursor->position++;
        return 1;
    }
    if (c == '}') {
        cursor->position++;
        return 0;
    }
    return header_fail(cursor, "expected ',' or '}' %s", context);
}

/* An empty object: consumes '}' after '{' and returns 1. */
static int consume_empty_object(header_cursor *cursor)
{
    skip_whitespace(cursor);
    if (peek(cursor) != '}') return 0;
    cursor->position++;
    return 1;
}

static int parse_tensor(header_cursor *cursor, char *name, simclr_safetensors_tensor *tensor)
{
    memset(tensor, 0, sizeof *tensor);
    if (expect_char(cursor, '{', "to open a tensor entry") != 0) return -1;
    int have_dtype = 0, have_shape = 0, have_offsets = 0;
    int separator = consume_empty_object(cursor) ? 0 : 1;
    while (separator == 1) {
        char *field = NULL;
        if (parse_string(cursor, &field, "a tensor field name") != 0) return -1;
        size_t field_position = cursor->position;
        int status = expect_char(cursor, ':', "after a field name");
        if (status == 0 && strcmp(field, "dtype") == 0 && !have_dtype) {
            char *dtype_name = NULL;
            status = parse_string(cursor, &dtype_name, "a dtype");
            if (status == 0 && simclr_safetensors_dtype_from_name(dtype_name, &tensor->dtype) != 0)
                status = header_fail(cursor, "tensor \"%s\" has unknown dtype \"%.32s\"", name,
                                     dtype_name);
            free(dtype_name);
            have_dtype = 1;
        } else if (status == 0 && strcmp(field, "shape") == 0 && !have_shape) {
            uint64_t dims[SIMCLR_SAFETENSORS_MAX_DIMS];
            status = parse_unsigned_array(cursor, INT64_MAX, dims, SIMCLR_SAFETENSORS_MAX_DIMS,
                                          &tensor->ndim, "shape");
            for (int d = 0; status == 0 && d < tensor->ndim; d++) tensor->shape[d] = (int64_t)dims[d];
            have_shape = 1;
        } else if (status == 0 && strcmp(field, "data_offsets") == 0 && !have_offsets) {
            uint64_t offsets[2] = {0, 0};
            int count = 0;
            status = parse_unsigned_array(cursor, UINT64_MAX, offsets, 2, &count, "data_offsets");
            if (status == 0 && count != 2)
                status = header_fail(cursor, "data_offsets of \"%s\" must be [begin, end]", name);
            tensor->data_begin = offsets[0];
            tensor->data_end = offsets[1];
            have_offsets = 1;
        } else if (status == 0) {
            cursor->position = field_position;
            status = header_fail(cursor, "unexpected or repeated field \"%.32s\" in tensor \"%s\"",
                                 field, name);
        }
        free(field);
        if (status != 0) return -1;
        separator = parse_member_separator(cursor, "in a tensor entry");
        if (separator < 0) return -1;
    }
    if (!have_dtype || !have_shape || !have_offsets)
        return header_fail(cursor, "tensor \"%s\" lacks %s", name,
                           !have_dtype ? "\"dtype\"" : !have_shape ? "\"shape\"" : "\"data_offsets\"");
    tensor->name = name;
    return 0;
}

static int parse_metadata(header_cursor *cursor, simclr_safetensors_file *file, size_t *capacity)
{
    if (expect_char(cursor, '{', "to open __metadata__") != 0) return -1;
    int separator = consume_empty_object(cursor) ? 0 : 1;
    while (separator == 1) {
        simclr_safetensors_metadata_entry entry = {NULL, NULL};
        if (parse_string(cursor, &entry.key, "a metadata key") != 0) return -1;
        if (expect_char(cursor, ':', "after a metadata key") != 0 ||
            parse_string(cursor, &entry.value, "a metadata value") != 0 ||
            simclr_safetensors_grow_array((void **)&file->metadata, capacity, file->metadata_count + 1,
                                   sizeof *file->metadata, "safetensors metadata",
                                   cursor->err) != 0) {
            free(entry.key);
            free(entry.value);
            return -1;
        }
        file->metadata[file->metadata_count++] = entry;
        separator = parse_member_separator(cursor, "in __metadata__");
        if (separator < 0) return -1;
    }
    return 0;
}

int simclr_safetensors_parse_header(const char *json, size_t length, const char *name,
                             simclr_safetensors_file *file, simclr_error *err)
{
    header_cursor cursor = {json, length, 0, name, err};
    size_t tensor_capacity = 0, metadata_capacity = 0;
    int have_metadata = 0;
    if (expect_char(&cursor, '{', "at the start of the header") != 0) return -1;
    int separator = consume_empty_object(&cursor) ? 0 : 1;
    while (separator == 1) {
        char *key = NULL;
        if (parse_string(&cursor, &key, "a tensor name") != 0) return -1;
        if (expect_char(&cursor, ':', "after a tensor name") != 0) {
            free(key);
            return -1;
        }
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            if (have_metadata) return header_fail(&cursor, "__metadata__ appears twice");
            have_metadata = 1;
            if (parse_metadata(&cursor, file, &metadata_capacity) != 0) return -1;
        } else {
            if (simclr_safetensors_grow_array((void **)&file->tensors, &tensor_capacity,
                                       file->tensor_count + 1, sizeof *file->tensors,
                                       "safetensors tensor list", err) != 0 ||
                parse_tensor(&cursor, key, &file->tensors[file->tensor_count]) != 0) {
                free(key);
                return -1;
            }
            file->tensor_count++; /* the tensor now owns key */
        }
        separator = parse_member_separator(&cursor, "between tensors");
        if (separator < 0) return -1;
    }
    skip_whitespace(&cursor);
    if (!at_end(&cursor)) return header_fail(&cursor, "unexpected bytes after the header object");
    return 0;
}

int simclr_safetensors_grow_array(void **items, size_t *capacity, size_t needed, size_t item_size,
                           const char *what, simclr_error *err)
{
    if (needed <= *capacity) return 0;
    size_t new_capacity = *capacity ? *capacity : 8;
    while (new_capacity < needed) new_capacity *= 2;
    if (new_capacity > SIZE_MAX / item_size)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "too many entries in %s", what);
    void *grown = realloc(*items, new_capacity * item_size);
    if (!grown)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory growing %s to %zu entries", what,
                         new_capacity);
    *items = grown;
    *capacity = new_capacity;
    return 0;
}
