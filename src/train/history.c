#include "simclr/history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/atomic_file.h"

void simclr_history_init(simclr_history *h, const char *const *names, int count)
{
    memset(h, 0, sizeof *h);
    if (count > SIMCLR_HISTORY_MAX_METRICS) count = SIMCLR_HISTORY_MAX_METRICS;
    h->metric_count = count;
    for (int i = 0; i < count; i++) snprintf(h->names[i], SIMCLR_HISTORY_NAME_MAX, "%s", names[i]);
}

void simclr_history_free(simclr_history *h)
{
    free(h->values);
    free(h->seconds);
    h->values = h->seconds = NULL;
    h->epoch_count = h->capacity = 0;
}

int simclr_history_append(simclr_history *h, const double *values, double seconds, simclr_error *err)
{
    if (h->epoch_count == h->capacity) {
        int capacity = h->capacity ? h->capacity * 2 : 32;
        double *grown_values = realloc(h->values, (size_t)capacity * (size_t)h->metric_count *
                                                      sizeof(double) + sizeof(double));
        if (!grown_values) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (history)");
        h->values = grown_values;
        double *grown_seconds = realloc(h->seconds, (size_t)capacity * sizeof(double));
        if (!grown_seconds) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (history)");
        h->seconds = grown_seconds;
        h->capacity = capacity;
    }
    memcpy(h->values + (size_t)h->epoch_count * (size_t)h->metric_count, values,
           (size_t)h->metric_count * sizeof(double));
    h->seconds[h->epoch_count] = seconds;
    h->epoch_count++;
    return 0;
}

void simclr_history_truncate(simclr_history *h, int epochs)
{
    if (epochs < h->epoch_count) h->epoch_count = epochs < 0 ? 0 : epochs;
}

int simclr_history_metric_index(const simclr_history *h, const char *name)
{
    for (int i = 0; i < h->metric_count; i++)
        if (strcmp(h->names[i], name) == 0) return i;
    return -1;
}

double simclr_history_max(const simclr_history *h, const char *name)
{
    int metric = simclr_history_metric_index(h, name);
    if (metric < 0 || h->epoch_count == 0) return NAN;
    double best = -INFINITY;
    for (int e = 0; e < h->epoch_count; e++) {
        double value = h->values[(size_t)e * (size_t)h->metric_count + (size_t)metric];
        if (value > best) best = value;
    }
    return best;
}

void simclr_history_column(const simclr_history *h, int metric, float *out)
{
    for (int e = 0; e < h->epoch_count; e++)
        out[e] = (float)h->values[(size_t)e * (size_t)h->metric_count + (size_t)metric];
}

static void write_number(FILE *stream, double value)
{
    if (isfinite(value))
        fprintf(stream, "%.17g", value);
    else
        fprintf(stream, isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity"));
}

int simclr_history_write(const simclr_history *h, const char *dir, const char *run, simclr_error *err)
{
    char path[4096];
    simclr_atomic_file file;
    snprintf(path, sizeof path, "%s/%s_history.csv", dir, run);
    if (simclr_atomic_file_open(&file, path, err) != 0) return -1;
    fprintf(file.stream, "epoch");
    for (int m = 0; m < h->metric_count; m++) fprintf(file.stream, ",%s", h->names[m]);
    fprintf(file.stream, ",seconds\n");
    for (int e = 0; e < h->epoch_count; e++) {
        fprintf(file.stream, "%d", e + 1);
        for (int m = 0; m < h->metric_count; m++) {
            fputc(',', file.stream);
            write_number(file.stream, h->values[(size_t)e * (size_t)h->metric_count + (size_t)m]);
        }
        fprintf(file.stream, ",%.3f\n", h->seconds[e]);
    }
    if (simclr_atomic_file_commit(&file, err) != 0) return -1;

    snprintf(path, sizeof path, "%s/%s_history.json", dir, run);
    if (simclr_atomic_file_open(&file, path, err) != 0) return -1;
    fprintf(file.stream, "{\n  \"run\": \"%s\",\n  \"epochs\": %d,\n", run, h->epoch_count);
    for (int m = 0; m <= h->metric_count; m++) {
        const char *name = m < h->metric_count ? h->names[m] : "seconds";
        fprintf(file.stream, "  \"%s\": [", name);
        for (int e = 0; e < h->epoch_count; e++) {
            if (e) fprintf(file.stream, ", ");
            if (m < h->metric_count) {
                double value = h->values[(size_t)e * (size_t)h->metric_count + (size_t)m];
                /* JSON has no NaN: write null. */
                if (isfinite(value))
                    fprintf(file.stream, "%.17g", value);
                else
                    fprintf(file.stream, "null");
            } else {
                fprintf(file.stream, "%.3f", h->seconds[e]);
            }
        }
        fprintf(file.stream, "]%s\n", m < h->metric_count ? "," : "");
    }
    fprintf(file.stream, "}\n");
    return simclr_atomic_file_commit(&file, err);
}

int simclr_history_read_csv(simclr_history *h, const char *path, simclr_error *err)
{
    FILE *stream = fopen(path, "r");
    if (!stream) return simclr_error_system(err, "cannot open %s", path);
    char line[4096];
    int status = 0;
    if (!fgets(line, sizeof line, stream)) {
        status = simclr_error_input(err, "%s: empty history file", path);
        goto done;
    }
    /* Header: epoch,<names...>,seconds */
    char expected[4096] = "epoch";
    for (int m = 0; m < h->metric_count; m++) {
        strncat(expected, ",", sizeof expected - strlen(expected) - 1);
        strncat(expected, h->names[m], sizeof expected - strlen(expected) - 1);
    }
    strncat(expected, ",seconds", sizeof expected - strlen(expected) - 1);
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, expected) != 0) {
        status = simclr_error_input(err, "%s: columns '%s', expected '%s'", path, line, expected);
        goto done;
    }
    h->epoch_count = 0;
    int line_number = 1;
    while (fgets(line, sizeof line, stream)) {
        line_number++;
        double values[SIMCLR_HISTORY_MAX_METRICS];
        char *cursor = line;
        char *end = NULL;
        long epoch = strtol(cursor, &end, 10);
        if (end == cursor || *end != ',' || epoch != h->epoch_count + 1) {
            status = simclr_error_input(err, "%s line %d: expected epoch %d", path, line_number,
                                 h->epoch_count + 1);
            goto done;
        }
        cursor = end + 1;
        for (int m = 0; m <= h->metric_count; m++) {
            double value = strtod(cursor, &end);
            if (end == cursor) {
                status = simclr_error_input(err, "%s line %d: column %d is not a number", path,
                                     line_number, m + 2);
                goto done;
            }
            if (m < h->metric_count) values[m] = value;
            cursor = end;
            if (m < h->metric_count) {
                if (*cursor != ',') {
                    status = simclr_error_input(err, "%s line %d: too few columns", path, line_number);
                    goto done;
                }
                cursor++;
            } else if (simclr_history_append(h, values, value, err) != 0) {
                status = -1;
                goto done;
            }
        }
    }
done:
    fclose(stream);
    return status;
}
