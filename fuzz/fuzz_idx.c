/*
 * Fuzzes the MNIST / Fashion-MNIST IDX reader (src/data/idx.c), raw and gzipped, through
 * simclr_dataset_open.
 *
 * Input:
 *   u8 flags   bit 0: fashion-mnist (else mnist)
 *   then for train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 *   t10k-labels-idx1-ubyte in turn:
 *     u8 mode  % 4: 0 = the bytes as <name>; 1 = the bytes gzip-compressed (by this harness) as
 *              <name>.gz; 2 = the bytes as they are as <name>.gz (a corrupt or non-gzip stream:
 *              zlib reads non-gzip files transparently); 3 = no file
 *     u16 n, then n bytes: the file's content (header and payload)
 */
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "fuzz_dataset.h"
#include "simclr/dataset.h"

static void fuzz_idx_file(fuzz_input *in, const char *dir, const char *base)
{
    int mode = fuzz_u8(in) % 4;
    size_t got = 0;
    const uint8_t *bytes = fuzz_take(in, fuzz_u16(in), &got);
    char name[128];
    snprintf(name, sizeof name, "%s%s", base, mode == 1 || mode == 2 ? ".gz" : "");
    if (mode == 0 || mode == 2) {
        fuzz_write_file(dir, name, bytes, got, got);
    } else if (mode == 1) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        gzFile file = gzopen(path, "wb");
        if (!file) return;
        if (got) gzwrite(file, bytes, (unsigned)got);
        gzclose(file);
    }
}

int fuzz_idx_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t flags = fuzz_u8(&in);
    char dir[512];
    fuzz_fresh_dir("idx", dir, sizeof dir);
    fuzz_idx_file(&in, dir, "train-images-idx3-ubyte");
    fuzz_idx_file(&in, dir, "train-labels-idx1-ubyte");
    fuzz_idx_file(&in, dir, "t10k-images-idx3-ubyte");
    fuzz_idx_file(&in, dir, "t10k-labels-idx1-ubyte");

    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = flags & 1 ? SIMCLR_DATASET_KIND_FASHION_MNIST : SIMCLR_DATASET_KIND_MNIST;
    return fuzz_open_dataset(&options, dir, 0, 0, 1);
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_idx_one(data, size);
    return 0;
}
#endif
