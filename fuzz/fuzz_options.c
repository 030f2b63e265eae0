/*
 * Fuzzes the command-line option parser (src/cli/options.c) with a copy of the training
 * commands' option table (dataset options, train_cli_add_specs and finetune's --from: every
 * option type, the widest ranges) and with `simclr predict`'s (positional IMAGE arguments). The
 * tables are copied, not taken from src/cli/train_cli.c, so that this target and the regression
 * test need only options.c, not the command-line front end around it.
 *
 * Input:
 *   u8 table     bit 0: predict's table (with positional IMAGE arguments), else the training one
 *   the rest     the arguments, separated by NUL bytes (at most 64)
 *
 * When parsing succeeds, every option given must hold a value of its type within its range.
 * (--help prints the help to stdout: run with -close_fd_mask=1.)
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "fuzz_common.h"

enum { FUZZ_OPTIONS_MAX_ARGS = 64, FUZZ_OPTIONS_MAX_SPECS = 32 };

/* Where the training table's values go (train_cli.h's train_cli and dataset_cli, flattened). */
typedef struct fuzz_options_values {
    const char *dataset, *data_dir, *loss, *precision, *out, *from, *model;
    long long image_size, stl10_fold, epochs, steps_per_epoch, labeled_per_class;
    long long unlabeled_batch, labeled_batch, test_batch, seed, threads, width, depth, padding, top;
    double temperature, learning_rate;
    int cifar100_coarse, quiet;
} fuzz_options_values;

/* The training commands' table (src/cli/cli_common.c, src/cli/train_cli.c, command_train.c). */
static size_t fuzz_options_training_specs(fuzz_options_values *v, option_spec *specs)
{
    const option_spec table[] = {
        {"dataset", OPTION_TYPE_CHOICE, &v->dataset, 0, 0,
         "stl10|cifar10|cifar100|mnist|fashion-mnist|folder", NULL, "which dataset to read",
         "fashion-mnist"},
        {"data-dir", OPTION_TYPE_STRING, &v->data_dir, 0, 0, NULL, "DIR",
         "where the dataset's files are", NULL},
        {"image-size", OPTION_TYPE_INT, &v->image_size, 8, 1024, NULL, "N",
         "folder datasets: resize images to N x N", "96"},
        {"stl10-fold", OPTION_TYPE_INT, &v->stl10_fold, -1, 9, NULL, "K", "STL-10 fold", "-1"},
        {"cifar100-coarse", OPTION_TYPE_FLAG, &v->cifar100_coarse, 0, 0, NULL, NULL,
         "CIFAR-100: the 20 coarse labels", NULL},
        {"epochs", OPTION_TYPE_INT, &v->epochs, 1, 100000, NULL, "N", "training epochs", "20"},
        {"steps-per-epoch", OPTION_TYPE_INT, &v->steps_per_epoch, 0, 1e9, NULL, "N",
         "steps per epoch", "0"},
        {"labeled-per-class", OPTION_TYPE_INT, &v->labeled_per_class, 0, 1e9, NULL, "K",
         "labeled subset per class", "0"},
        {"unlabeled-batch", OPTION_TYPE_INT, &v->unlabeled_batch, 1, 100000, NULL, "N",
         "unlabeled images per step", "500"},
        {"labeled-batch", OPTION_TYPE_INT, &v->labeled_batch, 1, 4096, NULL, "N",
         "labeled images per step", "25"},
        {"test-batch", OPTION_TYPE_INT, &v->test_batch, 1, 4096, NULL, "N",
         "images per evaluation batch", "525"},
        {"seed", OPTION_TYPE_INT, &v->seed, 0, 9.2e18, NULL, "S", "seed", "0"},
        {"threads", OPTION_TYPE_INT, &v->threads, 0, 1024, NULL, "N", "worker threads", "0"},
        {"temperature", OPTION_TYPE_FLOAT, &v->temperature, 1e-4, 100, NULL, "T",
         "contrastive loss temperature", "0.1"},
        {"loss", OPTION_TYPE_CHOICE, &v->loss, 0, 0, "seed|nt-xent", NULL, "contrastive loss",
         "seed"},
        {"precision", OPTION_TYPE_CHOICE, &v->precision, 0, 0, "fp32|bf16", NULL,
         "convolution arithmetic", "fp32"},
        {"learning-rate", OPTION_TYPE_FLOAT, &v->learning_rate, 1e-9, 10, NULL, "LR",
         "Adam learning rate", "0.001"},
        {"width", OPTION_TYPE_INT, &v->width, 1, 4096, NULL, "N", "encoder width", "128"},
        {"depth", OPTION_TYPE_INT, &v->depth, 1, 15, NULL, "N", "convolution layers", "4"},
        {"padding", OPTION_TYPE_INT, &v->padding, -1, 15, NULL, "P", "convolution padding", "-1"},
        {"out", OPTION_TYPE_STRING, &v->out, 0, 0, NULL, "DIR", "output directory",
         "runs/latest"},
        {"quiet", OPTION_TYPE_FLAG, &v->quiet, 0, 0, NULL, NULL, "no progress lines", NULL},
        {"from", OPTION_TYPE_STRING, &v->from, 0, 0, NULL, "CHECKPOINT",
         "pretraining checkpoint", NULL},
    };
    size_t count = sizeof table / sizeof table[0];
    FUZZ_CHECK(count <= FUZZ_OPTIONS_MAX_SPECS);
    memcpy(specs, table, sizeof table);
    return count;
}

/* `simclr predict`'s table (src/cli/command_predict.c). */
static size_t fuzz_options_predict_specs(fuzz_options_values *v, option_spec *specs)
{
    specs[0] = (option_spec){"model", OPTION_TYPE_STRING, &v->model, 0, 0, NULL, "CHECKPOINT",
                             "classifier checkpoint", NULL};
    specs[1] = (option_spec){"top", OPTION_TYPE_INT, &v->top, 1, 100, NULL, "K",
                             "print the K most probable classes", "1"};
    return 2;
}

/* Whether value is one of the '|'-separated choices. */
static int fuzz_options_is_choice(const char *choices, const char *value)
{
    size_t length = strlen(value);
    for (const char *cursor = choices; *cursor;) {
        const char *bar = strchr(cursor, '|');
        size_t choice_length = bar ? (size_t)(bar - cursor) : strlen(cursor);
        if (choice_length == length && strncmp(cursor, value, length) == 0) return 1;
        if (!bar) break;
        cursor = bar + 1;
    }
    return 0;
}

/* What options_parse promises about a successful parse. */
static void fuzz_options_check(const option_parser *parser, int argc, char **argv)
{
    for (size_t i = 0; i < parser->spec_count; i++) {
        const option_spec *spec = &parser->specs[i];
        FUZZ_CHECK(options_given(parser, spec->name) == parser->given[i]);
        if (!parser->given[i]) continue;
        switch (spec->type) {
        case OPTION_TYPE_INT: {
            long long value = *(const long long *)spec->target;
            FUZZ_CHECK((double)value >= spec->min && (double)value <= spec->max);
            break;
        }
        case OPTION_TYPE_FLOAT: {
            double value = *(const double *)spec->target;
            FUZZ_CHECK(isfinite(value) && value >= spec->min && value <= spec->max);
            break;
        }
        case OPTION_TYPE_STRING: {
            const char *value = *(const char *const *)spec->target;
            FUZZ_CHECK(value != NULL && value[0] != '\0');
            break;
        }
        case OPTION_TYPE_CHOICE: {
            const char *value = *(const char *const *)spec->target;
            FUZZ_CHECK(value != NULL && fuzz_options_is_choice(spec->choices, value));
            break;
        }
        case OPTION_TYPE_FLAG: FUZZ_CHECK(*(const int *)spec->target == 1); break;
        }
    }
    FUZZ_CHECK(parser->positional_count >= 0 && parser->positional_count <= argc);
    if (!parser->allow_positional) FUZZ_CHECK(parser->positional_count == 0);
    for (int p = 0; p < parser->positional_count; p++) {
        int found = 0;
        for (int a = 0; a < argc && !found; a++) found = parser->positional[p] == argv[a];
        FUZZ_CHECK(found);
    }
}

int fuzz_options_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    int predict = fuzz_u8(&in) & 1;
    size_t length = 0;
    const uint8_t *rest = fuzz_rest(&in, &length);

    /* The arguments: the bytes split at NUL, each NUL-terminated in a copy. */
    char *text = malloc(length + 1);
    FUZZ_CHECK(text != NULL);
    if (length) memcpy(text, rest, length);
    text[length] = '\0';
    char *argv[FUZZ_OPTIONS_MAX_ARGS + 1];
    int argc = 0;
    if (length) {
        for (char *arg = text; argc < FUZZ_OPTIONS_MAX_ARGS && arg <= text + length;
             arg += strlen(arg) + 1)
            argv[argc++] = arg;
    }
    argv[argc] = NULL;

    fuzz_options_values values;
    memset(&values, 0, sizeof values);
    option_spec specs[FUZZ_OPTIONS_MAX_SPECS];
    const char *positional[FUZZ_OPTIONS_MAX_ARGS + 1];
    option_parser parser = {.command = predict ? "predict" : "finetune",
                            .usage = "simclr fuzz [options]",
                            .summary = "The fuzz target's table.",
                            .specs = specs};
    if (predict) {
        parser.spec_count = fuzz_options_predict_specs(&values, specs);
        parser.allow_positional = 1;
        parser.positional = positional;
    } else {
        parser.spec_count = fuzz_options_training_specs(&values, specs);
    }

    simclr_error err;
    simclr_error_clear(&err);
    int status = options_parse(&parser, argc, argv, &err);
    FUZZ_CHECK(status == -1 || status == 0 || status == 1);
    if (status == -1) FUZZ_CHECK(err.kind == SIMCLR_ERROR_KIND_INPUT && err.message[0] != '\0');
    if (status == 0) fuzz_options_check(&parser, argc, argv);
    free(text);
    return status;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_options_one(data, size);
    return 0;
}
#endif
