#include "train_cli.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "simclr/atomic_file.h"
#include "signals.h"

void train_cli_defaults(train_cli *options)
{
    memset(options, 0, sizeof *options);
    dataset_cli_defaults(&options->data);
    options->epochs = 20;
    options->steps_per_epoch = 0;
    options->labeled_per_class = 0;
    options->unlabeled_batch = 500;
    options->labeled_batch = 25;
    options->test_batch = 525;
    options->seed = 0;
    options->threads = 0;
    options->width = 128;
    options->depth = 4;
    options->padding = -1;
    options->temperature = 0.1;
    options->learning_rate = 1e-3;
    options->loss = "seed";
    options->precision = "fp32";
    options->backbone = NULL; /* the seed's, or a finetuned checkpoint's */
    options->stem = "auto";
    options->out = "runs/latest";
}

void train_cli_add_specs(train_cli *o, option_spec *specs, size_t *count)
{
    dataset_cli_add_specs(&o->data, specs, count);
    option_spec shared[] = {
        {"epochs", OPTION_TYPE_INT, &o->epochs, 1, 100000, NULL, "N", "training epochs", "20"},
        {"steps-per-epoch", OPTION_TYPE_INT, &o->steps_per_epoch, 0, 1e9, NULL, "N",
         "steps per epoch (0: pretraining (unlabeled + labeled) // (batch sizes), supervised "
         "runs one pass over the labeled images)",
         "0"},
        {"labeled-per-class", OPTION_TYPE_INT, &o->labeled_per_class, 0, 1e9, NULL, "K",
         "class-balanced labeled subset of K images per class (0: the whole labeled split)", "0"},
        {"unlabeled-batch", OPTION_TYPE_INT, &o->unlabeled_batch, 1, 100000, NULL, "N",
         "unlabeled images per pretraining step", "500"},
        {"labeled-batch", OPTION_TYPE_INT, &o->labeled_batch, 1, 4096, NULL, "N",
         "labeled images per step", "25"},
        {"test-batch", OPTION_TYPE_INT, &o->test_batch, 1, 4096, NULL, "N",
         "images per evaluation batch", "525"},
        {"seed", OPTION_TYPE_INT, &o->seed, 0, 9.2e18, NULL, "S",
         "seed of every random choice (subset, shuffles, augmentation, initialisation)", "0"},
        {"threads", OPTION_TYPE_INT, &o->threads, 0, 1024, NULL, "N",
         "worker threads (0: OMP_NUM_THREADS or all cores)", "0"},
        {"temperature", OPTION_TYPE_FLOAT, &o->temperature, 1e-4, 100, NULL, "T",
         "contrastive loss temperature", "0.1"},
        {"precision", OPTION_TYPE_CHOICE, &o->precision, 0, 0, "fp32|bf16", NULL,
         "convolution arithmetic: fp32, or bf16 with fp32 master weights and optimizer state "
         "(needs AVX-512)",
         "fp32"},
        {"loss", OPTION_TYPE_CHOICE, &o->loss, 0, 0, "seed|nt-xent", NULL,
         "contrastive loss: the example's B x B (seed) or the paper's NT-Xent (2B-2 negatives)",
         "seed"},
        {"learning-rate", OPTION_TYPE_FLOAT, &o->learning_rate, 1e-9, 10, NULL, "LR",
         "Adam learning rate", "0.001"},
        {"width", OPTION_TYPE_INT, &o->width, 1, 4096, NULL, "N",
         "encoder width (conv channels and dense units)", "128"},
        {"depth", OPTION_TYPE_INT, &o->depth, 1, 15, NULL, "N", "convolution layers", "4"},
        {"padding", OPTION_TYPE_INT, &o->padding, -1, 15, NULL, "P",
         "convolution zero padding (-1: 0 = 'valid' when the image is large enough, else 1)",
         "-1"},
        {"backbone", OPTION_TYPE_CHOICE, &o->backbone, 0, 0, "seed|resnet18|resnet34|resnet50", NULL,
         "encoder: the seed's convolutions, or torchvision's ResNet-18/34/50 (512 or 2048 features)", "seed"},
        {"stem", OPTION_TYPE_CHOICE, &o->stem, 0, 0, "auto|imagenet|cifar", NULL,
         "ResNet stem: 7x7/2 conv + max pool (imagenet) or 3x3/1 conv (cifar); auto: cifar below 64 pixels",
         "auto"},
        {"zero-init-residual", OPTION_TYPE_FLAG, &o->zero_init_residual, 0, 0, NULL, NULL,
         "ResNet: start the last batchnorm of every block at gamma 0", NULL},
        {"head-hidden", OPTION_TYPE_INT, &o->head_hidden, 0, 8192, NULL, "N",
         "projection head hidden units (0: the encoder's feature width)", "0"},
        {"head-out", OPTION_TYPE_INT, &o->head_out, 0, 8192, NULL, "N",
         "projection head output units (0: --width, 128 by default)", "0"},
        {"head-bn", OPTION_TYPE_FLAG, &o->head_bn, 0, 0, NULL, NULL,
         "BatchNorm1d after the projection head's hidden layer (SimCLR's head)", NULL},
        {"out", OPTION_TYPE_STRING, &o->out, 0, 0, NULL, "DIR",
         "where history, checkpoints, plots and the configuration go", "runs/latest"},
        {"resume", OPTION_TYPE_STRING, &o->resume, 0, 0, NULL, "DIR",
         "continue the run(s) saved in DIR (its --out) from the last checkpoint; give the same "
         "options as the interrupted run",
         NULL},
        {"quiet", OPTION_TYPE_FLAG, &o->quiet, 0, 0, NULL, NULL,
         "no model summaries or progress lines", NULL},
    };
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) specs[(*count)++] = shared[i];
}

static int write_config(const simclr_train_config *config, const train_cli *options, const simclr_dataset *ds,
                        const char *run, simclr_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_config.json", config->out_dir, run);
    simclr_atomic_file file;
    if (simclr_atomic_file_open(&file, path, err) != 0) return -1;
    FILE *s = file.stream;
    fprintf(s, "{\n  \"run\": \"%s\",\n  \"version\": \"%s\",\n", run, SIMCLR_VERSION);
    fprintf(s, "  \"dataset\": \"%s\",\n  \"data_dir\": \"%s\",\n", ds->name, ds->path);
    fprintf(s, "  \"image_shape\": [%d, %d, %d],\n", ds->height, ds->width, ds->channels);
    fprintf(s, "  \"epochs\": %d,\n  \"steps_per_epoch\": %zu,\n", config->epochs,
            config->steps_per_epoch);
    fprintf(s, "  \"labeled_per_class\": %d,\n", config->labeled_per_class);
    fprintf(s, "  \"unlabeled_batch\": %zu,\n  \"labeled_batch\": %zu,\n  \"test_batch\": %zu,\n",
            config->unlabeled_batch, config->labeled_batch, config->test_batch);
    fprintf(s, "  \"seed\": %llu,\n  \"threads\": %d,\n", (unsigned long long)config->seed,
            omp_get_max_threads());
    fprintf(s, "  \"temperature\": %g,\n  \"loss\": \"%s\",\n", (double)config->temperature,
            options->loss);
    fprintf(s, "  \"adam\": {\"learning_rate\": %g, \"beta1\": %g, \"beta2\": %g, "
               "\"epsilon\": %g},\n",
            (double)config->adam.learning_rate, (double)config->adam.beta1,
            (double)config->adam.beta2, (double)config->adam.epsilon);
    fprintf(s, "  \"model\": {\"width\": %d, \"depth\": %d, \"kernel\": %d, \"stride\": %d, "
               "\"padding\": %d, \"num_classes\": %d, \"precision\": \"%s\"},\n",
            config->model.width, config->model.depth, config->model.kernel, config->model.stride,
            simclr_model_resolved_padding(&config->model), config->model.num_classes,
            simclr_nn_precision_name(config->model.precision));
    fprintf(s, "  \"backbone\": {\"name\": \"%s\", \"stem\": \"%s\", \"zero_init_residual\": %d, "
               "\"features\": %d, \"head_hidden\": %d, \"head_out\": %d, \"head_bn\": %d},\n",
            simclr_model_backbone_name(config->model.backbone),
            simclr_model_stem_name(simclr_model_resolved_stem(&config->model)), config->model.zero_init_residual,
            simclr_model_feature_width(&config->model), config->model.head_hidden,
            simclr_model_projection_width(&config->model), config->model.head_bn);
    fprintf(s, "  \"augmentation\": {\"contrastive\": {\"min_area\": 0.25, \"brightness\": 0.6, "
               "\"jitter\": 0.2}, \"classification\": {\"min_area\": 0.75, \"brightness\": 0.3, "
               "\"jitter\": 0.1}}\n}\n");
    return simclr_atomic_file_commit(&file, err);
}

int train_cli_configure(const train_cli *options, const simclr_dataset *ds, const char *run,
                        simclr_train_config *config, simclr_error *err)
{
    *config = simclr_train_config_default(ds);
    config->epochs = (int)options->epochs;
    config->steps_per_epoch = (size_t)options->steps_per_epoch;
    config->labeled_per_class = (int)options->labeled_per_class;
    config->unlabeled_batch = (size_t)options->unlabeled_batch;
    config->labeled_batch = (size_t)options->labeled_batch;
    config->test_batch = (size_t)options->test_batch;
    config->seed = (uint64_t)options->seed;
    config->temperature = (float)options->temperature;
    config->loss_kind = strcmp(options->loss, "nt-xent") == 0 ? SIMCLR_CONTRASTIVE_KIND_NT_XENT
                                                              : SIMCLR_CONTRASTIVE_KIND_SEED;
    config->adam.learning_rate = (float)options->learning_rate;
    config->model.width = (int)options->width;
    config->model.depth = (int)options->depth;
    config->model.padding = (int)options->padding;
    config->model.precision = strcmp(options->precision, "bf16") == 0 ? SIMCLR_NN_PRECISION_BF16
                                                                      : SIMCLR_NN_PRECISION_FP32;
    config->model.backbone = options->backbone
                                 ? (simclr_model_backbone)simclr_model_backbone_from_name(options->backbone)
                                 : SIMCLR_MODEL_BACKBONE_SEED;
    config->model.stem = strcmp(options->stem, "imagenet") == 0 ? SIMCLR_MODEL_STEM_IMAGENET
                         : strcmp(options->stem, "cifar") == 0  ? SIMCLR_MODEL_STEM_CIFAR
                                                                : SIMCLR_MODEL_STEM_AUTO;
    config->model.zero_init_residual = options->zero_init_residual;
    config->model.head_hidden = (int)options->head_hidden;
    config->model.head_out = (int)options->head_out;
    config->model.head_bn = options->head_bn;
    if (simclr_model_check(&config->model, err) != 0) return -1;
    if (config->model.precision == SIMCLR_NN_PRECISION_BF16 && !simclr_conv2d_bf16_available())
        return simclr_error_input(err, "--precision bf16: oneDNN has no bf16 convolution on this CPU "
                                "(it needs AVX-512); use --precision fp32");
    config->out_dir = options->resume ? options->resume : options->out;
    config->resume = options->resume != NULL;
    config->quiet = options->quiet;
    config->stop_requested = cli_stop_flag();
    if (options->threads > 0) omp_set_num_threads((int)options->threads);
    if (ds->splits[SIMCLR_DATASET_SPLIT_TEST].count == 0)
        return simclr_error_input(err, "dataset %s at %s has no test split (expected for evaluation "
                                "after every epoch)",
                           ds->name, ds->path);
    if (cli_make_directory(config->out_dir, err) != 0) return -1;
    return write_config(config, options, ds, run, err);
}

void train_cli_print_maximum(const simclr_history *hist, const char *metric)
{
    printf("Maximal validation accuracy: %.2f%%\n", simclr_history_max(hist, metric) * 100.0);
}
