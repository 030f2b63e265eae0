/* The decoder pool of streamed folder datasets (issue 25, src/data/image_prefetch.c): what a
 * request names is decoded by the pool's threads and copied by the reads, unchanged; what it has
 * not started, failed or was never asked for is left to the reader; a ring of two requests' slots
 * is reused without mixing images; and a streamed dataset reads the same pixels with a pool as
 * without one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data/image_prefetch.h"
#include "simclr/dataset.h"
#include "simclr/image_io.h"
#include "test_support.h"

enum { BYTES = 48 };

/* A decoder whose output says which image it is; it counts its calls, fails for the index `fails`
 * and, while `gate_closed`, waits before decoding. */
typedef struct fake_decoder {
    pthread_mutex_t lock;
    pthread_cond_t opened;
    int gate_closed;
    size_t entered; /* calls begun, also those waiting at the gate */
    size_t calls;
    size_t fails;
} fake_decoder;

static uint8_t fake_value(simclr_dataset_split_id split, size_t index, size_t byte)
{
    return (uint8_t)(split * 101 + index * 7 + byte * 13 + 1);
}

static int fake_decode(void *context, simclr_dataset_split_id split, size_t index, uint8_t *out)
{
    fake_decoder *fake = context;
    pthread_mutex_lock(&fake->lock);
    fake->entered++;
    while (fake->gate_closed) pthread_cond_wait(&fake->opened, &fake->lock);
    fake->calls++;
    pthread_mutex_unlock(&fake->lock);
    if (index == fake->fails) return -1;
    for (size_t b = 0; b < BYTES; b++) out[b] = fake_value(split, index, b);
    return 0;
}

static size_t fake_calls(fake_decoder *fake)
{
    pthread_mutex_lock(&fake->lock);
    size_t calls = fake->calls;
    pthread_mutex_unlock(&fake->lock);
    return calls;
}

/* Waits (at most 20 s) until the decoder has been called `calls` times. */
static void wait_for_calls(fake_decoder *fake, size_t calls)
{
    for (int i = 0; i < 20000 && fake_calls(fake) < calls; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(fake_calls(fake), calls);
}

static void expect_image(simclr_dataset_split_id split, size_t index, const uint8_t *pixels)
{
    for (size_t b = 0; b < BYTES; b++)
        if (pixels[b] != fake_value(split, index, b))
            fail_msg("image %zu of split %d: byte %zu is %d, expected %d", index, (int)split, b, pixels[b],
                     fake_value(split, index, b));
}

static void fake_init(fake_decoder *fake)
{
    memset(fake, 0, sizeof *fake);
    pthread_mutex_init(&fake->lock, NULL);
    pthread_cond_init(&fake->opened, NULL);
    fake->fails = (size_t)-1;
}

static void test_requested_images_are_decoded_ahead(void **state)
{
    (void)state;
    fake_decoder fake;
    fake_init(&fake);
    fake.fails = 4;
    image_prefetch *pool = simclr_image_prefetch_new(3, BYTES, fake_decode, &fake);
    assert_non_null(pool);
    size_t unlabeled[5] = {9, 2, 4, 7, 0}, train[2] = {4, 5};
    simclr_dataset_images groups[2] = {{SIMCLR_DATASET_SPLIT_UNLABELED, unlabeled, 5},
                                       {SIMCLR_DATASET_SPLIT_TRAIN, train, 2}};
    simclr_image_prefetch_request(pool, groups, 2);
    wait_for_calls(&fake, 7); /* every image decoded by the pool, none by a read */
    uint8_t pixels[BYTES];
    for (int i = 0; i < 5; i++) {
        int held = simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_UNLABELED, unlabeled[i], pixels);
        if (unlabeled[i] == 4) {
            assert_int_equal(held, 0); /* failed in the pool: the reader decodes it and reports it */
            continue;
        }
        assert_int_equal(held, 1);
        expect_image(SIMCLR_DATASET_SPLIT_UNLABELED, unlabeled[i], pixels);
    }
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TRAIN, 5, pixels), 1);
    expect_image(SIMCLR_DATASET_SPLIT_TRAIN, 5, pixels);
    /* The same index in another split, or one never asked for, is not held. */
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TEST, 9, pixels), 0);
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_UNLABELED, 3, pixels), 0);
    /* Read twice: still held until a later request reuses its slot. */
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_UNLABELED, 9, pixels), 1);
    expect_image(SIMCLR_DATASET_SPLIT_UNLABELED, 9, pixels);
    size_t hits = 0, misses = 0;
    simclr_image_prefetch_counts(pool, &hits, &misses);
    assert_int_equal(hits, 6);
    assert_int_equal(misses, 3);
    assert_int_equal(fake_calls(&fake), 7);
    simclr_image_prefetch_free(pool);
}

static void test_images_not_started_are_left_to_the_reader(void **state)
{
    (void)state;
    fake_decoder fake;
    fake_init(&fake);
    fake.gate_closed = 1; /* the pool's one thread takes the first image and waits */
    image_prefetch *pool = simclr_image_prefetch_new(1, BYTES, fake_decode, &fake);
    assert_non_null(pool);
    size_t first[4] = {10, 11, 12, 13};
    simclr_dataset_images request = {SIMCLR_DATASET_SPLIT_TRAIN, first, 4};
    simclr_image_prefetch_request(pool, &request, 1);
    for (int i = 0; i < 20000; i++) { /* the thread has taken image 10 and waits at the gate */
        pthread_mutex_lock(&fake.lock);
        size_t entered = fake.entered;
        pthread_mutex_unlock(&fake.lock);
        if (entered == 1) break;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    uint8_t pixels[BYTES];
    /* Not started: the reader takes it (the pool will not decode it). */
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TRAIN, 13, pixels), 0);
    /* A new request drops what the last one queued and no thread started (11, 12). */
    size_t second[2] = {20, 21};
    request.indices = second;
    request.count = 2;
    simclr_image_prefetch_request(pool, &request, 1);
    pthread_mutex_lock(&fake.lock);
    fake.gate_closed = 0;
    pthread_cond_broadcast(&fake.opened);
    pthread_mutex_unlock(&fake.lock);
    /* Image 10 (being decoded when the gate opened) and the second request's two: three calls. */
    wait_for_calls(&fake, 3);
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TRAIN, 21, pixels), 1);
    expect_image(SIMCLR_DATASET_SPLIT_TRAIN, 21, pixels);
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TRAIN, 10, pixels), 1);
    expect_image(SIMCLR_DATASET_SPLIT_TRAIN, 10, pixels);
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TRAIN, 11, pixels), 0);
    assert_int_equal(simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_TRAIN, 12, pixels), 0);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    assert_int_equal(fake_calls(&fake), 3);
    simclr_image_prefetch_free(pool);
}

/* Many requests of varying sizes through a ring sized by the largest (it grows once), each read
 * while the pool may still be decoding it: every image the right one. */
static void test_ring_reuse_under_load(void **state)
{
    (void)state;
    fake_decoder fake;
    fake_init(&fake);
    image_prefetch *pool = simclr_image_prefetch_new(2, BYTES, fake_decode, &fake);
    assert_non_null(pool);
    size_t indices[40];
    uint8_t pixels[BYTES];
    size_t next[40];
    size_t next_count = 0;
    for (int round = 0; round < 200; round++) {
        /* Read what the previous request asked for (some of it still queued or decoding). */
        for (size_t i = 0; i < next_count; i++) {
            if (!simclr_image_prefetch_take(pool, SIMCLR_DATASET_SPLIT_UNLABELED, next[i], pixels))
                fake_decode(&fake, SIMCLR_DATASET_SPLIT_UNLABELED, next[i], pixels);
            expect_image(SIMCLR_DATASET_SPLIT_UNLABELED, next[i], pixels);
        }
        next_count = (size_t)(round % 7 == 0 ? 40 : 5 + round % 30);
        for (size_t i = 0; i < next_count; i++) indices[i] = next[i] = (size_t)((round * 31 + (int)i * 17) % 97);
        simclr_dataset_images request = {SIMCLR_DATASET_SPLIT_UNLABELED, indices, next_count};
        simclr_image_prefetch_request(pool, &request, 1);
    }
    size_t hits = 0, misses = 0;
    simclr_image_prefetch_counts(pool, &hits, &misses);
    /* How many came from the pool depends on the scheduler (the pool's threads run at the lowest
     * priority): this test asserts that every image read was the right one, whoever decoded it
     * (test_requested_images_are_decoded_ahead shows the pool decoding ahead). */
    printf("  200 requests: %zu reads from the pool, %zu decoded by the reader\n", hits, misses);
    simclr_image_prefetch_free(pool);
    /* A pool freed with work queued and one never started are both fine. */
    pool = simclr_image_prefetch_new(2, BYTES, fake_decode, &fake);
    simclr_dataset_images request = {SIMCLR_DATASET_SPLIT_UNLABELED, indices, 40};
    simclr_image_prefetch_request(pool, &request, 1);
    simclr_image_prefetch_free(pool);
    simclr_image_prefetch_free(simclr_image_prefetch_new(4, BYTES, fake_decode, &fake));
    assert_null(simclr_image_prefetch_new(0, BYTES, fake_decode, &fake));
}

/* A streamed folder of PNGs: read with a pool of decoder threads, after a prefetch, the pixels
 * are those read without one, bit for bit, and they came from the pool. */
static void test_streamed_dataset_reads_the_same_pixels(void **state)
{
    (void)state;
    char *root = test_make_temp_dir();
    char path[1100];
    enum { IMAGES = 12, SIDE = 40 };
    snprintf(path, sizeof path, "%s/unlabeled", root);
    assert_int_equal(mkdir(path, 0755), 0);
    uint8_t *image = malloc(SIDE * SIDE * 3);
    simclr_error err = {0};
    for (int i = 0; i < IMAGES; i++) {
        for (int p = 0; p < SIDE * SIDE * 3; p++) image[p] = (uint8_t)((p * 7 + i * 53 + (p / 97) * 11) % 256);
        snprintf(path, sizeof path, "%s/unlabeled/%02d.png", root, i);
        if (simclr_image_write_png(path, image, SIDE, SIDE, 3, &err) != 0) fail_msg("%s", err.message);
    }
    free(image);
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = root;
    options.image_size = 24; /* resized on read */
    options.defer_pixels = 1;
    simclr_dataset direct, pooled;
    if (simclr_dataset_open(&direct, &options, &err) != 0 || simclr_dataset_open(&pooled, &options, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(simclr_dataset_choose_storage(&direct, 0), 1);
    assert_int_equal(simclr_dataset_choose_storage(&pooled, 0), 1);
    simclr_dataset_set_decode_threads(&pooled, 2);
    assert_int_equal(simclr_dataset_decode_threads(&pooled), 2);
    assert_int_equal(simclr_dataset_decode_threads(&direct), 0);
    size_t bytes = simclr_dataset_image_bytes(&direct);
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    size_t order[IMAGES];
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < IMAGES; i++) order[i] = (size_t)((i * 5 + pass * 3) % IMAGES);
        simclr_dataset_images request = {SIMCLR_DATASET_SPLIT_UNLABELED, order, IMAGES};
        simclr_dataset_prefetch(&pooled, &request, 1);
        simclr_dataset_prefetch(&direct, &request, 1); /* no pool: nothing happens */
        nanosleep(&(struct timespec){0, 300000000}, NULL); /* the pool's threads run at the lowest priority */
        for (int i = 0; i < IMAGES; i++) {
            simclr_dataset_read_image(&direct, SIMCLR_DATASET_SPLIT_UNLABELED, order[i], a);
            simclr_dataset_read_image(&pooled, SIMCLR_DATASET_SPLIT_UNLABELED, order[i], b);
            assert_memory_equal(a, b, bytes);
        }
    }
    if (simclr_dataset_check_reads(&pooled, &err) != 0) fail_msg("%s", err.message);
    size_t prefetched = 0, when_read = 0;
    simclr_dataset_decode_counts(&pooled, &prefetched, &when_read);
    printf("  %zu reads from the pool, %zu decoded when read\n", prefetched, when_read);
    assert_int_equal(prefetched + when_read, 3 * IMAGES);
    assert_true(prefetched > 0);
    simclr_dataset_decode_counts(&direct, &prefetched, &when_read);
    assert_int_equal(prefetched + when_read, 0);
    free(a);
    free(b);
    simclr_dataset_close(&direct);
    simclr_dataset_close(&pooled);
    test_remove_tree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requested_images_are_decoded_ahead),
        cmocka_unit_test(test_images_not_started_are_left_to_the_reader),
        cmocka_unit_test(test_ring_reuse_under_load),
        cmocka_unit_test(test_streamed_dataset_reads_the_same_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
