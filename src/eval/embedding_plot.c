/* PCA scatter plots of embeddings, from memory or from a .npy file. */
#include "simclr/embedding_plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/features.h"
#include "simclr/npy.h"
#include "simclr/pca.h"
#include "simclr/plot.h"

#define EMBEDDING_PLOT_BLOCK 4096

/* Where rows come from: a matrix or an open .npy reader (rewound between passes). */
typedef struct row_source {
    const float *matrix;
    const char *npy_path;
    simclr_npy_reader reader;
    size_t count;
    int dim;
} row_source;

static int source_begin(row_source *source, simclr_error *err)
{
    if (!source->npy_path) return 0;
    simclr_npy_reader_close(&source->reader);
    return simclr_npy_reader_open(&source->reader, source->npy_path, err);
}

/* Rows first..first+n-1 into block (or a pointer into the matrix). */
static int source_rows(row_source *source, size_t first, size_t n, float *block, const float **rows,
                       simclr_error *err)
{
    if (!source->npy_path) {
        *rows = source->matrix + first * (size_t)source->dim;
        return 0;
    }
    *rows = block;
    return simclr_npy_reader_read(&source->reader, block, n, err);
}

/* The scatter plot's groups and their names: the labels and classes, or with marks, "images" and
 * the mark sets (*groups then a new array, caller frees). */
static int plot_groups(const simclr_embedding_plot *plot, size_t count, const int32_t **groups, int32_t **owned,
                       const char **names, int *group_count, simclr_error *err)
{
    *owned = NULL;
    if (!plot->marks) {
        *groups = plot->labels;
        *group_count = plot->class_count;
        return 0;
    }
    if (plot->mark_count < 1 || plot->mark_count > SIMCLR_EMBEDDING_PLOT_MAX_MARKS)
        return simclr_error_input(err, "--plot: %d sets of marked rows (1 to %d)", plot->mark_count,
                                  SIMCLR_EMBEDDING_PLOT_MAX_MARKS);
    int32_t *marked = simclr_checked_calloc(count, sizeof *marked, "plot marks", err);
    if (!marked) return -1;
    for (size_t i = 0; i < count; i++) {
        if (plot->marks[i] > plot->mark_count) {
            free(marked);
            return simclr_error_input(err, "--plot: row %zu is in mark set %d of %d", i, plot->marks[i],
                                      plot->mark_count);
        }
        marked[i] = plot->marks[i];
    }
    names[0] = "images";
    for (int k = 0; k < plot->mark_count; k++) names[k + 1] = plot->mark_names ? plot->mark_names[k] : NULL;
    *groups = *owned = marked;
    *group_count = plot->mark_count + 1;
    return 0;
}

static int plot_rows(const char *path, row_source *source, const simclr_embedding_plot *plot, simclr_error *err)
{
    size_t count = source->count;
    int dim = source->dim;
    if (count < 2) return simclr_error_input(err, "--plot %s: %zu embeddings; PCA needs at least 2", path, count);
    const int32_t *groups = NULL;
    int32_t *owned_groups = NULL;
    const char *mark_names[SIMCLR_EMBEDDING_PLOT_MAX_MARKS + 1];
    int group_count = 0;
    if (plot_groups(plot, count, &groups, &owned_groups, mark_names, &group_count, err) != 0) return -1;
    const char *const *group_names = plot->marks ? mark_names : plot->class_names;
    simclr_pca pca;
    if (simclr_pca_init(&pca, dim, err) != 0) {
        free(owned_groups);
        return -1;
    }
    int status = -1;
    float *block = simclr_checked_calloc((size_t)EMBEDDING_PLOT_BLOCK * (size_t)dim, sizeof(float), "PCA rows", err);
    float *points = block ? simclr_checked_calloc(count * 2, sizeof(float), "plot points", err) : NULL;
    float *x = points ? simclr_checked_calloc(count, sizeof(float), "plot x", err) : NULL;
    float *y = x ? simclr_checked_calloc(count, sizeof(float), "plot y", err) : NULL;
    float directions[2 * 4096];
    double variances[2];
    if (!y) goto done;
    if (dim > 4096) {
        simclr_error_input(err, "--plot: %d-wide features, at most 4096", dim);
        goto done;
    }
    if (dim < 2) {
        simclr_error_input(err, "--plot: %d-wide features have no second principal component", dim);
        goto done;
    }
    const float *rows = NULL;
    if (source_begin(source, err) != 0) goto done;
    for (size_t first = 0; first < count; first += EMBEDDING_PLOT_BLOCK) {
        size_t n = count - first < EMBEDDING_PLOT_BLOCK ? count - first : EMBEDDING_PLOT_BLOCK;
        if (source_rows(source, first, n, block, &rows, err) != 0) goto done;
        simclr_pca_add(&pca, rows, n);
    }
    if (simclr_pca_solve(&pca, 2, directions, variances, err) != 0) goto done;
    if (source_begin(source, err) != 0) goto done;
    for (size_t first = 0; first < count; first += EMBEDDING_PLOT_BLOCK) {
        size_t n = count - first < EMBEDDING_PLOT_BLOCK ? count - first : EMBEDDING_PLOT_BLOCK;
        if (source_rows(source, first, n, block, &rows, err) != 0) goto done;
        simclr_pca_project(&pca, directions, 2, rows, n, points + first * 2);
    }
    for (size_t i = 0; i < count; i++) {
        x[i] = points[2 * i];
        y[i] = points[2 * i + 1];
    }
    double total = simclr_pca_total_variance(&pca);
    char x_label[96], y_label[96];
    snprintf(x_label, sizeof x_label, "principal component 1 (%.1f %% of the variance)",
             total > 0 ? 100.0 * variances[0] / total : 0.0);
    snprintf(y_label, sizeof y_label, "principal component 2 (%.1f %% of the variance)",
             total > 0 ? 100.0 * variances[1] / total : 0.0);
    status = simclr_plot_scatter_png(path, plot->title, x_label, y_label, x, y, groups, count, group_names,
                                     group_count, err);
done:
    free(owned_groups);
    if (source->npy_path) simclr_npy_reader_close(&source->reader);
    simclr_pca_free(&pca);
    free(block);
    free(points);
    free(x);
    free(y);
    return status;
}

int simclr_embedding_plot_matrix_png(const char *path, const float *features, size_t count, int dim,
                                     const simclr_embedding_plot *plot, simclr_error *err)
{
    row_source source = {.matrix = features, .count = count, .dim = dim};
    return plot_rows(path, &source, plot, err);
}

int simclr_embedding_plot_npy_png(const char *path, const char *npy_path, const simclr_embedding_plot *plot,
                                  simclr_error *err)
{
    row_source source = {.npy_path = npy_path};
    simclr_npy_reader probe;
    if (simclr_npy_reader_open(&probe, npy_path, err) != 0) return -1;
    source.count = probe.rows;
    source.dim = (int)probe.cols;
    simclr_npy_reader_close(&probe);
    return plot_rows(path, &source, plot, err);
}

void simclr_embedding_dataset_label(const simclr_dataset *ds, char *out, size_t size)
{
    const char *name = ds->name;
    if (ds->kind == SIMCLR_DATASET_KIND_FOLDER) {
        /* An image folder is best known by its directory's name ("cifar10"). */
        size_t length = strlen(ds->path);
        while (length > 1 && ds->path[length - 1] == '/') length--;
        size_t start = length;
        while (start > 0 && ds->path[start - 1] != '/') start--;
        if (length > start) {
            snprintf(out, size, "%.*s", (int)(length - start), ds->path + start);
            return;
        }
    }
    snprintf(out, size, "%s", name);
}

int simclr_embedding_plot_checkpoint_png(const char *path, const char *checkpoint, const simclr_dataset *ds,
                                         simclr_dataset_split_id split, int batch, simclr_error *err)
{
    simclr_feature_options options = {.kind = SIMCLR_FEATURE_KIND_ENCODER, .max_batch = batch};
    simclr_feature_extractor fx;
    if (simclr_feature_extractor_load(&fx, checkpoint, &options, err) != 0) return -1;
    size_t count = ds->splits[split].count;
    int status = -1;
    float *features = simclr_checked_calloc(count ? count * (size_t)fx.dim : 1, sizeof(float), "features", err);
    int32_t *labels = features ? simclr_checked_calloc(count ? count : 1, sizeof(int32_t), "labels", err) : NULL;
    if (!labels) goto done;
    if (simclr_feature_extractor_split_matrix(&fx, ds, split, NULL, count, features, NULL, err) != 0) goto done;
    for (size_t i = 0; i < count; i++) labels[i] = simclr_dataset_label(ds, split, i);
    const char *names[SIMCLR_DATASET_MAX_CLASSES];
    for (int c = 0; c < ds->num_classes; c++) names[c] = ds->class_names[c];
    char title[256], dataset[128];
    simclr_embedding_dataset_label(ds, dataset, sizeof dataset);
    snprintf(title, sizeof title, "encoder features after %s (%s %s split, PCA)", fx.info.run, dataset,
             simclr_dataset_split_name(split));
    simclr_embedding_plot plot = {.title = title, .labels = labels, .class_names = names,
                                  .class_count = ds->num_classes};
    status = simclr_embedding_plot_matrix_png(path, features, count, fx.dim, &plot, err);
done:
    free(features);
    free(labels);
    simclr_feature_extractor_free(&fx);
    return status;
}
