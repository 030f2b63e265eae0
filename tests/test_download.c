/* simclr download's library pieces without a network: the catalog, MD5/SHA-256 (RFC 1321 and
 * FIPS 180-2 test vectors), checksum files, unpacking (archives written here with libarchive,
 * including hostile ones) and the manifest check. The HTTP side: tests/cli_download*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download/download_internal.h"
#include "simclr/download.h"
#include "test_support.h"

static void test_catalog_lists_every_dataset_with_published_md5s(void **state)
{
    (void)state;
    const char *names[] = {"stl10", "cifar10", "cifar100", "mnist", "fashion-mnist"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const simclr_download_dataset *dataset = simclr_download_find(names[i]);
        assert_non_null(dataset);
        assert_string_equal(dataset->name, names[i]);
        assert_non_null(strstr(simclr_download_names(), names[i]));
        assert_true(strncmp(dataset->base_url, "http", 4) == 0);
        assert_int_equal(dataset->base_url[strlen(dataset->base_url) - 1], '/');
        assert_int_equal(dataset->file_count, dataset->unpacks_to ? 1 : 4);
        for (int f = 0; f < dataset->file_count; f++) {
            assert_int_equal(strlen(dataset->files[f].md5), 32);
            assert_int_equal(strspn(dataset->files[f].md5, "0123456789abcdef"), 32);
        }
        assert_true(dataset->unpacks_to == NULL || dataset->expected_count > 0);
    }
    assert_string_equal(simclr_download_find("cifar10")->files[0].md5, "c32a1d4ab5d03f1284b67883e8d87530");
    assert_null(simclr_download_find("imagenet"));
    assert_null(simclr_download_find(NULL));
}

static void digest_of(simclr_digest_kind kind, const char *text, size_t repeat, char *hex)
{
    simclr_digest digest;
    simclr_error err = {0};
    assert_int_equal(simclr_digest_begin(&digest, kind, &err), 0);
    for (size_t i = 0; i < repeat; i++) simclr_digest_update(&digest, text, strlen(text));
    simclr_digest_end(&digest, hex);
}

static void test_digests_match_the_standard_test_vectors(void **state)
{
    (void)state;
    char hex[SIMCLR_DIGEST_HEX_MAX];
    digest_of(SIMCLR_DIGEST_MD5, "", 1, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    digest_of(SIMCLR_DIGEST_MD5, "abc", 1, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    digest_of(SIMCLR_DIGEST_MD5, "1234567890", 8, hex); /* RFC 1321's last vector, in pieces */
    assert_string_equal(hex, "57edf4a22be3c955ac49da2e2107b67a");
    digest_of(SIMCLR_DIGEST_SHA256, "abc", 1, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest_of(SIMCLR_DIGEST_SHA256, "a", 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    char *dir = test_make_temp_dir();
    char *path = test_write_file(dir, "abc.bin", "abc", 3);
    simclr_error err = {0};
    assert_int_equal(simclr_digest_file(path, SIMCLR_DIGEST_MD5, hex, &err), 0);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.bin", dir);
    assert_int_equal(simclr_digest_file(missing, SIMCLR_DIGEST_SHA256, hex, &err), -1);
    assert_non_null(strstr(err.message, missing));
    free(path);
    test_remove_tree(dir);
    free(dir);
}

static void test_checksums_file_overrides_only_the_files_it_names(void **state)
{
    (void)state;
    const simclr_download_dataset *mnist = simclr_download_find("mnist");
    simclr_expected_checksum expected[SIMCLR_DOWNLOAD_MAX_FILES];
    simclr_error err = {0};
    assert_int_equal(simclr_checksums_expected(mnist, NULL, expected, &err), 0);
    assert_string_equal(expected[0].hex, "f68b3c2dcbeaaa9fbdd348bbdeb94873");
    assert_int_equal(expected[0].kind, SIMCLR_DIGEST_MD5);

    char *dir = test_make_temp_dir();
    const char *text = "# a mirror's list\n"
                       "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD *t10k-images-idx3-ubyte.gz\n"
                       "0123456789abcdef0123456789abcdef  some/dir/train-labels-idx1-ubyte.gz\n"
                       "ffffffffffffffffffffffffffffffff  cifar-10-binary.tar.gz\n";
    char *path = test_write_file(dir, "sums", text, strlen(text));
    assert_int_equal(simclr_checksums_expected(mnist, path, expected, &err), 0);
    assert_string_equal(expected[0].hex, "f68b3c2dcbeaaa9fbdd348bbdeb94873"); /* not named: published */
    assert_int_equal(expected[1].kind, SIMCLR_DIGEST_MD5);
    assert_string_equal(expected[1].hex, "0123456789abcdef0123456789abcdef");
    assert_int_equal(expected[2].kind, SIMCLR_DIGEST_SHA256);
    assert_string_equal(expected[2].hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(path);

    const char *bad = "0123456789abcdef0123456789abcdef  train-images-idx3-ubyte.gz\nabc123  t10k\n";
    path = test_write_file(dir, "bad", bad, strlen(bad));
    assert_int_equal(simclr_checksums_expected(mnist, path, expected, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, "line 2"));
    free(path);
    test_remove_tree(dir);
    free(dir);
}

typedef struct test_member {
    const char *path;
    const char *data; /* NULL: a folder */
    const char *symlink_to;
} test_member;

static char *write_archive(const char *dir, const char *name, const test_member *members, int count)
{
    char *path = malloc(4200);
    snprintf(path, 4200, "%s/%s", dir, name);
    struct archive *writer = archive_write_new();
    archive_write_add_filter_gzip(writer);
    archive_write_set_format_pax_restricted(writer);
    assert_int_equal(archive_write_open_filename(writer, path), ARCHIVE_OK);
    for (int i = 0; i < count; i++) {
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, members[i].path);
        if (members[i].symlink_to) {
            archive_entry_set_filetype(entry, AE_IFLNK);
            archive_entry_set_symlink(entry, members[i].symlink_to);
        } else if (!members[i].data) {
            archive_entry_set_filetype(entry, AE_IFDIR);
        } else {
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_size(entry, (la_int64_t)strlen(members[i].data));
        }
        archive_entry_set_perm(entry, 0644);
        assert_int_equal(archive_write_header(writer, entry), ARCHIVE_OK);
        if (members[i].data && !members[i].symlink_to)
            archive_write_data(writer, members[i].data, strlen(members[i].data));
        archive_entry_free(entry);
    }
    archive_write_close(writer);
    archive_write_free(writer);
    return path;
}

static int exists_under(const char *dir, const char *name)
{
    char path[8500];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat info;
    return lstat(path, &info) == 0;
}

static void test_unpack_writes_the_folder_and_a_manifest_that_verifies(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    const test_member members[] = {{"./data", NULL, NULL},
                                   {"./data/a.bin", "abc", NULL},
                                   {"data/sub/b.txt", "", NULL},
                                   {"elsewhere.txt", "not part of the folder", NULL}};
    char *archive = write_archive(dir, "good.tar.gz", members, 4);
    char out[4200];
    snprintf(out, sizeof out, "%s/out", dir);
    mkdir(out, 0777);
    const char *expected[] = {"a.bin", "sub/b.txt"};
    int damaged = -1;
    simclr_error err = {0};
    assert_int_equal(simclr_unpack_archive(archive, out, "data", expected, 2, NULL, &damaged, &err), 0);
    assert_true(exists_under(out, "data/a.bin"));
    assert_true(exists_under(out, "data/sub/b.txt"));

    char folder[4300], manifest_path[4400];
    snprintf(folder, sizeof folder, "%s/data", out);
    snprintf(manifest_path, sizeof manifest_path, "%s/%s", folder, SIMCLR_DOWNLOAD_MANIFEST);
    FILE *manifest = fopen(manifest_path, "r");
    assert_non_null(manifest);
    char text[1024] = "";
    size_t got = fread(text, 1, sizeof text - 1, manifest);
    text[got] = '\0';
    fclose(manifest);
    assert_string_equal(text, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.bin\n"
                              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  sub/b.txt\n");

    char reason[8400];
    assert_int_equal(simclr_manifest_verify(folder, expected, 2, reason, sizeof reason, &err), 1);
    const char *more[] = {"a.bin", "c.bin"};
    assert_int_equal(simclr_manifest_verify(folder, more, 2, reason, sizeof reason, &err), 0);
    assert_non_null(strstr(reason, "does not list c.bin"));
    free(test_write_file(folder, "a.bin", "abd", 3));
    assert_int_equal(simclr_manifest_verify(folder, expected, 2, reason, sizeof reason, &err), 0);
    assert_non_null(strstr(reason, "changed since it was unpacked"));
    free(archive);
    test_remove_tree(dir);
    free(dir);
}

/* Each hostile or wrong archive is refused as damaged and writes nothing outside out/. */
static void test_unpack_refuses_unsafe_and_incomplete_archives(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    const test_member escape[] = {{"data/a.bin", "abc", NULL}, {"data/../../escaped.txt", "x", NULL}};
    const test_member absolute[] = {{"/tmp/simclr-download-absolute.txt", "x", NULL}};
    const test_member link[] = {{"data/a.bin", "abc", NULL}, {"data/link", "", "/etc/passwd"}};
    const test_member incomplete[] = {{"data/b.bin", "abc", NULL}};
    const test_member twice[] = {{"data/a.bin", "abc", NULL}, {"data/a.bin", "abd", NULL}};
    struct {
        const char *name;
        const test_member *members;
        int count;
        const char *message;
    } cases[] = {{"escape.tar.gz", escape, 2, "unsafe path"},
                 {"absolute.tar.gz", absolute, 1, "unsafe path"},
                 {"link.tar.gz", link, 2, "not a regular file or folder"},
                 {"incomplete.tar.gz", incomplete, 1, "holds no data/a.bin"},
                 {"twice.tar.gz", twice, 2, "holds data/a.bin twice"}};
    const char *expected[] = {"a.bin"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *archive = write_archive(dir, cases[i].name, cases[i].members, cases[i].count);
        char out[4200];
        snprintf(out, sizeof out, "%s/out%zu", dir, i);
        mkdir(out, 0777);
        int damaged = 0;
        simclr_error err = {0};
        assert_int_equal(simclr_unpack_archive(archive, out, "data", expected, 1, NULL, &damaged, &err), -1);
        assert_int_equal(damaged, 1);
        if (!strstr(err.message, cases[i].message)) fail_msg("%s: %s", cases[i].name, err.message);
        free(archive);
    }
    assert_false(exists_under(dir, "escaped.txt"));
    assert_int_equal(access("/tmp/simclr-download-absolute.txt", F_OK), -1);

    /* Not an archive at all, and one cut short. */
    char *junk = test_write_file(dir, "junk.tar.gz", "this is no archive", 18);
    int damaged = 0;
    simclr_error err = {0};
    assert_int_equal(simclr_unpack_archive(junk, dir, "data", expected, 1, NULL, &damaged, &err), -1);
    assert_int_equal(damaged, 1);
    free(junk);
    char big[20000];
    for (size_t i = 0; i < sizeof big - 1; i++) big[i] = (char)('a' + (i * 7919 % 26));
    big[sizeof big - 1] = '\0';
    const test_member whole[] = {{"data/a.bin", big, NULL}};
    char *archive = write_archive(dir, "whole.tar.gz", whole, 1);
    FILE *file = fopen(archive, "rb");
    char bytes[40000];
    size_t size = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    char *cut = test_write_file(dir, "cut.tar.gz", bytes, size / 2);
    char out[4200];
    snprintf(out, sizeof out, "%s/out_cut", dir);
    mkdir(out, 0777);
    assert_int_equal(simclr_unpack_archive(cut, out, "data", expected, 1, NULL, &damaged, &err), -1);
    assert_int_equal(damaged, 1);
    assert_non_null(strstr(err.message, "truncated"));
    free(cut);
    free(archive);
    test_remove_tree(dir);
    free(dir);
}

/* A manifest that is damaged, hostile or points at missing files is reported, never trusted. */
static void test_manifest_verify_rejects_bad_manifests(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    free(test_write_file(dir, "a.bin", "abc", 3));
    const char *sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    char good[256];
    snprintf(good, sizeof good, "%s  a.bin\n", sha_abc);
    struct {
        const char *text;
        const char *reason;
    } cases[] = {
        {"short line\n", "is not '<sha256>  <file>'"},
        {"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad a.bin\n", "is not '<sha256>"},
        {"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  ../a.bin\n", "unsafe path"},
        {"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  /etc/passwd\n", "unsafe path"},
        {"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  missing.bin\n", "missing.bin"},
        {"0000000000000000000000000000000000000000000000000000000000000000  a.bin\n", "changed since"},
        {"", "does not list a.bin"},
    };
    const char *expected[] = {"a.bin"};
    char reason[8400];
    simclr_error err = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        free(test_write_file(dir, SIMCLR_DOWNLOAD_MANIFEST, cases[i].text, strlen(cases[i].text)));
        reason[0] = '\0';
        assert_int_equal(simclr_manifest_verify(dir, expected, 1, reason, sizeof reason, &err), 0);
        if (!strstr(reason, cases[i].reason)) fail_msg("case %zu: %s", i, reason);
    }
    free(test_write_file(dir, SIMCLR_DOWNLOAD_MANIFEST, good, strlen(good)));
    assert_int_equal(simclr_manifest_verify(dir, expected, 1, reason, sizeof reason, &err), 1);
    char manifest[4300];
    snprintf(manifest, sizeof manifest, "%s/%s", dir, SIMCLR_DOWNLOAD_MANIFEST);
    unlink(manifest);
    assert_int_equal(simclr_manifest_verify(dir, expected, 1, reason, sizeof reason, &err), 0);
    assert_non_null(strstr(reason, "is missing"));
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_lists_every_dataset_with_published_md5s),
        cmocka_unit_test(test_digests_match_the_standard_test_vectors),
        cmocka_unit_test(test_checksums_file_overrides_only_the_files_it_names),
        cmocka_unit_test(test_unpack_writes_the_folder_and_a_manifest_that_verifies),
        cmocka_unit_test(test_unpack_refuses_unsafe_and_incomplete_archives),
        cmocka_unit_test(test_manifest_verify_rejects_bad_manifests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
