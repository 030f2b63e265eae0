/*
 * The pieces of `embed`: the .npy writer (header and data read back by a small reader written
 * here, independent of src/io/npy_read.c; atomic: nothing left on failure), the library's own
 * reader, PCA against exactly known components, and the PCA scatter plot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simclr/embedding_plot.h"
#include "simclr/npy.h"
#include "simclr/pca.h"
#include "test_support.h"

/* A minimal .npy v1.0 reader: returns the data (caller frees) and the header text. */
static float *read_npy(const char *path, char *header, size_t header_size, size_t *data_offset, size_t *floats)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char start[10];
    assert_int_equal(fread(start, 1, 10, f), 10);
    assert_memory_equal(start, "\x93NUMPY", 6);
    assert_int_equal(start[6], 1);
    assert_int_equal(start[7], 0);
    size_t length = (size_t)start[8] | (size_t)start[9] << 8;
    assert_true(length < header_size);
    assert_int_equal(fread(header, 1, length, f), length);
    header[length] = '\0';
    *data_offset = 10 + length;
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    *floats = ((size_t)end - *data_offset) / sizeof(float);
    fseek(f, (long)*data_offset, SEEK_SET);
    float *data = malloc(*floats * sizeof(float) + 1);
    assert_int_equal(fread(data, sizeof(float), *floats, f), *floats);
    fclose(f);
    return data;
}

static void test_npy_round_trip(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/emb.npy", dir);
    const float values[12] = {0.5f, -1.0f, 2.25f, 3.0f, 4.0f, 5.5f, -6.0f, 7.0f, 1e-3f, 9.0f, 1e6f, -0.0f};
    simclr_npy_writer npy;
    simclr_error err = {0};
    assert_int_equal(simclr_npy_writer_open(&npy, path, 3, 4, &err), 0);
    assert_int_equal(simclr_npy_writer_append(&npy, values, 2, &err), 0); /* streamed in two pieces */
    assert_int_equal(simclr_npy_writer_append(&npy, values + 8, 1, &err), 0);
    assert_int_equal(access(path, F_OK), -1); /* nothing visible before commit */
    assert_int_equal(simclr_npy_writer_commit(&npy, &err), 0);

    char header[256];
    size_t offset = 0, floats = 0;
    float *data = read_npy(path, header, sizeof header, &offset, &floats);
    printf("  header: %s", header);
    assert_int_equal(offset % 64, 0);
    assert_non_null(strstr(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"));
    assert_int_equal(header[strlen(header) - 1], '\n');
    assert_int_equal(floats, 12);
    assert_memory_equal(data, values, sizeof values);
    free(data);

    simclr_npy_reader reader;
    assert_int_equal(simclr_npy_reader_open(&reader, path, &err), 0);
    assert_int_equal(reader.rows, 3);
    assert_int_equal(reader.cols, 4);
    float back[12];
    assert_int_equal(simclr_npy_reader_read(&reader, back, 3, &err), 0);
    assert_memory_equal(back, values, sizeof values);
    assert_int_equal(simclr_npy_reader_read(&reader, back, 1, &err), -1); /* past the end */
    simclr_npy_reader_close(&reader);

    /* A large shape still gives a 64-byte aligned header. */
    char big[128];
    size_t length = simclr_npy_header(big, sizeof big, 100000, 2048);
    assert_int_equal(length % 64, 0);
    assert_int_equal(big[length - 1], '\n');
    test_remove_tree(dir);
    free(dir);
}

static void test_npy_failures_leave_nothing(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/short.npy", dir);
    const float row[2] = {1.0f, 2.0f};
    simclr_npy_writer npy;
    simclr_error err = {0};
    /* Fewer rows than declared: commit refuses and removes the temporary file. */
    assert_int_equal(simclr_npy_writer_open(&npy, path, 3, 2, &err), 0);
    assert_int_equal(simclr_npy_writer_append(&npy, row, 1, &err), 0);
    assert_int_equal(simclr_npy_writer_commit(&npy, &err), -1);
    assert_non_null(strstr(err.message, "1 of 3 rows"));
    assert_int_equal(access(path, F_OK), -1);
    /* More rows than declared. */
    assert_int_equal(simclr_npy_writer_open(&npy, path, 1, 2, &err), 0);
    assert_int_equal(simclr_npy_writer_append(&npy, row, 1, &err), 0);
    assert_int_equal(simclr_npy_writer_append(&npy, row, 1, &err), -1);
    assert_int_equal(access(path, F_OK), -1);
    /* An unwritable place is named. */
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.npy", dir);
    assert_int_equal(simclr_npy_writer_open(&npy, missing, 1, 2, &err), -1);
    assert_non_null(strstr(err.message, missing));
    /* Nothing of the writer's temporary files remains. */
    char command[4200];
    snprintf(command, sizeof command, "test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(command), 0);
    /* The reader names what is wrong. */
    char *bad = test_write_file(dir, "bad.npy", "not numpy at all", 16);
    simclr_npy_reader reader;
    assert_int_equal(simclr_npy_reader_open(&reader, bad, &err), -1);
    assert_non_null(strstr(err.message, "not a .npy"));
    free(bad);
    test_remove_tree(dir);
    free(dir);
}

static void test_pca_known_components(void **state)
{
    (void)state;
    /* Rows 3u, -3u, v, -v with orthonormal u, v in 5 dimensions, shifted by m: the covariance is
     * 6 u u^T + (2/3) v v^T, so the components are u and v with variances 6 and 2/3. */
    const double s = 1.0 / sqrt(2.0);
    const float u[5] = {(float)s, (float)s, 0, 0, 0};
    const float v[5] = {0, 0, -0.6f, 0.8f, 0};
    const float m[5] = {1, 2, 3, 4, 5};
    float rows[4][5];
    for (int j = 0; j < 5; j++) {
        rows[0][j] = m[j] + 3 * u[j];
        rows[1][j] = m[j] - 3 * u[j];
        rows[2][j] = m[j] + v[j];
        rows[3][j] = m[j] - v[j];
    }
    simclr_pca pca;
    simclr_error err = {0};
    assert_int_equal(simclr_pca_init(&pca, 5, &err), 0);
    simclr_pca_add(&pca, rows[0], 1);
    simclr_pca_add(&pca, rows[1], 3); /* in two pieces */
    float directions[10];
    double variances[2];
    assert_int_equal(simclr_pca_solve(&pca, 2, directions, variances, &err), 0);
    printf("  variances %.6f %.6f (expected 6, 0.666667)\n", variances[0], variances[1]);
    assert_true(fabs(variances[0] - 6.0) < 1e-5);
    assert_true(fabs(variances[1] - 2.0 / 3.0) < 1e-5);
    assert_true(fabs(simclr_pca_total_variance(&pca) - (6.0 + 2.0 / 3.0)) < 1e-5);
    /* Signs: the largest-magnitude entry positive (u: first of two equal entries; v: 0.8). */
    test_assert_close("first component", directions, u, 5, 1e-5, 0);
    test_assert_close("second component", directions + 5, v, 5, 1e-5, 0);
    float projected[8];
    simclr_pca_project(&pca, directions, 2, rows[0], 4, projected);
    const float expected[8] = {3, 0, -3, 0, 0, 1, 0, -1};
    test_assert_close("projections", projected, expected, 8, 1e-5, 0);
    simclr_pca_free(&pca);
}

static void test_embedding_plot(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char npy_path[4096], from_npy[4096], from_matrix[4096];
    snprintf(npy_path, sizeof npy_path, "%s/points.npy", dir);
    snprintf(from_npy, sizeof from_npy, "%s/from_npy.png", dir);
    snprintf(from_matrix, sizeof from_matrix, "%s/from_matrix.png", dir);
    enum { N = 300, D = 8 };
    float *features = malloc(sizeof(float) * N * D);
    int32_t labels[N];
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        labels[i] = i % 3;
        for (int j = 0; j < D; j++) {
            seed = seed * 1664525u + 1013904223u;
            features[i * D + j] = (float)((seed >> 8) / 16777216.0) + (j == labels[i] ? 4.0f : 0.0f);
        }
    }
    simclr_npy_writer npy;
    simclr_error err = {0};
    assert_int_equal(simclr_npy_writer_open(&npy, npy_path, N, D, &err), 0);
    assert_int_equal(simclr_npy_writer_append(&npy, features, N, &err), 0);
    assert_int_equal(simclr_npy_writer_commit(&npy, &err), 0);
    const char *names[3] = {"zero", "one", "two"};
    simclr_embedding_plot plot = {.title = "test points", .labels = labels, .class_names = names, .class_count = 3};
    if (simclr_embedding_plot_npy_png(from_npy, npy_path, &plot, &err) != 0) fail_msg("%s", err.message);
    if (simclr_embedding_plot_matrix_png(from_matrix, features, N, D, &plot, &err) != 0) fail_msg("%s", err.message);
    /* Both are PNGs of the documented size, and the two routes draw the same picture. */
    const char *paths[2] = {from_npy, from_matrix};
    unsigned char heads[2][24];
    for (int p = 0; p < 2; p++) {
        FILE *f = fopen(paths[p], "rb");
        assert_non_null(f);
        assert_int_equal(fread(heads[p], 1, 24, f), 24);
        fclose(f);
        assert_memory_equal(heads[p], "\x89PNG\r\n\x1a\n", 8);
        unsigned width = (unsigned)heads[p][16] << 24 | (unsigned)heads[p][17] << 16 | (unsigned)heads[p][18] << 8 | heads[p][19];
        assert_int_equal(width, 900);
    }
    char command[9000];
    snprintf(command, sizeof command, "cmp -s '%s' '%s'", from_npy, from_matrix);
    assert_int_equal(system(command), 0);
    /* Bad input: a label outside the classes, and too few points. */
    labels[5] = 3;
    assert_int_equal(simclr_embedding_plot_matrix_png(from_matrix, features, N, D, &plot, &err), -1);
    assert_non_null(strstr(err.message, "group 3"));
    labels[5] = 2;
    assert_int_equal(simclr_embedding_plot_matrix_png(from_matrix, features, 1, D, &plot, &err), -1);
    /* Marked rows (select --plot, embed --plot --mark): the labels give way, both routes draw the
     * same picture, another than the classes'; a mark outside the sets is refused. */
    uint8_t marks[N] = {0};
    for (int i = 0; i < N; i += 30) marks[i] = 1;
    marks[1] = 2;
    const char *mark_names[2] = {"selected", "outliers"};
    simclr_embedding_plot marked = {.title = "test points", .labels = labels, .class_names = names, .class_count = 3,
                                    .marks = marks, .mark_names = mark_names, .mark_count = 2};
    char marked_npy[4096], marked_matrix[4096];
    snprintf(marked_npy, sizeof marked_npy, "%s/marked_npy.png", dir);
    snprintf(marked_matrix, sizeof marked_matrix, "%s/marked_matrix.png", dir);
    if (simclr_embedding_plot_npy_png(marked_npy, npy_path, &marked, &err) != 0) fail_msg("%s", err.message);
    if (simclr_embedding_plot_matrix_png(marked_matrix, features, N, D, &marked, &err) != 0)
        fail_msg("%s", err.message);
    snprintf(command, sizeof command, "cmp -s '%s' '%s'", marked_npy, marked_matrix);
    assert_int_equal(system(command), 0);
    snprintf(command, sizeof command, "cmp -s '%s' '%s'", marked_npy, from_npy);
    assert_int_not_equal(system(command), 0);
    marked.mark_count = 1;
    assert_int_equal(simclr_embedding_plot_matrix_png(marked_matrix, features, N, D, &marked, &err), -1);
    assert_non_null(strstr(err.message, "row 1 is in mark set 2 of 1"));
    free(features);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_round_trip),
        cmocka_unit_test(test_npy_failures_leave_nothing),
        cmocka_unit_test(test_pca_known_components),
        cmocka_unit_test(test_embedding_plot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
