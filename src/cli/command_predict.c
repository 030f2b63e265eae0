/* simclr predict: class name and probability for PNG/JPEG files, directories of them (walked
 * recursively) and lists of paths on stdin ("-"), as text, CSV or JSON. An image that cannot be
 * read is reported and skipped; the exit status says so at the end. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli_common.h"
#include "commands.h"
#include "run_record.h"
#include "simclr/trained_model.h"

typedef struct path_list {
    char **items;
    size_t count, capacity;
} path_list;

static int path_list_add(path_list *list, const char *path, simclr_error *err)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 64;
        char **items = realloc(list->items, capacity * sizeof *items);
        if (!items) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count] = strdup(path);
    if (!list->items[list->count]) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    list->count++;
    return 0;
}

static void path_list_free(path_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

static int skip_hidden(const struct dirent *entry) { return entry->d_name[0] != '.'; }

/* The PNG/JPEG files under directory, sorted by name, recursively. */
static int add_directory(path_list *list, const char *directory, int depth, simclr_error *err)
{
    struct dirent **entries = NULL;
    int count = scandir(directory, &entries, skip_hidden, alphasort);
    if (count < 0) return simclr_error_input(err, "cannot list directory %s", directory);
    int status = 0;
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", directory, entries[i]->d_name);
        struct stat info;
        if (status == 0 && stat(path, &info) == 0) {
            if (S_ISDIR(info.st_mode) && depth < 32)
                status = add_directory(list, path, depth + 1, err);
            else if (S_ISREG(info.st_mode) && is_image_name(entries[i]->d_name))
                status = path_list_add(list, path, err);
        }
        free(entries[i]);
    }
    free(entries);
    return status;
}

static int collect_inputs(path_list *list, const char **arguments, int count, simclr_error *err)
{
    for (int i = 0; i < count; i++) {
        const char *argument = arguments[i];
        struct stat info;
        if (strcmp(argument, "-") == 0) {
            char line[4096];
            while (fgets(line, sizeof line, stdin)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] && path_list_add(list, line, err) != 0) return -1;
            }
        } else if (stat(argument, &info) == 0 && S_ISDIR(info.st_mode)) {
            if (add_directory(list, argument, 0, err) != 0) return -1;
        } else if (path_list_add(list, argument, err) != 0) {
            return -1;
        }
    }
    return 0;
}

typedef enum predict_format { PREDICT_TEXT, PREDICT_CSV, PREDICT_JSON } predict_format;

static void print_csv_field(const char *text)
{
    if (strpbrk(text, ",\"\n\r") == NULL) {
        fputs(text, stdout);
        return;
    }
    putchar('"');
    for (const char *c = text; *c; c++) {
        if (*c == '"') putchar('"');
        putchar(*c);
    }
    putchar('"');
}

static void print_json_string(const char *text)
{
    size_t size = 6 * strlen(text) + 3;
    char *buffer = malloc(size);
    if (buffer && run_record_json_string(buffer, size, 0, text) >= 0) fputs(buffer, stdout);
    free(buffer);
}

static void print_prediction(const simclr_trained_model *model, const char *path, const float *probabilities,
                             int top, predict_format format, int index)
{
    int classes = simclr_trained_model_class_count(model);
    int ranked[SIMCLR_DATASET_MAX_CLASSES];
    int shown = top < classes ? top : classes;
    for (int rank = 0; rank < shown; rank++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int taken = 0;
            for (int r = 0; r < rank; r++) taken |= ranked[r] == c;
            if (!taken && (best < 0 || probabilities[c] > probabilities[best])) best = c;
        }
        ranked[rank] = best;
    }
    if (format == PREDICT_TEXT) {
        printf("%s", path);
        for (int rank = 0; rank < shown; rank++)
            printf("%s%s %.4f", rank == 0 ? ": " : ", ", simclr_trained_model_class_name(model, ranked[rank]),
                   (double)probabilities[ranked[rank]]);
        printf("\n");
    } else if (format == PREDICT_CSV) {
        print_csv_field(path);
        for (int rank = 0; rank < shown; rank++) {
            putchar(',');
            print_csv_field(simclr_trained_model_class_name(model, ranked[rank]));
            printf(",%.6f", (double)probabilities[ranked[rank]]);
        }
        printf("\n");
    } else {
        printf("%s\n  {\"path\": ", index ? "," : "");
        print_json_string(path);
        printf(", \"top\": [");
        for (int rank = 0; rank < shown; rank++) {
            printf("%s{\"class\": ", rank ? ", " : "");
            print_json_string(simclr_trained_model_class_name(model, ranked[rank]));
            printf(", \"probability\": %.6f}", (double)probabilities[ranked[rank]]);
        }
        printf("]}");
    }
}

size_t command_predict_specs(const char **model_path, long long *top, const char **format,
                             option_spec *specs)
{
    size_t count = 0;
    specs[count++] = (option_spec){"model", OPTION_TYPE_STRING, model_path, 0, 0, NULL,
                                   "CHECKPOINT",
                                   "classifier checkpoint (baseline, finetune or pretrain's "
                                   "probe) (required)",
                                   NULL};
    specs[count++] = (option_spec){"top", OPTION_TYPE_INT, top, 1, 100, NULL, "K",
                                   "print the K most probable classes", "1"};
    specs[count++] = (option_spec){"format", OPTION_TYPE_CHOICE, format, 0, 0, "text|csv|json", NULL,
                                   "text lines 'path: class p', CSV with a header row, or a JSON "
                                   "array of {path, top: [{class, probability}]}",
                                   "text"};
    return count;
}

int command_predict(int argc, char **argv)
{
    const char *model_path = NULL;
    const char *format_name = "text";
    long long top = 1;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = command_predict_specs(&model_path, &top, &format_name, specs);
    const char **arguments = calloc((size_t)argc + 1, sizeof *arguments);
    option_parser parser = {.command = "predict",
                            .usage = "simclr predict --model CHECKPOINT IMAGE|DIRECTORY|- ...",
                            .summary = "Prints the most probable classes and their probabilities "
                                       "for each PNG or JPEG image (resized to the model's input): "
                                       "files, directories (every .png/.jpg/.jpeg below, sorted) "
                                       "and '-' (a list of paths on stdin, one a line). An image "
                                       "that cannot be read is reported and skipped; the exit "
                                       "status is then 2.",
                            .specs = specs,
                            .spec_count = spec_count,
                            .allow_positional = 1,
                            .positional = arguments};
    simclr_error err = {0};
    int parsed = arguments ? options_parse(&parser, argc, argv, &err) : -1;
    if (!arguments) simclr_error_set(&err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    if (parsed != 0) {
        free(arguments);
        return parsed > 0 ? 0 : cli_report_error(&err);
    }
    if (!model_path || parser.positional_count == 0) {
        free(arguments);
        simclr_error_input(&err, "simclr predict: expected --model CHECKPOINT and at least one IMAGE, "
                                 "DIRECTORY or -");
        return cli_report_error(&err);
    }
    predict_format format = strcmp(format_name, "csv") == 0    ? PREDICT_CSV
                            : strcmp(format_name, "json") == 0 ? PREDICT_JSON
                                                               : PREDICT_TEXT;
    path_list inputs = {0};
    simclr_trained_model *model = NULL;
    int status = 0;
    float *probabilities = NULL;
    if (collect_inputs(&inputs, arguments, parser.positional_count, &err) != 0) goto fail;
    if (inputs.count == 0) {
        simclr_error_input(&err, "simclr predict: no PNG or JPEG image found in the arguments");
        goto fail;
    }
    if (simclr_trained_model_open(model_path, &model, &err) != 0) goto fail;
    int classes = simclr_trained_model_class_count(model);
    probabilities = simclr_checked_calloc((size_t)classes, sizeof(float), "probabilities", &err);
    if (!probabilities) goto fail;
    if (format == PREDICT_CSV) {
        printf("path");
        for (long long rank = 1; rank <= top && rank <= classes; rank++)
            rank == 1 ? printf(",class,probability") : printf(",class_%lld,probability_%lld", rank, rank);
        printf("\n");
    }
    if (format == PREDICT_JSON) printf("[");
    size_t failed = 0, predicted = 0;
    for (size_t i = 0; i < inputs.count; i++) {
        const char *path = inputs.items[i];
        if (simclr_trained_model_classify_files(model, &path, 1, NULL, probabilities, &err) != 0) {
            if (err.kind != SIMCLR_ERROR_KIND_INPUT) goto fail;
            fflush(stdout);
            cli_report_error(&err);
            failed++;
            continue;
        }
        print_prediction(model, path, probabilities, (int)top, format, (int)predicted++);
    }
    if (format == PREDICT_JSON) printf("%s]\n", predicted ? "\n" : "");
    fflush(stdout);
    if (failed) {
        simclr_error_input(&err, "%zu of %zu images could not be read (reported above); the others "
                                 "were predicted",
                           failed, inputs.count);
        goto fail;
    }
    goto done;
fail:
    status = cli_report_error(&err);
done:
    free(probabilities);
    simclr_trained_model_close(model);
    path_list_free(&inputs);
    free(arguments);
    return status;
}
