/*
 * safetensors: round trip through the writer and reader, a hand-written file, and a catalogue of
 * corrupt files that must each give an input error naming the file (and never crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/safetensors.h"

static char *join_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    assert_non_null(path);
    snprintf(path, size, "%s/%s", dir, name);
    return path;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    long length = ftell(file);
    assert_true(length >= 0);
    rewind(file);
    uint8_t *bytes = malloc((size_t)length + 1);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)length, file), (size_t)length);
    fclose(file);
    *size = (size_t)length;
    return bytes;
}

/* An in-memory safetensors file: 8-byte length, the JSON as given (no padding), then data. */
static uint8_t *make_file(const char *json, const void *data, size_t data_size, size_t *size)
{
    size_t json_size = strlen(json);
    *size = 8 + json_size + data_size;
    uint8_t *bytes = malloc(*size + 1);
    assert_non_null(bytes);
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)((uint64_t)json_size >> (8 * i));
    memcpy(bytes + 8, json, json_size);
    if (data_size) memcpy(bytes + 8 + json_size, data, data_size);
    return bytes;
}

static void test_round_trip_f32_i64_u8_and_metadata(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char *path = join_path(dir, "model.safetensors");
    const float weights[2][3] = {{1.0f, -2.5f, 3.25f}, {0.0f, 1e-30f, -7.0f}};
    const int64_t steps[4] = {0, 1, -1, 1LL << 40};
    const uint8_t flags[5] = {1, 2, 3, 4, 5}; /* odd size: the layout must keep I64 aligned */
    const float scalar = 42.0f;
    const char *note = "quote \" backslash \\ newline \n tab \t e-acute \xc3\xa9";

    simclr_safetensors_writer writer;
    simclr_safetensors_writer_init(&writer);
    simclr_error err = {0};
    assert_int_equal(simclr_safetensors_writer_add(&writer, "dense.kernel", SIMCLR_SAFETENSORS_DTYPE_F32,
                                            (int64_t[]){2, 3}, 2, weights, &err), 0);
    assert_int_equal(simclr_safetensors_writer_add(&writer, "a_flags", SIMCLR_SAFETENSORS_DTYPE_U8,
                                            (int64_t[]){5}, 1, flags, &err), 0);
    assert_int_equal(simclr_safetensors_writer_add(&writer, "steps", SIMCLR_SAFETENSORS_DTYPE_I64,
                                            (int64_t[]){4}, 1, steps, &err), 0);
    assert_int_equal(simclr_safetensors_writer_add(&writer, "scale", SIMCLR_SAFETENSORS_DTYPE_F32, NULL, 0,
                                            &scalar, &err), 0);
    assert_int_equal(simclr_safetensors_writer_set_metadata(&writer, "epoch", "9", &err), 0);
    assert_int_equal(simclr_safetensors_writer_set_metadata(&writer, "epoch", "10", &err), 0);
    assert_int_equal(simclr_safetensors_writer_set_metadata(&writer, "note", note, &err), 0);
    /* Writer misuse is refused up front. */
    assert_int_equal(simclr_safetensors_writer_add(&writer, "steps", SIMCLR_SAFETENSORS_DTYPE_I64,
                                            (int64_t[]){4}, 1, steps, &err), -1);
    assert_non_null(strstr(err.message, "twice"));
    assert_int_equal(simclr_safetensors_writer_add(&writer, "bad", SIMCLR_SAFETENSORS_DTYPE_F32,
                                            (int64_t[]){-1}, 1, weights, &err), -1);
    assert_int_equal(simclr_safetensors_writer_add(&writer, "__metadata__", SIMCLR_SAFETENSORS_DTYPE_F32,
                                            (int64_t[]){1}, 1, weights, &err), -1);
    assert_int_equal(simclr_safetensors_writer_write(&writer, path, &err), 0);
    simclr_safetensors_writer_free(&writer);

    /* The layout: header padded to 8, every tensor aligned to its element size. */
    size_t size = 0;
    uint8_t *bytes = read_file(path, &size);
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--) header_length = header_length << 8 | bytes[i];
    assert_int_equal(header_length % 8, 0);
    free(bytes);

    simclr_safetensors_file file;
    assert_int_equal(simclr_safetensors_open(&file, path, &err), 0);
    assert_int_equal(file.tensor_count, 4);
    const simclr_safetensors_tensor *kernel = simclr_safetensors_find(&file, "dense.kernel");
    assert_non_null(kernel);
    assert_int_equal(kernel->dtype, SIMCLR_SAFETENSORS_DTYPE_F32);
    assert_int_equal(kernel->ndim, 2);
    assert_int_equal(kernel->shape[0], 2);
    assert_int_equal(kernel->shape[1], 3);
    for (size_t i = 0; i < file.tensor_count; i++)
        assert_int_equal(file.tensors[i].data_begin % simclr_safetensors_dtype_size(file.tensors[i].dtype), 0);

    float read_weights[6];
    assert_int_equal(simclr_safetensors_read_f32(&file, "dense.kernel", (int64_t[]){2, 3}, 2,
                                          read_weights, &err), 0);
    assert_memory_equal(read_weights, weights, sizeof weights);
    int64_t read_steps[4];
    assert_int_equal(simclr_safetensors_read(&file, "steps", SIMCLR_SAFETENSORS_DTYPE_I64, (int64_t[]){4}, 1,
                                      read_steps, &err), 0);
    assert_memory_equal(read_steps, steps, sizeof steps);
    uint8_t read_flags[5];
    assert_int_equal(simclr_safetensors_read(&file, "a_flags", SIMCLR_SAFETENSORS_DTYPE_U8, (int64_t[]){5}, 1,
                                      read_flags, &err), 0);
    assert_memory_equal(read_flags, flags, sizeof flags);
    float read_scalar = 0;
    assert_int_equal(simclr_safetensors_read_f32(&file, "scale", NULL, 0, &read_scalar, &err), 0);
    assert_true(read_scalar == 42.0f);

    assert_string_equal(simclr_safetensors_metadata(&file, "epoch"), "10");
    assert_string_equal(simclr_safetensors_metadata(&file, "note"), note);
    assert_null(simclr_safetensors_metadata(&file, "missing"));

    /* Mismatches say which tensor, what was expected and what was found. */
    assert_int_equal(simclr_safetensors_read_f32(&file, "dense.kernel", (int64_t[]){3, 2}, 2,
                                          read_weights, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    printf("%s\n", err.message);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "'dense.kernel'"));
    assert_non_null(strstr(err.message, "has shape [2, 3], expected [3, 2]"));
    assert_int_equal(simclr_safetensors_read_f32(&file, "steps", (int64_t[]){4}, 1, read_weights, &err),
                     -1);
    assert_non_null(strstr(err.message, "is I64, expected F32"));
    assert_int_equal(simclr_safetensors_read_f32(&file, "dense.bias", (int64_t[]){3}, 1, read_weights,
                                          &err), -1);
    printf("%s\n", err.message);
    assert_non_null(strstr(err.message, "no tensor named 'dense.bias'"));
    simclr_safetensors_close(&file);

    free(path);
    test_remove_tree(dir);
    free(dir);
}

static void test_hand_written_file(void **state)
{
    (void)state;
    /* Whitespace, escapes and key order as another writer might produce them. */
    const char *json = "{ \"__metadata__\" : {\"format\": \"pt\", \"caf\\u00e9\": \"\\ud83d\\ude00\"},\n"
                       "  \"b\": {\"data_offsets\": [8, 16], \"shape\": [2], \"dtype\": \"I32\"},\n"
                       "  \"w\\u00e9ight\\/x\": {\"dtype\": \"F32\", \"shape\": [1, 2], "
                       "\"data_offsets\": [0, 8]} }   ";
    uint8_t data[16];
    const float floats[2] = {1.5f, -2.0f};
    const int32_t ints[2] = {7, -9};
    memcpy(data, floats, 8);
    memcpy(data + 8, ints, 8);
    size_t size = 0;
    uint8_t *bytes = make_file(json, data, sizeof data, &size);
    simclr_safetensors_file file;
    simclr_error err = {0};
    if (simclr_safetensors_open_memory(&file, bytes, size, "hand.safetensors", &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(file.tensor_count, 2);
    assert_string_equal(simclr_safetensors_metadata(&file, "format"), "pt");
    assert_string_equal(simclr_safetensors_metadata(&file, "caf\xc3\xa9"), "\xf0\x9f\x98\x80");
    float read_floats[2];
    assert_int_equal(simclr_safetensors_read_f32(&file, "w\xc3\xa9ight/x", (int64_t[]){1, 2}, 2,
                                          read_floats, &err), 0);
    assert_memory_equal(read_floats, floats, 8);
    int32_t read_ints[2];
    assert_int_equal(simclr_safetensors_read(&file, "b", SIMCLR_SAFETENSORS_DTYPE_I32, (int64_t[]){2}, 1,
                                      read_ints, &err), 0);
    assert_memory_equal(read_ints, ints, 8);
    simclr_safetensors_close(&file);
    free(bytes);

    /* An empty header object with no data is a valid (empty) file. */
    bytes = make_file("{}", NULL, 0, &size);
    assert_int_equal(simclr_safetensors_open_memory(&file, bytes, size, "empty.safetensors", &err), 0);
    assert_int_equal(file.tensor_count, 0);
    simclr_safetensors_close(&file);
    free(bytes);
}

typedef struct corrupt_case {
    const char *what;
    const char *json;
    size_t data_size;       /* zero bytes of data after the header */
    const char *expected;   /* a phrase the message must contain */
} corrupt_case;

static const corrupt_case corrupt_cases[] = {
    {"truncated data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "beyond"},
    {"offsets out of range", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[100,104]}}", 4, "beyond"},
    {"overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap"},
    {"gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "belong to no tensor"},
    {"trailing data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "belong to no tensor"},
    {"begin after end", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, "before"},
    {"unknown dtype", "{\"a\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "unknown dtype"},
    {"shape/size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes"},
    {"shape overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "overflow"},
    {"too many dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, "more than 8"},
    {"duplicate tensor", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, "twice"},
    {"duplicate field", "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "repeated"},
    {"missing field", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, "lacks"},
    {"unknown field", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", 1, "unexpected"},
    {"two metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "twice"},
    {"metadata number", "{\"__metadata__\":{\"epoch\":10}}", 0, "metadata value"},
    {"missing brace", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}", 1, "expected"},
    {"trailing comma", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},}", 1, "expected"},
    {"array trailing comma", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,],\"data_offsets\":[0,1]}}", 1, "expected"},
    {"not an object", "[1, 2]", 0, "expected '{'"},
    {"empty header", "", 0, "expected '{'"},
    {"unterminated string", "{\"a", 0, "unterminated"},
    {"float in shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1, "fraction"},
    {"negative offset", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,1]}}", 1, "negative"},
    {"leading zero", "{\"a\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}", 1, "leading zero"},
    {"huge number", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 1, "too large"},
    {"boolean", "{\"a\":{\"dtype\":true,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "a string"},
    {"nested array", "{\"a\":{\"dtype\":\"U8\",\"shape\":[[1]],\"data_offsets\":[0,1]}}", 1, "integer"},
    {"bad escape", "{\"a\\q\":{}}", 0, "invalid escape"},
    {"NUL escape", "{\"a\\u0000\":{}}", 0, "NUL"},
    {"lone surrogate", "{\"a\\udc00\":{}}", 0, "surrogate"},
    {"invalid UTF-8", "{\"a\xff\":{}}", 0, "UTF-8"},
    {"overlong UTF-8", "{\"a\xc0\xaf\":{}}", 0, "UTF-8"},
    {"control character", "{\"a\n\":{}}", 0, "control character"},
    {"garbage after object", "{} x", 0, "after the header"},
};

static void assert_rejected(const uint8_t *bytes, size_t size, const char *what,
                            const char *expected)
{
    simclr_safetensors_file file;
    simclr_error err = {0};
    simclr_error_clear(&err);
    if (simclr_safetensors_open_memory(&file, bytes, size, "corrupt.safetensors", &err) == 0)
        fail_msg("%s: accepted", what);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err.message, "corrupt.safetensors") || !strstr(err.message, expected))
        fail_msg("%s: expected the file name and '%s' in: %s", what, expected, err.message);
    assert_null(file.tensors);
    assert_null(file.bytes);
}

static void test_corrupt_files_are_rejected(void **state)
{
    (void)state;
    uint8_t zeros[64] = {0};
    for (size_t i = 0; i < sizeof corrupt_cases / sizeof corrupt_cases[0]; i++) {
        const corrupt_case *c = &corrupt_cases[i];
        size_t size = 0;
        uint8_t *bytes = make_file(c->json, zeros, c->data_size, &size);
        assert_rejected(bytes, size, c->what, c->expected);
        free(bytes);
    }

    /* The 8-byte length itself. */
    const uint8_t short_file[5] = {1, 0, 0, 0, 0};
    assert_rejected(short_file, sizeof short_file, "shorter than 8 bytes", "too short");
    uint8_t too_long[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    assert_rejected(too_long, sizeof too_long, "length past the end", "more than the file holds");
    uint8_t over_limit[16] = {0x00, 0xc2, 0xeb, 0x0b, 0, 0, 0, 0, '{', '}'}; /* 200000000 */
    assert_rejected(over_limit, sizeof over_limit, "length over the limit", "limit");
    uint8_t enormous[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    assert_rejected(enormous, sizeof enormous, "length 2^64-1", "limit");
}

/* Every truncation and many single-byte changes of a valid file: an error or a valid file,
 * never a crash (run under -DSIMCLR_SANITIZE=ON to check memory safety). */
static void test_mutations_never_crash(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char *path = join_path(dir, "mutate.safetensors");
    const float values[6] = {1, 2, 3, 4, 5, 6};
    const int64_t counts[2] = {3, 4};
    simclr_safetensors_writer writer;
    simclr_safetensors_writer_init(&writer);
    simclr_error err = {0};
    assert_int_equal(simclr_safetensors_writer_add(&writer, "v", SIMCLR_SAFETENSORS_DTYPE_F32, (int64_t[]){2, 3},
                                            2, values, &err), 0);
    assert_int_equal(simclr_safetensors_writer_add(&writer, "c", SIMCLR_SAFETENSORS_DTYPE_I64, (int64_t[]){2}, 1,
                                            counts, &err), 0);
    assert_int_equal(simclr_safetensors_writer_set_metadata(&writer, "k", "v\\\"", &err), 0);
    assert_int_equal(simclr_safetensors_writer_write(&writer, path, &err), 0);
    simclr_safetensors_writer_free(&writer);
    size_t size = 0;
    uint8_t *bytes = read_file(path, &size);

    for (size_t cut = 0; cut < size; cut++) {
        simclr_safetensors_file file;
        if (simclr_safetensors_open_memory(&file, bytes, cut, "cut.safetensors", &err) == 0)
            fail_msg("a file cut to %zu of %zu bytes was accepted", cut, size);
    }
    uint8_t *mutated = malloc(size);
    assert_non_null(mutated);
    static const uint8_t replacements[] = {0x00, '"', '\\', '{', '}', '[', ']', ',', ':', '9',
                                           '-', 0xff, 0x80, ' '};
    int accepted = 0;
    for (size_t i = 0; i < size; i++) {
        for (size_t r = 0; r < sizeof replacements; r++) {
            memcpy(mutated, bytes, size);
            mutated[i] = replacements[r];
            simclr_safetensors_file file;
            if (simclr_safetensors_open_memory(&file, mutated, size, "mutated.safetensors", &err) == 0) {
                for (size_t t = 0; t < file.tensor_count; t++) {
                    const simclr_safetensors_tensor *tensor = &file.tensors[t];
                    assert_true(tensor->data + (tensor->data_end - tensor->data_begin) <=
                                file.bytes + file.size);
                }
                simclr_safetensors_close(&file);
                accepted++;
            } else {
                assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
            }
        }
    }
    printf("%d of %zu mutations still valid (data bytes, spaces)\n", accepted,
           size * sizeof replacements);
    free(mutated);
    free(bytes);
    free(path);
    test_remove_tree(dir);
    free(dir);
}

static void test_open_and_write_errors_name_the_file(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char *missing = join_path(dir, "missing.safetensors");
    simclr_safetensors_file file;
    simclr_error err = {0};
    assert_int_equal(simclr_safetensors_open(&file, missing, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, missing));

    /* Writing into a directory that does not exist fails and leaves nothing behind. */
    char *nowhere = join_path(dir, "no/such/dir/model.safetensors");
    simclr_safetensors_writer writer;
    simclr_safetensors_writer_init(&writer);
    const float one = 1.0f;
    assert_int_equal(simclr_safetensors_writer_add(&writer, "x", SIMCLR_SAFETENSORS_DTYPE_F32, (int64_t[]){1}, 1,
                                            &one, &err), 0);
    assert_int_equal(simclr_safetensors_writer_write(&writer, nowhere, &err), -1);
    assert_non_null(strstr(err.message, "no/such/dir"));
    simclr_safetensors_writer_free(&writer);

    free(missing);
    free(nowhere);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_f32_i64_u8_and_metadata),
        cmocka_unit_test(test_hand_written_file),
        cmocka_unit_test(test_corrupt_files_are_rejected),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_open_and_write_errors_name_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
