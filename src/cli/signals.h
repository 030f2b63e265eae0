#ifndef SIMCLR_CLI_SIGNALS_H
#define SIMCLR_CLI_SIGNALS_H
/* Ctrl-C and SIGTERM during training: the first one asks the run to stop after its current step
 * and save a checkpoint; a second one kills the process at once. */
#include <signal.h>

/* Installs the handlers (idempotent) and returns the flag they set. */
const volatile sig_atomic_t *cli_stop_flag(void);

/* What the first signal prints (a string literal; the default speaks of training's checkpoint). */
void cli_set_stop_message(const char *message);

#endif
