/*
 * Fuzzes the command-line option parser (src/cli/options.c) with the command line's own option
 * tables, taken from src/cli (not copied, so they cannot drift): the training commands' table
 * as finetune has it (command_train_specs: the dataset options, every train_cli option, --from;
 * every option type, the widest ranges) and `simclr predict`'s (command_predict_specs, with
 * positional IMAGE arguments).
 *
 * Input:
 *   u8 table     bit 0: predict's table (with positional IMAGE arguments), else the training one
 *   the rest     the arguments, separated by NUL bytes (at most 64)
 *
 * When parsing succeeds, every option given must hold a value of its type within its range.
 * (--help prints the help to stdout: run with -close_fd_mask=1.)
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "fuzz_common.h"

enum { FUZZ_OPTIONS_MAX_ARGS = 64 };

/* Where the tables' values go. */
typedef struct fuzz_options_values {
    train_cli training;
    const char *from, *model, *format;
    long long top;
} fuzz_options_values;

/* Whether value is one of the '|'-separated choices. */
static int fuzz_options_is_choice(const char *choices, const char *value)
{
    size_t length = strlen(value);
    for (const char *cursor = choices; *cursor;) {
        const char *bar = strchr(cursor, '|');
        size_t choice_length = bar ? (size_t)(bar - cursor) : strlen(cursor);
        if (choice_length == length && strncmp(cursor, value, length) == 0) return 1;
        if (!bar) break;
        cursor = bar + 1;
    }
    return 0;
}

/* What options_parse promises about a successful parse. */
static void fuzz_options_check(const option_parser *parser, int argc, char **argv)
{
    for (size_t i = 0; i < parser->spec_count; i++) {
        const option_spec *spec = &parser->specs[i];
        FUZZ_CHECK(options_given(parser, spec->name) == parser->given[i]);
        if (!parser->given[i]) continue;
        switch (spec->type) {
        case OPTION_TYPE_INT: {
            long long value = *(const long long *)spec->target;
            FUZZ_CHECK((double)value >= spec->min && (double)value <= spec->max);
            break;
        }
        case OPTION_TYPE_FLOAT: {
            double value = *(const double *)spec->target;
            FUZZ_CHECK(isfinite(value) && value >= spec->min && value <= spec->max);
            break;
        }
        case OPTION_TYPE_STRING: {
            const char *value = *(const char *const *)spec->target;
            FUZZ_CHECK(value != NULL && value[0] != '\0');
            break;
        }
        case OPTION_TYPE_CHOICE: {
            const char *value = *(const char *const *)spec->target;
            FUZZ_CHECK(value != NULL && fuzz_options_is_choice(spec->choices, value));
            break;
        }
        case OPTION_TYPE_FLAG: FUZZ_CHECK(*(const int *)spec->target == 1); break;
        }
    }
    FUZZ_CHECK(parser->positional_count >= 0 && parser->positional_count <= argc);
    if (!parser->allow_positional) FUZZ_CHECK(parser->positional_count == 0);
    for (int p = 0; p < parser->positional_count; p++) {
        int found = 0;
        for (int a = 0; a < argc && !found; a++) found = parser->positional[p] == argv[a];
        FUZZ_CHECK(found);
    }
}

int fuzz_options_one(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    int predict = fuzz_u8(&in) & 1;
    size_t length = 0;
    const uint8_t *rest = fuzz_rest(&in, &length);

    /* The arguments: the bytes split at NUL, each NUL-terminated in a copy. */
    char *text = malloc(length + 1);
    FUZZ_CHECK(text != NULL);
    if (length) memcpy(text, rest, length);
    text[length] = '\0';
    char *argv[FUZZ_OPTIONS_MAX_ARGS + 1];
    int argc = 0;
    if (length) {
        for (char *arg = text; argc < FUZZ_OPTIONS_MAX_ARGS && arg <= text + length;
             arg += strlen(arg) + 1)
            argv[argc++] = arg;
    }
    argv[argc] = NULL;

    fuzz_options_values values;
    memset(&values, 0, sizeof values);
    train_cli_defaults(&values.training);
    option_spec specs[CLI_MAX_SPECS];
    const char *positional[FUZZ_OPTIONS_MAX_ARGS + 1];
    option_parser parser = {.command = predict ? "predict" : "finetune",
                            .usage = "simclr fuzz [options]",
                            .summary = "The fuzz target's table.",
                            .specs = specs};
    if (predict) {
        parser.spec_count = command_predict_specs(&values.model, &values.top, &values.format, specs);
        parser.allow_positional = 1;
        parser.positional = positional;
    } else {
        parser.spec_count = command_train_specs(1, &values.training, &values.from, specs);
    }

    simclr_error err = {0};
    simclr_error_clear(&err);
    int status = options_parse(&parser, argc, argv, &err);
    FUZZ_CHECK(status == -1 || status == 0 || status == 1);
    if (status == -1) FUZZ_CHECK(err.kind == SIMCLR_ERROR_KIND_INPUT && err.message[0] != '\0');
    if (status == 0) fuzz_options_check(&parser, argc, argv);
    simclr_error_clear(&err); /* frees a message too long for err.message */
    free(text);
    return status;
}

#ifdef SIMCLR_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_options_one(data, size);
    return 0;
}
#endif
