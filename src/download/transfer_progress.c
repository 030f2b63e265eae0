/* Download progress: a bar redrawn in place on a terminal, a line every 10 % otherwise. */
#include <string.h>
#include <unistd.h>

#include "download_internal.h"
#include "simclr/progress.h"

#define TRANSFER_BAR_WIDTH 24
#define MIB (1024.0 * 1024.0)

/* "812 B", "27.4 KiB", "162.2 MiB", "2.5 GiB". */
static const char *human_size(char *out, size_t size, int64_t bytes)
{
    double value = (double)bytes;
    if (value < 1024.0) snprintf(out, size, "%lld B", (long long)bytes);
    else if (value < MIB) snprintf(out, size, "%.1f KiB", value / 1024.0);
    else if (value < 1024.0 * MIB) snprintf(out, size, "%.1f MiB", value / MIB);
    else snprintf(out, size, "%.2f GiB", value / (1024.0 * MIB));
    return out;
}

void simclr_transfer_progress_begin(simclr_transfer_progress *progress, FILE *stream, const char *label,
                                    int64_t resumed_at)
{
    memset(progress, 0, sizeof *progress);
    progress->stream = stream;
    progress->is_terminal = stream ? isatty(fileno(stream)) : 0;
    progress->label = label;
    progress->started = simclr_progress_now();
    progress->resumed_at = resumed_at;
    if (!stream) return;
    char text[32];
    if (resumed_at > 0) fprintf(stream, "%s: resuming after %s\n", label, human_size(text, sizeof text, resumed_at));
    fflush(stream);
}

static double rate_mib_per_second(const simclr_transfer_progress *progress, int64_t done)
{
    double elapsed = simclr_progress_now() - progress->started;
    return elapsed > 0 ? (double)(done - progress->resumed_at) / MIB / elapsed : 0.0;
}

void simclr_transfer_progress_update(simclr_transfer_progress *progress, int64_t done, int64_t total)
{
    if (!progress->stream) return;
    double now = simclr_progress_now();
    if (progress->is_terminal) {
        if (now - progress->last_draw < 0.1) return;
        progress->last_draw = now;
        double rate = rate_mib_per_second(progress, done);
        char bar[TRANSFER_BAR_WIDTH + 1];
        int filled = total > 0 ? (int)(done * TRANSFER_BAR_WIDTH / total) : 0;
        for (int i = 0; i < TRANSFER_BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[TRANSFER_BAR_WIDTH] = '\0';
        if (total > 0) {
            double left = rate > 0 ? (double)(total - done) / MIB / rate : 0.0;
            char done_text[32], total_text[32];
            fprintf(progress->stream, "\r%s [%s] %3d%% %s / %s  %.1f MiB/s  %d:%02d left  ", progress->label, bar,
                    (int)(done * 100 / total), human_size(done_text, sizeof done_text, done),
                    human_size(total_text, sizeof total_text, total), rate, (int)left / 60, (int)left % 60);
        } else {
            char done_text[32];
            fprintf(progress->stream, "\r%s %s  %.1f MiB/s  ", progress->label,
                    human_size(done_text, sizeof done_text, done), rate);
        }
        progress->drawn = 1;
    } else {
        if (total <= 0) return;
        int decile = (int)(done * 10 / total);
        if (decile <= progress->last_decile || decile >= 10) return;
        progress->last_decile = decile;
        char text[32];
        fprintf(progress->stream, "%s: %d%% of %s\n", progress->label, decile * 10,
                human_size(text, sizeof text, total));
    }
    fflush(progress->stream);
}

void simclr_transfer_progress_end(simclr_transfer_progress *progress, int64_t done, int ok)
{
    if (!progress->stream) return;
    if (progress->drawn) fputc('\n', progress->stream);
    progress->drawn = 0;
    char text[32];
    if (ok)
        fprintf(progress->stream, "%s: fetched %s in %.1f s (%.1f MiB/s)\n", progress->label,
                human_size(text, sizeof text, done - progress->resumed_at),
                simclr_progress_now() - progress->started, rate_mib_per_second(progress, done));
    fflush(progress->stream);
}
