/* The datasets `simclr download` knows: where each is published, its files and their MD5s. */
#include <string.h>

#include "download_internal.h"

/* Sources and MD5s as published by the datasets' authors (the same ones torchvision checks).
 * MNIST's original site (yann.lecun.com) no longer serves the files to scripts; the PyTorch
 * mirror holds the identical files. */
static const simclr_download_dataset catalog[] = {
    {.name = "stl10",
     .base_url = "http://ai.stanford.edu/~acoates/stl10/",
     .unpacks_to = "stl10_binary",
     .file_count = 1,
     .files = {{"stl10_binary.tar.gz", "91f7769df0f17e558f3565bffb0c7dfb"}},
     .expected_count = 7,
     .expected = {"train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "unlabeled_X.bin",
                  "class_names.txt", "fold_indices.txt"}},
    {.name = "cifar10",
     .base_url = "https://www.cs.toronto.edu/~kriz/",
     .unpacks_to = "cifar-10-batches-bin",
     .file_count = 1,
     .files = {{"cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"}},
     .expected_count = 7,
     .expected = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                  "data_batch_5.bin", "test_batch.bin", "batches.meta.txt"}},
    {.name = "cifar100",
     .base_url = "https://www.cs.toronto.edu/~kriz/",
     .unpacks_to = "cifar-100-binary",
     .file_count = 1,
     .files = {{"cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8"}},
     .expected_count = 4,
     .expected = {"train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"}},
    {.name = "mnist",
     .base_url = "https://ossci-datasets.s3.amazonaws.com/mnist/",
     .unpacks_to = NULL,
     .file_count = 4,
     .files = {{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
               {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"},
               {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"},
               {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"}}},
    {.name = "fashion-mnist",
     .base_url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
     .unpacks_to = NULL,
     .file_count = 4,
     .files = {{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
               {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
               {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
               {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"}}},
};

const simclr_download_dataset *simclr_download_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof catalog / sizeof catalog[0]; i++)
        if (strcmp(catalog[i].name, name) == 0) return &catalog[i];
    return NULL;
}

const char *simclr_download_names(void) { return "stl10|cifar10|cifar100|mnist|fashion-mnist"; }
