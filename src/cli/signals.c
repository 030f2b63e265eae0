#include "signals.h"

#include <string.h>
#include <unistd.h>

/* A signal handler can only communicate through a static flag: the one piece of global mutable
 * state in the program, written only here. */
static volatile sig_atomic_t stop_requested;
static int handlers_installed;
static const char *volatile stop_message =
    "\nsimclr: stopping and saving the checkpoint of the last complete step (again to quit at once)\n";

static void on_stop_signal(int signal_number)
{
    if (stop_requested) {
        /* Second signal: the user insists. Restore the default action and re-raise. */
        signal(signal_number, SIG_DFL);
        raise(signal_number);
        return;
    }
    stop_requested = 1;
    ssize_t ignored = write(STDERR_FILENO, stop_message, strlen(stop_message));
    (void)ignored;
}

void cli_set_stop_message(const char *message) { stop_message = message; }

const volatile sig_atomic_t *cli_stop_flag(void)
{
    if (!handlers_installed) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_stop_signal;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, NULL);
        sigaction(SIGTERM, &action, NULL);
        handlers_installed = 1;
    }
    return &stop_requested;
}
