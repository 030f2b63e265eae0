/*
 * fuzz_regressions: replays every input the fuzzers found a crash, leak or hang with
 * (fuzz/regressions/<target>/) and the seed corpora (fuzz/corpus/<target>/) through the fuzz
 * targets' own entry functions, fuzz_<target>_one, in the normal build: a fixed bug stays fixed,
 * and the targets' code keeps compiling and running with the library it fuzzes. Inputs named as
 * near misses ("bad_...", "missing_...", "unknown_...", "...mismatch...") must be refused, and the
 * other seeds accepted, so a seed that no longer parses is noticed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The targets: each file defines fuzz_<name>_one (the libFuzzer wrapper is compiled out). */
#include "../fuzz/fuzz_cifar.c"
#include "../fuzz/fuzz_file_list.c"
#include "../fuzz/fuzz_folder.c"
#include "../fuzz/fuzz_idx.c"
#include "../fuzz/fuzz_image.c"
#include "../fuzz/fuzz_index_cache.c"
#include "../fuzz/fuzz_npy.c"
#include "../fuzz/fuzz_options.c"
#include "../fuzz/fuzz_safetensors.c"
#include "../fuzz/fuzz_stl10.c"
/* fuzz_options parses the command line's own tables: this test links simclr_cli. */

#define FUZZ_DIR SIMCLR_FIXTURE_DIR "/../../fuzz"

typedef int (*fuzz_entry)(const uint8_t *data, size_t size);

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Seeds named like this are near misses: the reader must refuse them. */
static int is_near_miss(const char *name)
{
    static const char *const markers[] = {"bad_", "missing_", "unknown_", "mismatch"};
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (strstr(name, markers[i])) return 1;
    return 0;
}

/* Runs every file of FUZZ_DIR/<folder>/<target>/ (in name order) through entry. A file whose
 * name marks a near miss must be refused (-1); with all_valid, every other file must be accepted
 * (0, or 1 for --help). Returns how many files ran. */
static size_t replay_folder(const char *folder, const char *target, fuzz_entry entry,
                            int all_valid)
{
    char dir_path[1024];
    snprintf(dir_path, sizeof dir_path, "%s/%s/%s", FUZZ_DIR, folder, target);
    DIR *dir = opendir(dir_path);
    if (!dir) return 0; /* no regressions for this target */
    char *names[4096];
    size_t count = 0;
    struct dirent *entry_info;
    while ((entry_info = readdir(dir)) != NULL && count < 4096) {
        if (entry_info->d_name[0] == '.') continue;
        names[count] = strdup(entry_info->d_name);
        assert_non_null(names[count]);
        count++;
    }
    closedir(dir);
    qsort(names, count, sizeof names[0], compare_names);
    for (size_t i = 0; i < count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        size_t size = 0;
        uint8_t *data = fuzz_read_file(path, &size);
        if (!data) fail_msg("cannot read %s", path);
        int status = entry(data, size);
        print_message("  %s/%s/%s: %s\n", folder, target, names[i],
                      status == 0 ? "accepted" : status == 1 ? "help" : "refused");
        if (is_near_miss(names[i]) && status != -1)
            fail_msg("%s was accepted; expected the reader to refuse it", path);
        if (all_valid && !is_near_miss(names[i]) && status == -1)
            fail_msg("%s was refused; expected a valid input (or name it bad_...)", path);
        free(data);
        free(names[i]);
    }
    return count;
}

static void replay_target(const char *target, fuzz_entry entry)
{
    size_t seeds = replay_folder("corpus", target, entry, 1);
    if (seeds == 0) fail_msg("no seed corpus in %s/corpus/%s", FUZZ_DIR, target);
    size_t regressions = replay_folder("regressions", target, entry, 0);
    print_message("%s: %zu seeds, %zu regression inputs\n", target, seeds, regressions);
}

static void test_stl10(void **state) { (void)state; replay_target("stl10", fuzz_stl10_one); }
static void test_cifar(void **state) { (void)state; replay_target("cifar", fuzz_cifar_one); }
static void test_idx(void **state) { (void)state; replay_target("idx", fuzz_idx_one); }
static void test_image(void **state) { (void)state; replay_target("image", fuzz_image_one); }
static void test_folder(void **state) { (void)state; replay_target("folder", fuzz_folder_one); }
static void test_file_list(void **state) { (void)state; replay_target("file_list", fuzz_file_list_one); }
static void test_index_cache(void **state) { (void)state; replay_target("index_cache", fuzz_index_cache_one); }
static void test_safetensors(void **state)
{
    (void)state;
    replay_target("safetensors", fuzz_safetensors_one);
}
static void test_options(void **state) { (void)state; replay_target("options", fuzz_options_one); }
static void test_npy(void **state) { (void)state; replay_target("npy", fuzz_npy_one); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stl10),       cmocka_unit_test(test_cifar),
        cmocka_unit_test(test_idx),         cmocka_unit_test(test_image),
        cmocka_unit_test(test_folder),      cmocka_unit_test(test_safetensors),
        cmocka_unit_test(test_options),     cmocka_unit_test(test_npy),
        cmocka_unit_test(test_file_list),   cmocka_unit_test(test_index_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
