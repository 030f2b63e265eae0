#ifndef SIMCLR_CLI_OPTIONS_H
#define SIMCLR_CLI_OPTIONS_H
/*
 * Table-driven command-line options: each command lists its options (name, type, range, help,
 * where the value goes); options_parse validates every value (type and range) and reports the
 * flag and what was expected. Accepts `--name value` and `--name=value`.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"

typedef enum option_type {
    OPTION_TYPE_INT,    /* long long into *(long long *)target, range [min, max] */
    OPTION_TYPE_FLOAT,  /* double into *(double *)target, range [min, max] */
    OPTION_TYPE_STRING, /* const char * into *(const char **)target */
    OPTION_TYPE_CHOICE, /* const char * into *(const char **)target, one of `choices` ('|'-separated) */
    OPTION_TYPE_FLAG,   /* int 1 into *(int *)target, takes no value */
} option_type;

typedef struct option_spec {
    const char *name;        /* without the leading "--" */
    option_type type;
    void *target;
    double min, max;         /* numeric range, inclusive */
    const char *choices;     /* OPTION_TYPE_CHOICE */
    const char *value_name;  /* shown in help: N, DIR, FILE... */
    const char *help;        /* one line; the default is appended from default_text */
    const char *default_text;
} option_spec;

typedef struct option_parser {
    const char *command;     /* "pretrain" */
    const char *usage;       /* "simclr pretrain [options]" */
    const char *summary;     /* one paragraph */
    const option_spec *specs;
    size_t spec_count;
    /* Positional arguments are collected here when allowed (predict's IMAGE...). */
    int allow_positional;
    const char **positional;
    int positional_count;
    /* Which options the user gave explicitly (parallel to specs); given_now: those among the
     * arguments from first_own_argument on (before it: a resumed run's recorded options). */
    int given[128];
    int given_now[128];
    int first_own_argument;
} option_parser;

/* Parses argv[0..argc) (argv[0] is the first argument after the command name). Returns 0, or 1
 * when --help was asked (help already printed), or -1 with err naming the flag. */
int options_parse(option_parser *parser, int argc, char **argv, simclr_error *err);

/* Prints usage, summary and every option with its default to stdout. */
void options_print_help(const option_parser *parser);

/* Whether the option `name` was given on the command line (or recorded by the resumed run). */
int options_given(const option_parser *parser, const char *name);
/* Whether it was given on this command line itself (not only recorded by the resumed run). */
int options_given_now(const option_parser *parser, const char *name);

#endif
