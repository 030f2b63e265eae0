#include "simclr/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/safetensors.h"

#define CHECKPOINT_FORMAT "simclr-checkpoint-1"

static int layer_kernel_shape(const simclr_network_layer *layer, int64_t *shape)
{
    if (layer->spec.kind == SIMCLR_LAYER_KIND_CONV2D) {
        shape[0] = layer->spec.kernel;
        shape[1] = layer->spec.kernel;
        shape[2] = layer->in_shape.channels;
        shape[3] = layer->spec.units;
        return 4;
    }
    shape[0] = (int64_t)layer->in_size;
    shape[1] = layer->spec.units;
    return 2;
}

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
        for (int i = 0; i < net->layer_count; i++) {
            const simclr_network_layer *layer = &net->layers[i];
            char name[128];
            int64_t shape[4];
            int ndim = layer_kernel_shape(layer, shape);
            simclr_network_tensor_name(net, i, 0, name, sizeof name);
            if (simclr_safetensors_writer_add(&writer, name, SIMCLR_SAFETENSORS_DTYPE_F32, shape, ndim,
                                       net->params + layer->kernel_offset, err) != 0)
                goto done;
            int64_t bias_shape[1] = {(int64_t)layer->bias_count};
            simclr_network_tensor_name(net, i, 1, name, sizeof name);
            if (simclr_safetensors_writer_add(&writer, name, SIMCLR_SAFETENSORS_DTYPE_F32, bias_shape, 1,
                                       net->params + layer->bias_offset, err) != 0)
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
    long long values[11];
    const char *keys[11] = {"epochs_done", "epochs_total", "model.height", "model.width",
                            "model.channels", "model.units", "model.depth", "model.kernel",
                            "model.stride", "model.padding", "model.num_classes"};
    const long long maxima[11] = {1000000, 1000000, 16384, 16384, 4, 65536, 15, 15, 15, 15, 100};
    for (int k = 0; k < 11; k++) {
        long long min = (k == 0 || k == 1 || k == 9) ? 0 : 1;
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
    const char *augment = simclr_safetensors_metadata(file, "recipe.augment");
    snprintf(info->augment, sizeof info->augment, "%s", augment ? augment : "");
    const char *optimizer = simclr_safetensors_metadata(file, "recipe.optimizer");
    snprintf(info->optimizer, sizeof info->optimizer, "%s", optimizer ? optimizer : "");
    const char *seconds = simclr_safetensors_metadata(file, "resume.seconds");
    info->epoch_seconds = seconds ? strtod(seconds, NULL) : 0.0;
    const char *names = simclr_safetensors_metadata(file, "class_names");
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

int simclr_checkpoint_read_info(const char *path, simclr_checkpoint_info *info, simclr_error *err)
{
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, path, err) != 0) return -1;
    int status = read_info(&file, info, err);
    simclr_safetensors_close(&file);
    return status;
}

int simclr_checkpoint_load_part(const char *path, simclr_network *net, simclr_optimizer *optimizer, simclr_error *err)
{
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, path, err) != 0) return -1;
    int status = -1;
    for (int i = 0; i < net->layer_count; i++) {
        const simclr_network_layer *layer = &net->layers[i];
        char name[128];
        int64_t shape[4];
        int ndim = layer_kernel_shape(layer, shape);
        simclr_network_tensor_name(net, i, 0, name, sizeof name);
        if (simclr_safetensors_read_f32(&file, name, shape, ndim, net->params + layer->kernel_offset,
                                 err) != 0)
            goto done;
        int64_t bias_shape[1] = {(int64_t)layer->bias_count};
        simclr_network_tensor_name(net, i, 1, name, sizeof name);
        if (simclr_safetensors_read_f32(&file, name, bias_shape, 1, net->params + layer->bias_offset,
                                 err) != 0)
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
