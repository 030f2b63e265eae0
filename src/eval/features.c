/* A saved model's representation (encoder or projection head output) in inference mode. */
#include "simclr/features.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/model.h"

int simclr_feature_kind_parse(const char *name, simclr_feature_kind *kind)
{
    if (strcmp(name, "encoder") == 0) *kind = SIMCLR_FEATURE_KIND_ENCODER;
    else if (strcmp(name, "projection") == 0) *kind = SIMCLR_FEATURE_KIND_PROJECTION;
    else return -1;
    return 0;
}

const char *simclr_feature_kind_name(simclr_feature_kind kind)
{
    return kind == SIMCLR_FEATURE_KIND_PROJECTION ? "projection" : "encoder";
}

int simclr_feature_extractor_load(simclr_feature_extractor *fx, const char *path, const simclr_feature_options *options,
                                  simclr_error *err)
{
    memset(fx, 0, sizeof *fx);
    fx->options = *options;
    snprintf(fx->path, sizeof fx->path, "%s", path);
    if (options->max_batch < 1) return simclr_error_input(err, "feature batch %d: expected at least 1", options->max_batch);
    if (simclr_checkpoint_read_info(path, &fx->info, err) != 0) return -1;
    int projection = options->kind == SIMCLR_FEATURE_KIND_PROJECTION;
    if (projection && strcmp(fx->info.run, "pretrain") != 0) {
        simclr_error_input(err, "--features projection: %s is a %s checkpoint, which has no projection head; use a "
                                "pretraining checkpoint (pretrain.safetensors) or --features encoder",
                           path, fx->info.run);
        goto fail;
    }
    if (fx->info.model.precision == SIMCLR_NN_PRECISION_BF16 && !simclr_conv2d_bf16_available())
        fx->info.model.precision = SIMCLR_NN_PRECISION_FP32;
    int batch = options->max_batch;
    fx->info.model.network = fx->options.network;
    if (simclr_model_build_encoder(&fx->encoder, &fx->info.model, batch, err) != 0) goto fail;
    if (projection && simclr_model_build_projection_head(&fx->head, &fx->info.model, batch, err) != 0) goto fail;
    if (options->random_init) {
        simclr_network_init_weights(&fx->encoder, options->seed);
        if (projection) simclr_network_init_weights(&fx->head, options->seed);
    } else {
        if (simclr_checkpoint_load_part(path, &fx->encoder, NULL, err) != 0) goto fail;
        if (projection && simclr_checkpoint_load_part(path, &fx->head, NULL, err) != 0) goto fail;
    }
    /* Inference mode: batchnorm on the checkpoint's running statistics, so an image's features do
     * not depend on the batch it comes in (nor change the statistics). */
    simclr_network_set_training(&fx->encoder, 0);
    if (projection) simclr_network_set_training(&fx->head, 0);
    fx->dim = (int)simclr_network_output_size(projection ? &fx->head : &fx->encoder);
    size_t image_bytes = (size_t)fx->info.model.input.height * (size_t)fx->info.model.input.width *
                         (size_t)fx->info.model.input.channels;
    fx->pixels = simclr_checked_calloc((size_t)batch, image_bytes, "image batch", err);
    fx->inputs = fx->pixels ? simclr_checked_calloc((size_t)batch * image_bytes, sizeof(float), "input batch", err) : NULL;
    if (!fx->inputs) goto fail;
    return 0;
fail:
    simclr_feature_extractor_free(fx);
    return -1;
}

void simclr_feature_extractor_free(simclr_feature_extractor *fx)
{
    simclr_network_free(&fx->encoder);
    simclr_network_free(&fx->head);
    simclr_checkpoint_info_free(&fx->info);
    free(fx->pixels);
    free(fx->inputs);
    fx->pixels = NULL;
    fx->inputs = NULL;
}

int simclr_feature_extractor_check_dataset(const simclr_feature_extractor *fx, const simclr_dataset *ds,
                                           simclr_error *err)
{
    const simclr_tensor_shape *input = &fx->info.model.input;
    if (input->height != ds->height || input->width != ds->width || input->channels != ds->channels)
        return simclr_error_input(err, "--model %s was trained on %dx%dx%d images but dataset %s has %dx%dx%d "
                                       "(for image folders, set --image-size)",
                                  fx->path, input->height, input->width, input->channels, ds->name, ds->height,
                                  ds->width, ds->channels);
    return 0;
}

int simclr_feature_extractor_run(simclr_feature_extractor *fx, const float *inputs, int batch, const float **features,
                                 simclr_error *err)
{
    if (simclr_network_forward(&fx->encoder, inputs, batch, err) != 0) return -1;
    if (fx->options.kind == SIMCLR_FEATURE_KIND_PROJECTION) {
        if (simclr_network_forward(&fx->head, simclr_network_output(&fx->encoder), batch, err) != 0) return -1;
        *features = simclr_network_output(&fx->head);
    } else {
        *features = simclr_network_output(&fx->encoder);
    }
    return 0;
}

int simclr_feature_extractor_split(simclr_feature_extractor *fx, const simclr_dataset *ds,
                                   simclr_dataset_split_id split, const size_t *indices, size_t count,
                                   simclr_feature_sink sink, void *context, simclr_progress *progress,
                                   simclr_error *err)
{
    if (simclr_feature_extractor_check_dataset(fx, ds, err) != 0) return -1;
    size_t image_bytes = simclr_dataset_image_bytes(ds);
    size_t batch = (size_t)fx->options.max_batch;
    int done = 0;
    for (size_t start = 0; start < count; start += batch) {
        size_t n = count - start < batch ? count - start : batch;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            simclr_dataset_read_image(ds, split, indices ? indices[start + i] : start + i, fx->pixels + i * image_bytes);
        simclr_augment_rescale(fx->pixels, n * image_bytes, fx->inputs);
        const float *features = NULL;
        if (simclr_feature_extractor_run(fx, fx->inputs, (int)n, &features, err) != 0) return -1;
        if (sink(context, features, start, n, err) != 0) return -1;
        if (progress) simclr_progress_update(progress, ++done, "");
    }
    return 0;
}

typedef struct matrix_sink {
    float *out;
    size_t dim;
} matrix_sink;

static int copy_rows(void *context, const float *features, size_t first, size_t count, simclr_error *err)
{
    (void)err;
    matrix_sink *m = context;
    memcpy(m->out + first * m->dim, features, count * m->dim * sizeof(float));
    return 0;
}

int simclr_feature_extractor_split_matrix(simclr_feature_extractor *fx, const simclr_dataset *ds,
                                          simclr_dataset_split_id split, const size_t *indices, size_t count,
                                          float *out, simclr_progress *progress, simclr_error *err)
{
    matrix_sink m = {out, (size_t)fx->dim};
    return simclr_feature_extractor_split(fx, ds, split, indices, count, copy_rows, &m, progress, err);
}
