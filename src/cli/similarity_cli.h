#ifndef SIMCLR_CLI_SIMILARITY_CLI_H
#define SIMCLR_CLI_SIMILARITY_CLI_H
/*
 * What similar, dedup and select share (issue 26): the model options (--model, --features,
 * --batch, --threads, into an eval_cli whose other fields keep their defaults), --quiet, the
 * embedding cache of the --in folder (--cache-dir, --no-cache), the
 * images of --in DIR, their features with a progress line on stderr (stdout may be CSV), and the
 * "model" line of the report.
 */
#include "eval_cli.h"
#include "image_bank.h"

typedef struct similarity_cli {
    eval_cli model;
    int quiet;
    const char *cache_dir;  /* --cache-dir (NULL: embedding_cache/ beside --model) */
    int no_cache;           /* --no-cache */
    simclr_feature_extractor fx;
    int loaded;
} similarity_cli;

void similarity_cli_defaults(similarity_cli *options);
void similarity_cli_add_specs(similarity_cli *options, option_spec *specs, size_t *count);

/* Loads the model (--model is required: err names the command otherwise). */
int similarity_cli_load(similarity_cli *options, const char *command, simclr_error *err);
void similarity_cli_free(similarity_cli *options);

/* The images under --in DIR; none is an input error naming the flag and the folder. */
int similarity_cli_list_folder(const char *flag, const char *folder, image_list *list, simclr_error *err);

/* Embeds list (files that cannot be read are reported and skipped) with a progress line on
 * stderr when it is a terminal and not --quiet; *seconds (may be NULL) gets the time taken.
 * folder (may be NULL): the --in folder the list was collected from, whose embedding cache
 * (embedding_cache.h) supplies the rows of unchanged files and is updated, unless --no-cache. */
int similarity_cli_embed_matrix(similarity_cli *options, image_list *list, const char *folder, float **features,
                                size_t *skipped, double *seconds, simclr_error *err);

/* The same, handing each batch's normalised features to sink instead (memory: one batch). */
int similarity_cli_embed_stream(similarity_cli *options, image_list *list, const char *folder,
                                image_features_sink sink, void *context, size_t *skipped, double *seconds,
                                simclr_error *err);

/* "model     CHECKPOINT (run, epochs, precision), encoder features (D floats)" on stdout. */
void similarity_cli_print_model(const similarity_cli *options);

#endif
