/*
 * embed_image: the inference API from outside the project, as a user would write it. Prints, for
 * each image, the most probable class with its probability, then the embedding.
 *
 *     cc embed_image.c $(pkg-config --cflags --libs simclr) -o embed_image
 *     ./embed_image runs/fmnist/finetune.safetensors shoe.jpg
 *
 * Output, two lines per image:
 *     shoe.jpg: Sneaker 0.9342
 *     shoe.jpg embedding 128: 0.0123 0 1.52 ...      (feature_dim values, %.9g)
 */
#include <simclr/simclr.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CHECKPOINT IMAGE...\n", argv[0]);
        return 2;
    }
    simclr_error err;
    simclr_trained_model *model = NULL;
    if (simclr_trained_model_open(argv[1], &model, &err) != 0) {
        fprintf(stderr, "embed_image: %s\n", err.message);
        return 2;
    }
    int count = argc - 2;
    const char *const *paths = (const char *const *)(argv + 2);
    int dim = simclr_trained_model_feature_dim(model);
    int classes = simclr_trained_model_class_count(model);
    float *embeddings = malloc(sizeof(float) * (size_t)count * (size_t)dim);
    float *probabilities = malloc(sizeof(float) * (size_t)count * (size_t)classes);
    int *best = malloc(sizeof(int) * (size_t)count);
    int status = 0;
    if (!embeddings || !probabilities || !best) {
        fprintf(stderr, "embed_image: out of memory\n");
        status = 1;
    } else if (simclr_trained_model_embed_files(model, paths, count, embeddings, &err) != 0 ||
               simclr_trained_model_classify_files(model, paths, count, best, probabilities,
                                                   &err) != 0) {
        fprintf(stderr, "embed_image: %s\n", err.message);
        status = err.kind == SIMCLR_ERROR_KIND_INPUT ? 2 : 1;
    } else {
        for (int i = 0; i < count; i++) {
            printf("%s: %s %.4f\n", paths[i], simclr_trained_model_class_name(model, best[i]),
                   (double)probabilities[(size_t)i * classes + best[i]]);
            printf("%s embedding %d:", paths[i], dim);
            for (int k = 0; k < dim; k++) printf(" %.9g", (double)embeddings[(size_t)i * dim + k]);
            printf("\n");
        }
    }
    free(embeddings);
    free(probabilities);
    free(best);
    simclr_trained_model_close(model);
    return status;
}
