/* simclr embed: features of a dataset split or of image files as float32 (N, D) .npy, a .csv of
 * what each row is, and optionally the PCA picture of them. Streams in batches: memory does not
 * grow with N (beyond one label and one path per row). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "csv_fields.h"
#include "embedding_record.h"
#include "eval_cli.h"
#include "image_bank.h"
#include "simclr/atomic_file.h"
#include "simclr/augment.h"
#include "simclr/embedding_plot.h"
#include "simclr/image_io.h"
#include "simclr/npy.h"

/* A growing list of image paths (owned strings). */
typedef struct path_list {
    char **paths;
    size_t count, capacity;
} path_list;

static int path_list_add(path_list *list, const char *path, simclr_error *err)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        char **grown = realloc(list->paths, capacity * sizeof *grown);
        if (!grown) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (image list)");
        list->paths = grown;
        list->capacity = capacity;
    }
    list->paths[list->count] = strdup(path);
    if (!list->paths[list->count]) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    list->count++;
    return 0;
}

static void path_list_free(path_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->paths[i]);
    free(list->paths);
    memset(list, 0, sizeof *list);
}

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* Files given are taken as they are (the decoder says when one is not an image); directories
 * contribute their .png/.jpg/.jpeg files, recursively, in name order. */
static int collect_images(const char *path, path_list *list, int depth, simclr_error *err)
{
    struct stat info;
    if (stat(path, &info) != 0) return simclr_error_input(err, "%s: no such image file or directory", path);
    if (!S_ISDIR(info.st_mode)) return path_list_add(list, path, err);
    if (depth > 32) return simclr_error_input(err, "%s: directories nested too deeply", path);
    struct dirent **entries = NULL;
    int n = scandir(path, &entries, NULL, alphasort);
    if (n < 0) return simclr_error_input(err, "cannot read directory %s: %s", path, strerror(errno));
    int status = 0;
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        if (status == 0 && name[0] != '.') {
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, name);
            struct stat child_info;
            if (stat(child, &child_info) == 0 && S_ISDIR(child_info.st_mode))
                status = collect_images(child, list, depth + 1, err);
            else if (has_image_extension(name))
                status = path_list_add(list, child, err);
        }
        free(entries[i]);
    }
    free(entries);
    return status;
}

/* Decodes image files [first, first + count) of the list into fx's input batch. */
static int load_file_batch(simclr_feature_extractor *fx, const path_list *files, size_t first, size_t count,
                           simclr_error *err)
{
    const simclr_tensor_shape *input = &fx->info.model.input;
    size_t image_bytes = (size_t)input->height * (size_t)input->width * (size_t)input->channels;
    for (size_t i = 0; i < count; i++) {
        uint8_t *decoded = NULL;
        int height = 0, width = 0;
        if (simclr_image_decode_file(files->paths[first + i], input->channels, &decoded, &height, &width, err) != 0)
            return -1;
        uint8_t *target = fx->pixels + i * image_bytes;
        if (height == input->height && width == input->width)
            memcpy(target, decoded, image_bytes);
        else
            simclr_image_resize_bilinear(decoded, height, width, input->channels, target, input->height, input->width);
        free(decoded);
    }
    simclr_augment_rescale(fx->pixels, count * image_bytes, fx->inputs);
    return 0;
}

typedef struct embed_job {
    simclr_feature_extractor *fx;
    const simclr_dataset *ds;       /* split mode, else NULL */
    simclr_dataset_split_id split;
    const path_list *files;         /* file mode */
    size_t count;
    simclr_npy_writer npy;
    simclr_atomic_file csv;
    int32_t *labels;                /* (count), -1 unknown */
    simclr_progress bar;
    int quiet;
} embed_job;

static int write_rows(embed_job *job, const float *features, size_t first, size_t n, simclr_error *err)
{
    if (simclr_npy_writer_append(&job->npy, features, n, err) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        size_t row = first + i;
        int label = job->ds ? simclr_dataset_label(job->ds, job->split, row) : SIMCLR_DATASET_LABEL_NONE;
        job->labels[row] = label;
        fprintf(job->csv.stream, "%zu,", row);
        if (job->ds) {
            fprintf(job->csv.stream, "%s:%zu,", simclr_dataset_split_name(job->split), row);
        } else {
            csv_write_field(job->csv.stream, job->files->paths[row]);
            fputc(',', job->csv.stream);
        }
        if (label >= 0) {
            fprintf(job->csv.stream, "%d,", label);
            csv_write_field(job->csv.stream, job->ds->class_names[label]);
        } else {
            fputc(',', job->csv.stream);
        }
        fputc('\n', job->csv.stream);
    }
    if (!job->quiet) simclr_progress_update(&job->bar, (int)((first + n + (size_t)job->fx->options.max_batch - 1) /
                                                             (size_t)job->fx->options.max_batch), "");
    return 0;
}

static int split_sink(void *context, const float *features, size_t first, size_t count, simclr_error *err)
{
    return write_rows(context, features, first, count, err);
}

static int run_embedding(embed_job *job, simclr_error *err)
{
    if (job->ds)
        return simclr_feature_extractor_split(job->fx, job->ds, job->split, NULL, job->count, split_sink, job, NULL,
                                              err);
    size_t batch = (size_t)job->fx->options.max_batch;
    for (size_t first = 0; first < job->count; first += batch) {
        size_t n = job->count - first < batch ? job->count - first : batch;
        const float *features = NULL;
        if (load_file_batch(job->fx, job->files, first, n, err) != 0 ||
            simclr_feature_extractor_run(job->fx, job->fx->inputs, (int)n, &features, err) != 0 ||
            write_rows(job, features, first, n, err) != 0)
            return -1;
    }
    return 0;
}

/* A row and the name it goes by in a --mark list, in a table sorted by name. */
typedef struct named_row {
    const char *name;
    size_t row;
} named_row;

static int compare_named_rows(const void *a, const void *b)
{
    const named_row *x = a, *y = b;
    int order = strcmp(x->name, y->name);
    return order ? order : (x->row > y->row) - (x->row < y->row);
}

/* Marks every row of the sorted table named name; returns how many. */
static size_t mark_named_rows(const named_row *table, size_t count, const char *name, uint8_t *marks)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (strcmp(table[middle].name, name) < 0) low = middle + 1;
        else high = middle;
    }
    size_t found = 0;
    for (; low < count && strcmp(table[low].name, name) == 0; low++, found++) marks[table[low].row] = 1;
    return found;
}

/* Marks the row a split:index entry (FILE.csv's source of a split's row) names; 0 if none. */
static size_t mark_split_row(const embed_job *job, const char *entry, uint8_t *marks)
{
    const char *split = simclr_dataset_split_name(job->split);
    size_t length = strlen(split);
    if (strncmp(entry, split, length) != 0 || entry[length] != ':' || !isdigit((unsigned char)entry[length + 1]))
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long row = strtoull(entry + length + 1, &end, 10);
    if (*end || errno || row >= job->count) return 0;
    marks[row] = 1;
    return 1;
}

/* The rows by their files' real paths (symbolic links and "." or ".." resolved), for listed paths
 * written otherwise than on the command line ("photos/x.png" against "./photos//x.png"). */
static int real_path_table(const path_list *files, named_row **table, char ***real_paths, size_t *count,
                           simclr_error *err)
{
    *table = simclr_checked_calloc(files->count, sizeof **table, "--mark paths", err);
    *real_paths = *table ? simclr_checked_calloc(files->count, sizeof **real_paths, "--mark paths", err) : NULL;
    if (!*real_paths) return -1;
    *count = 0;
    for (size_t i = 0; i < files->count; i++) {
        char *real = realpath(files->paths[i], NULL);
        if (!real) continue;
        (*real_paths)[*count] = real;
        (*table)[*count] = (named_row){real, i};
        (*count)++;
    }
    qsort(*table, *count, sizeof **table, compare_named_rows);
    return 0;
}

/* --mark FILE: marks[row] = 1 for each row the file lists by its source in FILE.csv: an image's
 * path (compared as written, then as the file it names), or split:index. An entry that names no
 * row embedded is an input error naming the file and the first such entry. */
static int mark_listed_rows(const char *mark_path, const image_list *listed, const embed_job *job, uint8_t *marks,
                            size_t *marked, simclr_error *err)
{
    named_row *by_path = NULL, *by_real_path = NULL;
    char **real_paths = NULL;
    size_t real_count = 0, missing = 0;
    const char *first_missing = NULL;
    int status = 0;
    if (job->files) {
        by_path = simclr_checked_calloc(job->count, sizeof *by_path, "--mark paths", err);
        if (!by_path) return -1;
        for (size_t i = 0; i < job->count; i++) by_path[i] = (named_row){job->files->paths[i], i};
        qsort(by_path, job->count, sizeof *by_path, compare_named_rows);
    }
    for (size_t i = 0; i < listed->count && status == 0; i++) {
        const char *entry = listed->paths[i];
        size_t found = job->files ? mark_named_rows(by_path, job->count, entry, marks)
                                  : mark_split_row(job, entry, marks);
        if (!found && job->files) {
            char *real = realpath(entry, NULL);
            if (real && !real_paths) status = real_path_table(job->files, &by_real_path, &real_paths, &real_count, err);
            if (real && status == 0) found = mark_named_rows(by_real_path, real_count, real, marks);
            free(real);
        }
        if (!found && missing++ == 0) first_missing = entry;
    }
    if (status == 0 && missing) {
        const char *split = job->files ? NULL : simclr_dataset_split_name(job->split);
        if (job->files)
            simclr_error_input(err, "--mark %s: %s is not among the %zu images embedded", mark_path, first_missing,
                               job->count);
        else
            simclr_error_input(err, "--mark %s: %s names no row of the %s split (%s:0 to %s:%zu, as FILE.csv names "
                                    "them)",
                               mark_path, first_missing, split, split, split, job->count - 1);
        if (missing > 1)
            simclr_error_append(err, " (%zu of the %zu %s)", missing, listed->count,
                                job->files ? "paths it lists are not" : "entries it lists name none");
        status = -1;
    }
    *marked = 0;
    for (size_t i = 0; i < job->count; i++) *marked += marks[i];
    for (size_t i = 0; real_paths && i < real_count; i++) free(real_paths[i]);
    free(real_paths);
    free(by_real_path);
    free(by_path);
    return status;
}

int command_embed(int argc, char **argv)
{
    eval_cli options;
    eval_cli_defaults(&options);
    const char *out = NULL, *split_name = NULL, *plot = NULL, *mark = NULL;
    int quiet = 0;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    eval_cli_add_specs(&options, specs, &spec_count);
    specs[spec_count++] = (option_spec){"out", OPTION_TYPE_STRING, &out, 0, 0, NULL, "FILE.npy",
                                        "float32 (N, D) embeddings; FILE.csv gets index,source,label,"
                                        "class_name per row (required)",
                                        NULL};
    specs[spec_count++] = (option_spec){"split", OPTION_TYPE_CHOICE, &split_name, 0, 0, "train|test|unlabeled",
                                        NULL, "dataset split to embed (without IMAGE arguments)", "test"};
    specs[spec_count++] = (option_spec){"plot", OPTION_TYPE_STRING, &plot, 0, 0, NULL, "FILE.png",
                                        "also draw the embeddings' first two principal components, one "
                                        "colour per class",
                                        NULL};
    specs[spec_count++] = (option_spec){"mark", OPTION_TYPE_STRING, &mark, 0, 0, NULL, "FILE",
                                        "with --plot: mark the images FILE lists (one path a line, or a CSV whose "
                                        "first column is path: select's subset.csv), drawn over the others in a "
                                        "colour of their own as select --plot draws its selection (instead of one "
                                        "colour per class); a listed path that was not embedded is an error "
                                        "(split:index names a --split row)",
                                        NULL};
    specs[spec_count++] = (option_spec){"quiet", OPTION_TYPE_FLAG, &quiet, 0, 0, NULL, NULL, "no progress line",
                                        NULL};
    const char **positional = calloc((size_t)argc + 1, sizeof *positional);
    option_parser parser = {.command = "embed",
                            .usage = "simclr embed --model CHECKPOINT --out FILE.npy [--split S | IMAGE|DIR...]",
                            .summary = "Writes the features of a dataset split, or of PNG/JPEG files and "
                                       "directories (searched recursively), as a float32 (N, D) NumPy "
                                       ".npy file plus a .csv naming each row. Encoder features by "
                                       "default: the representation that transfers (the projection "
                                       "head's output is tuned to the contrastive task).",
                            .specs = specs,
                            .spec_count = spec_count,
                            .allow_positional = 1,
                            .positional = positional};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) {
        free(positional);
        return parsed > 0 ? 0 : cli_report_error(&err);
    }
    simclr_feature_extractor fx;
    memset(&fx, 0, sizeof fx);
    simclr_dataset ds;
    int have_dataset = 0;
    path_list files = {0};
    image_list mark_list = {0};
    uint8_t *marks = NULL;
    size_t marked = 0;
    embed_job job;
    memset(&job, 0, sizeof job);
    char csv_path[4096];
    int status = 0;
    if (!out) {
        simclr_error_input(&err, "simclr embed: --out FILE.npy is required");
        goto fail;
    }
    size_t out_length = strlen(out);
    if (out_length < 5 || strcmp(out + out_length - 4, ".npy") != 0 || out_length >= sizeof csv_path) {
        simclr_error_input(&err, "--out %s: expected a file name ending in .npy", out);
        goto fail;
    }
    snprintf(csv_path, sizeof csv_path, "%.*s.csv", (int)(out_length - 4), out);
    if (cli_check_output_file("--out", out, &err) != 0 || (plot && cli_check_output_file("--plot", plot, &err) != 0))
        goto fail;
    if (parser.positional_count > 0 && split_name) {
        simclr_error_input(&err, "simclr embed: give either --split or IMAGE arguments, not both");
        goto fail;
    }
    if (mark && !plot) {
        simclr_error_input(&err, "simclr embed: --mark %s marks images in the --plot picture: give --plot FILE.png "
                                 "too",
                           mark);
        goto fail;
    }
    if (mark && image_list_read_file(&mark_list, mark, "--mark", &err) != 0) goto fail;
    if (eval_cli_load(&options, "embed", &fx, &err) != 0) goto fail;
    job.fx = &fx;
    if (parser.positional_count > 0) {
        for (int i = 0; i < parser.positional_count; i++)
            if (collect_images(positional[i], &files, 0, &err) != 0) goto fail;
        if (files.count == 0) {
            simclr_error_input(&err, "simclr embed: no .png/.jpg/.jpeg images in the given directories");
            goto fail;
        }
        job.files = &files;
        job.count = files.count;
    } else {
        options.data.quiet = quiet;
        if (eval_cli_open_dataset(&options, &parser, &ds, &err) != 0) goto fail;
        have_dataset = 1;
        simclr_dataset_split_parse(split_name ? split_name : "test", &job.split);
        if (simclr_feature_extractor_check_dataset(&fx, &ds, &err) != 0) goto fail;
        job.ds = &ds;
        job.count = ds.splits[job.split].count;
        if (job.count == 0) {
            simclr_error_input(&err, "--split %s: dataset %s has no such split", simclr_dataset_split_name(job.split),
                               ds.name);
            goto fail;
        }
    }
    job.labels = simclr_checked_calloc(job.count, sizeof(int32_t), "labels", &err);
    if (!job.labels) goto fail;
    if (mark) {
        marks = simclr_checked_calloc(job.count, sizeof *marks, "--mark rows", &err);
        if (!marks || mark_listed_rows(mark, &mark_list, &job, marks, &marked, &err) != 0) goto fail;
    }
    if (cli_prepare_output_file("--out", out, &err) != 0 ||
        simclr_npy_writer_open(&job.npy, out, job.count, (size_t)fx.dim, &err) != 0)
        goto fail;
    if (simclr_atomic_file_open(&job.csv, csv_path, &err) != 0) {
        simclr_npy_writer_abort(&job.npy);
        goto fail;
    }
    fprintf(job.csv.stream, "index,source,label,class_name\n");
    job.quiet = quiet;
    simclr_progress_init(&job.bar, stdout, cli_progress_redraw());
    job.bar.steps = (int)((job.count + (size_t)options.batch - 1) / (size_t)options.batch);
    job.bar.epoch_start = simclr_progress_now();
    if (run_embedding(&job, &err) != 0) {
        simclr_npy_writer_abort(&job.npy);
        simclr_atomic_file_abort(&job.csv);
        if (!quiet && job.bar.is_terminal) printf("\n");
        goto fail;
    }
    if (!quiet) simclr_progress_end_epoch(&job.bar, "");
    if (simclr_npy_writer_commit(&job.npy, &err) != 0) {
        simclr_atomic_file_abort(&job.csv);
        goto fail;
    }
    if (simclr_atomic_file_commit(&job.csv, &err) != 0) {
        unlink(out);
        goto fail;
    }
    /* FILE.json: the model that made the rows (similar --embeddings checks it). Random weights
     * are no checkpoint's: no record, and none left from an earlier run. */
    char record[4200];
    snprintf(record, sizeof record, "%.*s.json", (int)(out_length - 4), out);
    if (options.random_init) unlink(record);
    else if (embedding_record_write(out, options.model, options.features, job.count, fx.dim, &err) != 0)
        goto fail;
    char described[2048];
    eval_cli_describe_model(&options, &fx, described, sizeof described);
    printf("model     %s\n", described);
    printf("wrote     %s: float32 (%zu, %d); %s%s%s\n", out, job.count, fx.dim, csv_path,
           options.random_init ? "" : "; ", options.random_init ? "" : record);
    if (plot) {
        const char *names[SIMCLR_DATASET_MAX_CLASSES];
        int classes = job.ds ? ds.num_classes : 0;
        for (int c = 0; c < classes; c++) names[c] = ds.class_names[c];
        char title[512], dataset[128], marked_text[160] = "";
        if (mark) {
            const char *slash = strrchr(mark, '/');
            snprintf(marked_text, sizeof marked_text, ", %zu marked by %s", marked, slash ? slash + 1 : mark);
        }
        if (job.ds) simclr_embedding_dataset_label(&ds, dataset, sizeof dataset);
        if (job.ds)
            snprintf(title, sizeof title, "%s features of the %s %s split%s (PCA)",
                     simclr_feature_kind_name(fx.options.kind), dataset, simclr_dataset_split_name(job.split),
                     marked_text);
        else
            snprintf(title, sizeof title, "%s features of %zu images%s (PCA)",
                     simclr_feature_kind_name(fx.options.kind), job.count, marked_text);
        const char *mark_names[1] = {"marked"};
        simclr_embedding_plot picture = {.title = title, .labels = job.labels, .class_names = names,
                                         .class_count = classes, .marks = marks, .mark_names = mark_names,
                                         .mark_count = marks ? 1 : 0};
        if (cli_prepare_output_file("--plot", plot, &err) != 0 ||
            simclr_embedding_plot_npy_png(plot, out, &picture, &err) != 0)
            goto fail;
        if (mark) printf("plot      %s (%zu images marked, listed in %s)\n", plot, marked, mark);
        else printf("plot      %s\n", plot);
    }
    goto done;
fail:
    status = cli_report_error(&err);
done:
    free(marks);
    image_list_free(&mark_list);
    free(job.labels);
    path_list_free(&files);
    if (have_dataset) simclr_dataset_close(&ds);
    simclr_feature_extractor_free(&fx);
    free(positional);
    return status;
}
