#ifndef SIMCLR_PROGRESS_H
#define SIMCLR_PROGRESS_H
/*
 * A Keras-like progress line per epoch:
 *   Epoch 3/20
 *   120/120 ━━━━━━━━━━━━━━━━━━━━ 45s 375ms/step - c_acc: 0.6200 - c_loss: 1.9800 - ...
 * redrawn in place on a terminal (at most every 0.1 s); when the stream is not a terminal, or
 * redraw is 0 (under mpirun, whose forwarded output is no terminal to the reader), only the
 * finished line of each epoch is printed. A resumed epoch's ms/step and eta count the steps this
 * process ran; its seconds include those recorded before.
 */
#include <stdio.h>
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_progress {
    FILE *stream;
    int is_terminal;     /* redrawn in place: a terminal, and redrawing not turned off */
    int steps;
    double epoch_start;  /* seconds, monotonic: this process's start of the epoch */
    double last_draw;
    int first_step;      /* steps of the epoch run before this process (a resume) */
    double earlier_seconds; /* the seconds those took */
} simclr_progress;

/* Monotonic clock in seconds. */
double simclr_progress_now(void);

/* redraw: 1 to redraw on a terminal, 0 for finished lines only. */
void simclr_progress_init(simclr_progress *p, FILE *stream, int redraw);
/* Prints "Epoch k/N" and starts timing. */
void simclr_progress_begin_epoch(simclr_progress *p, int epoch, int epochs, int steps);
/* The epoch resumes after `steps_done` steps that took `seconds` in an earlier process. */
void simclr_progress_resume_at(simclr_progress *p, int steps_done, double seconds);
/* After step `done` of `steps`: redraws the line on a terminal. metrics: "name: value - ...". */
void simclr_progress_update(simclr_progress *p, int done, const char *metrics);
/* The finished line (with validation metrics appended by the caller) and a newline. */
void simclr_progress_end_epoch(simclr_progress *p, const char *metrics);

/* Appends " - name: value" (4 decimals, Keras style) to buffer. */
void simclr_progress_append_metric(char *buffer, size_t size, const char *name, double value);

SIMCLR_END_DECLS
#endif
