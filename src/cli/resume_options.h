#ifndef SIMCLR_CLI_RESUME_OPTIONS_H
#define SIMCLR_CLI_RESUME_OPTIONS_H
/*
 * `simclr <command> --resume DIR` continues the run with its recorded options (issue 27): the
 * command line the run recorded in its checkpoint ("config.command_line") is read back and put
 * before the options given now, which therefore win where they repeat one. The run record then
 * compares the result with the checkpoint as for any resume, so an option given now that
 * contradicts the run is refused by name, and those that may change (--epochs, --threads, ...)
 * change. The recorded --out and --resume are left out: DIR is the run.
 */
#include "simclr/error.h"

typedef struct resume_options {
    int argc;
    char **argv;      /* the recorded options, then the given ones */
    int recorded;     /* how many came from the record (0: nothing to resume, or an old checkpoint) */
    char **owned;     /* the recorded arguments' storage */
    int owned_count;
} resume_options;

/* When argv holds --resume DIR, reads the run's recorded options from its checkpoint for
 * `command` and fills merged (merged->argv is argv itself otherwise). A --resume DIR that holds no
 * checkpoint is left for the usual check to report. */
int resume_options_merge(const char *command, int argc, char **argv, resume_options *merged, simclr_error *err);
void resume_options_free(resume_options *merged);

/* Splits a line written by the run record's shell quoting (plain words, '...' with '\'' for a
 * quote) into words; returns the count, or -1 on an unterminated quote or out of memory. */
int resume_options_split(const char *line, char ***words);

#endif
