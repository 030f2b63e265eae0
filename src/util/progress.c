#include "simclr/progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_BAR_WIDTH 20

double simclr_progress_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

void simclr_progress_init(simclr_progress *p, FILE *stream, int redraw)
{
    memset(p, 0, sizeof *p);
    p->stream = stream;
    p->is_terminal = redraw && isatty(fileno(stream));
}

void simclr_progress_begin_epoch(simclr_progress *p, int epoch, int epochs, int steps)
{
    p->steps = steps;
    p->epoch_start = simclr_progress_now();
    p->last_draw = 0.0;
    p->first_step = 0;
    p->earlier_seconds = 0.0;
    fprintf(p->stream, "Epoch %d/%d\n", epoch, epochs);
    fflush(p->stream);
}

void simclr_progress_resume_at(simclr_progress *p, int steps_done, double seconds)
{
    p->first_step = steps_done;
    p->earlier_seconds = seconds;
}

static void draw(simclr_progress *p, int done, const char *metrics, int final)
{
    double elapsed = simclr_progress_now() - p->epoch_start;
    int filled = p->steps > 0 ? (int)((long long)done * PROGRESS_BAR_WIDTH / p->steps) : 0;
    char bar[PROGRESS_BAR_WIDTH * 3 + 1];
    size_t used = 0;
    /* Keras draws the done part with U+2501 (heavy) and the rest with U+2500 (light). */
    for (int i = 0; i < PROGRESS_BAR_WIDTH; i++) {
        const char *glyph = i < filled ? "\xe2\x94\x81" : "\xe2\x94\x80";
        memcpy(bar + used, glyph, 3);
        used += 3;
    }
    bar[used] = '\0';
    int ran = done - p->first_step; /* the steps this process timed */
    double per_step_ms = ran > 0 ? elapsed * 1000.0 / ran : 0.0;
    double shown = floor(p->earlier_seconds + elapsed);
    char timing[64];
    if (ran <= 0)
        snprintf(timing, sizeof timing, "%.0fs", shown);
    else if (final || done >= p->steps)
        snprintf(timing, sizeof timing, "%.0fs %.0fms/step", shown, per_step_ms);
    else {
        double eta = (p->steps - done) * elapsed / ran;
        snprintf(timing, sizeof timing, "%.0fs %.0fms/step (eta %.0fs)", shown, per_step_ms, eta);
    }
    fprintf(p->stream, "%s%d/%d %s %s%s%s", p->is_terminal ? "\r\033[K" : "", done, p->steps, bar,
            timing, metrics ? metrics : "", final ? "\n" : "");
    fflush(p->stream);
}

void simclr_progress_update(simclr_progress *p, int done, const char *metrics)
{
    if (!p->is_terminal) return;
    double now = simclr_progress_now();
    if (done < p->steps && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    draw(p, done, metrics, 0);
}

void simclr_progress_end_epoch(simclr_progress *p, const char *metrics)
{
    draw(p, p->steps, metrics, 1);
}

void simclr_progress_append_metric(char *buffer, size_t size, const char *name, double value)
{
    size_t used = strlen(buffer);
    /* Small values (a learning rate in warm-up, 1e-6) keep their digits. */
    int tiny = value != 0.0 && fabs(value) < 1e-3;
    if (used < size) snprintf(buffer + used, size - used, tiny ? " - %s: %.3e" : " - %s: %.4f", name, value);
}
