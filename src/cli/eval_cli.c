#include "eval_cli.h"

#include <omp.h>
#include <stdio.h>

#include "simclr/label_fraction.h"
#include "simclr/sampler.h"
#include "util/plural.h"

void eval_cli_defaults(eval_cli *options)
{
    dataset_cli_defaults(&options->data);
    options->model = NULL;
    options->features = "encoder";
    options->random_init = 0;
    options->seed = 0;
    options->batch = 256;
    options->threads = 0;
}

void eval_cli_add_specs(eval_cli *o, option_spec *specs, size_t *count)
{
    dataset_cli_add_specs(&o->data, specs, count);
    option_spec shared[] = {
        {"model", OPTION_TYPE_STRING, &o->model, 0, 0, NULL, "CHECKPOINT",
         "saved model: a baseline, finetune or pretrain checkpoint (required)", NULL},
        {"features", OPTION_TYPE_CHOICE, &o->features, 0, 0, "encoder|projection", NULL,
         "the encoder's output (the representation) or the projection head's (pretrain "
         "checkpoints only)",
         "encoder"},
        {"random-init", OPTION_TYPE_FLAG, &o->random_init, 0, 0, NULL, NULL,
         "ignore the checkpoint's weights: its architecture with fresh Keras initialisation from "
         "--seed (the 'random init' baseline)",
         NULL},
        {"seed", OPTION_TYPE_INT, &o->seed, 0, 9.2e18, NULL, "S",
         "seed of the labeled subset (as in training) and of --random-init", "0"},
        {"batch", OPTION_TYPE_INT, &o->batch, 1, 4096, NULL, "N", "images per forward pass", "256"},
        {"threads", OPTION_TYPE_INT, &o->threads, 0, 1024, NULL, "N", "worker threads (0: all)", "0"},
    };
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) specs[(*count)++] = shared[i];
}

int eval_cli_load(const eval_cli *options, const char *command, simclr_feature_extractor *fx, simclr_error *err)
{
    if (!options->model) return simclr_error_input(err, "simclr %s: --model CHECKPOINT is required", command);
    if (options->threads > 0) omp_set_num_threads((int)options->threads);
    simclr_feature_options feature_options = {.kind = SIMCLR_FEATURE_KIND_ENCODER,
                                              .random_init = options->random_init,
                                              .seed = (uint64_t)options->seed,
                                              .max_batch = (int)options->batch};
    simclr_feature_kind_parse(options->features, &feature_options.kind);
    if (cli_network_options(&feature_options.network, err) != 0) return -1;
    if (simclr_feature_extractor_load(fx, options->model, &feature_options, err) != 0) return -1;
    /* Issue 23: never on reference kernels silently (the planner avoids them where it can). */
    if (fx->encoder.reference_passes > 0)
        fprintf(stderr,
                "warning: oneDNN has only its reference kernels for %d convolution passes of this encoder on "
                "this CPU (oneDNN ISA %s, feature maps %s%s): they run hundreds of times slower than its jit "
                "kernels\n",
                fx->encoder.reference_passes, simclr_conv2d_cpu_isa_name(),
                simclr_nn_layout_name(fx->encoder.feature_layout),
                fx->encoder.layout_forced ? ", as SIMCLR_CONV_LAYOUT forces" : "");
    return 0;
}

int eval_cli_open_dataset(eval_cli *options, const option_parser *parser, simclr_dataset *ds,
                          simclr_error *err)
{
    int described = dataset_cli_from_checkpoint(&options->data, parser, options->model, &options->described, err);
    simclr_checkpoint_info_free(&options->described.info); /* its class names are not needed here */
    if (described != 0)
        return -1;
    return dataset_cli_open(&options->data, ds, err);
}

int eval_cli_labeled_subset(const simclr_dataset *ds, long long labeled_per_class, double label_fraction,
                            uint64_t seed, size_t **indices, size_t *count, simclr_error *err)
{
    if (label_fraction > 0.0) return simclr_label_fraction_subset(ds, label_fraction, seed, indices, count, err);
    return simclr_sampler_labeled_subset(ds, (int)labeled_per_class, seed, indices, count, err);
}

void eval_cli_describe_model(const eval_cli *options, const simclr_feature_extractor *fx, char *out, size_t size)
{
    if (options->random_init)
        snprintf(out, size, "%s (architecture only: random init, seed %lld), %s features", options->model,
                 options->seed, simclr_feature_kind_name(fx->options.kind));
    else
        snprintf(out, size, "%s (%s run, %d epoch%s, %s), %s features", options->model, fx->info.run,
                 fx->info.epochs_done, simclr_plural(fx->info.epochs_done),
                 simclr_nn_precision_name(fx->info.model.precision),
                 simclr_feature_kind_name(fx->options.kind));
}
