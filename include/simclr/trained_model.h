#ifndef SIMCLR_TRAINED_MODEL_H
#define SIMCLR_TRAINED_MODEL_H
/*
 * The inference API: a checkpoint written by `simclr baseline`, `pretrain` or `finetune` opened
 * for embedding and classifying images. This is the stable part of libsimclr (docs/API.md): the
 * model is opaque, images go in as files or as uint8 HWC pixels, results come out as floats.
 *
 *     simclr_trained_model *model = NULL;
 *     simclr_error err = {0};
 *     if (simclr_trained_model_open("runs/fmnist/finetune.safetensors", &model, &err) != 0) {
 *         fprintf(stderr, "%s\n", err.message);
 *         return 1;
 *     }
 *     float *embedding = malloc(sizeof(float) * simclr_trained_model_feature_dim(model));
 *     const char *paths[] = {"shoe.jpg"};
 *     if (simclr_trained_model_embed_files(model, paths, 1, embedding, &err) != 0) ...
 *     simclr_trained_model_close(model);
 *
 * Images are prepared exactly as for training and `simclr predict`: decoded (PNG or JPEG, the
 * format sniffed from the bytes), converted to the model's channel count (luma or replication),
 * resized bilinearly to the model's input size when it differs, scaled to [0, 1]. The embedding
 * is the encoder's output (the features the classifier and the linear probe read: Dense(width) +
 * ReLU, feature_dim floats per image).
 *
 * Threads: every call that computes takes the model's lock, so one model may be shared by
 * several threads; their calls run one after the other (each call itself uses OpenMP threads).
 * For parallel throughput open one model per thread. The getters only read and never block.
 *
 * Errors: functions returning int give 0 on success, -1 with err (may be NULL) filled:
 * SIMCLR_ERROR_KIND_INPUT for a bad file, image or argument (the message names it),
 * SIMCLR_ERROR_KIND_RESOURCE for memory or library failures. Outputs are left unspecified on
 * failure.
 */
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_trained_model simclr_trained_model;

/* The library's version, "MAJOR.MINOR.PATCH" (the SONAME carries MAJOR). */
const char *simclr_version(void);

/* Opens the checkpoint at path: its metadata, the encoder and the classifier it was saved with
 * ("classifier" for baseline/finetune, "linear_probe" for pretrain), computing in the precision it
 * was trained with (fp32 on a CPU without bf16 convolutions). On success *model is owned by the
 * caller: release it with simclr_trained_model_close. */
int simclr_trained_model_open(const char *path, simclr_trained_model **model, simclr_error *err);

/* Frees everything the model holds; NULL is allowed. A call running on it from another thread
 * finishes first (close takes the model's lock); no call may start after close. */
void simclr_trained_model_close(simclr_trained_model *model);

/* The image shape the network reads (images of other sizes are resized to it). */
void simclr_trained_model_input_shape(const simclr_trained_model *model, int *height, int *width,
                                      int *channels);
/* Floats per embedding. */
int simclr_trained_model_feature_dim(const simclr_trained_model *model);
/* Classes of the classifier, and the name of class `index` (0 .. count-1; NULL outside). The
 * string lives as long as the model. */
int simclr_trained_model_class_count(const simclr_trained_model *model);
const char *simclr_trained_model_class_name(const simclr_trained_model *model, int index);

/* Embeds `count` images given as one uint8 buffer of count x height x width x channels bytes
 * (HWC, row-major; channels 1 grey or 3 RGB; any size up to 16384 per side) into out,
 * count x feature_dim floats. */
int simclr_trained_model_embed_pixels(simclr_trained_model *model, const uint8_t *pixels, int count,
                                      int height, int width, int channels, float *out,
                                      simclr_error *err);

/* Embeds `count` PNG or JPEG files into out, count x feature_dim floats. */
int simclr_trained_model_embed_files(simclr_trained_model *model, const char *const *paths,
                                     int count, float *out, simclr_error *err);

/* Classifies `count` images (pixels as for embed_pixels): classes[i] receives the most probable
 * class of image i (ties: the lowest index) and probabilities[i * class_count + k] the softmax
 * probability of class k. Either output may be NULL. */
int simclr_trained_model_classify_pixels(simclr_trained_model *model, const uint8_t *pixels,
                                         int count, int height, int width, int channels,
                                         int *classes, float *probabilities, simclr_error *err);

/* Same for PNG or JPEG files. */
int simclr_trained_model_classify_files(simclr_trained_model *model, const char *const *paths,
                                        int count, int *classes, float *probabilities,
                                        simclr_error *err);

SIMCLR_END_DECLS
#endif
