/*
 * Fuzzes the STL-10 reader (src/data/stl10.c) through simclr_dataset_open.
 *
 * The input describes the dataset's files compactly, so that a few bytes make a valid dataset
 * (images are 27648 bytes, so their pixels are zeros and only their count and size come from the
 * input; the pixels do not steer the reader):
 *   u8 flags        bit 0: unlabeled_X.bin, bit 1: class_names.txt, bit 2: fold_indices.txt,
 *                   bit 3: the files inside stl10_binary/ rather than the directory itself
 *   u8 fold         --stl10-fold = fold % 14 - 2 (-2..11, out-of-range values included)
 *   train_X, test_X, then unlabeled_X when present:
 *                   u8 images (% 4), i8 size change: a file of images * 27648 + change bytes
 *   train_y, test_y: u8 n, then n label bytes
 *   class_names.txt, fold_indices.txt when present: u16 n, then n bytes
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"
#include "fuzz_dataset.h"
#include "simclr/dataset.h"

enum { FUZZ_STL10_IMAGE_BYTES = 96 * 96 * 3 };

/* An images file of u8 images (% 4) * 27648 + i8 change bytes, all zero. */
static void fuzz_stl10_images(fuzz_input *in, const char *dir, const char *name)
{
    long images = fuzz_u8(in) % 4;
    long change = (int8_t)fuzz_u8(in);
    long total = images * FUZZ_STL10_IMAGE_BYTES + change;
    fuzz_write_file(dir, name, NULL, 0, total > 0 ? (size_t)total : 0);
}

/* A file of u8 n (or u16 n when wide) bytes taken from the input. */
static void fuzz_stl10_bytes(fuzz_input *in, const char *dir, const char *name, int wide)
{
    size_t want = wide ? fuzz_u16(in) : fuzz_u8(in), got = 0;
    const uint8_t *bytes = fuzz_take(in, want, &got);
    fuzz_write_file(dir, name, bytes, got, got);
}

int fuzz_stl10_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t flags = fuzz_u8(&in);
    int fold = fuzz_u8(&in) % 14 - 2;

    char root[512], nested[600];
    fuzz_fresh_dir("stl10", root, sizeof root);
    const char *dir = root;
    if (flags & 8) {
        snprintf(nested, sizeof nested, "%s/stl10_binary", root);
        if (mkdir(nested, 0700) != 0) return 0;
        dir = nested;
    }
    fuzz_stl10_images(&in, dir, "train_X.bin");
    fuzz_stl10_images(&in, dir, "test_X.bin");
    if (flags & 1) fuzz_stl10_images(&in, dir, "unlabeled_X.bin");
    fuzz_stl10_bytes(&in, dir, "train_y.bin", 0);
    fuzz_stl10_bytes(&in, dir, "test_y.bin", 0);
    if (flags & 2) fuzz_stl10_bytes(&in, dir, "class_names.txt", 1);
    if (flags & 4) fuzz_stl10_bytes(&in, dir, "fold_indices.txt", 1);

    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_STL10;
    options.stl10_fold = fold;
    return fuzz_open_dataset(&options, root, 96, 96, 3);
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_stl10_one(data, size);
    return 0;
}
#endif
