#include "run_record.h"

#include "simclr/augment.h"
#include "simclr/augment_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/atomic_file.h"
#include "simclr/safetensors.h"

static int add_row(run_record *record, const char *key, const char *label, run_value_kind kind,
                   run_row_rule rule, simclr_error *err, const char *format, ...)
    __attribute__((format(printf, 7, 8)));

static int add_row(run_record *record, const char *key, const char *label, run_value_kind kind,
                   run_row_rule rule, simclr_error *err, const char *format, ...)
{
    if (record->count >= RUN_RECORD_MAX_ROWS)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "run record: more than %d rows",
                                RUN_RECORD_MAX_ROWS);
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *value = malloc((size_t)length + 1);
    if (!value) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    va_start(args, format);
    vsnprintf(value, (size_t)length + 1, format, args);
    va_end(args);
    run_record_row *row = &record->rows[record->count];
    snprintf(row->key, sizeof row->key, "%s", key);
    snprintf(row->label, sizeof row->label, "%s", label);
    row->kind = kind;
    row->rule = rule;
    row->value = value;
    snprintf(record->metadata_keys[record->count], sizeof record->metadata_keys[0], "config.%s", key);
    record->metadata[record->count] =
        (simclr_checkpoint_metadata){.key = record->metadata_keys[record->count],
                                     .value = value,
                                     .label = row->label,
                                     .may_change = rule == RUN_ROW_MAY_CHANGE,
                                     .compared_if_recorded = rule == RUN_ROW_IF_RECORDED};
    record->count++;
    return 0;
}

/* The arguments as one shell-quoted line. */
static char *command_line(const char *command, int argc, char **argv)
{
    size_t size = strlen("simclr ") + strlen(command) + 1;
    for (int i = 0; i < argc; i++) size += 4 * strlen(argv[i]) + 3;
    char *line = malloc(size);
    if (!line) return NULL;
    size_t used = (size_t)snprintf(line, size, "simclr %s", command);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int plain = *arg != '\0' && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789-_./=:,+@%") == strlen(arg);
        line[used++] = ' ';
        if (plain) {
            used += (size_t)snprintf(line + used, size - used, "%s", arg);
            continue;
        }
        line[used++] = '\'';
        for (const char *c = arg; *c; c++) {
            if (*c == '\'') {
                memcpy(line + used, "'\\''", 4);
                used += 4;
            } else {
                line[used++] = *c;
            }
        }
        line[used++] = '\'';
        line[used] = '\0';
    }
    return line;
}

static char *split_sizes(const simclr_dataset *ds)
{
    char *text = malloc(96);
    if (text)
        snprintf(text, 96, "{\"unlabeled\": %zu, \"train\": %zu, \"test\": %zu}",
                 ds->splits[SIMCLR_DATASET_SPLIT_UNLABELED].count,
                 ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count,
                 ds->splits[SIMCLR_DATASET_SPLIT_TEST].count);
    return text;
}

static char *class_lines(const simclr_dataset *ds)
{
    size_t size = (size_t)ds->num_classes * SIMCLR_DATASET_CLASS_NAME_MAX + 1;
    char *text = calloc(size, 1);
    if (!text) return NULL;
    for (int c = 0; c < ds->num_classes; c++) {
        if (c) strcat(text, "\n");
        strcat(text, ds->class_names[c]);
    }
    return text;
}

int run_record_build(run_record *record, const run_record_source *source,
                     const simclr_train_config *config, simclr_error *err)
{
    memset(record, 0, sizeof *record);
    const simclr_dataset *ds = source->ds;
    const simclr_model_config *model = &config->model;
    const char *loss = simclr_contrastive_kind_name(config->loss_kind);
    char *line = command_line(source->command, source->argc, source->argv);
    char *splits = split_sizes(ds);
    char *classes = class_lines(ds);
    char optimizer[512], augment[512];
    simclr_train_describe_optimizer(config, optimizer, sizeof optimizer);
    simclr_augment_policy_describe(&config->augment, augment, sizeof augment);
    int status = -1;
    if (!line || !splits || !classes) {
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        goto done;
    }
    const run_row_rule F = RUN_ROW_FIXED, M = RUN_ROW_MAY_CHANGE;
    const run_value_kind N = RUN_VALUE_NUMBER, T = RUN_VALUE_TEXT;
    simclr_nn_layout feature_layout;
    if (simclr_model_feature_layout(model, &feature_layout, err) != 0) goto done;
    /* One row per thing that shapes the run (see docs/RELIABILITY.md for the may-change list). */
    if (add_row(record, "command", "command", T, F, err, "%s", source->command) ||
        add_row(record, "version", "simclr version", T, M, err, "%s", SIMCLR_VERSION) ||
        add_row(record, "command_line", "command line", T, M, err, "%s", line) ||
        add_row(record, "dataset.name", "--dataset", T, F, err, "%s", ds->name) ||
        add_row(record, "dataset.data_dir", "--data-dir", T, M, err, "%s", ds->path) ||
        add_row(record, "dataset.image_shape", "image shape (--image-size)", RUN_VALUE_JSON, F, err,
                "[%d, %d, %d]", ds->height, ds->width, ds->channels) ||
        add_row(record, "dataset.resize", "--resize", T, F, err, "%s",
                ds->kind == SIMCLR_DATASET_KIND_FOLDER ? simclr_image_resize_mode_name(ds->resize) : "none") ||
        /* Issue 25: the list's place may change like --data-dir's; its content is in the fingerprint. */
        add_row(record, "dataset.file_list", "--file-list", T, M, err, "%s",
                source->file_list ? source->file_list : "") ||
        add_row(record, "dataset.labeled_dir", "--labeled-dir", T, F, err, "%s",
                source->labeled_dir ? source->labeled_dir : "") ||
        add_row(record, "dataset.streamed", "--cache-budget (streamed from disk)", RUN_VALUE_JSON, M, err, "%s",
                ds->streamed ? "true" : "false") ||
        add_row(record, "dataset.stl10_fold", "--stl10-fold", N, F, err, "%d", source->stl10_fold) ||
        add_row(record, "dataset.cifar100_coarse", "--cifar100-coarse", RUN_VALUE_JSON, F, err, "%s",
                source->cifar100_coarse ? "true" : "false") ||
        add_row(record, "dataset.splits", "dataset split sizes", RUN_VALUE_JSON, F, err, "%s", splits) ||
        add_row(record, "dataset.class_names", "dataset class names", RUN_VALUE_LIST, F, err, "%s",
                classes) ||
        add_row(record, "dataset.file_count", "dataset files (count)", N, F, err, "%lld",
                source->dataset_file_count) ||
        add_row(record, "dataset.file_bytes", "dataset files (bytes)", N, F, err, "%lld",
                source->dataset_file_bytes) ||
        add_row(record, "dataset.file_list_sha256", "dataset files (SHA-256 of names and sizes)", T,
                F, err, "%s", source->dataset_fingerprint_sha256) ||
        /* Issue 25: the labeled images of a folder of unlabeled ones are the run's data too. */
        add_row(record, "dataset.labeled_dir_sha256", "--labeled-dir's files (SHA-256 of names and sizes)", T,
                RUN_ROW_IF_RECORDED, err, "%s", source->labeled_dir_sha256 ? source->labeled_dir_sha256 : "") ||
        add_row(record, "labeled_per_class", "--labeled-per-class", N, F, err, "%d",
                config->labeled_per_class) ||
        add_row(record, "seed", "--seed", N, F, err, "%llu", (unsigned long long)config->seed) ||
        add_row(record, "epochs", "--epochs", N, M, err, "%d", config->epochs) ||
        add_row(record, "steps_per_epoch", "--steps-per-epoch", N, F, err, "%zu",
                config->steps_per_epoch) ||
        add_row(record, "unlabeled_batch", "--unlabeled-batch", N, F, err, "%zu",
                config->unlabeled_batch) ||
        add_row(record, "labeled_batch", "--labeled-batch", N, F, err, "%zu", config->labeled_batch) ||
        add_row(record, "test_batch", "--test-batch", N, F, err, "%zu", config->test_batch) ||
        add_row(record, "loss", "--loss", T, F, err, "%s", loss) ||
        add_row(record, "temperature", "--temperature", N, F, err, "%g", (double)config->temperature) ||
        add_row(record, "method", "--method", T, F, err, "%s", simclr_method_name(config->method)) ||
        add_row(record, "method.ema_momentum", "--ema-momentum", N, F, err, "%g",
                (double)simclr_train_ema_momentum(config)) ||
        add_row(record, "method.queue_size", "--queue-size", N, F, err, "%d",
                config->method == SIMCLR_METHOD_MOCO ? config->queue_size : 0) ||
        add_row(record, "method.predictor_hidden", "--predictor-hidden", N, F, err, "%d",
                simclr_train_predictor_hidden(config)) ||
        add_row(record, "method.barlow_lambda", "--barlow-lambda", N, F, err, "%g",
                config->method == SIMCLR_METHOD_BARLOW ? (double)config->barlow_lambda : 0.0) ||
        add_row(record, "method.vicreg_weights", "--vicreg-weights", RUN_VALUE_JSON, F, err, "[%g, %g, %g]",
                config->method == SIMCLR_METHOD_VICREG ? (double)config->vicreg_weights[0] : 0.0,
                config->method == SIMCLR_METHOD_VICREG ? (double)config->vicreg_weights[1] : 0.0,
                config->method == SIMCLR_METHOD_VICREG ? (double)config->vicreg_weights[2] : 0.0) ||
        add_row(record, "knn.k", "--knn-k", N, F, err, "%d", config->knn_k) ||
        add_row(record, "knn.temperature", "--knn-temperature", N, F, err, "%g",
                (double)config->knn_temperature) ||
        add_row(record, "optimizer.settings", "--optimizer and its schedule", T, F, err, "%s", optimizer) ||
        add_row(record, "optimizer.learning_rate", "--learning-rate", N, F, err, "%g",
                (double)config->optimizer.learning_rate) ||
        add_row(record, "optimizer.probe_learning_rate", "--probe-learning-rate", N, F, err, "%g",
                (double)simclr_train_probe_learning_rate(config)) ||
        add_row(record, "optimizer.adam", "Keras Adam beta1, beta2, epsilon", RUN_VALUE_JSON, F, err,
                "[%g, %g, %g]", (double)config->optimizer.adam.beta1, (double)config->optimizer.adam.beta2,
                (double)config->optimizer.adam.epsilon) ||
        add_row(record, "model.width", "--width", N, F, err, "%d", model->width) ||
        add_row(record, "model.depth", "--depth", N, F, err, "%d", model->depth) ||
        add_row(record, "model.kernel", "convolution kernel", N, F, err, "%d", model->kernel) ||
        add_row(record, "model.stride", "convolution stride", N, F, err, "%d", model->stride) ||
        add_row(record, "model.padding", "--padding", N, F, err, "%d",
                simclr_model_resolved_padding(model)) ||
        add_row(record, "model.backbone", "--backbone", T, F, err, "%s",
                simclr_model_backbone_name(model->backbone)) ||
        add_row(record, "model.stem", "--stem", T, F, err, "%s",
                simclr_model_stem_name(simclr_model_resolved_stem(model))) ||
        add_row(record, "model.zero_init_residual", "--zero-init-residual", N, F, err, "%d",
                model->zero_init_residual) ||
        add_row(record, "model.features", "encoder feature width", N, F, err, "%d",
                simclr_model_feature_width(model)) ||
        add_row(record, "model.head_hidden", "--head-hidden", N, F, err, "%d", model->head_hidden) ||
        add_row(record, "model.head_out", "--head-out (projection width)", N, F, err, "%d",
                simclr_model_projection_width(model)) ||
        add_row(record, "model.head_bn", "--head-bn", N, F, err, "%d", model->head_bn) ||
        add_row(record, "model.num_classes", "classes", N, F, err, "%d", model->num_classes) ||
        add_row(record, "model.precision", "--precision", T, F, err, "%s",
                simclr_nn_precision_name(model->precision)) ||
        /* Kernel choices, like threads: they change the summation order only. */
        add_row(record, "model.feature_layout", "the encoder's feature-map layout (SIMCLR_CONV_LAYOUT)", T, M,
                err, "%s", simclr_nn_layout_name(feature_layout)) ||
        add_row(record, "augmentation.contrastive", "--augment and its options", T, F, err, "%s", augment) ||
        add_row(record, "augmentation.classification", "augmentation (classification)",
                RUN_VALUE_JSON, F, err, "{\"min_area\": %g, \"brightness\": %g, \"jitter\": %g}",
                (double)SIMCLR_AUGMENT_CLASSIFICATION.min_area,
                (double)SIMCLR_AUGMENT_CLASSIFICATION.brightness,
                (double)SIMCLR_AUGMENT_CLASSIFICATION.jitter))
        goto done;
    if (source->from &&
        (add_row(record, "from.path", "--from", T, M, err, "%s", source->from) ||
         add_row(record, "from.sha256", "--from (SHA-256 of the checkpoint)", T, F, err, "%s",
                 source->from_sha256)))
        goto done;
    if (add_row(record, "out", "--out", T, M, err, "%s", config->out_dir) ||
        add_row(record, "threads", "--threads", N, M, err, "%d", source->threads) ||
        add_row(record, "cpu_isa", "oneDNN's CPU ISA (ONEDNN_MAX_CPU_ISA)", T, M, err, "%s",
                simclr_conv2d_cpu_isa_name()) ||
        /* Issue 14: recorded, not compared: batches do not depend on the number of ranks, so a
         * run may be resumed with another (threads is per rank). */
        add_row(record, "ranks", "mpirun -np (ranks)", N, M, err, "%d", source->ranks) ||
        add_row(record, "checkpoint_every_steps", "--checkpoint-every-steps", N, M, err, "%lld",
                config->checkpoint_every_steps) ||
        add_row(record, "checkpoint_every_minutes", "--checkpoint-every-minutes", N, M, err, "%g",
                config->checkpoint_every_seconds / 60.0) ||
        add_row(record, "quiet", "--quiet", RUN_VALUE_JSON, M, err, "%s",
                source->quiet ? "true" : "false") ||
        add_row(record, "force", "--force", RUN_VALUE_JSON, M, err, "%s",
                source->force ? "true" : "false"))
        goto done;
    status = 0;
done:
    free(line);
    free(splits);
    free(classes);
    if (status != 0) run_record_free(record);
    return status;
}

void run_record_free(run_record *record)
{
    for (int i = 0; i < record->count; i++) free(record->rows[i].value);
    record->count = 0;
}

const run_record_row *run_record_find(const run_record *record, const char *key)
{
    for (int i = 0; i < record->count; i++)
        if (strcmp(record->rows[i].key, key) == 0) return &record->rows[i];
    return NULL;
}

long run_record_json_string(char *out, size_t size, size_t used, const char *text)
{
    if (used + 1 >= size) return -1;
    out[used++] = '"';
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        char escaped[8];
        const char *piece = escaped;
        switch (*c) {
        case '"': piece = "\\\""; break;
        case '\\': piece = "\\\\"; break;
        case '\n': piece = "\\n"; break;
        case '\r': piece = "\\r"; break;
        case '\t': piece = "\\t"; break;
        default:
            if (*c < 0x20) snprintf(escaped, sizeof escaped, "\\u%04x", *c);
            else { escaped[0] = (char)*c; escaped[1] = '\0'; }
        }
        size_t length = strlen(piece);
        if (used + length + 2 >= size) return -1;
        memcpy(out + used, piece, length);
        used += length;
    }
    out[used++] = '"';
    out[used] = '\0';
    return (long)used;
}

static void write_json_string(FILE *stream, const char *text)
{
    size_t size = 6 * strlen(text) + 3;
    char *buffer = malloc(size);
    if (!buffer) return;
    if (run_record_json_string(buffer, size, 0, text) >= 0) fputs(buffer, stream);
    free(buffer);
}

static void write_json_value(FILE *stream, const run_record_row *row)
{
    switch (row->kind) {
    case RUN_VALUE_NUMBER:
    case RUN_VALUE_JSON:
        fputs(row->value, stream);
        return;
    case RUN_VALUE_TEXT:
        write_json_string(stream, row->value);
        return;
    case RUN_VALUE_LIST: {
        fputc('[', stream);
        const char *line = row->value;
        int first = 1;
        while (*line) {
            size_t length = strcspn(line, "\n");
            char *item = strndup(line, length);
            if (!item) break;
            fputs(first ? "" : ", ", stream);
            write_json_string(stream, item);
            free(item);
            first = 0;
            line += length;
            if (*line == '\n') line++;
        }
        fputc(']', stream);
        return;
    }
    }
}

int run_record_write_json(const run_record *record, const char *path, simclr_error *err)
{
    simclr_atomic_file file;
    if (simclr_atomic_file_open(&file, path, err) != 0) return -1;
    FILE *s = file.stream;
    fputs("{", s);
    char group[64] = "";
    for (int i = 0; i < record->count; i++) {
        const run_record_row *row = &record->rows[i];
        const char *dot = strchr(row->key, '.');
        char row_group[64] = "";
        if (dot) snprintf(row_group, sizeof row_group, "%.*s", (int)(dot - row->key), row->key);
        const char *member = dot ? dot + 1 : row->key;
        if (strcmp(row_group, group) != 0) {
            if (group[0]) fputs("\n  }", s);
            if (i) fputs(",", s);
            if (row_group[0]) {
                fputs("\n  ", s);
                write_json_string(s, row_group);
                fputs(": {", s);
            }
            snprintf(group, sizeof group, "%s", row_group);
        } else if (i) {
            fputs(",", s);
        }
        fputs(group[0] ? "\n    " : "\n  ", s);
        write_json_string(s, member);
        fputs(": ", s);
        write_json_value(s, row);
    }
    if (group[0]) fputs("\n  }", s);
    fputs("\n}\n", s);
    return simclr_atomic_file_commit(&file, err);
}

/* A value as shown in a difference line: lists on one line, long values shortened. */
