/* SHA-256: the FIPS 180-4 / NIST test vectors, block-boundary lengths fed in odd pieces, a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/sha256.h"
#include "test_support.h"

static void hex_of(const char *text, size_t length, char hex[SIMCLR_SHA256_HEX_SIZE])
{
    simclr_sha256 hash;
    simclr_sha256_init(&hash);
    simclr_sha256_update(&hash, text, length);
    simclr_sha256_final_hex(&hash, hex);
}

static void test_nist_vectors(void **state)
{
    (void)state;
    char hex[SIMCLR_SHA256_HEX_SIZE];
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a_in_pieces(void **state)
{
    (void)state;
    /* One million 'a' fed in pieces of 1..127 bytes: every block boundary case. */
    char piece[128];
    memset(piece, 'a', sizeof piece);
    simclr_sha256 hash;
    simclr_sha256_init(&hash);
    size_t done = 0, size = 1;
    while (done < 1000000) {
        size_t take = 1000000 - done < size ? 1000000 - done : size;
        simclr_sha256_update(&hash, piece, take);
        done += take;
        size = size % 127 + 1;
    }
    char hex[SIMCLR_SHA256_HEX_SIZE];
    simclr_sha256_final_hex(&hash, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_padding_lengths(void **state)
{
    (void)state;
    /* 55, 56 and 64 bytes: the length fits in the last block, just does not, and a full block
     * (reference digests from sha256sum). */
    char text[64];
    memset(text, 'a', sizeof text);
    char hex[SIMCLR_SHA256_HEX_SIZE];
    hex_of(text, 55, hex);
    assert_string_equal(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    hex_of(text, 56, hex);
    assert_string_equal(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    hex_of(text, 64, hex);
    assert_string_equal(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_file(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/abc.txt", dir);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    fputs("abc", file);
    fclose(file);
    char hex[SIMCLR_SHA256_HEX_SIZE];
    simclr_error err;
    assert_int_equal(simclr_sha256_file(path, hex, &err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(simclr_sha256_file(path, hex, &err), -1);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_vectors),
        cmocka_unit_test(test_million_a_in_pieces),
        cmocka_unit_test(test_padding_lengths),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
