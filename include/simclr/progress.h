#ifndef SIMCLR_PROGRESS_H
#define SIMCLR_PROGRESS_H
/*
 * A Keras-like progress line per epoch:
 *   Epoch 3/20
 *   120/120 ━━━━━━━━━━━━━━━━━━━━ 45s 375ms/step - c_acc: 0.6200 - c_loss: 1.9800 - ...
 * redrawn in place on a terminal (at most every 0.1 s); when the stream is not a terminal only
 * the finished line of each epoch is printed.
 */
#include <stdio.h>
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_progress {
    FILE *stream;
    int is_terminal;
    int steps;
    double epoch_start;  /* seconds, monotonic */
    double last_draw;
} simclr_progress;

/* Monotonic clock in seconds. */
double simclr_progress_now(void);

void simclr_progress_init(simclr_progress *p, FILE *stream);
/* Prints "Epoch k/N" and starts timing. */
void simclr_progress_begin_epoch(simclr_progress *p, int epoch, int epochs, int steps);
/* After step `done` of `steps`: redraws the line on a terminal. metrics: "name: value - ...". */
void simclr_progress_update(simclr_progress *p, int done, const char *metrics);
/* The finished line (with validation metrics appended by the caller) and a newline. */
void simclr_progress_end_epoch(simclr_progress *p, const char *metrics);

/* Appends " - name: value" (4 decimals, Keras style) to buffer. */
void simclr_progress_append_metric(char *buffer, size_t size, const char *name, double value);

SIMCLR_END_DECLS
#endif
