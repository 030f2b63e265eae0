/* The decoder pool of a streamed folder dataset (issue 25): a ring of image slots that background
 * threads fill in request order, and the reads that copy from it. One mutex guards every slot's
 * state; a slot's pixels belong to the thread that set it DECODING until it leaves that state. */
#define _GNU_SOURCE
#include "data/image_prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { SLOT_EMPTY, SLOT_QUEUED, SLOT_DECODING, SLOT_READY };

typedef struct prefetch_slot {
    simclr_dataset_split_id split;
    size_t index;
    int state;
} prefetch_slot;

struct image_prefetch {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* a slot was queued, or stop */
    pthread_cond_t settled; /* a slot left DECODING */
    pthread_t *threads;
    int thread_count, started, stop;
    size_t image_bytes;
    image_prefetch_decode decode;
    void *context;
    prefetch_slot *slots;
    uint8_t *pixels; /* capacity x image_bytes */
    size_t capacity;
    size_t next_slot;                      /* where the next request's first image goes */
    size_t request_first, request_count;   /* the latest request's slots, in the ring */
    size_t request_scanned;                /* how many of them a thread has looked at */
    size_t decoding;                       /* slots in SLOT_DECODING */
    size_t hits, misses;
};

static uint8_t *slot_pixels(image_prefetch *pool, size_t slot) { return pool->pixels + slot * pool->image_bytes; }

static void *decoder_main(void *argument)
{
    image_prefetch *pool = argument;
    /* The lowest priority: the pool takes the cores the step leaves idle, and the step's own
     * threads keep theirs (a read the pool has not started is decoded by the reader). */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    pthread_mutex_lock(&pool->lock);
    while (!pool->stop) {
        size_t slot = pool->capacity;
        while (pool->request_scanned < pool->request_count) {
            size_t candidate = (pool->request_first + pool->request_scanned++) % pool->capacity;
            if (pool->slots[candidate].state == SLOT_QUEUED) {
                slot = candidate;
                break;
            }
        }
        if (slot == pool->capacity) {
            pthread_cond_wait(&pool->work, &pool->lock);
            continue;
        }
        prefetch_slot *s = &pool->slots[slot];
        s->state = SLOT_DECODING;
        pool->decoding++;
        simclr_dataset_split_id split = s->split;
        size_t index = s->index;
        pthread_mutex_unlock(&pool->lock);
        int ok = pool->decode(pool->context, split, index, slot_pixels(pool, slot)) == 0;
        pthread_mutex_lock(&pool->lock);
        s->state = ok ? SLOT_READY : SLOT_EMPTY; /* a failure: the reader decodes it and reports it */
        pool->decoding--;
        pthread_cond_broadcast(&pool->settled);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

image_prefetch *simclr_image_prefetch_new(int threads, size_t image_bytes, image_prefetch_decode decode,
                                          void *context)
{
    if (threads < 1 || image_bytes == 0) return NULL;
    image_prefetch *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = calloc((size_t)threads, sizeof *pool->threads);
    if (!pool->threads || pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool->threads);
        free(pool);
        return NULL;
    }
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->settled, NULL);
    pool->thread_count = threads;
    pool->image_bytes = image_bytes;
    pool->decode = decode;
    pool->context = context;
    return pool;
}

void simclr_image_prefetch_free(image_prefetch *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->started; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->settled);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool->slots);
    free(pool->pixels);
    free(pool);
}

/* Room for two requests of `count` images (the lock held, nothing DECODING); 0 when it is there. */
static int ensure_capacity(image_prefetch *pool, size_t count)
{
    if (2 * count <= pool->capacity) return 0;
    size_t capacity = 2 * count;
    prefetch_slot *slots = calloc(capacity, sizeof *slots);
    uint8_t *pixels = malloc(capacity * pool->image_bytes);
    if (!slots || !pixels) {
        free(slots);
        free(pixels);
        return -1;
    }
    free(pool->slots);
    free(pool->pixels);
    pool->slots = slots;
    pool->pixels = pixels;
    pool->capacity = capacity;
    pool->next_slot = pool->request_first = pool->request_count = pool->request_scanned = 0;
    return 0;
}

void simclr_image_prefetch_request(image_prefetch *pool, const simclr_dataset_images *groups, int group_count)
{
    if (!pool) return;
    size_t count = 0;
    for (int g = 0; g < group_count; g++) count += groups[g].count;
    pthread_mutex_lock(&pool->lock);
    /* What the last request queued and no thread started is not needed any more. */
    for (size_t i = 0; i < pool->capacity; i++)
        if (pool->slots[i].state == SLOT_QUEUED) pool->slots[i].state = SLOT_EMPTY;
    pool->request_count = pool->request_scanned = 0;
    if (2 * count > pool->capacity) {
        while (pool->decoding > 0) pthread_cond_wait(&pool->settled, &pool->lock);
        if (ensure_capacity(pool, count) != 0) { /* no memory for the ring: the reads decode */
            pthread_mutex_unlock(&pool->lock);
            return;
        }
    }
    while (pool->started < pool->thread_count &&
           pthread_create(&pool->threads[pool->started], NULL, decoder_main, pool) == 0)
        pool->started++;
    pool->request_first = pool->next_slot;
    for (int g = 0; g < group_count; g++)
        for (size_t i = 0; i < groups[g].count; i++) {
            size_t slot = pool->next_slot;
            while (pool->slots[slot].state == SLOT_DECODING) pthread_cond_wait(&pool->settled, &pool->lock);
            pool->slots[slot] = (prefetch_slot){groups[g].split, groups[g].indices[i], SLOT_QUEUED};
            pool->next_slot = (slot + 1) % pool->capacity;
        }
    pool->request_count = count;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
}

int simclr_image_prefetch_take(image_prefetch *pool, simclr_dataset_split_id split, size_t index, uint8_t *out)
{
    if (!pool) return 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        size_t found = pool->capacity;
        for (size_t i = 0; i < pool->capacity; i++) {
            const prefetch_slot *s = &pool->slots[i];
            if (s->state == SLOT_EMPTY || s->index != index || s->split != split) continue;
            found = i;
            if (s->state == SLOT_READY) break; /* the best of several copies */
        }
        if (found == pool->capacity) break;
        prefetch_slot *s = &pool->slots[found];
        if (s->state == SLOT_DECODING) { /* almost done: wait for it rather than decode it twice */
            pthread_cond_wait(&pool->settled, &pool->lock);
            continue;
        }
        if (s->state == SLOT_QUEUED) { /* not started: the reader decodes it now */
            s->state = SLOT_EMPTY;
            break;
        }
        memcpy(out, slot_pixels(pool, found), pool->image_bytes);
        pool->hits++;
        pthread_mutex_unlock(&pool->lock);
        return 1;
    }
    pool->misses++;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void simclr_image_prefetch_counts(const image_prefetch *pool, size_t *hits, size_t *misses)
{
    *hits = pool ? pool->hits : 0;
    *misses = pool ? pool->misses : 0;
}
