/* The inference API (trained_model.h) against the building blocks it wraps: embeddings equal the
 * encoder's output on images prepared by hand (channel conversion, bilinear resize, rescale),
 * files equal pixels, classification equals the classifier's softmax, batches larger than one
 * forward pass, two threads sharing a model, and every bad argument refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/augment.h"
#include "simclr/checkpoint.h"
#include "simclr/image_io.h"
#include "simclr/inference.h"
#include "simclr/model.h"
#include "simclr/trained_model.h"
#include "test_support.h"

#define SIDE 20
#define CLASSES 3
#define WIDTH 16
#define COUNT 40 /* more than one forward pass of the API (32) */

static char *temp_dir;
static char checkpoint_path[4096];
static simclr_network reference_encoder, reference_classifier; /* batch 1 */
static simclr_model_config config;

static int write_checkpoint(void **state)
{
    (void)state;
    simclr_error err = {0};
    config = simclr_model_config_default((simclr_tensor_shape){SIDE, SIDE, 3}, CLASSES);
    config.width = WIDTH;
    config.depth = 2;
    if (simclr_model_build_encoder(&reference_encoder, &config, 1, &err) != 0 ||
        simclr_model_build_classifier(&reference_classifier, "classifier", &config, 1, &err) != 0)
        fail_msg("%s", err.message);
    simclr_network_init_weights(&reference_encoder, 11);
    simclr_network_init_weights(&reference_classifier, 12);
    /* Non-zero biases, so a bias that is not loaded shows. */
    for (size_t i = 0; i < reference_classifier.param_count; i++)
        reference_classifier.params[i] += 0.01f * (float)(i % 7);
    simclr_checkpoint_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.run, sizeof info.run, "baseline");
    snprintf(info.classifier, sizeof info.classifier, "classifier");
    snprintf(info.dataset, sizeof info.dataset, "folder");
    info.epochs_done = info.epochs_total = 1;
    info.model = config;
    info.num_classes = CLASSES;
    static char name_storage[CLASSES][64];
    info.class_names = name_storage;
    const char *names[CLASSES] = {"cat", "dog", "T-shirt/top"};
    for (int c = 0; c < CLASSES; c++) snprintf(info.class_names[c], sizeof info.class_names[c], "%s", names[c]);
    temp_dir = test_make_temp_dir();
    snprintf(checkpoint_path, sizeof checkpoint_path, "%s/model.safetensors", temp_dir);
    simclr_checkpoint_part parts[2] = {{.net = &reference_encoder}, {.net = &reference_classifier}};
    if (simclr_checkpoint_save(checkpoint_path, &info, parts, 2, &err) != 0) fail_msg("%s", err.message);
    return 0;
}

static int remove_checkpoint(void **state)
{
    (void)state;
    simclr_network_free(&reference_encoder);
    simclr_network_free(&reference_classifier);
    test_remove_tree(temp_dir);
    free(temp_dir);
    return 0;
}

static simclr_trained_model *open_model(void)
{
    simclr_error err = {0};
    simclr_trained_model *model = NULL;
    if (simclr_trained_model_open(checkpoint_path, &model, &err) != 0) fail_msg("%s", err.message);
    return model;
}

static uint8_t *random_pixels(size_t bytes, unsigned seed)
{
    uint8_t *pixels = malloc(bytes);
    assert_non_null(pixels);
    for (size_t i = 0; i < bytes; i++) {
        seed = seed * 1103515245u + 12345u;
        pixels[i] = (uint8_t)(seed >> 16);
    }
    return pixels;
}

/* The embedding of one SIDE x SIDE x 3 image through the reference encoder, by hand. */
static void reference_embedding(const uint8_t *image, float *out)
{
    float inputs[SIDE * SIDE * 3];
    simclr_augment_rescale(image, sizeof inputs / sizeof inputs[0], inputs);
    simclr_error err = {0};
    if (simclr_network_forward(&reference_encoder, inputs, 1, &err) != 0) fail_msg("%s", err.message);
    memcpy(out, simclr_network_output(&reference_encoder), WIDTH * sizeof(float));
}

static void test_getters(void **state)
{
    (void)state;
    simclr_trained_model *model = open_model();
    int height = 0, width = 0, channels = 0;
    simclr_trained_model_input_shape(model, &height, &width, &channels);
    assert_int_equal(height, SIDE);
    assert_int_equal(width, SIDE);
    assert_int_equal(channels, 3);
    assert_int_equal(simclr_trained_model_feature_dim(model), WIDTH);
    assert_int_equal(simclr_trained_model_class_count(model), CLASSES);
    assert_string_equal(simclr_trained_model_class_name(model, 2), "T-shirt/top");
    assert_null(simclr_trained_model_class_name(model, CLASSES));
    assert_null(simclr_trained_model_class_name(model, -1));
    assert_true(strlen(simclr_version()) >= 5);
    simclr_trained_model_close(model);
    simclr_trained_model_close(NULL);
}

static void test_embed_pixels_equals_encoder(void **state)
{
    (void)state;
    size_t image_bytes = SIDE * SIDE * 3;
    uint8_t *pixels = random_pixels(COUNT * image_bytes, 1);
    float *embeddings = malloc(COUNT * WIDTH * sizeof(float));
    float *expected = malloc(COUNT * WIDTH * sizeof(float));
    simclr_trained_model *model = open_model();
    simclr_error err = {0};
    if (simclr_trained_model_embed_pixels(model, pixels, COUNT, SIDE, SIDE, 3, embeddings, &err) != 0)
        fail_msg("%s", err.message);
    for (int i = 0; i < COUNT; i++) reference_embedding(pixels + i * image_bytes, expected + i * WIDTH);
    test_assert_close("embed_pixels vs encoder", embeddings, expected, COUNT * WIDTH, 1e-5, 1e-5);
    double total = 0;
    for (int i = 0; i < COUNT * WIDTH; i++) total += fabs(embeddings[i]);
    assert_true(total > 0); /* not all ReLU-dead */
    simclr_trained_model_close(model);
    free(pixels);
    free(embeddings);
    free(expected);
}

static void test_grey_and_resized_input(void **state)
{
    (void)state;
    const int height = 37, width = 23;
    uint8_t *grey = random_pixels((size_t)height * width, 2);
    uint8_t *rgb = malloc((size_t)height * width * 3);
    uint8_t fitted[SIDE * SIDE * 3];
    for (int i = 0; i < height * width; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
    simclr_image_resize_bilinear(rgb, height, width, 3, fitted, SIDE, SIDE);
    float expected[WIDTH], embedding[WIDTH];
    reference_embedding(fitted, expected);
    simclr_trained_model *model = open_model();
    simclr_error err = {0};
    if (simclr_trained_model_embed_pixels(model, grey, 1, height, width, 1, embedding, &err) != 0)
        fail_msg("%s", err.message);
    test_assert_close("grey 37x23 input", embedding, expected, WIDTH, 1e-5, 1e-5);
    simclr_trained_model_close(model);
    free(grey);
    free(rgb);
}

/* A PNG and a JPEG file embed exactly as their decoded pixels do (with the same batch size). */
static void test_files_equal_pixels(void **state)
{
    (void)state;
    simclr_error err = {0};
    uint8_t *image = random_pixels(SIDE * SIDE * 3, 3);
    char png[4200];
    snprintf(png, sizeof png, "%s/image.png", temp_dir);
    if (simclr_image_write_png(png, image, SIDE, SIDE, 3, &err) != 0) fail_msg("%s", err.message);
    /* A progressive RGB JPEG from the fuzz corpus, without the fuzzer's 3 option bytes. */
    size_t corpus_size = 0;
    uint8_t *corpus = test_load_fixture_bytes("../../fuzz/corpus/image/jpeg_rgb_progressive", &corpus_size);
    assert_true(corpus_size > 3 && corpus[3] == 0xff && corpus[4] == 0xd8);
    char *jpeg = test_write_file(temp_dir, "image.jpg", corpus + 3, corpus_size - 3);
    free(corpus);
    const char *paths[2] = {png, jpeg};
    uint8_t *jpeg_pixels = NULL;
    int jpeg_height = 0, jpeg_width = 0;
    if (simclr_image_decode_file(jpeg, 3, &jpeg_pixels, &jpeg_height, &jpeg_width, &err) != 0)
        fail_msg("%s", err.message);
    simclr_trained_model *model = open_model();
    float from_files[2 * WIDTH], one_by_one[2 * WIDTH], from_pixels[2 * WIDTH];
    if (simclr_trained_model_embed_files(model, paths, 2, from_files, &err) != 0 ||
        simclr_trained_model_embed_files(model, paths, 1, one_by_one, &err) != 0 ||
        simclr_trained_model_embed_files(model, paths + 1, 1, one_by_one + WIDTH, &err) != 0 ||
        simclr_trained_model_embed_pixels(model, image, 1, SIDE, SIDE, 3, from_pixels, &err) != 0 ||
        simclr_trained_model_embed_pixels(model, jpeg_pixels, 1, jpeg_height, jpeg_width, 3,
                                          from_pixels + WIDTH, &err) != 0)
        fail_msg("%s", err.message);
    /* Same batch size: the same arithmetic, bit for bit. */
    assert_memory_equal(one_by_one, from_pixels, sizeof one_by_one);
    /* Another batch size may take other kernels: equal to rounding. */
    test_assert_close("files in one batch of 2", from_files, from_pixels, 2 * WIDTH, 1e-6, 1e-5);
    simclr_trained_model_close(model);
    free(image);
    free(jpeg_pixels);
    free(jpeg);
}

static void test_classify_equals_softmax(void **state)
{
    (void)state;
    size_t image_bytes = SIDE * SIDE * 3;
    uint8_t *pixels = random_pixels(COUNT * image_bytes, 4);
    int classes[COUNT];
    float probabilities[COUNT * CLASSES];
    int only_classes[COUNT];
    simclr_trained_model *model = open_model();
    simclr_error err = {0};
    if (simclr_trained_model_classify_pixels(model, pixels, COUNT, SIDE, SIDE, 3, classes,
                                             probabilities, &err) != 0 ||
        simclr_trained_model_classify_pixels(model, pixels, COUNT, SIDE, SIDE, 3, only_classes,
                                             NULL, &err) != 0)
        fail_msg("%s", err.message);
    assert_memory_equal(classes, only_classes, sizeof classes);
    for (int i = 0; i < COUNT; i++) {
        float embedding[WIDTH], expected[CLASSES];
        reference_embedding(pixels + i * image_bytes, embedding);
        if (simclr_network_forward(&reference_classifier, embedding, 1, &err) != 0)
            fail_msg("%s", err.message);
        simclr_softmax_row(simclr_network_output(&reference_classifier), CLASSES, expected);
        test_assert_close("probabilities", probabilities + i * CLASSES, expected, CLASSES, 1e-5, 1e-5);
        double sum = 0;
        int best = 0;
        for (int c = 0; c < CLASSES; c++) {
            sum += probabilities[i * CLASSES + c];
            if (probabilities[i * CLASSES + c] > probabilities[i * CLASSES + best]) best = c;
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
        assert_int_equal(classes[i], best);
    }
    simclr_trained_model_close(model);
    free(pixels);
}

typedef struct thread_job {
    simclr_trained_model *model;
    const uint8_t *pixels;
    float embeddings[COUNT * WIDTH];
    int failed;
} thread_job;

static void *embed_repeatedly(void *argument)
{
    thread_job *job = argument;
    for (int round = 0; round < 4 && !job->failed; round++) {
        simclr_error err = {0};
        if (simclr_trained_model_embed_pixels(job->model, job->pixels, COUNT, SIDE, SIDE, 3,
                                              job->embeddings, &err) != 0)
            job->failed = 1;
    }
    return NULL;
}

/* Two threads sharing one model get what one thread alone gets (the model's lock). */
static void test_two_threads_share_a_model(void **state)
{
    (void)state;
    uint8_t *pixels = random_pixels(COUNT * SIDE * SIDE * 3, 5);
    simclr_trained_model *model = open_model();
    float *alone = malloc(COUNT * WIDTH * sizeof(float));
    simclr_error err = {0};
    if (simclr_trained_model_embed_pixels(model, pixels, COUNT, SIDE, SIDE, 3, alone, &err) != 0)
        fail_msg("%s", err.message);
    thread_job *jobs = calloc(2, sizeof *jobs);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) {
        jobs[t].model = model;
        jobs[t].pixels = pixels;
        assert_int_equal(pthread_create(&threads[t], NULL, embed_repeatedly, &jobs[t]), 0);
    }
    for (int t = 0; t < 2; t++) {
        pthread_join(threads[t], NULL);
        assert_false(jobs[t].failed);
        assert_memory_equal(jobs[t].embeddings, alone, COUNT * WIDTH * sizeof(float));
    }
    simclr_trained_model_close(model);
    free(jobs);
    free(alone);
    free(pixels);
}

static void expect_input_error(int status, const simclr_error *err, const char *text)
{
    assert_int_equal(status, -1);
    assert_int_equal(err->kind, SIMCLR_ERROR_KIND_INPUT);
    if (!strstr(err->message, text)) fail_msg("message '%s' lacks '%s'", err->message, text);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_trained_model *model = NULL;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nowhere.safetensors", temp_dir);
    expect_input_error(simclr_trained_model_open(missing, &model, &err), &err, "nowhere.safetensors");
    assert_null(model);
    expect_input_error(simclr_trained_model_open(NULL, &model, &err), &err, "empty path");
    model = open_model();
    uint8_t pixels[SIDE * SIDE * 4] = {0};
    float out[WIDTH];
    int classes[1];
    expect_input_error(simclr_trained_model_embed_pixels(model, pixels, 1, SIDE, SIDE, 4, out, &err),
                       &err, "4 channels");
    expect_input_error(simclr_trained_model_embed_pixels(model, pixels, -1, SIDE, SIDE, 3, out, &err),
                       &err, "negative");
    expect_input_error(simclr_trained_model_embed_pixels(model, pixels, 1, 0, SIDE, 3, out, &err),
                       &err, "0 x 20");
    expect_input_error(simclr_trained_model_embed_pixels(model, NULL, 1, SIDE, SIDE, 3, out, &err),
                       &err, "pixels is NULL");
    expect_input_error(simclr_trained_model_embed_pixels(model, pixels, 1, SIDE, SIDE, 3, NULL, &err),
                       &err, "out is NULL");
    expect_input_error(simclr_trained_model_classify_pixels(model, pixels, 1, SIDE, SIDE, 3, NULL,
                                                            NULL, &err),
                       &err, "both NULL");
    char png[4200];
    snprintf(png, sizeof png, "%s/image.png", temp_dir); /* written by test_files_equal_pixels */
    const char *paths[2] = {png, missing};
    expect_input_error(simclr_trained_model_classify_files(model, paths, 2, classes, NULL, &err),
                       &err, "nowhere.safetensors");
    const char *null_paths[1] = {NULL};
    expect_input_error(simclr_trained_model_embed_files(model, null_paths, 1, out, &err), &err,
                       "paths[0] is NULL");
    assert_int_equal(simclr_trained_model_embed_pixels(model, NULL, 0, SIDE, SIDE, 3, NULL, &err), 0);
    simclr_trained_model_close(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_embed_pixels_equals_encoder),
        cmocka_unit_test(test_grey_and_resized_input),
        cmocka_unit_test(test_files_equal_pixels),
        cmocka_unit_test(test_classify_equals_softmax),
        cmocka_unit_test(test_two_threads_share_a_model),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, write_checkpoint, remove_checkpoint);
}
