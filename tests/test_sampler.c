#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/sampler.h"
#include "test_support.h"

enum { TRAIN_COUNT = 30, UNLABELED_COUNT = 40 };

/* A dataset with no files: train labels give classes of 12, 10 and 8 images, interleaved. */
typedef struct fake_dataset {
    simclr_dataset ds;
    int32_t labels[TRAIN_COUNT];
    char class_names[3][SIMCLR_DATASET_CLASS_NAME_MAX];
} fake_dataset;

static void fake_init(fake_dataset *fake, size_t unlabeled_count)
{
    memset(fake, 0, sizeof *fake);
    for (int i = 0; i < TRAIN_COUNT; i++) fake->labels[i] = i < 24 ? i % 3 : (i < 28 ? 0 : 1);
    /* counts: class 0: 8 + 4 = 12, class 1: 8 + 2 = 10, class 2: 8 */
    snprintf(fake->ds.name, sizeof fake->ds.name, "fake");
    fake->ds.num_classes = 3;
    fake->ds.class_names = fake->class_names;
    strcpy(fake->ds.class_names[0], "zero");
    strcpy(fake->ds.class_names[1], "one");
    strcpy(fake->ds.class_names[2], "two");
    fake->ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count = TRAIN_COUNT;
    fake->ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].labels = fake->labels;
    fake->ds.splits[SIMCLR_DATASET_SPLIT_UNLABELED].count = unlabeled_count;
}

static void test_subset_is_balanced_and_seeded(void **state)
{
    (void)state;
    fake_dataset fake;
    fake_init(&fake, UNLABELED_COUNT);
    simclr_error err = {0};
    size_t *a = NULL, *b = NULL, *c = NULL, count = 0;
    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 5, 42, &a, &count, &err), 0);
    assert_int_equal(count, 15);
    int per_class[3] = {0};
    for (size_t i = 0; i < count; i++) {
        assert_true(a[i] < TRAIN_COUNT);
        if (i) assert_true(a[i - 1] < a[i]); /* sorted and distinct */
        per_class[fake.labels[a[i]]]++;
    }
    assert_int_equal(per_class[0], 5);
    assert_int_equal(per_class[1], 5);
    assert_int_equal(per_class[2], 5);

    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 5, 42, &b, &count, &err), 0);
    assert_memory_equal(a, b, 15 * sizeof(size_t));
    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 5, 43, &c, &count, &err), 0);
    assert_memory_not_equal(a, c, 15 * sizeof(size_t));
    free(a);
    free(b);
    free(c);

    /* Class 2 has only 8 images. */
    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 9, 42, &a, &count, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, "--labeled-per-class"));
    assert_non_null(strstr(err.message, "two"));
    assert_null(a);

    /* per_class 8 takes every image of class 2. */
    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 8, 1, &a, &count, &err), 0);
    assert_int_equal(count, 24);
    free(a);

    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 0, 42, &a, &count, &err), 0);
    assert_int_equal(count, TRAIN_COUNT);
    for (size_t i = 0; i < count; i++) assert_int_equal(a[i], i);
    free(a);
}

static void test_steps_cover_each_index_once_per_epoch(void **state)
{
    (void)state;
    fake_dataset fake;
    fake_init(&fake, UNLABELED_COUNT);
    simclr_error err = {0};
    size_t *subset = NULL, labeled_count = 0;
    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 5, 7, &subset, &labeled_count, &err), 0);
    simclr_sampler_config config = {.unlabeled_batch = 8, .labeled_batch = 3, .steps_per_epoch = 0,
                             .seed = 7};
    simclr_sampler s;
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, labeled_count, &config, &err), 0);
    assert_int_equal(s.steps_per_epoch, (40 + 15) / 11);
    assert_int_equal(s.unlabeled_split, SIMCLR_DATASET_SPLIT_UNLABELED);
    size_t epoch0[5][8];
    for (int64_t epoch = 0; epoch < 3; epoch++) {
        int seen_unlabeled[UNLABELED_COUNT] = {0};
        int seen_labeled[TRAIN_COUNT] = {0};
        for (int64_t step = 0; step < 5; step++) {
            size_t unlabeled[8], labeled[3];
            simclr_sampler_batch(&s, epoch, step, unlabeled, labeled);
            for (int k = 0; k < 8; k++) {
                assert_true(unlabeled[k] < UNLABELED_COUNT);
                seen_unlabeled[unlabeled[k]]++;
            }
            for (int k = 0; k < 3; k++) {
                assert_true(labeled[k] < TRAIN_COUNT);
                seen_labeled[labeled[k]]++;
            }
            if (epoch == 0) memcpy(epoch0[step], unlabeled, sizeof unlabeled);
            else if (epoch == 1 && step == 0)
                assert_memory_not_equal(epoch0[0], unlabeled, sizeof unlabeled);
        }
        for (int i = 0; i < UNLABELED_COUNT; i++) assert_int_equal(seen_unlabeled[i], 1);
        for (size_t i = 0; i < labeled_count; i++) {
            assert_int_equal(seen_labeled[subset[i]], 1);
            seen_labeled[subset[i]] = 0;
        }
        for (int i = 0; i < TRAIN_COUNT; i++) assert_int_equal(seen_labeled[i], 0);
    }

    /* A pure function of (seed, epoch, step): a fresh sampler asked out of order agrees. */
    simclr_sampler t;
    assert_int_equal(simclr_sampler_init(&t, &fake.ds, subset, labeled_count, &config, &err), 0);
    size_t again[8], labeled_again[3], labeled_first[3];
    simclr_sampler_batch(&t, 0, 3, again, NULL);
    assert_memory_equal(again, epoch0[3], sizeof again);
    simclr_sampler_batch(&t, 2, 1, NULL, labeled_again);
    simclr_sampler_batch(&s, 2, 1, NULL, labeled_first);
    assert_memory_equal(labeled_again, labeled_first, sizeof labeled_first);
    simclr_sampler_batch(&t, 0, 0, again, NULL);
    assert_memory_equal(again, epoch0[0], sizeof again);

    /* Another seed, another order. */
    simclr_sampler u;
    config.seed = 8;
    assert_int_equal(simclr_sampler_init(&u, &fake.ds, subset, labeled_count, &config, &err), 0);
    simclr_sampler_batch(&u, 0, 0, again, NULL);
    assert_memory_not_equal(again, epoch0[0], sizeof again);
    simclr_sampler_free(&s);
    simclr_sampler_free(&t);
    simclr_sampler_free(&u);
    free(subset);
}

static void test_short_stream_wraps_into_new_pass(void **state)
{
    (void)state;
    fake_dataset fake;
    fake_init(&fake, 10);
    simclr_error err = {0};
    size_t subset[4] = {1, 2, 3, 4};
    simclr_sampler_config config = {.unlabeled_batch = 4, .labeled_batch = 3, .steps_per_epoch = 5,
                             .seed = 3};
    simclr_sampler s;
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, 4, &config, &err), 0);
    size_t stream[20], labeled_stream[15];
    for (int64_t step = 0; step < 5; step++)
        simclr_sampler_batch(&s, 1, step, stream + step * 4, labeled_stream + step * 3);
    /* 20 draws over 10 images: two passes, each a permutation, and not the same one. */
    for (int pass = 0; pass < 2; pass++) {
        int seen[10] = {0};
        for (int k = 0; k < 10; k++) seen[stream[pass * 10 + k]]++;
        for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);
    }
    assert_memory_not_equal(stream, stream + 10, 10 * sizeof(size_t));
    /* 15 labeled draws over 4: passes of 4, the last one partial. */
    for (int pass = 0; pass < 3; pass++) {
        int seen[5] = {0};
        for (int k = 0; k < 4; k++) seen[labeled_stream[pass * 4 + k]]++;
        for (int i = 1; i < 5; i++) assert_int_equal(seen[i], 1);
    }
    simclr_sampler_free(&s);
}

static void test_train_serves_as_unlabeled_when_absent(void **state)
{
    (void)state;
    fake_dataset fake;
    fake_init(&fake, 0);
    simclr_error err = {0};
    size_t subset[2] = {0, 5};
    simclr_sampler_config config = {.unlabeled_batch = 6, .labeled_batch = 2, .seed = 1};
    simclr_sampler s;
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, 2, &config, &err), 0);
    assert_int_equal(s.unlabeled_split, SIMCLR_DATASET_SPLIT_TRAIN);
    assert_int_equal(s.unlabeled_count, TRAIN_COUNT);
    assert_int_equal(s.steps_per_epoch, (30 + 2) / 8);
    size_t unlabeled[6];
    simclr_sampler_batch(&s, 0, 0, unlabeled, NULL);
    for (int k = 0; k < 6; k++) assert_true(unlabeled[k] < TRAIN_COUNT);
    simclr_sampler_free(&s);
}

static void test_labeled_only_partial_last_batch(void **state)
{
    (void)state;
    fake_dataset fake;
    fake_init(&fake, UNLABELED_COUNT);
    simclr_error err = {0};
    size_t *subset = NULL, labeled_count = 0;
    assert_int_equal(simclr_sampler_labeled_subset(&fake.ds, 5, 11, &subset, &labeled_count, &err), 0);
    simclr_sampler_config config = {.unlabeled_batch = 8, .labeled_batch = 3, .seed = 11};
    simclr_sampler s;
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, labeled_count, &config, &err), 0);
    assert_int_equal(simclr_sampler_labeled_steps(&s, 4), 4);
    assert_int_equal(simclr_sampler_labeled_steps(&s, 5), 3);
    assert_int_equal(simclr_sampler_labeled_steps(&s, 100), 1);
    size_t order[2][15];
    for (int64_t epoch = 0; epoch < 2; epoch++) {
        int seen[TRAIN_COUNT] = {0};
        size_t written = 0;
        for (int64_t step = 0; step < 4; step++) {
            size_t batch[4];
            size_t n = simclr_sampler_labeled_batch(&s, epoch, step, 4, batch);
            assert_int_equal(n, step < 3 ? 4 : 3);
            for (size_t k = 0; k < n; k++) {
                seen[batch[k]]++;
                order[epoch][written++] = batch[k];
            }
        }
        assert_int_equal(written, 15);
        for (size_t i = 0; i < labeled_count; i++) assert_int_equal(seen[subset[i]], 1);
        size_t batch[4];
        assert_int_equal(simclr_sampler_labeled_batch(&s, epoch, 4, 4, batch), 0);
    }
    assert_memory_not_equal(order[0], order[1], sizeof order[0]);
    /* Reproducible, and interleaving with zipped batches does not disturb it. */
    size_t unlabeled[8], labeled[3], batch[4];
    simclr_sampler_batch(&s, 0, 0, unlabeled, labeled);
    assert_int_equal(simclr_sampler_labeled_batch(&s, 1, 2, 4, batch), 4);
    assert_memory_equal(batch, order[1] + 8, 4 * sizeof(size_t));
    simclr_sampler_free(&s);
    free(subset);
}

static void test_init_rejects_bad_config(void **state)
{
    (void)state;
    fake_dataset fake;
    fake_init(&fake, UNLABELED_COUNT);
    simclr_error err = {0};
    size_t subset[2] = {0, 1};
    simclr_sampler s;
    simclr_sampler_config config = {.unlabeled_batch = 0, .labeled_batch = 2, .seed = 1};
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, 2, &config, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    config.unlabeled_batch = 4;
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, 0, &config, &err), -1);
    size_t bad[1] = {TRAIN_COUNT};
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, bad, 1, &config, &err), -1);
    fake_init(&fake, 0);
    fake.ds.splits[SIMCLR_DATASET_SPLIT_TRAIN].count = 0;
    assert_int_equal(simclr_sampler_init(&s, &fake.ds, subset, 2, &config, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subset_is_balanced_and_seeded),
        cmocka_unit_test(test_steps_cover_each_index_once_per_epoch),
        cmocka_unit_test(test_short_stream_wraps_into_new_pass),
        cmocka_unit_test(test_train_serves_as_unlabeled_when_absent),
        cmocka_unit_test(test_labeled_only_partial_last_batch),
        cmocka_unit_test(test_init_rejects_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
