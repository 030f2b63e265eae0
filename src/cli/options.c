#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

static const option_spec *find_spec(const option_parser *parser, const char *name, size_t length,
                                    size_t *index)
{
    for (size_t i = 0; i < parser->spec_count; i++) {
        if (strlen(parser->specs[i].name) == length &&
            strncmp(parser->specs[i].name, name, length) == 0) {
            *index = i;
            return &parser->specs[i];
        }
    }
    return NULL;
}

static int choice_allowed(const char *choices, const char *value)
{
    size_t length = strlen(value);
    const char *cursor = choices;
    while (*cursor) {
        const char *end = strchr(cursor, '|');
        size_t choice_length = end ? (size_t)(end - cursor) : strlen(cursor);
        if (choice_length == length && strncmp(cursor, value, length) == 0) return 1;
        if (!end) break;
        cursor = end + 1;
    }
    return 0;
}

static int parse_value(const option_parser *parser, const option_spec *spec, const char *value,
                       simclr_error *err)
{
    const char *command = parser->command;
    switch (spec->type) {
    case OPTION_TYPE_INT: {
        char *end = NULL;
        errno = 0;
        long long number = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || (double)number < spec->min ||
            (double)number > spec->max) {
            return simclr_error_input(err, "simclr %s: --%s expects an integer in [%.0f, %.0f], got '%s'",
                               command, spec->name, spec->min, spec->max, value);
        }
        *(long long *)spec->target = number;
        return 0;
    }
    case OPTION_TYPE_FLOAT: {
        char *end = NULL;
        errno = 0;
        double number = strtod(value, &end);
        if (errno != 0 || end == value || *end != '\0' || !isfinite(number) || number < spec->min ||
            number > spec->max) {
            return simclr_error_input(err, "simclr %s: --%s expects a number in [%g, %g], got '%s'",
                               command, spec->name, spec->min, spec->max, value);
        }
        *(double *)spec->target = number;
        return 0;
    }
    case OPTION_TYPE_STRING:
        if (value[0] == '\0')
            return simclr_error_input(err, "simclr %s: --%s expects a non-empty %s", command, spec->name,
                               spec->value_name ? spec->value_name : "value");
        *(const char **)spec->target = value;
        return 0;
    case OPTION_TYPE_CHOICE:
        if (!choice_allowed(spec->choices, value))
            return simclr_error_input(err, "simclr %s: --%s expects one of %s, got '%s'", command,
                               spec->name, spec->choices, value);
        *(const char **)spec->target = value;
        return 0;
    case OPTION_TYPE_FLAG:
        *(int *)spec->target = 1;
        return 0;
    }
    return simclr_error_input(err, "simclr %s: --%s has an unknown type", command, spec->name);
}

int options_parse(option_parser *parser, int argc, char **argv, simclr_error *err)
{
    memset(parser->given, 0, sizeof parser->given);
    memset(parser->given_now, 0, sizeof parser->given_now);
    parser->positional_count = 0;
    for (int i = 0; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            options_print_help(parser);
            return 1;
        }
        if (strncmp(argument, "--", 2) != 0 || argument[2] == '\0') {
            if (parser->allow_positional && parser->positional) {
                parser->positional[parser->positional_count++] = argument;
                continue;
            }
            return simclr_error_input(err, "simclr %s: unexpected argument '%s' (options start with --; "
                                    "see simclr %s --help)",
                               parser->command, argument, parser->command);
        }
        const char *name = argument + 2;
        const char *equals = strchr(name, '=');
        size_t name_length = equals ? (size_t)(equals - name) : strlen(name);
        size_t index = 0;
        const option_spec *spec = find_spec(parser, name, name_length, &index);
        if (!spec) {
            const char *names[128];
            size_t count = parser->spec_count < 128 ? parser->spec_count : 128;
            for (size_t k = 0; k < count; k++) names[k] = parser->specs[k].name;
            int closest = cli_closest_name(name, name_length, names, count);
            if (closest >= 0)
                return simclr_error_input(err, "simclr %s: unknown option '--%.*s'; did you mean --%s? (see simclr "
                                          "%s --help)",
                                          parser->command, (int)name_length, name, names[closest], parser->command);
            return simclr_error_input(err, "simclr %s: unknown option '--%.*s' (see simclr %s --help)",
                               parser->command, (int)name_length, name, parser->command);
        }
        const char *value = NULL;
        int own = i >= parser->first_own_argument;
        if (spec->type == OPTION_TYPE_FLAG) {
            if (equals) return simclr_error_input(err, "simclr %s: --%s takes no value", parser->command,
                                           spec->name);
        } else if (equals) {
            value = equals + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return simclr_error_input(err, "simclr %s: --%s expects a value (%s)", parser->command,
                               spec->name, spec->value_name ? spec->value_name : "value");
        }
        if (parse_value(parser, spec, value, err) != 0) return -1;
        if (index < sizeof parser->given / sizeof parser->given[0]) {
            parser->given[index] = 1;
            if (own) parser->given_now[index] = 1;
        }
    }
    return 0;
}

int options_given(const option_parser *parser, const char *name)
{
    size_t index = 0;
    if (!find_spec(parser, name, strlen(name), &index)) return 0;
    return index < sizeof parser->given / sizeof parser->given[0] && parser->given[index];
}

int options_given_now(const option_parser *parser, const char *name)
{
    size_t index = 0;
    if (!find_spec(parser, name, strlen(name), &index)) return 0;
    return index < sizeof parser->given_now / sizeof parser->given_now[0] && parser->given_now[index];
}

void options_print_help(const option_parser *parser)
{
    printf("Usage: %s\n\n%s\n\nOptions:\n", parser->usage, parser->summary);
    for (size_t i = 0; i < parser->spec_count; i++) {
        const option_spec *spec = &parser->specs[i];
        char left[96];
        if (spec->type == OPTION_TYPE_FLAG)
            snprintf(left, sizeof left, "--%s", spec->name);
        else if (spec->type == OPTION_TYPE_CHOICE)
            snprintf(left, sizeof left, "--%s %s", spec->name, spec->choices);
        else
            snprintf(left, sizeof left, "--%s %s", spec->name,
                     spec->value_name ? spec->value_name : "VALUE");
        printf("  %-34s %s", left, spec->help);
        if (spec->default_text) printf(" (default: %s)", spec->default_text);
        printf("\n");
    }
    printf("  %-34s %s\n", "--help", "show this help");
}
