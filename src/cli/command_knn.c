/* simclr knn: the kNN accuracy of a saved model's features (the per-epoch monitor's number). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "eval_cli.h"
#include "simclr/knn.h"
#include "simclr/progress.h"

typedef struct knn_sink {
    simclr_knn_bank *bank;
    const simclr_knn_config *config;
    const simclr_dataset *ds;
    float *queries;
    int32_t *predictions;
    size_t correct;
    double search_seconds;
} knn_sink;

/* Classifies one batch of test features against the bank. */
static int classify_batch(void *context, const float *features, size_t first, size_t count, simclr_error *err)
{
    knn_sink *sink = context;
    size_t dim = (size_t)sink->bank->dim;
    double start = simclr_progress_now();
    for (size_t i = 0; i < count * dim; i++) sink->queries[i] = features[i];
    if (simclr_knn_classify(sink->bank, sink->config, sink->queries, count, sink->predictions, NULL, err) != 0)
        return -1;
    sink->search_seconds += simclr_progress_now() - start;
    for (size_t i = 0; i < count; i++)
        sink->correct += sink->predictions[i] == simclr_dataset_label(sink->ds, SIMCLR_DATASET_SPLIT_TEST, first + i);
    return 0;
}

int command_knn(int argc, char **argv)
{
    eval_cli options;
    eval_cli_defaults(&options);
    long long labeled_per_class = 0, k = SIMCLR_KNN_DEFAULT_K;
    double temperature = SIMCLR_KNN_DEFAULT_TEMPERATURE;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    eval_cli_add_specs(&options, specs, &spec_count);
    specs[spec_count++] = (option_spec){"labeled-per-class", OPTION_TYPE_INT, &labeled_per_class, 0, 1e9, NULL, "K",
                                        "memory bank: K labeled training images per class, chosen by --seed "
                                        "as in training (0: the whole train split)",
                                        "0"};
    specs[spec_count++] = (option_spec){"knn-k", OPTION_TYPE_INT, &k, 1, 1e9, NULL, "K",
                                        "neighbours (the default is clamped to the bank; a K given above "
                                        "the bank's size is an error)",
                                        "200"};
    specs[spec_count++] = (option_spec){"knn-temperature", OPTION_TYPE_FLOAT, &temperature, 0.002, 100, NULL, "T",
                                        "vote weight exp(similarity / T)", "0.1"};
    option_parser parser = {.command = "knn",
                            .usage = "simclr knn --model CHECKPOINT [options]",
                            .summary = "kNN accuracy of a saved model's features on the test split: "
                                       "L2-normalised features, cosine similarity to a memory bank of "
                                       "labeled training images, the k nearest vote with weight "
                                       "exp(similarity / T).",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    simclr_feature_extractor fx;
    if (eval_cli_load(&options, "knn", &fx, &err) != 0) return cli_report_error(&err);
    simclr_dataset ds;
    if (eval_cli_open_dataset(&options, &parser, &ds, &err) != 0) {
        simclr_feature_extractor_free(&fx);
        return cli_report_error(&err);
    }
    int status = 1;
    size_t *bank_indices = NULL, bank_count = 0;
    simclr_knn_bank bank = {0};
    knn_sink sink = {0};
    size_t test_count = ds.splits[SIMCLR_DATASET_SPLIT_TEST].count;
    if (simclr_feature_extractor_check_dataset(&fx, &ds, &err) != 0) goto fail;
    if (test_count == 0 || !ds.splits[SIMCLR_DATASET_SPLIT_TEST].labels) {
        simclr_error_input(&err, "dataset %s has no labeled test split to evaluate on", ds.name);
        goto fail;
    }
    if (eval_cli_labeled_subset(&ds, labeled_per_class, 0.0, (uint64_t)options.seed, &bank_indices, &bank_count,
                                &err) != 0)
        goto fail;
    simclr_knn_config config = simclr_knn_config_default();
    config.temperature = (float)temperature;
    config.k = (int)k;
    if ((size_t)k > bank_count) {
        if (options_given(&parser, "knn-k")) {
            simclr_error_input(&err, "--knn-k %lld: larger than the memory bank (%zu labeled training images)", k,
                               bank_count);
            goto fail;
        }
        config.k = (int)bank_count;
    }
    double start = simclr_progress_now();
    if (simclr_knn_bank_init(&bank, bank_count, fx.dim, ds.num_classes, &err) != 0) goto fail;
    if (simclr_feature_extractor_split_matrix(&fx, &ds, SIMCLR_DATASET_SPLIT_TRAIN, bank_indices, bank_count,
                                              bank.features, NULL, &err) != 0)
        goto fail;
    for (size_t i = 0; i < bank_count; i++)
        bank.labels[i] = simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, bank_indices[i]);
    bank.count = bank_count;
    simclr_knn_bank_normalize(&bank);
    double bank_seconds = simclr_progress_now() - start;
    sink = (knn_sink){.bank = &bank, .config = &config, .ds = &ds};
    sink.queries = simclr_checked_calloc((size_t)options.batch * (size_t)fx.dim, sizeof(float), "queries", &err);
    sink.predictions = sink.queries ? simclr_checked_calloc((size_t)options.batch, sizeof(int32_t), "predictions", &err)
                                    : NULL;
    if (!sink.predictions) goto fail;
    start = simclr_progress_now();
    if (simclr_feature_extractor_split(&fx, &ds, SIMCLR_DATASET_SPLIT_TEST, NULL, test_count, classify_batch, &sink,
                                       NULL, &err) != 0)
        goto fail;
    double test_seconds = simclr_progress_now() - start;
    char described[2048];
    eval_cli_describe_model(&options, &fx, described, sizeof described);
    printf("model     %s\n", described);
    printf("bank      %zu labeled %s train images (features %.2f s)\n", bank_count, ds.name, bank_seconds);
    printf("test      %zu %s test images (features %.2f s, kNN search %.2f s)\n", test_count, ds.name,
           test_seconds - sink.search_seconds, sink.search_seconds);
    printf("kNN accuracy (k=%d, T=%g): %.2f%%\n", config.k, (double)config.temperature,
           100.0 * (double)sink.correct / (double)test_count);
    status = 0;
    goto done;
fail:
    status = cli_report_error(&err);
done:
    free(sink.queries);
    free(sink.predictions);
    free(bank_indices);
    simclr_knn_bank_free(&bank);
    simclr_dataset_close(&ds);
    simclr_feature_extractor_free(&fx);
    return status;
}
