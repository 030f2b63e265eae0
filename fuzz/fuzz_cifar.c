/*
 * Fuzzes the CIFAR-10 and CIFAR-100 readers (src/data/cifar.c) through simclr_dataset_open.
 *
 * The input describes the files; pixels are zeros (they do not steer the reader), the label bytes
 * and the sizes come from the input:
 *   u8 flags   bit 0: CIFAR-100 (else CIFAR-10), bit 1: --cifar100-coarse, bit 2: the class
 *              names file, bit 3: files inside cifar-10-batches-bin/ or cifar-100-binary/
 *   per record file (CIFAR-10: data_batch_1..5.bin, test_batch.bin; CIFAR-100: train.bin,
 *   test.bin):  u8 records (% 4), i8 size change, then the label byte(s) of each record
 *              (1 for CIFAR-10, 2 for CIFAR-100); the file is records * record size + change bytes
 *   names file (batches.meta.txt, coarse_label_names.txt or fine_label_names.txt):
 *              u16 n, then n bytes
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_dataset.h"
#include "simclr/dataset.h"

enum { FUZZ_CIFAR_PIXELS = 32 * 32 * 3 };

static void fuzz_cifar_records(fuzz_input *in, const char *dir, const char *name, int label_bytes)
{
    size_t record = (size_t)label_bytes + FUZZ_CIFAR_PIXELS;
    size_t records = fuzz_u8(in) % 4;
    long change = (int8_t)fuzz_u8(in);
    long total = (long)(records * record) + change;
    size_t size = total > 0 ? (size_t)total : 0;
    uint8_t *bytes = calloc(size ? size : 1, 1);
    if (!bytes) return;
    for (size_t r = 0; r < records; r++)
        for (int b = 0; b < label_bytes; b++) {
            uint8_t label = fuzz_u8(in);
            if (r * record + (size_t)b < size) bytes[r * record + (size_t)b] = label;
        }
    fuzz_write_file(dir, name, bytes, size, size);
    free(bytes);
}

int fuzz_cifar_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t flags = fuzz_u8(&in);
    int cifar100 = flags & 1, coarse = (flags >> 1) & 1;

    char root[512], nested[600];
    fuzz_fresh_dir("cifar", root, sizeof root);
    const char *dir = root;
    if (flags & 8) {
        snprintf(nested, sizeof nested, "%s/%s", root,
                 cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin");
        if (mkdir(nested, 0700) != 0) return 0;
        dir = nested;
    }
    if (cifar100) {
        fuzz_cifar_records(&in, dir, "train.bin", 2);
        fuzz_cifar_records(&in, dir, "test.bin", 2);
    } else {
        for (int f = 1; f <= 5; f++) {
            char name[32];
            snprintf(name, sizeof name, "data_batch_%d.bin", f);
            fuzz_cifar_records(&in, dir, name, 1);
        }
        fuzz_cifar_records(&in, dir, "test_batch.bin", 1);
    }
    if (flags & 4) {
        const char *names = !cifar100 ? "batches.meta.txt"
                            : coarse  ? "coarse_label_names.txt"
                                      : "fine_label_names.txt";
        size_t got = 0;
        const uint8_t *bytes = fuzz_take(&in, fuzz_u16(&in), &got);
        fuzz_write_file(dir, names, bytes, got, got);
    }

    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = cifar100 ? SIMCLR_DATASET_KIND_CIFAR100 : SIMCLR_DATASET_KIND_CIFAR10;
    options.cifar100_coarse = coarse;
    return fuzz_open_dataset(&options, root, 32, 32, 3);
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cifar_one(data, size);
    return 0;
}
#endif
