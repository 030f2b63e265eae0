/* The per-epoch kNN monitor on real data (a Fashion-MNIST slice written as an image folder, 30
 * train and 20 test images per class, so that the test split is small): it adds val_knn_acc, well
 * above chance, to the baseline's and pretraining's history, and changes nothing else: the same
 * runs with --knn-k 0 give bit-identical metrics (the monitor only reads the encoder and draws no
 * random numbers; with a ResNet-18 it also leaves the batchnorm running statistics alone). Skipped (exit 77) when Debian's dataset-fashion-mnist is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simclr/image_io.h"
#include "simclr/train.h"
#include "test_support.h"

static simclr_dataset dataset;

/* Writes the first `per_class` images of each class of a Fashion-MNIST split as PNGs into
 * root/<split>/<class>/. */
static int write_folder_split(const simclr_dataset *fmnist, simclr_dataset_split_id split, const char *root,
                              const char *name, int per_class, simclr_error *err)
{
    int written[10] = {0};
    uint8_t pixels[28 * 28];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, name);
    if (mkdir(path, 0777) != 0) return simclr_error_system(err, "mkdir %s", path);
    for (int c = 0; c < 10; c++) {
        snprintf(path, sizeof path, "%s/%s/class%d", root, name, c);
        if (mkdir(path, 0777) != 0) return simclr_error_system(err, "mkdir %s", path);
    }
    for (size_t i = 0; i < fmnist->splits[split].count; i++) {
        int label = simclr_dataset_label(fmnist, split, i);
        if (written[label] == per_class) continue;
        simclr_dataset_read_image(fmnist, split, i, pixels);
        snprintf(path, sizeof path, "%s/%s/class%d/%05zu.png", root, name, label, i);
        if (simclr_image_write_png(path, pixels, 28, 28, 1, err) != 0) return -1;
        written[label]++;
    }
    return 0;
}
static simclr_train_config small_config(const char *dir, int knn_k, simclr_model_backbone backbone)
{
    simclr_train_config config = simclr_train_config_default(&dataset);
    config.labeled_per_class = 30;
    config.epochs = 2;
    config.steps_per_epoch = 8;
    config.unlabeled_batch = 25;
    if (backbone != SIMCLR_MODEL_BACKBONE_SEED) { /* a ResNet-18: BatchNorm, fewer and smaller steps */
        config.model.backbone = backbone;
        config.steps_per_epoch = 2;
        config.unlabeled_batch = 8;
        config.labeled_batch = 8;
    }
    config.out_dir = dir;
    config.quiet = 1;
    config.knn_k = knn_k;
    return config;
}

/* Every column of `without` equals the same-named column of `with`, epoch by epoch. */
static void assert_same_metrics(const simclr_history *with, const simclr_history *without)
{
    assert_int_equal(with->metric_count, without->metric_count + 1);
    assert_int_equal(with->epoch_count, without->epoch_count);
    for (int m = 0; m < without->metric_count; m++) {
        int other = simclr_history_metric_index(with, without->names[m]);
        assert_true(other >= 0);
        for (int e = 0; e < with->epoch_count; e++)
            assert_true(with->values[e * with->metric_count + other] ==
                        without->values[e * without->metric_count + m]);
    }
}

static void check_run(int pretrain, simclr_model_backbone backbone, double min_accuracy)
{
    char *dir = test_make_temp_dir();
    simclr_error err = {0};
    simclr_history with, without;
    simclr_train_config config = small_config(dir, 50, backbone);
    int status = pretrain ? simclr_train_pretrain(&dataset, &config, &with, &err)
                          : simclr_train_baseline(&dataset, &config, &with, &err);
    if (status != 0) fail_msg("%s", err.message);
    config = small_config(dir, 0, backbone);
    status = pretrain ? simclr_train_pretrain(&dataset, &config, &without, &err)
                      : simclr_train_baseline(&dataset, &config, &without, &err);
    if (status != 0) fail_msg("%s", err.message);
    int knn = simclr_history_metric_index(&with, "val_knn_acc");
    assert_true(knn == with.metric_count - 1);
    assert_int_equal(simclr_history_metric_index(&without, "val_knn_acc"), -1);
    double last = with.values[(with.epoch_count - 1) * with.metric_count + knn];
    printf("  %s %s: val_knn_acc %.4f after %d epochs (k=50 of a 300-image bank, 200 test images)\n",
           pretrain ? "pretrain" : "baseline", simclr_model_backbone_name(backbone), last, with.epoch_count);
    assert_true(last > min_accuracy); /* chance is 0.1 */
    assert_same_metrics(&with, &without);
    simclr_history_free(&with);
    simclr_history_free(&without);
    test_remove_tree(dir);
    free(dir);
}

static void test_baseline_monitor(void **state)
{
    (void)state;
    check_run(0, SIMCLR_MODEL_BACKBONE_SEED, 0.4);
}

static void test_pretrain_monitor(void **state)
{
    (void)state;
    check_run(1, SIMCLR_MODEL_BACKBONE_SEED, 0.4);
}

/* With BatchNorm in the encoder: the bank's features are computed in inference mode, so the
 * monitor leaves the running statistics (and with them the probe's features, its metrics and
 * the checkpoint) as they were. */
static void test_resnet_monitors(void **state)
{
    (void)state;
    check_run(0, SIMCLR_MODEL_BACKBONE_RESNET18, 0.2);
    check_run(1, SIMCLR_MODEL_BACKBONE_RESNET18, 0.2);
}

int main(void)
{
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FASHION_MNIST;
    simclr_error err = {0};
    simclr_dataset fmnist;
    if (simclr_dataset_open(&fmnist, &options, &err) != 0) {
        printf("skipping: %s\n", err.message);
        return 77;
    }
    char *root = test_make_temp_dir();
    if (write_folder_split(&fmnist, SIMCLR_DATASET_SPLIT_TRAIN, root, "train", 30, &err) != 0 ||
        write_folder_split(&fmnist, SIMCLR_DATASET_SPLIT_TEST, root, "test", 20, &err) != 0) {
        printf("cannot write the image folder: %s\n", err.message);
        return 1;
    }
    simclr_dataset_close(&fmnist);
    options.kind = SIMCLR_DATASET_KIND_FOLDER;
    options.data_dir = root;
    options.image_size = 28;
    if (simclr_dataset_open(&dataset, &options, &err) != 0) {
        printf("cannot open the image folder: %s\n", err.message);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_monitor),
        cmocka_unit_test(test_pretrain_monitor),
        cmocka_unit_test(test_resnet_monitors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    simclr_dataset_close(&dataset);
    test_remove_tree(root);
    free(root);
    return failed;
}
