#ifndef SIMCLR_CLI_RUN_DIRECTORY_H
#define SIMCLR_CLI_RUN_DIRECTORY_H
/*
 * Where a training command writes, and what it may replace there:
 *   - `--resume DIR` continues the run in DIR and implies `--out DIR` (another --out is an error);
 *     DIR must hold a checkpoint of the command's runs;
 *   - without --out the directory is a fresh runs/<command>-<UTC time> (a -2, -3, ... suffix when
 *     that exists);
 *   - a directory that already holds any file the command writes is refused unless --overwrite,
 *     which removes exactly those files (never anything else) before the run starts.
 */
#include <stddef.h>

#include "simclr/error.h"

/* The runs a command trains, in order ("baseline", "pretrain", "finetune"); returns the count. */
int run_directory_runs(const char *command, const char *runs[3]);

/* The output directory from --out / --resume (either may be NULL); *defaulted is 1 when it is the
 * fresh default. */
int run_directory_resolve(const char *command, const char *out, const char *resume, int overwrite,
                          char *dir, size_t size, int *defaulted, simclr_error *err);

/* The checkpoint --resume continues (the first of the command's runs that has one); an input
 * error naming DIR when there is none. */
int run_directory_resume_checkpoint(const char *command, const char *dir, char *path, size_t size,
                                    simclr_error *err);

/* Refuses (input error naming the file) a directory holding a file the command writes. */
int run_directory_check_fresh(const char *command, const char *dir, simclr_error *err);

/* Removes the files the command writes from dir (for --overwrite). */
int run_directory_clear(const char *command, const char *dir, simclr_error *err);

#endif
