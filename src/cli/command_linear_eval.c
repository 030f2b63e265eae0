/* simclr linear-eval: the field's offline linear evaluation of a saved model's frozen features. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "eval_cli.h"
#include "simclr/linear_eval.h"
#include "simclr/progress.h"

int command_linear_eval(int argc, char **argv)
{
    eval_cli options;
    eval_cli_defaults(&options);
    long long labeled_per_class = 0, max_iterations = 1000;
    double label_fraction = 0.0, weight_decay = 1e-4;
    int raw = 0;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    eval_cli_add_specs(&options, specs, &spec_count);
    specs[spec_count++] = (option_spec){"labeled-per-class", OPTION_TYPE_INT, &labeled_per_class, 0, 1e9, NULL, "K",
                                        "train on K labeled images per class, chosen by --seed as in "
                                        "training (0: the whole train split)",
                                        "0"};
    specs[spec_count++] = (option_spec){"label-fraction", OPTION_TYPE_FLOAT, &label_fraction, -1e9, 1e9, NULL, "F",
                                        "train on a class-balanced fraction F in (0, 1] of the labeled "
                                        "images (0.01, 0.1: the 1 % and 10 % protocols)",
                                        NULL};
    specs[spec_count++] = (option_spec){"weight-decay", OPTION_TYPE_FLOAT, &weight_decay, 0, 100, NULL, "L",
                                        "L2 penalty L/2 ||W||^2 of the classifier's weights", "1e-4"};
    specs[spec_count++] = (option_spec){"max-iterations", OPTION_TYPE_INT, &max_iterations, 1, 1e6, NULL, "N",
                                        "L-BFGS iteration budget", "1000"};
    specs[spec_count++] = (option_spec){"no-standardize", OPTION_TYPE_FLAG, &raw, 0, 0, NULL, NULL,
                                        "fit on the raw features instead of standardised ones", NULL};
    option_parser parser = {.command = "linear-eval",
                            .usage = "simclr linear-eval --model CHECKPOINT [options]",
                            .summary = "Offline linear evaluation: the frozen features of the labeled "
                                       "training images and of the test split are computed once, "
                                       "standardised with the training features' mean and deviation, "
                                       "and a softmax classifier is fitted to convergence by full-batch "
                                       "L-BFGS; prints test top-1 and top-5.",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    int fraction_given = options_given(&parser, "label-fraction");
    if (fraction_given && !(label_fraction > 0.0 && label_fraction <= 1.0)) {
        simclr_error_input(&err, "--label-fraction %g: expected a fraction in (0, 1] (0.01 for 1 %%)", label_fraction);
        return cli_report_error(&err);
    }
    if (fraction_given && options_given(&parser, "labeled-per-class")) {
        simclr_error_input(&err, "simclr linear-eval: give --labeled-per-class or --label-fraction, not both");
        return cli_report_error(&err);
    }
    simclr_feature_extractor fx;
    if (eval_cli_load(&options, "linear-eval", &fx, &err) != 0) return cli_report_error(&err);
    simclr_dataset ds;
    if (eval_cli_open_dataset(&options, &parser, &ds, &err) != 0) {
        simclr_feature_extractor_free(&fx);
        return cli_report_error(&err);
    }
    int status = 0;
    size_t *train_indices = NULL, train_count = 0;
    float *train = NULL, *test = NULL;
    int32_t *train_labels = NULL;
    const simclr_dataset_split *test_split = &ds.splits[SIMCLR_DATASET_SPLIT_TEST];
    if (simclr_feature_extractor_check_dataset(&fx, &ds, &err) != 0) goto fail;
    if (test_split->count == 0 || !test_split->labels) {
        simclr_error_input(&err, "dataset %s has no labeled test split to evaluate on", ds.name);
        goto fail;
    }
    if (eval_cli_labeled_subset(&ds, labeled_per_class, fraction_given ? label_fraction : 0.0,
                                (uint64_t)options.seed, &train_indices, &train_count, &err) != 0)
        goto fail;
    size_t dim = (size_t)fx.dim;
    train = simclr_checked_calloc(train_count * dim, sizeof(float), "training features", &err);
    test = train ? simclr_checked_calloc(test_split->count * dim, sizeof(float), "test features", &err) : NULL;
    train_labels = test ? simclr_checked_calloc(train_count, sizeof(int32_t), "labels", &err) : NULL;
    if (!train_labels) goto fail;
    double start = simclr_progress_now();
    if (simclr_feature_extractor_split_matrix(&fx, &ds, SIMCLR_DATASET_SPLIT_TRAIN, train_indices, train_count, train,
                                              NULL, &err) != 0 ||
        simclr_feature_extractor_split_matrix(&fx, &ds, SIMCLR_DATASET_SPLIT_TEST, NULL, test_split->count, test,
                                              NULL, &err) != 0)
        goto fail;
    double feature_seconds = simclr_progress_now() - start;
    for (size_t i = 0; i < train_count; i++)
        train_labels[i] = simclr_dataset_label(&ds, SIMCLR_DATASET_SPLIT_TRAIN, train_indices[i]);
    simclr_linear_eval_config config = simclr_linear_eval_config_default();
    config.weight_decay = weight_decay;
    config.standardize = !raw;
    config.lbfgs.max_iterations = (int)max_iterations;
    simclr_linear_eval_result result;
    start = simclr_progress_now();
    if (simclr_linear_eval_run(train, train_labels, train_count, test, test_split->labels, test_split->count, fx.dim,
                               ds.num_classes, &config, &result, &err) != 0)
        goto fail;
    double fit_seconds = simclr_progress_now() - start;
    char described[2048];
    eval_cli_describe_model(&options, &fx, described, sizeof described);
    printf("model     %s\n", described);
    printf("train     %zu labeled %s images", train_count, ds.name);
    if (fraction_given) printf(" (label fraction %g)", label_fraction);
    else if (labeled_per_class > 0) printf(" (%lld per class)", labeled_per_class);
    printf("; test %zu images; features %.1f s\n", test_split->count, feature_seconds);
    printf("fit       L-BFGS, %d iterations%s, train loss %.4f, train accuracy %.2f%%, weight decay %g, %s "
           "features (%.1f s)\n",
           result.optimizer.iterations, result.optimizer.converged ? " (converged)" : " (budget reached)",
           result.train_loss, 100.0 * result.train_accuracy, weight_decay, raw ? "raw" : "standardised", fit_seconds);
    printf("Linear evaluation accuracy: top-1 %.2f%%, top-%d %.2f%%\n", 100.0 * result.top1,
           ds.num_classes < 5 ? ds.num_classes : 5, 100.0 * result.top5);
    goto done;
fail:
    status = cli_report_error(&err);
done:
    free(train_indices);
    free(train);
    free(test);
    free(train_labels);
    simclr_dataset_close(&ds);
    simclr_feature_extractor_free(&fx);
    return status;
}
