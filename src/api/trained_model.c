/*
 * The inference API (trained_model.h) over the classifier model of inference.h: images are
 * prepared one by one into a batch buffer (simclr_image_fit / simclr_image_load_fitted), scaled
 * to [0, 1] and run through the encoder (and the classifier) SIMCLR_TRAINED_MODEL_BATCH at a time.
 */
#include "simclr/trained_model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/image_io.h"
#include "simclr/inference.h"

/* Images per forward pass: activations for 32 images of 96x96x3 take about 50 MB. */
#define SIMCLR_TRAINED_MODEL_BATCH 32

struct simclr_trained_model {
    simclr_classifier_model net;
    pthread_mutex_t lock; /* held by every call that computes */
    size_t image_bytes;   /* of one input image, HWC uint8 */
    uint8_t *pixels;      /* (BATCH, image_bytes) */
    float *inputs;        /* (BATCH, image_bytes) in [0, 1] */
};

/* Where the images of one call come from: a caller's buffer or a list of files. */
typedef struct image_source {
    const uint8_t *pixels;
    int height, width, channels;
    const char *const *paths;
} image_source;

const char *simclr_version(void)
{
    return SIMCLR_VERSION;
}

int simclr_trained_model_open(const char *path, simclr_trained_model **model, simclr_error *err)
{
    if (!model) return simclr_error_input(err, "simclr_trained_model_open: model is NULL");
    *model = NULL;
    if (!path || !*path) return simclr_error_input(err, "simclr_trained_model_open: empty path");
    simclr_trained_model *opened = simclr_checked_calloc(1, sizeof *opened, "model", err);
    if (!opened) return -1;
    if (simclr_classifier_model_load(&opened->net, path, SIMCLR_TRAINED_MODEL_BATCH, err) != 0) {
        free(opened);
        return -1;
    }
    const simclr_tensor_shape *input = &opened->net.info.model.input;
    opened->image_bytes = (size_t)input->height * (size_t)input->width * (size_t)input->channels;
    opened->pixels = simclr_checked_calloc(SIMCLR_TRAINED_MODEL_BATCH, opened->image_bytes,
                                           "image batch", err);
    opened->inputs = simclr_checked_calloc(SIMCLR_TRAINED_MODEL_BATCH * opened->image_bytes,
                                           sizeof(float), "input batch", err);
    if (!opened->pixels || !opened->inputs || pthread_mutex_init(&opened->lock, NULL) != 0) {
        if (opened->pixels && opened->inputs)
            simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "%s: cannot create a lock", path);
        free(opened->pixels);
        free(opened->inputs);
        simclr_classifier_model_free(&opened->net);
        free(opened);
        return -1;
    }
    *model = opened;
    return 0;
}

void simclr_trained_model_close(simclr_trained_model *model)
{
    if (!model) return;
    /* Issue 24: a call running in another thread (it holds the lock) finishes first. */
    pthread_mutex_lock(&model->lock);
    pthread_mutex_unlock(&model->lock);
    pthread_mutex_destroy(&model->lock);
    simclr_classifier_model_free(&model->net);
    free(model->pixels);
    free(model->inputs);
    free(model);
}

void simclr_trained_model_input_shape(const simclr_trained_model *model, int *height, int *width,
                                      int *channels)
{
    const simclr_tensor_shape *input = &model->net.info.model.input;
    if (height) *height = input->height;
    if (width) *width = input->width;
    if (channels) *channels = input->channels;
}

int simclr_trained_model_feature_dim(const simclr_trained_model *model)
{
    return (int)simclr_network_output_size(&model->net.encoder);
}

int simclr_trained_model_class_count(const simclr_trained_model *model)
{
    return model->net.info.num_classes;
}

const char *simclr_trained_model_class_name(const simclr_trained_model *model, int index)
{
    if (index < 0 || index >= model->net.info.num_classes) return NULL;
    return model->net.info.class_names[index];
}

static int check_pixels(const uint8_t *pixels, int count, int height, int width, int channels,
                        simclr_error *err)
{
    if (count < 0) return simclr_error_input(err, "image count %d is negative", count);
    if (count > 0 && !pixels) return simclr_error_input(err, "pixels is NULL for %d images", count);
    if (channels != 1 && channels != 3)
        return simclr_error_input(err, "images have %d channels, expected 1 (grey) or 3 (RGB)",
                                  channels);
    if (height < 1 || width < 1 || height > 16384 || width > 16384)
        return simclr_error_input(err, "images of %d x %d pixels, expected 1 to 16384 per side",
                                  height, width);
    return 0;
}

static int check_paths(const char *const *paths, int count, simclr_error *err)
{
    if (count < 0) return simclr_error_input(err, "image count %d is negative", count);
    if (count > 0 && !paths) return simclr_error_input(err, "paths is NULL for %d images", count);
    for (int i = 0; i < count; i++)
        if (!paths[i]) return simclr_error_input(err, "paths[%d] is NULL", i);
    return 0;
}

/* Prepares images first .. first+batch-1 into model->inputs. */
static int prepare_batch(simclr_trained_model *model, const image_source *source, int first,
                         int batch, simclr_error *err)
{
    const simclr_tensor_shape *input = &model->net.info.model.input;
    size_t source_bytes = (size_t)source->height * (size_t)source->width * (size_t)source->channels;
    for (int i = 0; i < batch; i++) {
        uint8_t *out = model->pixels + (size_t)i * model->image_bytes;
        int status;
        if (source->paths) {
            status = simclr_image_load_fitted(source->paths[first + i], out, input->height,
                                              input->width, input->channels, model->net.info.resize, err);
        } else {
            char name[32];
            snprintf(name, sizeof name, "image %d", first + i);
            status = simclr_image_fit(source->pixels + (size_t)(first + i) * source_bytes,
                                      source->height, source->width, source->channels, name, out,
                                      input->height, input->width, input->channels, model->net.info.resize,
                                      err);
        }
        if (status != 0) return -1;
    }
    simclr_augment_rescale(model->pixels, (size_t)batch * model->image_bytes, model->inputs);
    return 0;
}

/* Embeds (embeddings != NULL) and/or classifies count images from source, under the lock. */
static int run_images(simclr_trained_model *model, const image_source *source, int count,
                      float *embeddings, int *classes, float *probabilities, simclr_error *err)
{
    int classify = classes || probabilities;
    int class_count = model->net.info.num_classes;
    if (classify && class_count < 1)
        return simclr_error_input(err, "the model has no classifier to classify with");
    size_t feature_dim = simclr_network_output_size(&model->net.encoder);
    int status = 0;
    pthread_mutex_lock(&model->lock);
    for (int first = 0; first < count && status == 0; first += SIMCLR_TRAINED_MODEL_BATCH) {
        int batch = count - first < SIMCLR_TRAINED_MODEL_BATCH ? count - first
                                                               : SIMCLR_TRAINED_MODEL_BATCH;
        status = prepare_batch(model, source, first, batch, err);
        if (status != 0) break;
        if (!classify) {
            status = simclr_network_forward(&model->net.encoder, model->inputs, batch, err);
            if (status == 0)
                memcpy(embeddings + (size_t)first * feature_dim,
                       simclr_network_output(&model->net.encoder),
                       (size_t)batch * feature_dim * sizeof(float));
            continue;
        }
        const float *logits = NULL;
        status = simclr_classifier_model_logits(&model->net, model->inputs, batch, &logits, err);
        for (int i = 0; status == 0 && i < batch; i++) {
            const float *row = logits + (size_t)i * class_count;
            if (classes) {
                int best = 0;
                for (int c = 1; c < class_count; c++)
                    if (row[c] > row[best]) best = c;
                classes[first + i] = best;
            }
            if (probabilities)
                simclr_softmax_row(row, class_count,
                                   probabilities + (size_t)(first + i) * class_count);
        }
    }
    pthread_mutex_unlock(&model->lock);
    return status;
}

int simclr_trained_model_embed_pixels(simclr_trained_model *model, const uint8_t *pixels, int count,
                                      int height, int width, int channels, float *out,
                                      simclr_error *err)
{
    if (check_pixels(pixels, count, height, width, channels, err) != 0) return -1;
    if (count > 0 && !out) return simclr_error_input(err, "out is NULL for %d embeddings", count);
    image_source source = {.pixels = pixels, .height = height, .width = width, .channels = channels};
    return run_images(model, &source, count, out, NULL, NULL, err);
}

int simclr_trained_model_embed_files(simclr_trained_model *model, const char *const *paths,
                                     int count, float *out, simclr_error *err)
{
    if (check_paths(paths, count, err) != 0) return -1;
    if (count > 0 && !out) return simclr_error_input(err, "out is NULL for %d embeddings", count);
    image_source source = {.paths = paths};
    return run_images(model, &source, count, out, NULL, NULL, err);
}

int simclr_trained_model_classify_pixels(simclr_trained_model *model, const uint8_t *pixels,
                                         int count, int height, int width, int channels,
                                         int *classes, float *probabilities, simclr_error *err)
{
    if (check_pixels(pixels, count, height, width, channels, err) != 0) return -1;
    if (!classes && !probabilities)
        return simclr_error_input(err, "classes and probabilities are both NULL");
    image_source source = {.pixels = pixels, .height = height, .width = width, .channels = channels};
    return run_images(model, &source, count, NULL, classes, probabilities, err);
}

int simclr_trained_model_classify_files(simclr_trained_model *model, const char *const *paths,
                                        int count, int *classes, float *probabilities,
                                        simclr_error *err)
{
    if (check_paths(paths, count, err) != 0) return -1;
    if (!classes && !probabilities)
        return simclr_error_input(err, "classes and probabilities are both NULL");
    image_source source = {.paths = paths};
    return run_images(model, &source, count, NULL, classes, probabilities, err);
}
