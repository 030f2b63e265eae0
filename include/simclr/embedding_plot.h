#ifndef SIMCLR_EMBEDDING_PLOT_H
#define SIMCLR_EMBEDDING_PLOT_H
/*
 * A picture of an embedding space: the first two principal components (simclr_pca, LAPACK) of a
 * set of feature vectors as a scatter plot, one colour per class with a legend, the share of the
 * variance each component explains in the axis labels; or, with marks, every row in one colour
 * and the marked rows (`select --plot`'s selection and outliers, `embed --plot --mark`'s listed
 * images) in colours of their own over them.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"
#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_embedding_plot {
    const char *title;
    const int32_t *labels;         /* count labels (negative: unknown, drawn grey), or NULL */
    const char *const *class_names;
    int class_count;
    /* Optional marked rows. When marks is not NULL the labels are not drawn: every row is
     * "images" (the first colour) and a row with marks[i] = k in 1..mark_count is drawn over
     * them in colour k, named mark_names[k - 1] in the legend; 0 leaves a row unmarked. */
    const uint8_t *marks;
    const char *const *mark_names;
    int mark_count;
} simclr_embedding_plot;

/* At most this many sets of marked rows. */
#define SIMCLR_EMBEDDING_PLOT_MAX_MARKS 8

/* From a (count, dim) matrix in memory. */
int simclr_embedding_plot_matrix_png(const char *path, const float *features, size_t count, int dim,
                                     const simclr_embedding_plot *plot, simclr_error *err);

/* From a .npy file (simclr_npy_writer's format), read twice in blocks: memory bounded by the
 * points plotted, not by the features. */
int simclr_embedding_plot_npy_png(const char *path, const char *npy_path, const simclr_embedding_plot *plot,
                                  simclr_error *err);

/* How a plot names a dataset: its name, or for an image folder the directory's last component. */
void simclr_embedding_dataset_label(const simclr_dataset *ds, char *out, size_t size);

/* The encoder features of a checkpoint (simclr_features.h) on a split of ds, plotted as above
 * with the dataset's classes (what `experiment` draws for the pretrained and finetuned encoders). */
int simclr_embedding_plot_checkpoint_png(const char *path, const char *checkpoint, const simclr_dataset *ds,
                                         simclr_dataset_split_id split, int batch, simclr_error *err);

SIMCLR_END_DECLS
#endif
