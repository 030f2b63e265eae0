#include "simclr/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/safetensors.h"

#define CHECKPOINT_FORMAT "simclr-checkpoint-1"

static int set_int(simclr_safetensors_writer *writer, const char *key, long long value, simclr_error *err)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    return simclr_safetensors_writer_set_metadata(writer, key, text, err);
}

static int add_metadata(simclr_safetensors_writer *writer, const simclr_checkpoint_info *info, simclr_error *err)
{
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)info->seed);
    if (simclr_safetensors_writer_set_metadata(writer, "format", CHECKPOINT_FORMAT, err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "run", info->run, err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "classifier", info->classifier, err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "dataset", info->dataset, err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "data_dir", info->data_dir, err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "seed", seed, err) != 0 ||
        set_int(writer, "epochs_done", info->epochs_done, err) != 0 ||
        set_int(writer, "epochs_total", info->epochs_total, err) != 0 ||
        set_int(writer, "model.height", info->model.input.height, err) != 0 ||
        set_int(writer, "model.width", info->model.input.width, err) != 0 ||
        set_int(writer, "model.channels", info->model.input.channels, err) != 0 ||
        set_int(writer, "model.units", info->model.width, err) != 0 ||
        set_int(writer, "model.depth", info->model.depth, err) != 0 ||
        set_int(writer, "model.kernel", info->model.kernel, err) != 0 ||
        set_int(writer, "model.stride", info->model.stride, err) != 0 ||
        set_int(writer, "model.padding", simclr_model_resolved_padding(&info->model), err) != 0 ||
        set_int(writer, "model.num_classes", info->num_classes, err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "model.precision",
                                        simclr_nn_precision_name(info->model.precision), err) != 0)
        return -1;
    /* The backbone and head (issue 11); absent in older checkpoints, which are the seed's. */
    if (simclr_safetensors_writer_set_metadata(writer, "model.backbone",
                                               simclr_model_backbone_name(info->model.backbone), err) != 0 ||
        simclr_safetensors_writer_set_metadata(writer, "model.stem",
                                               simclr_model_stem_name(simclr_model_resolved_stem(&info->model)),
                                               err) != 0 ||
        set_int(writer, "model.zero_init_residual", info->model.zero_init_residual, err) != 0 ||
        set_int(writer, "model.head_hidden", info->model.head_hidden, err) != 0 ||
        set_int(writer, "model.head_out", info->model.head_out, err) != 0 ||
        set_int(writer, "model.head_bn", info->model.head_bn, err) != 0)
        return -1;
    if (set_int(writer, "resume.step", info->resume_step, err) != 0) return -1;
    if ((info->augment[0] &&
         simclr_safetensors_writer_set_metadata(writer, "recipe.augment", info->augment, err) != 0) ||
        (info->optimizer[0] &&
         simclr_safetensors_writer_set_metadata(writer, "recipe.optimizer", info->optimizer, err) != 0))
        return -1;
    char numbers[SIMCLR_CHECKPOINT_MAX_ACCUMULATORS * 32 + 32] = "";
    for (int i = 0; i < info->accumulator_count && i < SIMCLR_CHECKPOINT_MAX_ACCUMULATORS; i++) {
        size_t used = strlen(numbers);
        snprintf(numbers + used, sizeof numbers - used, "%s%.17g", i ? "," : "",
                 info->accumulators[i]);
    }
    if (simclr_safetensors_writer_set_metadata(writer, "resume.accumulators", numbers, err) != 0)
        return -1;
    if (info->accumulator_count > 0 && info->accumulator_names[0][0]) { /* issue 24: by name */
        char names[SIMCLR_CHECKPOINT_MAX_ACCUMULATORS * SIMCLR_CHECKPOINT_ACCUMULATOR_NAME_MAX + 8] = "";
        for (int i = 0; i < info->accumulator_count && i < SIMCLR_CHECKPOINT_MAX_ACCUMULATORS; i++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? "," : "", info->accumulator_names[i]);
        }
        if (simclr_safetensors_writer_set_metadata(writer, "resume.accumulator_names", names, err) != 0) return -1;
    }
    snprintf(numbers, sizeof numbers, "%.6f", info->epoch_seconds);
    if (simclr_safetensors_writer_set_metadata(writer, "resume.seconds", numbers, err) != 0) return -1;
    /* Class names one per line (a name never holds a newline). */
    size_t size = (size_t)info->num_classes * 65 + 1;
    char *names = calloc(size, 1);
    if (!names) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    for (int c = 0; c < info->num_classes; c++) {
        if (c) strcat(names, "\n");
        strcat(names, info->class_names[c]);
    }
    int status = simclr_safetensors_writer_set_metadata(writer, "class_names", names, err);
    free(names);
    for (int i = 0; status == 0 && i < info->extra_count; i++)
        status = simclr_safetensors_writer_set_metadata(writer, info->extra[i].key,
                                                        info->extra[i].value, err);
    return status;
}

int simclr_checkpoint_save(const char *path, const simclr_checkpoint_info *info, const simclr_checkpoint_part *parts,
                    int part_count, simclr_error *err)
{
    simclr_safetensors_writer writer;
    simclr_safetensors_writer_init(&writer);
    int status = -1;
    if (add_metadata(&writer, info, err) != 0) goto done;
    for (int p = 0; p < part_count; p++) {
        const simclr_network *net = parts[p].net;
        if (!net) {
            int64_t shape[2] = {parts[p].rows, parts[p].cols};
            if ((parts[p].tensor_name &&
                 simclr_safetensors_writer_add(&writer, parts[p].tensor_name, SIMCLR_SAFETENSORS_DTYPE_F32, shape, 2,
                                               parts[p].values, err) != 0) ||
                (parts[p].counter_name && set_int(&writer, parts[p].counter_name, *parts[p].counter, err) != 0))
                goto done;
            continue;
        }
        /* Kernels and biases (gamma and beta), then batchnorm running statistics, layer by
         * layer: for the seed's model exactly its kernels and biases, as before. */
        for (int t = 0; t < simclr_network_tensor_count(net); t++) {
            simclr_network_tensor tensor;
            simclr_network_tensor_at(net, t, &tensor);
            if (simclr_safetensors_writer_add(&writer, tensor.name, SIMCLR_SAFETENSORS_DTYPE_F32, tensor.shape,
                                              tensor.ndim, tensor.values, err) != 0)
                goto done;
        }
        const simclr_optimizer *optimizer = parts[p].optimizer;
        if (optimizer) {
            char name[128];
            int64_t flat[1] = {(int64_t)optimizer->count};
            snprintf(name, sizeof name, "optimizer.%s.m", net->name);
            if (simclr_safetensors_writer_add(&writer, name, SIMCLR_SAFETENSORS_DTYPE_F32, flat, 1, optimizer->m,
                                       err) != 0)
                goto done;
            snprintf(name, sizeof name, "optimizer.%s.v", net->name);
            if (optimizer->v && simclr_safetensors_writer_add(&writer, name, SIMCLR_SAFETENSORS_DTYPE_F32, flat,
                                                              1, optimizer->v, err) != 0)
                goto done;
            snprintf(name, sizeof name, "optimizer.%s.step", net->name);
            if (set_int(&writer, name, (long long)optimizer->step, err) != 0) goto done;
        }
    }
    status = simclr_safetensors_writer_write(&writer, path, err);
done:
    simclr_safetensors_writer_free(&writer);
    return status;
}

static int metadata_int(const simclr_safetensors_file *file, const char *key, long long min,
                        long long max, long long *out, simclr_error *err)
{
    const char *text = simclr_safetensors_metadata(file, key);
    if (!text) return simclr_error_input(err, "%s: not a simclr checkpoint (metadata '%s' missing)",
                                  file->name, key);
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end || value < min || value > max)
        return simclr_error_input(err, "%s: metadata '%s' is '%s', expected an integer in [%lld, %lld]",
                           file->name, key, text, min, max);
    *out = value;
    return 0;
}

static int read_info(const simclr_safetensors_file *file, simclr_checkpoint_info *info, simclr_error *err)
{
    memset(info, 0, sizeof *info);
    const char *format = simclr_safetensors_metadata(file, "format");
    if (!format || strcmp(format, CHECKPOINT_FORMAT) != 0)
        return simclr_error_input(err, "%s: not a simclr checkpoint (metadata 'format' is %s%s%s, "
                                "expected '" CHECKPOINT_FORMAT "')",
                           file->name, format ? "'" : "", format ? format : "missing",
                           format ? "'" : "");
    const char *text_keys[3] = {"run", "classifier", "dataset"};
    char *text_targets[3] = {info->run, info->classifier, info->dataset};
    for (int k = 0; k < 3; k++) {
        const char *value = simclr_safetensors_metadata(file, text_keys[k]);
        if (!value) return simclr_error_input(err, "%s: metadata '%s' missing", file->name, text_keys[k]);
        snprintf(text_targets[k], 32, "%s", value);
    }
    const char *data_dir = simclr_safetensors_metadata(file, "data_dir");
    snprintf(info->data_dir, sizeof info->data_dir, "%s", data_dir ? data_dir : "");
    const char *resize = simclr_safetensors_metadata(file, "config.dataset.resize");
    info->resize = SIMCLR_IMAGE_RESIZE_SQUASH;
    if (resize && strcmp(resize, "none") != 0 && simclr_image_resize_mode_parse(resize, &info->resize) != 0)
        return simclr_error_input(err, "%s: metadata 'config.dataset.resize' is '%s', expected crop or squash",
                                  file->name, resize);
    long long values[11];
    const char *keys[11] = {"epochs_done", "epochs_total", "model.height", "model.width",
                            "model.channels", "model.units", "model.depth", "model.kernel",
                            "model.stride", "model.padding", "model.num_classes"};
    const long long maxima[11] = {1000000, 1000000, 16384, 16384, 4, 65536, 15, 15, 15, 15, 65535};
    for (int k = 0; k < 11; k++) {
        /* Issue 25: pretrained without labeled images, a checkpoint has no classifier and no classes. */
        long long min = (k == 0 || k == 1 || k == 9 || (k == 10 && !info->classifier[0])) ? 0 : 1;
        if (metadata_int(file, keys[k], min, maxima[k], &values[k], err) != 0) return -1;
    }
    const char *seed = simclr_safetensors_metadata(file, "seed");
    info->seed = seed ? strtoull(seed, NULL, 10) : 0;
    info->epochs_done = (int)values[0];
    info->epochs_total = (int)values[1];
    info->model.input = (simclr_tensor_shape){(int)values[2], (int)values[3], (int)values[4]};
    info->model.width = (int)values[5];
    info->model.depth = (int)values[6];
    info->model.kernel = (int)values[7];
    info->model.stride = (int)values[8];
    info->model.padding = (int)values[9];
    info->model.num_classes = (int)values[10];
    info->num_classes = (int)values[10];
    /* Written since bf16 arrived; older checkpoints are fp32. */
    const char *precision = simclr_safetensors_metadata(file, "model.precision");
    if (!precision || strcmp(precision, "fp32") == 0)
        info->model.precision = SIMCLR_NN_PRECISION_FP32;
    else if (strcmp(precision, "bf16") == 0)
        info->model.precision = SIMCLR_NN_PRECISION_BF16;
    else
        return simclr_error_input(err, "%s: metadata 'model.precision' is '%s' (expected fp32 or bf16)",
                           file->name, precision);
    const char *backbone = simclr_safetensors_metadata(file, "model.backbone");
    int backbone_id = backbone ? simclr_model_backbone_from_name(backbone) : SIMCLR_MODEL_BACKBONE_SEED;
    if (backbone_id < 0)
        return simclr_error_input(err, "%s: metadata 'model.backbone' is '%s' (expected seed, resnet18, resnet34 "
                                       "or resnet50)",
                                  file->name, backbone);
    info->model.backbone = (simclr_model_backbone)backbone_id;
    const char *stem = simclr_safetensors_metadata(file, "model.stem");
    info->model.stem = !stem || strcmp(stem, "auto") == 0 ? SIMCLR_MODEL_STEM_AUTO
                       : strcmp(stem, "imagenet") == 0    ? SIMCLR_MODEL_STEM_IMAGENET
                       : strcmp(stem, "cifar") == 0       ? SIMCLR_MODEL_STEM_CIFAR
                                                          : -1;
    if ((int)info->model.stem < 0)
        return simclr_error_input(err, "%s: metadata 'model.stem' is '%s' (expected imagenet or cifar)", file->name,
                                  stem);
    const char *head_keys[4] = {"model.zero_init_residual", "model.head_hidden", "model.head_out", "model.head_bn"};
    int *head_targets[4] = {&info->model.zero_init_residual, &info->model.head_hidden, &info->model.head_out,
                            &info->model.head_bn};
    const long long head_maxima[4] = {1, SIMCLR_MODEL_MAX_HEAD_UNITS, SIMCLR_MODEL_MAX_HEAD_UNITS, 1};
    for (int k = 0; k < 4; k++) {
        long long value = 0;
        if (simclr_safetensors_metadata(file, head_keys[k]) &&
            metadata_int(file, head_keys[k], 0, head_maxima[k], &value, err) != 0)
            return -1;
        *head_targets[k] = (int)value;
    }
    long long resume_step = 0;
    if (simclr_safetensors_metadata(file, "resume.step") &&
        metadata_int(file, "resume.step", 0, 1000000000, &resume_step, err) != 0)
        return -1;
    info->resume_step = (int)resume_step;
    const char *numbers = simclr_safetensors_metadata(file, "resume.accumulators");
    while (numbers && *numbers && info->accumulator_count < SIMCLR_CHECKPOINT_MAX_ACCUMULATORS) {
        char *end = NULL;
        double value = strtod(numbers, &end);
        if (end == numbers)
            return simclr_error_input(err, "%s: metadata 'resume.accumulators' is not a list of numbers",
                               file->name);
        info->accumulators[info->accumulator_count++] = value;
        numbers = *end == ',' ? end + 1 : end;
    }
    const char *sum_names = simclr_safetensors_metadata(file, "resume.accumulator_names");
    for (int i = 0; sum_names && i < info->accumulator_count; i++) {
        size_t length = strcspn(sum_names, ",");
        if (length == 0 || length >= SIMCLR_CHECKPOINT_ACCUMULATOR_NAME_MAX)
            return simclr_error_input(err, "%s: metadata 'resume.accumulator_names' does not name the %d running "
                                           "sums of 'resume.accumulators'",
                                      file->name, info->accumulator_count);
        memcpy(info->accumulator_names[i], sum_names, length);
        info->accumulator_names[i][length] = '\0';
        sum_names += length;
        if (*sum_names == ',') sum_names++;
        else if (i + 1 < info->accumulator_count) sum_names = "";
    }
    if (sum_names && *sum_names)
        return simclr_error_input(err, "%s: metadata 'resume.accumulator_names' names more sums than "
                                       "'resume.accumulators' holds (%d)",
                                  file->name, info->accumulator_count);
    const char *augment = simclr_safetensors_metadata(file, "recipe.augment");
    snprintf(info->augment, sizeof info->augment, "%s", augment ? augment : "");
    const char *optimizer = simclr_safetensors_metadata(file, "recipe.optimizer");
    snprintf(info->optimizer, sizeof info->optimizer, "%s", optimizer ? optimizer : "");
    const char *seconds = simclr_safetensors_metadata(file, "resume.seconds");
    info->epoch_seconds = seconds ? strtod(seconds, NULL) : 0.0;
    const char *names = simclr_safetensors_metadata(file, "class_names");
    info->class_names = simclr_checked_calloc((size_t)info->num_classes, sizeof *info->class_names, "class names", err);
    if (!info->class_names) return -1;
    info->owns_class_names = 1;
    int c = 0;
    while (names && *names && c < info->num_classes) {
        size_t length = strcspn(names, "\n");
        snprintf(info->class_names[c], sizeof info->class_names[c], "%.*s",
                 (int)(length < 63 ? length : 63), names);
        c++;
        names += length;
        if (*names == '\n') names++;
    }
    for (; c < info->num_classes; c++)
        snprintf(info->class_names[c], sizeof info->class_names[c], "class_%d", c);
    return 0;
}

void simclr_checkpoint_info_free(simclr_checkpoint_info *info)
{
    if (info->owns_class_names) free(info->class_names);
    info->class_names = NULL;
    info->owns_class_names = 0;
}

int simclr_checkpoint_read_info(const char *path, simclr_checkpoint_info *info, simclr_error *err)
{
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, path, err) != 0) return -1;
    int status = read_info(&file, info, err);
    simclr_safetensors_close(&file);
    if (status != 0) simclr_checkpoint_info_free(info);
    return status;
}

int simclr_checkpoint_load_part(const char *path, simclr_network *net, simclr_optimizer *optimizer, simclr_error *err)
{
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, path, err) != 0) return -1;
    int status = -1;
    for (int t = 0; t < simclr_network_tensor_count(net); t++) {
        simclr_network_tensor tensor;
        simclr_network_tensor_at(net, t, &tensor);
        if (simclr_safetensors_read_f32(&file, tensor.name, tensor.shape, tensor.ndim, tensor.values, err) != 0)
            goto done;
    }
    if (optimizer) {
        char name[128];
        int64_t flat[1] = {(int64_t)optimizer->count};
        snprintf(name, sizeof name, "optimizer.%s.m", net->name);
        if (simclr_safetensors_read_f32(&file, name, flat, 1, optimizer->m, err) != 0) goto done;
        snprintf(name, sizeof name, "optimizer.%s.v", net->name);
        if (optimizer->v && simclr_safetensors_read_f32(&file, name, flat, 1, optimizer->v, err) != 0) goto done;
        snprintf(name, sizeof name, "optimizer.%s.step", net->name);
        long long step = 0;
        if (metadata_int(&file, name, 0, (long long)1 << 62, &step, err) != 0) goto done;
        optimizer->step = step;
    }
    status = 0;
done:
    simclr_safetensors_close(&file);
    return status;
}

int simclr_checkpoint_load_parts(const char *path, const simclr_checkpoint_part *parts, int part_count,
                                 simclr_error *err)
{
    for (int p = 0; p < part_count; p++) {
        if (parts[p].net) {
            simclr_network *net = parts[p].net;
            char name[sizeof net->name];
            snprintf(name, sizeof name, "%s", net->name);
            if (parts[p].former_name) { /* saved by an earlier version under its former name? */
                simclr_safetensors_file file;
                if (simclr_safetensors_open(&file, path, err) != 0) return -1;
                simclr_network_tensor first;
                simclr_network_tensor_at(net, 0, &first);
                if (!simclr_safetensors_find(&file, first.name))
                    snprintf(net->name, sizeof net->name, "%s", parts[p].former_name);
                simclr_safetensors_close(&file);
            }
            int status = simclr_checkpoint_load_part(path, net, parts[p].optimizer, err);
            snprintf(net->name, sizeof net->name, "%s", name);
            if (status != 0) return -1;
            continue;
        }
        simclr_safetensors_file file;
        if (simclr_safetensors_open(&file, path, err) != 0) return -1;
        int64_t shape[2] = {parts[p].rows, parts[p].cols};
        long long value = 0;
        int status = 0;
        if (parts[p].tensor_name)
            status = simclr_safetensors_read_f32(&file, parts[p].tensor_name, shape, 2, parts[p].values, err);
        if (status == 0 && parts[p].counter_name) {
            status = metadata_int(&file, parts[p].counter_name, 0, (long long)1 << 62, &value, err);
            if (status == 0) *parts[p].counter = value;
        }
        simclr_safetensors_close(&file);
        if (status != 0) return -1;
    }
    return 0;
}

static int check_model_against(const char *path, const simclr_checkpoint_info *info, const simclr_model_config *model,
                               const char *flag, simclr_error *err)
{
    const simclr_model_config *saved = &info->model;
    if (saved->backbone != model->backbone)
        return simclr_error_input(err, "%s %s: the checkpoint holds a %s encoder, not --backbone %s", flag, path,
                                  simclr_model_backbone_name(saved->backbone),
                                  simclr_model_backbone_name(model->backbone));
    if (model->backbone != SIMCLR_MODEL_BACKBONE_SEED &&
        simclr_model_resolved_stem(saved) != simclr_model_resolved_stem(model))
        return simclr_error_input(err, "%s %s: the checkpoint's %s has the %s stem, not --stem %s", flag, path,
                                  simclr_model_backbone_name(saved->backbone),
                                  simclr_model_stem_name(simclr_model_resolved_stem(saved)),
                                  simclr_model_stem_name(simclr_model_resolved_stem(model)));
    if (model->backbone == SIMCLR_MODEL_BACKBONE_SEED &&
        (saved->width != model->width || saved->depth != model->depth))
        return simclr_error_input(err, "%s %s: the checkpoint's encoder has --width %d --depth %d, not --width %d "
                                       "--depth %d",
                                  flag, path, saved->width, saved->depth, model->width, model->depth);
    return 0;
}

int simclr_checkpoint_check_model(const char *path, const simclr_model_config *model, const char *flag,
                                  simclr_error *err)
{
    simclr_checkpoint_info info;
    if (simclr_checkpoint_read_info(path, &info, err) != 0) return -1;
    int status = check_model_against(path, &info, model, flag, err);
    simclr_checkpoint_info_free(&info);
    return status;
}
