/* One URL into a partial file with libcurl: resumes with an HTTP Range request, restarts when
 * the server sends the whole file, stops when nothing arrives for the timeout. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download_internal.h"
#include "simclr/progress.h"

typedef struct fetch_state {
    CURL *curl;
    int fd;
    int64_t offset;      /* bytes in the partial file before this transfer */
    int64_t written;     /* bytes in the partial file now */
    int decided;         /* the response status was checked at the first body byte */
    int restarted;       /* the server ignored the range: the file starts over */
    long bad_status;     /* an HTTP status we refuse (404...), 0 if none */
    int64_t range_start; /* Content-Range of the current response, -1 if none */
    int64_t range_total;
    int range_mismatch;  /* 206 for other bytes than asked */
    int write_errno;     /* errno of a failed write, 0 if none */
    long timeout_seconds;
    double last_arrival; /* when the last byte (or the start) was seen */
    int64_t seen;        /* bytes seen at last_arrival */
    int stalled;         /* aborted: nothing for timeout_seconds */
    const volatile sig_atomic_t *stop_requested;
    int interrupted;     /* aborted: *stop_requested was set */
    simclr_transfer_progress *progress;
} fetch_state;

static size_t on_header(char *line, size_t size, size_t count, void *user)
{
    fetch_state *state = user;
    size_t length = size * count;
    if (length >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a redirect) */
        state->range_start = -1;
        state->range_total = -1;
    } else if (length > 14 && strncasecmp(line, "Content-Range:", 14) == 0) {
        char text[256];
        size_t copy = length < sizeof text - 1 ? length : sizeof text - 1;
        memcpy(text, line, copy);
        text[copy] = '\0';
        long long start = -1, end = -1, total = -1;
        if (sscanf(text + 14, " bytes %lld-%lld/%lld", &start, &end, &total) >= 2) {
            state->range_start = start;
            state->range_total = total;
        }
    }
    return length;
}

/* At the first body byte: 206 for the bytes asked appends, 200 starts over, anything else stops. */
static int decide(fetch_state *state)
{
    long status = 0;
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
    state->decided = 1;
    if (status == 206) {
        if (state->range_start != state->offset) {
            state->range_mismatch = 1;
            return -1;
        }
        return 0;
    }
    if (status == 200) {
        if (state->offset > 0) {
            if (ftruncate(state->fd, 0) != 0 || lseek(state->fd, 0, SEEK_SET) != 0) {
                state->write_errno = errno;
                return -1;
            }
            state->restarted = 1;
            state->written = 0;
            if (state->progress->stream)
                fprintf(state->progress->stream, "%s: the server does not resume; starting over\n",
                        state->progress->label);
            state->progress->resumed_at = 0;
        }
        return 0;
    }
    state->bad_status = status;
    return -1;
}

static size_t on_body(char *bytes, size_t size, size_t count, void *user)
{
    fetch_state *state = user;
    size_t length = size * count;
    if (!state->decided && decide(state) != 0) return 0;
    size_t done = 0;
    while (done < length) {
        ssize_t wrote = write(state->fd, bytes + done, length - done);
        if (wrote < 0) {
            if (errno == EINTR) continue;
            state->write_errno = errno;
            return 0;
        }
        done += (size_t)wrote;
        state->written += wrote;
    }
    return length;
}

static int on_transfer_progress(void *user, curl_off_t download_total, curl_off_t download_now,
                                curl_off_t upload_total, curl_off_t upload_now)
{
    (void)upload_total;
    (void)upload_now;
    fetch_state *state = user;
    if (state->stop_requested && *state->stop_requested) {
        state->interrupted = 1;
        return 1;
    }
    /* libcurl's own low-speed check averages over several seconds; this one is exact: libcurl
     * calls here at least once a second, bytes or not. */
    double now = simclr_progress_now();
    int64_t seen = (int64_t)download_now;
    if (seen != state->seen) {
        state->seen = seen;
        state->last_arrival = now;
    } else if (now - state->last_arrival >= (double)state->timeout_seconds) {
        state->stalled = 1;
        return 1;
    }
    if (!state->decided) return 0;
    int64_t base = state->restarted ? 0 : state->offset;
    int64_t total = download_total > 0 ? base + (int64_t)download_total : 0;
    simclr_transfer_progress_update(state->progress, state->written, total);
    return 0;
}

static int report_failure(CURLcode code, const fetch_state *state, const char *url, const char *partial_path,
                          long timeout_seconds, const char *detail, simclr_error *err)
{
    /* An empty partial file is removed (simclr_fetch_url): only bytes are worth keeping. */
    const char *kept = state->written > 0 ? "the partial file is kept: run the same command again to resume"
                                          : "nothing was received";
    if (state->write_errno == ENOSPC || state->write_errno == EDQUOT)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "disk full writing %s after %lld bytes; %s: free some space and run the same "
                                "command again%s",
                                partial_path, (long long)state->written,
                                state->written > 0 ? "the partial file is kept" : "nothing was written",
                                state->written > 0 ? " to resume" : "");
    if (state->write_errno != 0)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot write %s after %lld bytes: %s",
                                partial_path, (long long)state->written, strerror(state->write_errno));
    if (state->bad_status != 0)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "%s: the server answered HTTP %ld (expected 200, or 206 when resuming)", url,
                                state->bad_status);
    if (state->range_mismatch)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "%s: asked for the bytes from %lld on, the server sent them from %lld; %s",
                                url, (long long)state->offset, (long long)state->range_start, kept);
    long status = 0;
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
    if (state->interrupted)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_INTERRUPTED, "download interrupted after %lld bytes; %s",
                                (long long)state->written, kept);
    if (state->stalled) code = CURLE_OPERATION_TIMEDOUT;
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        if (status == 0)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                    "%s: no answer within %ld s (--timeout %ld)", url, timeout_seconds,
                                    timeout_seconds);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "%s: the server stopped sending: nothing received for %ld s (--timeout %ld) "
                                "after %lld bytes; %s",
                                url, timeout_seconds, timeout_seconds, (long long)state->written, kept);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                "%s: the transfer was cut after %lld bytes (%s); %s", url,
                                (long long)state->written, detail, kept);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return simclr_error_input(err, "--url: cannot fetch %s: %s (expected an http:// or https:// URL)", url,
                                  detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "cannot connect to %s: %s", url, detail);
    default:
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "fetching %s failed after %lld bytes: %s; %s",
                                url, (long long)state->written, detail, kept);
    }
}

int simclr_fetch_url(const char *url, const char *partial_path, long timeout_seconds,
                     const volatile sig_atomic_t *stop_requested, simclr_transfer_progress *progress,
                     int64_t *bytes, simclr_error *err)
{
    *bytes = 0;
    fetch_state state = {.fd = -1,
                         .range_start = -1,
                         .range_total = -1,
                         .timeout_seconds = timeout_seconds,
                         .stop_requested = stop_requested,
                         .last_arrival = simclr_progress_now(),
                         .progress = progress};
    state.fd = open(partial_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (state.fd < 0) return simclr_error_system(err, "cannot create %s", partial_path);
    off_t end = lseek(state.fd, 0, SEEK_END);
    if (end < 0) {
        close(state.fd);
        return simclr_error_system(err, "cannot seek in %s", partial_path);
    }
    state.offset = (int64_t)end;
    state.written = state.offset;
    progress->resumed_at = state.offset;

    state.curl = curl_easy_init();
    if (!state.curl) {
        close(state.fd);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "libcurl cannot start a transfer");
    }
    char detail[CURL_ERROR_SIZE] = "";
    char range[64];
    snprintf(range, sizeof range, "%lld-", (long long)state.offset);
    CURL *curl = state.curl;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "simclr/" SIMCLR_VERSION);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout_seconds);
    if (state.offset > 0) curl_easy_setopt(curl, CURLOPT_RANGE, range);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_transfer_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);

    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    int status_ok = code == CURLE_OK && !state.bad_status;
    if (code == CURLE_OK && !state.decided) {
        /* No body: fine for 416 (the partial file already holds every byte: the checksum will
         * tell) and for an empty 200/206; anything else is refused. */
        if (status == 200 && state.offset > 0) {
            if (ftruncate(state.fd, 0) != 0) state.write_errno = errno;
            state.written = 0;
        } else if (status != 416 || state.offset == 0) {
            if (status != 200 && status != 206) state.bad_status = status;
        }
        status_ok = !state.bad_status && !state.write_errno;
    }
    if (status_ok && fsync(state.fd) != 0) {
        state.write_errno = errno;
        status_ok = 0;
    }
    if (close(state.fd) != 0 && status_ok) {
        state.write_errno = errno;
        status_ok = 0;
    }
    *bytes = state.written;
    if (state.written == 0) unlink(partial_path); /* nothing to resume: leave no empty file */
    simclr_transfer_progress_end(progress, state.written, status_ok);
    int result = 0;
    if (!status_ok) {
        if (!detail[0]) snprintf(detail, sizeof detail, "%s", curl_easy_strerror(code));
        result = report_failure(code, &state, url, partial_path, timeout_seconds, detail, err);
    }
    curl_easy_cleanup(curl);
    return result;
}
