/* The per-epoch kNN monitor: the labeled images' encoder features as the bank, the evaluation
 * pass's test features as queries. Reads the encoder only (inference mode: batchnorm on running
 * statistics, left as they were; no random draws). */
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "train_internal.h"

int simclr_knn_monitor_init(simclr_knn_monitor *monitor, const simclr_train_config *config,
                            const simclr_dataset *ds, const size_t *bank_indices, size_t bank_count,
                            int feature_dim, simclr_error *err)
{
    memset(monitor, 0, sizeof *monitor);
    if (bank_count == 0) return simclr_error_input(err, "kNN monitor: no labeled training images for the bank");
    monitor->config = simclr_knn_config_default();
    monitor->config.k = (size_t)config->knn_k < bank_count ? config->knn_k : (int)bank_count;
    monitor->config.temperature = config->knn_temperature;
    monitor->bank_indices = bank_indices;
    if (simclr_knn_bank_init(&monitor->bank, bank_count, feature_dim, ds->num_classes, err) != 0) return -1;
    monitor->queries = simclr_checked_calloc(config->test_batch * (size_t)feature_dim, sizeof(float),
                                             "kNN query features", err);
    monitor->predictions = monitor->queries
                               ? simclr_checked_calloc(config->test_batch, sizeof(int32_t), "kNN predictions", err)
                               : NULL;
    if (!monitor->predictions) {
        simclr_knn_monitor_free(monitor);
        return -1;
    }
    for (size_t i = 0; i < bank_count; i++)
        monitor->bank.labels[i] = simclr_dataset_label(ds, SIMCLR_DATASET_SPLIT_TRAIN, bank_indices[i]);
    return 0;
}

void simclr_knn_monitor_free(simclr_knn_monitor *monitor)
{
    simclr_knn_bank_free(&monitor->bank);
    free(monitor->queries);
    free(monitor->predictions);
    memset(monitor, 0, sizeof *monitor);
}

int simclr_knn_monitor_fill_bank(simclr_knn_monitor *monitor, const simclr_dataset *ds, simclr_network *encoder,
                                 size_t test_batch, uint8_t *pixels, float *inputs, simclr_error *err)
{
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    size_t dim = (size_t)monitor->bank.dim;
    size_t total = monitor->bank.capacity;
    /* Inference mode, as the test features the bank is compared with: batchnorm on its running
     * statistics, which a training-mode forward would also update (the model would change). */
    int encoder_mode = encoder->training;
    simclr_network_set_training(encoder, 0);
    int status = 0;
    for (size_t start = 0; start < total && status == 0; start += test_batch) {
        size_t count = total - start < test_batch ? total - start : test_batch;
        status = simclr_batch_read_images(ds, SIMCLR_DATASET_SPLIT_TRAIN, monitor->bank_indices + start, count,
                                          pixels, err);
        if (status != 0) break;
        size_t next = start + count; /* issue 25: a streamed dataset's pool decodes the next chunk meanwhile */
        if (next < total) {
            simclr_dataset_images ahead = {SIMCLR_DATASET_SPLIT_TRAIN, monitor->bank_indices + next,
                                           total - next < test_batch ? total - next : test_batch};
            simclr_dataset_prefetch(ds, &ahead, 1);
        }
        simclr_augment_rescale(pixels, count * image_bytes, inputs);
        status = simclr_network_forward(encoder, inputs, (int)count, err);
        if (status == 0)
            memcpy(monitor->bank.features + start * dim, simclr_network_output(encoder), count * dim * sizeof(float));
    }
    simclr_network_set_training(encoder, encoder_mode);
    if (status != 0) return -1;
    monitor->bank.count = total;
    simclr_knn_bank_normalize(&monitor->bank);
    monitor->correct = monitor->seen = 0;
    return 0;
}

int simclr_knn_monitor_classify(simclr_knn_monitor *monitor, const float *features, const int32_t *labels,
                                size_t count, simclr_error *err)
{
    memcpy(monitor->queries, features, count * (size_t)monitor->bank.dim * sizeof(float));
    if (simclr_knn_classify(&monitor->bank, &monitor->config, monitor->queries, count, monitor->predictions, NULL,
                            err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) monitor->correct += monitor->predictions[i] == labels[i];
    monitor->seen += count;
    return 0;
}
