#ifndef SIMCLR_HISTORY_H
#define SIMCLR_HISTORY_H
/*
 * Per-epoch metrics of a run, with the seed's Keras names (acc, loss, val_acc, val_loss, c_loss,
 * c_acc, p_loss, p_acc, val_p_loss, val_p_acc) plus seconds, written as CSV and JSON.
 */
#include <stddef.h>

#include "simclr/error.h"

#define HISTORY_MAX_METRICS 16
#define HISTORY_NAME_MAX 24

typedef struct history {
    int metric_count;
    char names[HISTORY_MAX_METRICS][HISTORY_NAME_MAX];
    int epoch_count;
    int capacity;
    double *values;   /* [epoch][metric], owned */
    double *seconds;  /* [epoch], owned */
} history;

void history_init(history *h, const char *const *names, int count);
void history_free(history *h);
/* Appends one epoch: values[metric_count] and the epoch's wall seconds. */
int history_append(history *h, const double *values, double seconds, error *err);
/* Drops epochs after the first `epochs` (used when resuming). */
void history_truncate(history *h, int epochs);
/* Index of a metric, or -1. */
int history_metric_index(const history *h, const char *name);
/* The largest value of a metric over all epochs (NAN when absent or empty). */
double history_max(const history *h, const char *name);
/* The column of a metric as floats (epoch_count entries) into out. */
void history_column(const history *h, int metric, float *out);

/* Writes <dir>/<run>_history.csv and <dir>/<run>_history.json atomically. */
int history_write(const history *h, const char *dir, const char *run, error *err);
/* Reads back a CSV written by history_write (for --resume); the columns must match h's names. */
int history_read_csv(history *h, const char *path, error *err);

#endif
