#ifndef SIMCLR_CLI_RUN_RECORD_H
#define SIMCLR_CLI_RUN_RECORD_H
/*
 * What shapes a run, as one record: rows of (key, label, value, may it change on --resume),
 * built from the effective configuration in one function (run_record_build). The same record
 * becomes <out>/<command>_config.json, the "config.<key>" metadata of every checkpoint the run
 * writes, and what --resume compares row by row against the checkpoint it continues.
 *
 * Adding a training option means adding one row to run_record_build; a row whose key shares a
 * prefix before the '.' with its neighbours ("model.width", "model.depth") becomes a member of
 * that JSON object, so keep such rows together.
 */
#include "simclr/checkpoint.h"
#include "simclr/dataset.h"
#include "simclr/error.h"
#include "simclr/train.h"

#define RUN_RECORD_MAX_ROWS 80

typedef enum run_value_kind {
    RUN_VALUE_NUMBER, /* written as is in JSON */
    RUN_VALUE_TEXT,   /* a JSON string */
    RUN_VALUE_LIST,   /* lines of text: a JSON array of strings */
    RUN_VALUE_JSON,   /* already JSON (an array or object the builder formatted) */
} run_value_kind;

typedef enum run_row_rule {
    RUN_ROW_FIXED,      /* --resume refuses a different value */
    RUN_ROW_MAY_CHANGE, /* recorded; --resume accepts another value (threads, epochs, ...) */
    RUN_ROW_IF_RECORDED, /* a row added after runs began to be recorded: --resume refuses a different
                            value, and accepts a run recorded before the row existed */
} run_row_rule;

typedef struct run_record_row {
    char key[64];        /* "model.width": JSON member (object.member) and checkpoint "config.<key>" */
    char label[64];      /* how a difference is named: "--width" */
    run_value_kind kind;
    run_row_rule rule;
    char *value;         /* owned */
} run_record_row;

typedef struct run_record {
    run_record_row rows[RUN_RECORD_MAX_ROWS];
    int count;
    /* The rows as checkpoint metadata ("config.<key>" -> value), for simclr_train_config. */
    simclr_checkpoint_metadata metadata[RUN_RECORD_MAX_ROWS];
    char metadata_keys[RUN_RECORD_MAX_ROWS][72];
} run_record;

/* What the record is built from besides the train config. */
typedef struct run_record_source {
    const char *command;              /* "baseline", ..., "experiment" */
    int argc;                         /* the arguments after the command name */
    char **argv;
    const simclr_dataset *ds;
    int stl10_fold, cifar100_coarse;  /* the dataset options the dataset does not carry */
    const char *labeled_dir;          /* --labeled-dir, or NULL */
    const char *file_list;            /* --file-list, or NULL */
    const char *dataset_fingerprint_sha256;
    long long dataset_file_count, dataset_file_bytes;
    const char *labeled_dir_sha256;   /* --labeled-dir's fingerprint (as the dataset's), or "" */
    const char *from;                 /* finetune's --from, or NULL */
    const char *from_sha256;
    int threads;                      /* effective, per rank */
    int ranks;                        /* issue 14: processes of the data-parallel job (1) */
    int quiet, force;
} run_record_source;

/* Builds the record of a run: one row per thing that shapes it. */
int run_record_build(run_record *record, const run_record_source *source,
                     const simclr_train_config *config, simclr_error *err);
void run_record_free(run_record *record);

/* The row with this key, or NULL. */
const run_record_row *run_record_find(const run_record *record, const char *key);

/* Writes the record as JSON (every string escaped) to path, atomically. */
int run_record_write_json(const run_record *record, const char *path, simclr_error *err);


/* Appends text to out as a JSON string literal (quotes included); returns the new length or -1
 * when out (size bytes) is too small. */
long run_record_json_string(char *out, size_t size, size_t used, const char *text);

#endif
