#include "similarity_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "embedding_cache.h"

void similarity_cli_defaults(similarity_cli *options)
{
    memset(options, 0, sizeof *options);
    eval_cli_defaults(&options->model);
}

void similarity_cli_add_specs(similarity_cli *o, option_spec *specs, size_t *count)
{
    specs[(*count)++] = (option_spec){"model", OPTION_TYPE_STRING, &o->model.model, 0, 0, NULL, "CHECKPOINT",
                                      "saved model: a baseline, finetune or pretrain checkpoint (required)", NULL};
    specs[(*count)++] = (option_spec){"features", OPTION_TYPE_CHOICE, &o->model.features, 0, 0, "encoder|projection",
                                      NULL,
                                      "the encoder's output (the representation) or the projection head's "
                                      "(pretrain checkpoints only)",
                                      "encoder"};
    specs[(*count)++] = (option_spec){"batch", OPTION_TYPE_INT, &o->model.batch, 1, 4096, NULL, "N",
                                      "images per forward pass", "256"};
    specs[(*count)++] = (option_spec){"threads", OPTION_TYPE_INT, &o->model.threads, 0, 1024, NULL, "N",
                                      "worker threads (0: all)", "0"};
    specs[(*count)++] = (option_spec){"cache-dir", OPTION_TYPE_STRING, &o->cache_dir, 0, 0, NULL, "DIR",
                                      "where the embeddings of --in are kept for the next run (reused while the "
                                      "model and the files are unchanged)",
                                      "embedding_cache/ beside --model"};
    specs[(*count)++] = (option_spec){"no-cache", OPTION_TYPE_FLAG, &o->no_cache, 0, 0, NULL, NULL,
                                      "embed every image of --in, read and write no embedding cache", NULL};
    specs[(*count)++] = (option_spec){"quiet", OPTION_TYPE_FLAG, &o->quiet, 0, 0, NULL, NULL,
                                      "no progress line while the images are embedded", NULL};
}

int similarity_cli_load(similarity_cli *options, const char *command, simclr_error *err)
{
    if (eval_cli_load(&options->model, command, &options->fx, err) != 0) return -1;
    options->loaded = 1;
    return 0;
}

void similarity_cli_free(similarity_cli *options)
{
    if (options->loaded) simclr_feature_extractor_free(&options->fx);
    options->loaded = 0;
}

int similarity_cli_list_folder(const char *flag, const char *folder, image_list *list, simclr_error *err)
{
    if (image_list_collect(list, folder, flag, err) != 0) return -1;
    if (list->count == 0)
        return simclr_error_input(err, "%s %s: no .png, .jpg or .jpeg image in it (searched recursively)", flag,
                                  folder);
    return 0;
}

/* The cache of folder's embeddings: --cache-dir, else embedding_cache/ beside the checkpoint. */
static int open_cache(similarity_cli *options, const char *folder, embedding_cache **cache, simclr_error *err)
{
    char directory[4096], input[64];
    if (options->cache_dir) {
        snprintf(directory, sizeof directory, "%s", options->cache_dir);
    } else {
        const char *model = options->model.model, *slash = strrchr(model, '/');
        int length = slash ? snprintf(directory, sizeof directory, "%.*s/embedding_cache", (int)(slash - model), model)
                           : snprintf(directory, sizeof directory, "embedding_cache");
        if (length < 0 || (size_t)length >= sizeof directory) return simclr_error_input(err, "--model %s: path too long", model);
    }
    const simclr_tensor_shape *shape = &options->fx.info.model.input;
    snprintf(input, sizeof input, "%dx%dx%d %s", shape->height, shape->width, shape->channels,
             simclr_image_resize_mode_name(options->fx.info.resize));
    embedding_cache_options cache_options = {.directory = directory, .folder = folder,
                                             .model_path = options->model.model,
                                             .features = options->model.features, .input = input,
                                             .dim = options->fx.dim, .quiet = options->quiet};
    return embedding_cache_open(cache, &cache_options, err);
}

/* Embeds list into a sink, or (sink NULL) into *features, with the progress line; the rows of
 * folder's images (folder not NULL) through its embedding cache. */
static int embed_with_progress(similarity_cli *options, image_list *list, const char *folder, image_features_sink sink,
                               void *context, float **features, size_t *skipped, double *seconds, simclr_error *err)
{
    simclr_progress bar;
    simclr_progress_init(&bar, stderr, cli_progress_redraw());
    bar.steps = image_list_batches(&options->fx, list->count);
    bar.epoch_start = simclr_progress_now();
    int show = !options->quiet && bar.is_terminal;
    image_embedding embedding = {.fx = &options->fx, .skip_unreadable = 1, .progress = show ? &bar : NULL};
    embedding_cache *cache = NULL;
    if (folder && !options->no_cache &&
        (open_cache(options, folder, &cache, err) != 0 || embedding_cache_match(cache, list, &embedding, err) != 0)) {
        embedding_cache_close(cache);
        return -1;
    }
    int status;
    if (cache && sink) {
        embedding_cache_forward_to(cache, sink, context);
        status = image_list_embed(&embedding, list, embedding_cache_sink, cache, err);
    } else if (cache) {
        status = image_list_embed_matrix(&embedding, list, features, err);
    } else {
        status = sink ? image_list_embed(&embedding, list, sink, context, err)
                      : image_list_embed_matrix(&embedding, list, features, err);
    }
    if (show) fprintf(stderr, "\r\033[K");
    int rewritten = 0;
    if (status == 0 && cache && !sink) {
        /* The matrix in hand: the cache is written from it. */
        embedding_cache_forward_to(cache, NULL, NULL);
        status = embedding_cache_sink(cache, *features, 0, list->count, err);
        if (status != 0) {
            free(*features);
            *features = NULL;
        }
    }
    if (status == 0 && cache) status = embedding_cache_commit(cache, list, &rewritten, err);
    if (status == 0 && cache && !options->quiet) {
        fflush(stdout);
        fprintf(stderr, "simclr: embeddings of %s: %zu of %zu images from the cache %s, %zu embedded%s\n", folder,
                embedding.from_cache, list->count, embedding_cache_name(cache), list->count - embedding.from_cache,
                rewritten ? " (cache updated)" : "");
    }
    embedding_cache_close(cache);
    if (skipped) *skipped = embedding.skipped;
    if (seconds) *seconds = simclr_progress_now() - bar.epoch_start;
    return status;
}

int similarity_cli_embed_matrix(similarity_cli *options, image_list *list, const char *folder, float **features,
                                size_t *skipped, double *seconds, simclr_error *err)
{
    return embed_with_progress(options, list, folder, NULL, NULL, features, skipped, seconds, err);
}

int similarity_cli_embed_stream(similarity_cli *options, image_list *list, const char *folder,
                                image_features_sink sink, void *context, size_t *skipped, double *seconds,
                                simclr_error *err)
{
    return embed_with_progress(options, list, folder, sink, context, NULL, skipped, seconds, err);
}

void similarity_cli_print_model(const similarity_cli *options)
{
    char described[2048];
    eval_cli_describe_model(&options->model, &options->fx, described, sizeof described);
    printf("model     %s (%d floats)\n", described, options->fx.dim);
}
