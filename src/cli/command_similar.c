/* simclr similar: the K nearest images of each query image, by cosine similarity of the model's
 * L2-normalised features, searched exactly (blocked sgemm, a heap per query) over a bank that
 * streams in: the images of --in DIR as they are embedded, or the rows of an --embeddings .npy
 * (`simclr embed`'s, with the .csv beside it naming them) read a block at a time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "approximate_index.h"
#include "commands.h"
#include "contact_sheet_cli.h"
#include "csv_fields.h"
#include "embedding_record.h"
#include "similarity_cli.h"
#include "simclr/knn.h"
#include "simclr/npy.h"
#include "simclr/similarity.h"

#define SHEET_MAX_COLUMNS 11
/* --index auto: the approximate index from this many query x image pairs on. Below it the exact
 * search wins: 10^10 pairs (100,000 x 100,000, D 128) take 14 s exactly on 2 cores, about what
 * building an HNSW graph of 100,000 rows costs; at 10^11 exact needs minutes (docs/RESULTS.md). */
#define SIMILAR_AUTO_PAIRS 1e11
#define SIMILAR_AUTO_PAIRS_TEXT "10^11"

typedef enum similar_format { SIMILAR_TEXT, SIMILAR_CSV } similar_format;

/* The bank as an --embeddings file: FILE.npy and the FILE.csv that names its rows. */
typedef struct embeddings_bank {
    const char *npy_path;
    char csv_path[4096];
    simclr_npy_reader reader;
    int open;
} embeddings_bank;

/* Checks FILE.csv against FILE.npy: the header `simclr embed` writes, then one record per row
 * (index 0, 1, ...). With sources not NULL, also copies the source of each row whose wanted[row]
 * is set. */
static int read_embedding_names(const embeddings_bank *bank, const unsigned char *wanted, char **sources,
                                simclr_error *err)
{
    FILE *stream = fopen(bank->csv_path, "r");
    if (!stream)
        return simclr_error_input(err, "--embeddings %s: cannot open %s, which names its rows (simclr embed writes "
                                       "both)",
                                  bank->npy_path, bank->csv_path);
    csv_record record = {0};
    size_t line = 0, rows = 0;
    int got = csv_record_read(&record, stream, bank->csv_path, &line, err), status = 0;
    if (got == 1 && (record.field_count < 2 || strcmp(csv_record_field(&record, 0), "index") != 0 ||
                     strcmp(csv_record_field(&record, 1), "source") != 0))
        got = -1, simclr_error_input(err, "%s: line 1: expected the header 'index,source,...' that simclr embed "
                                          "writes",
                                     bank->csv_path);
    else if (got == 0)
        got = -1, simclr_error_input(err, "%s: empty; expected the header 'index,source,...' that simclr embed writes",
                                     bank->csv_path);
    while (got == 1 && (got = csv_record_read(&record, stream, bank->csv_path, &line, err)) == 1) {
        char expected[32];
        snprintf(expected, sizeof expected, "%zu", rows);
        if (record.field_count < 2 || strcmp(csv_record_field(&record, 0), expected) != 0) {
            got = -1;
            simclr_error_input(err, "%s: line %zu: expected row %zu as 'index,source,...'", bank->csv_path, line,
                               rows);
            break;
        }
        if (rows < bank->reader.rows && sources && wanted[rows]) {
            sources[rows] = strdup(csv_record_field(&record, 1));
            if (!sources[rows]) {
                got = simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
                break;
            }
        }
        rows++;
    }
    if (got < 0) status = -1;
    else if (rows != bank->reader.rows)
        status = simclr_error_input(err, "--embeddings %s holds %zu rows but %s names %zu", bank->npy_path,
                                    bank->reader.rows, bank->csv_path, rows);
    csv_record_free(&record);
    fclose(stream);
    return status;
}

static int open_embeddings(embeddings_bank *bank, const char *path, const similarity_cli *options, long long top,
                           simclr_error *err)
{
    size_t length = strlen(path);
    bank->npy_path = path;
    if (length < 5 || strcmp(path + length - 4, ".npy") != 0 || length >= sizeof bank->csv_path)
        return simclr_error_input(err, "--embeddings %s: expected a .npy file written by simclr embed", path);
    snprintf(bank->csv_path, sizeof bank->csv_path, "%.*s.csv", (int)(length - 4), path);
    if (simclr_npy_reader_open(&bank->reader, path, err) != 0) return -1;
    bank->open = 1;
    const simclr_feature_extractor *fx = &options->fx;
    if (embedding_record_check(path, options->model.model, options->model.features, err) < 0) return -1;
    if (bank->reader.cols != (size_t)fx->dim)
        return simclr_error_input(err, "--embeddings %s holds features of %zu floats, but --model %s gives %s "
                                       "features of %d floats: embed the images with this model and --features "
                                       "(simclr embed --model %s --features %s)",
                                  path, bank->reader.cols, fx->path, simclr_feature_kind_name(fx->options.kind),
                                  fx->dim, fx->path, simclr_feature_kind_name(fx->options.kind));
    if (bank->reader.rows == 0) return simclr_error_input(err, "--embeddings %s: no rows to search", path);
    if ((size_t)top > bank->reader.rows)
        return simclr_error_input(err, "--top %lld: larger than the %zu images of --embeddings %s", top,
                                  bank->reader.rows, path);
    return read_embedding_names(bank, NULL, NULL, err);
}

/* Streams the .npy's rows, a block at a time, normalised, into the exact search (top), or into
 * all (rows x cols floats) for an index. */
static int search_embeddings(embeddings_bank *bank, simclr_top_k *top, float *all, simclr_error *err)
{
    size_t cols = bank->reader.cols, block = SIMCLR_SIMILARITY_BANK_BLOCK;
    float *rows = simclr_checked_calloc(block * cols, sizeof(float), "embedding block", err);
    if (!rows) return -1;
    int status = 0;
    for (size_t first = 0; status == 0 && first < bank->reader.rows; first += block) {
        size_t n = bank->reader.rows - first < block ? bank->reader.rows - first : block;
        status = simclr_npy_reader_read(&bank->reader, rows, n, err);
        for (size_t i = 0; status == 0 && i < n * cols; i++)
            if (!isfinite(rows[i]))
                status = simclr_error_input(err, "--embeddings %s: row %zu holds a value that is not a finite number",
                                            bank->npy_path, first + i / cols);
        if (status != 0) break;
        simclr_l2_normalize_rows(rows, n, (int)cols);
        if (all) memcpy(all + first * cols, rows, n * cols * sizeof(float));
        else status = simclr_top_k_add(top, rows, n, err);
    }
    free(rows);
    return status;
}

typedef struct folder_search {
    simclr_top_k *top;
    double seconds;
} folder_search;

static int add_to_search(void *context, const float *features, size_t first, size_t count, simclr_error *err)
{
    folder_search *search = context;
    (void)first; /* rows arrive in order: the search numbers them */
    double start = simclr_progress_now();
    int status = simclr_top_k_add(search->top, features, count, err);
    search->seconds += simclr_progress_now() - start;
    return status;
}

static void print_results(similar_format format, const image_list *queries, const int64_t *indices,
                          const float *similarities, int top, char *const *bank_paths)
{
    if (format == SIMILAR_CSV) printf("query,rank,path,similarity\n");
    for (size_t q = 0; q < queries->count; q++) {
        if (format == SIMILAR_TEXT) printf("\nquery %s\n", queries->paths[q]);
        for (int r = 0; r < top; r++) {
            int64_t row = indices[q * (size_t)top + (size_t)r];
            double similarity = fmin(1.0, fmax(-1.0, (double)similarities[q * (size_t)top + (size_t)r]));
            if (format == SIMILAR_TEXT) {
                printf("%4d  %.4f  %s\n", r + 1, similarity, bank_paths[row]);
            } else {
                csv_write_field(stdout, queries->paths[q]);
                printf(",%d,", r + 1);
                csv_write_field(stdout, bank_paths[row]);
                printf(",%.6f\n", similarity);
            }
        }
    }
}

static int plan_sheet(sheet_plan *plan, const image_list *queries, const int64_t *indices, const float *similarities,
                      int top, char *const *bank_paths, simclr_error *err)
{
    plan->columns = top + 1 < SHEET_MAX_COLUMNS ? top + 1 : SHEET_MAX_COLUMNS;
    for (size_t q = 0; q < queries->count; q++) {
        char title[4200];
        snprintf(title, sizeof title, "query %zu: %s", q + 1, queries->paths[q]);
        if (sheet_plan_section(plan, title, err) != 0 ||
            sheet_plan_image(plan, queries->paths[q], "query", 1, err) != 0)
            return -1;
        for (int r = 0; r < top; r++) {
            char detail[64];
            snprintf(detail, sizeof detail, "%d: %.4f", r + 1,
                     fmin(1.0, (double)similarities[q * (size_t)top + (size_t)r]));
            if (sheet_plan_image(plan, bank_paths[indices[q * (size_t)top + (size_t)r]], detail, 0, err) != 0)
                return -1;
        }
    }
    return 0;
}

/* After embedding --in DIR: some of its images were readable, and at least --top of them. */
static int check_readable_bank(const char *in, size_t bank_count, long long top, simclr_error *err)
{
    if (bank_count == 0) return simclr_error_input(err, "--in %s: none of its images could be read (reported above)", in);
    if ((size_t)top > bank_count)
        return simclr_error_input(err, "--top %lld: larger than the %zu readable images under --in %s", top,
                                  bank_count, in);
    return 0;
}

int command_similar(int argc, char **argv)
{
    similarity_cli options;
    similarity_cli_defaults(&options);
    const char *in = NULL, *embeddings_path = NULL, *format_name = "text", *sheet = NULL, *index_name = "auto";
    long long top = 5, ef_search = APPROXIMATE_INDEX_EF_SEARCH;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    similarity_cli_add_specs(&options, specs, &spec_count);
    specs[spec_count++] = (option_spec){"in", OPTION_TYPE_STRING, &in, 0, 0, NULL, "DIR",
                                        "search the PNG/JPEG images under DIR (recursively), embedded now", NULL};
    specs[spec_count++] = (option_spec){"embeddings", OPTION_TYPE_STRING, &embeddings_path, 0, 0, NULL, "FILE.npy",
                                        "search the rows of an embed --out FILE.npy instead (made with the same "
                                        "--model and --features), named by the FILE.csv beside it",
                                        NULL};
    specs[spec_count++] = (option_spec){"top", OPTION_TYPE_INT, &top, 1, 100000, NULL, "K",
                                        "the K most similar images of each query", "5"};
    specs[spec_count++] = (option_spec){"format", OPTION_TYPE_CHOICE, &format_name, 0, 0, "text|csv", NULL,
                                        "text, or CSV with the columns query,rank,path,similarity", "text"};
    specs[spec_count++] = (option_spec){"sheet", OPTION_TYPE_STRING, &sheet, 0, 0, NULL, "FILE.png",
                                        "also draw each query and its neighbours, file names under the thumbnails",
                                        NULL};
    specs[spec_count++] = (option_spec){"index", OPTION_TYPE_CHOICE, &index_name, 0, 0, "auto|exact|hnsw", NULL,
                                        "exact search, an approximate HNSW graph index (faiss; its recall is in "
                                        "docs/RESULTS.md), or auto: HNSW when queries x images reach "
                                        SIMILAR_AUTO_PAIRS_TEXT " and faiss is built in",
                                        "auto"};
    specs[spec_count++] = (option_spec){"ef-search", OPTION_TYPE_INT, &ef_search, 1, 100000, NULL, "N",
                                        "--index hnsw: candidates kept per query (higher: better recall, slower)",
                                        "128"};
    const char **positional = calloc((size_t)argc + 1, sizeof *positional);
    option_parser parser = {.command = "similar",
                            .usage = "simclr similar --model CHECKPOINT (--in DIR | --embeddings FILE.npy) "
                                     "QUERY... [--top K]",
                            .summary = "Prints the K most similar images of each query image (a file, or the "
                                       "images of a directory): cosine similarity of the model's L2-normalised "
                                       "features, an exact search by blocked matrix products over images that "
                                       "stream in (memory does not grow with their number). A query that cannot "
                                       "be read is reported and skipped; the exit status is then 2.",
                            .specs = specs,
                            .spec_count = spec_count,
                            .allow_positional = 1,
                            .positional = positional};
    simclr_error err = {0};
    int parsed = positional ? options_parse(&parser, argc, argv, &err) : -1;
    if (!positional) simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    if (parsed != 0) {
        free(positional);
        return parsed > 0 ? 0 : cli_report_error(&err);
    }
    similar_format format = strcmp(format_name, "csv") == 0 ? SIMILAR_CSV : SIMILAR_TEXT;
    image_list queries = {0}, bank_files = {0};
    embeddings_bank embeddings = {0};
    simclr_top_k search = {0};
    sheet_plan plan = {0};
    float *query_features = NULL, *similarities = NULL, *bank_rows = NULL;
    approximate_index *index = NULL;
    int64_t *indices = NULL;
    unsigned char *wanted = NULL;
    char **sources = NULL;
    size_t query_count = 0, failed_queries = 0, bank_count = 0;
    int status = 0;
    if (!options.model.model) {
        simclr_error_input(&err, "simclr similar: --model CHECKPOINT is required");
        goto fail;
    }
    if (!in == !embeddings_path) {
        simclr_error_input(&err, "simclr similar: give the images to search with --in DIR or --embeddings FILE.npy "
                                 "(one of them)");
        goto fail;
    }
    if (parser.positional_count == 0) {
        simclr_error_input(&err, "simclr similar: expected at least one QUERY image (a file or a directory)");
        goto fail;
    }
    if (sheet && cli_check_output_file("--sheet", sheet, &err) != 0) goto fail;
    if (in && similarity_cli_list_folder("--in", in, &bank_files, &err) != 0) goto fail;
    if (in && (size_t)top > bank_files.count) {
        simclr_error_input(&err, "--top %lld: larger than the %zu images under --in %s", top, bank_files.count, in);
        goto fail;
    }
    for (int i = 0; i < parser.positional_count; i++) {
        struct stat info;
        /* A query that does not exist is passed on, for the decoder to name and skip. */
        int listed = stat(positional[i], &info) == 0 ? image_list_collect(&queries, positional[i], NULL, &err)
                                                     : image_list_add(&queries, positional[i], &err);
        if (listed != 0) goto fail;
    }
    if (queries.count == 0) {
        simclr_error_input(&err, "simclr similar: no .png, .jpg or .jpeg image among the QUERY arguments");
        goto fail;
    }
    if (similarity_cli_load(&options, "similar", &err) != 0) goto fail;
    if (embeddings_path && open_embeddings(&embeddings, embeddings_path, &options, top, &err) != 0) goto fail;
    query_count = queries.count;
    if (similarity_cli_embed_matrix(&options, &queries, NULL, &query_features, &failed_queries, NULL, &err) != 0) goto fail;
    if (queries.count == 0) {
        simclr_error_input(&err, "simclr similar: none of the %zu query images could be read (reported above)",
                           query_count);
        goto fail;
    }
    size_t planned_bank = in ? bank_files.count : embeddings.reader.rows;
    int use_index = strcmp(index_name, "hnsw") == 0 ||
                    (strcmp(index_name, "auto") == 0 && approximate_index_available() &&
                     (double)queries.count * (double)planned_bank >= SIMILAR_AUTO_PAIRS);
    double features_seconds = 0.0, search_seconds = 0.0, index_seconds = 0.0;
    indices = simclr_checked_calloc(queries.count * (size_t)top, sizeof *indices, "results", &err);
    similarities = indices ? simclr_checked_calloc(queries.count * (size_t)top, sizeof *similarities, "results", &err)
                           : NULL;
    if (!similarities) goto fail;
    if (use_index) {
        /* The whole bank in memory, indexed, then searched. */
        if (in) {
            size_t skipped = 0;
            if (similarity_cli_embed_matrix(&options, &bank_files, in, &bank_rows, &skipped, &features_seconds,
                                            &err) != 0)
                goto fail;
            bank_count = bank_files.count;
        } else {
            bank_count = embeddings.reader.rows;
            bank_rows = simclr_checked_calloc(bank_count * (size_t)options.fx.dim, sizeof(float), "bank", &err);
            if (!bank_rows || search_embeddings(&embeddings, NULL, bank_rows, &err) != 0) goto fail;
        }
        if (in && check_readable_bank(in, bank_count, top, &err) != 0) goto fail;
        double start = simclr_progress_now();
        if (approximate_index_build(&index, bank_rows, bank_count, options.fx.dim, &err) != 0) goto fail;
        index_seconds = simclr_progress_now() - start;
        start = simclr_progress_now();
        if (approximate_index_search(index, query_features, queries.count, (int)top, (int)ef_search, indices,
                                     similarities, &err) != 0)
            goto fail;
        search_seconds = simclr_progress_now() - start;
        for (size_t i = 0; i < queries.count * (size_t)top; i++)
            if (indices[i] < 0) {
                simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE,
                                 "--index hnsw found fewer than --top %lld images for a query: raise --ef-search "
                                 "or use --index exact",
                                 top);
                goto fail;
            }
    }
    if (!use_index && simclr_top_k_init(&search, query_features, queries.count, options.fx.dim, (int)top, &err) != 0)
        goto fail;
    if (use_index) {
    } else if (in) {
        folder_search sink = {&search, 0.0};
        size_t skipped = 0;
        if (similarity_cli_embed_stream(&options, &bank_files, in, add_to_search, &sink, &skipped, &features_seconds,
                                        &err) != 0)
            goto fail;
        search_seconds = sink.seconds;
        features_seconds -= search_seconds;
        bank_count = bank_files.count;
        if (check_readable_bank(in, bank_count, top, &err) != 0) goto fail;
    } else {
        double start = simclr_progress_now();
        if (search_embeddings(&embeddings, &search, NULL, &err) != 0) goto fail;
        search_seconds = simclr_progress_now() - start;
        bank_count = embeddings.reader.rows;
    }
    if (!use_index) simclr_top_k_results(&search, indices, similarities);
    char **bank_paths = bank_files.paths;
    if (!in) {
        /* Only the rows found are named: memory for the names does not grow with the bank. */
        wanted = simclr_checked_calloc(bank_count, 1, "result rows", &err);
        sources = wanted ? simclr_checked_calloc(bank_count, sizeof *sources, "result rows", &err) : NULL;
        if (!sources) goto fail;
        for (size_t i = 0; i < queries.count * (size_t)top; i++) wanted[indices[i]] = 1;
        if (read_embedding_names(&embeddings, wanted, sources, &err) != 0) goto fail;
        bank_paths = sources;
    }
    if (format == SIMILAR_TEXT) {
        similarity_cli_print_model(&options);
        if (in)
            printf("bank      %zu images under %s (features %.2f s, search %.2f s)\n", bank_count, in,
                   features_seconds, search_seconds);
        else
            printf("bank      %zu embeddings of %s (search %.2f s)\n", bank_count, embeddings_path, search_seconds);
        if (use_index)
            printf("index     approximate: HNSW graph (faiss; M %d, efSearch %lld; built in %.2f s); --index exact "
                   "for the exact neighbours\n",
                   APPROXIMATE_INDEX_NEIGHBOURS, ef_search > top ? ef_search : top, index_seconds);
        else
            printf("index     exact (every image compared)\n");
    }
    print_results(format, &queries, indices, similarities, (int)top, bank_paths);
    fflush(stdout);
    if (sheet) {
        size_t shown = 0;
        if (plan_sheet(&plan, &queries, indices, similarities, (int)top, bank_paths, &err) != 0 ||
            sheet_plan_write(&plan, "--sheet", sheet, &options.fx, &shown, &err) != 0)
            goto fail;
        if (format == SIMILAR_TEXT) {
            printf("\nsheet     %s", sheet);
            if (shown < plan.image_count)
                printf(" (the first %zu of %zu images: a PNG is at most 32767 pixels high)", shown, plan.image_count);
            printf("\n");
        }
    }
    fflush(stdout);
    if (failed_queries) {
        simclr_error_input(&err, "%zu of %zu query images could not be read (reported above); the others were "
                                 "searched",
                           failed_queries, query_count);
        goto fail;
    }
    goto done;
fail:
    status = cli_report_error(&err);
done:
    if (sources)
        for (size_t i = 0; i < bank_count; i++) free(sources[i]);
    free(sources);
    free(wanted);
    free(indices);
    free(similarities);
    free(query_features);
    free(bank_rows);
    approximate_index_free(index);
    sheet_plan_free(&plan);
    simclr_top_k_free(&search);
    if (embeddings.open) simclr_npy_reader_close(&embeddings.reader);
    image_list_free(&queries);
    image_list_free(&bank_files);
    similarity_cli_free(&options);
    free(positional);
    return status;
}
