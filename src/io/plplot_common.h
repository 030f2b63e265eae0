#ifndef SIMCLR_PLPLOT_COMMON_H
#define SIMCLR_PLPLOT_COMMON_H
/* Shared by the PLplot figures (plot_lines.c, plot_scatter.c). */
#include <stddef.h>

#include "simclr/atomic_file.h"

/* PLplot treats '#' as an escape: copies text into out with every '#' doubled. */
void simclr_plplot_escape_text(const char *text, char *out, size_t size);
/* Whether PLplot has the named output device (e.g. "pngcairo"). */
int simclr_plplot_has_device(const char *device);
/* Checks the temporary file PLplot wrote is a PNG and commits it; removes it otherwise. */
int simclr_plplot_commit_output(simclr_atomic_file *file, simclr_error *err);

#endif
