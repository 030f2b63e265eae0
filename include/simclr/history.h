#ifndef SIMCLR_HISTORY_H
#define SIMCLR_HISTORY_H
/*
 * Per-epoch metrics of a run, with the seed's Keras names (acc, loss, val_acc, val_loss, c_loss,
 * c_acc, p_loss, p_acc, val_p_loss, val_p_acc) plus seconds, written as CSV and JSON.
 */
#include <stddef.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_HISTORY_MAX_METRICS 16
#define SIMCLR_HISTORY_NAME_MAX 24

typedef struct simclr_history {
    int metric_count;
    char names[SIMCLR_HISTORY_MAX_METRICS][SIMCLR_HISTORY_NAME_MAX];
    int epoch_count;
    int capacity;
    double *values;   /* [epoch][metric], owned */
    double *seconds;  /* [epoch], owned */
} simclr_history;

void simclr_history_init(simclr_history *h, const char *const *names, int count);
void simclr_history_free(simclr_history *h);
/* Appends one epoch: values[metric_count] and the epoch's wall seconds. */
int simclr_history_append(simclr_history *h, const double *values, double seconds, simclr_error *err);
/* Drops epochs after the first `epochs` (used when resuming). */
void simclr_history_truncate(simclr_history *h, int epochs);
/* Index of a metric, or -1. */
int simclr_history_metric_index(const simclr_history *h, const char *name);
/* The largest value of a metric over all epochs (NAN when absent or empty). */
double simclr_history_max(const simclr_history *h, const char *name);
/* The column of a metric as floats (epoch_count entries) into out. */
void simclr_history_column(const simclr_history *h, int metric, float *out);

/* Writes <dir>/<run>_history.csv and <dir>/<run>_history.json atomically. */
int simclr_history_write(const simclr_history *h, const char *dir, const char *run, simclr_error *err);
/* Reads back a CSV written by simclr_history_write (for --resume); the columns must match h's names. */
int simclr_history_read_csv(simclr_history *h, const char *path, simclr_error *err);

SIMCLR_END_DECLS
#endif
