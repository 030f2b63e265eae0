#ifndef SIMCLR_DATA_IMAGE_PREFETCH_H
#define SIMCLR_DATA_IMAGE_PREFETCH_H
/*
 * Private to src/data: the decoder pool of a streamed folder dataset (issue 25). Background
 * threads decode the images a request names (the next batch) into a ring of slots while the
 * caller's step computes; a later read of one of them copies it from its slot. Holds at most two
 * requests' images (the batch being read and the next one), whatever the dataset's size. The
 * pixels are those a direct decode gives, bit for bit: a pool changes when an image is decoded,
 * never what it holds.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"

/* Decodes image `index` of `split` into out (image_bytes); 0 when it could be decoded. */
typedef int (*image_prefetch_decode)(void *context, simclr_dataset_split_id split, size_t index, uint8_t *out);

typedef struct image_prefetch image_prefetch;

/* A pool of `threads` (>= 1) decoder threads for images of image_bytes; NULL when the threads or
 * memory could not be had (the caller then decodes every image itself). The threads start with
 * the first request and run at the lowest scheduling priority: they take the time the step
 * leaves idle. */
image_prefetch *simclr_image_prefetch_new(int threads, size_t image_bytes, image_prefetch_decode decode,
                                          void *context);
/* Stops and joins the threads, frees the slots. NULL is fine. */
void simclr_image_prefetch_free(image_prefetch *pool);

/* Queues the groups' images for decoding, in order; what an earlier request queued and no thread
 * has started is dropped. Not to be called while reads (simclr_image_prefetch_take) run. */
void simclr_image_prefetch_request(image_prefetch *pool, const simclr_dataset_images *groups, int group_count);

/* Copies image `index` of `split` into out and returns 1 when the pool holds it (waiting for a
 * thread that is decoding it); 0 when it does not, or has not started it (the caller decodes it:
 * an image that failed in the pool is decoded again by the caller, whose failure is the one
 * reported). Thread-safe. */
int simclr_image_prefetch_take(image_prefetch *pool, simclr_dataset_split_id split, size_t index, uint8_t *out);

/* Counts since the pool was made: images copied from a slot, and reads the pool did not hold. */
void simclr_image_prefetch_counts(const image_prefetch *pool, size_t *hits, size_t *misses);

#endif
