/* simclr select: a diverse subset of a folder of images, by greedy k-center (farthest point
 * first) on the model's L2-normalised features, optionally starting from images already labeled,
 * with the coverage radius it reaches; and the outliers, the images least similar to their
 * nearest neighbour. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "contact_sheet_cli.h"
#include "csv_fields.h"
#include "similarity_cli.h"
#include "simclr/atomic_file.h"
#include "simclr/embedding_plot.h"
#include "simclr/similarity.h"

#define SELECT_SHEET_COLUMNS 10

static int write_subset(const char *path, const image_list *files, const int64_t *selected, const float *radii,
                        size_t n, simclr_error *err)
{
    simclr_atomic_file csv;
    if (cli_prepare_output_file("--out", path, err) != 0 || simclr_atomic_file_open(&csv, path, err) != 0) return -1;
    fprintf(csv.stream, "path,radius\n");
    for (size_t i = 0; i < n; i++) {
        csv_write_field(csv.stream, files->paths[selected[i]]);
        fprintf(csv.stream, ",%.6f\n", (double)radii[i]);
    }
    return simclr_atomic_file_commit(&csv, err);
}

typedef struct outlier {
    size_t row;
    int64_t nearest;
    float similarity;
} outlier;

static int compare_outliers(const void *a, const void *b)
{
    const outlier *x = a, *y = b;
    if (x->similarity != y->similarity) return x->similarity < y->similarity ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* The n rows least similar to their nearest other row, least first. */
static int find_outliers(const float *rows, size_t count, int dim, outlier *out, size_t n, simclr_error *err)
{
    int64_t *nearest = simclr_checked_calloc(count, sizeof *nearest, "nearest neighbours", err);
    float *similarity = nearest ? simclr_checked_calloc(count, sizeof *similarity, "nearest neighbours", err) : NULL;
    outlier *all = similarity ? simclr_checked_calloc(count, sizeof *all, "outliers", err) : NULL;
    int status = all ? simclr_similarity_nearest_other(rows, count, dim, nearest, similarity, err) : -1;
    if (status == 0) {
        for (size_t i = 0; i < count; i++) all[i] = (outlier){i, nearest[i], similarity[i]};
        qsort(all, count, sizeof *all, compare_outliers);
        memcpy(out, all, n * sizeof *out);
    }
    free(nearest);
    free(similarity);
    free(all);
    return status;
}

static int write_outliers(const char *path, const image_list *files, const outlier *outliers, size_t n,
                          simclr_error *err)
{
    simclr_atomic_file csv;
    if (cli_prepare_output_file("--outliers-out", path, err) != 0 || simclr_atomic_file_open(&csv, path, err) != 0)
        return -1;
    fprintf(csv.stream, "path,nearest,similarity\n");
    for (size_t i = 0; i < n; i++) {
        csv_write_field(csv.stream, files->paths[outliers[i].row]);
        fputc(',', csv.stream);
        csv_write_field(csv.stream, files->paths[outliers[i].nearest]);
        fprintf(csv.stream, ",%.6f\n", fmin(1.0, (double)outliers[i].similarity));
    }
    return simclr_atomic_file_commit(&csv, err);
}

/* The PCA picture of all the images, the selected ones (and outliers) marked. */
static int plot_selection(const char *path, const float *rows, size_t count, int dim, const int64_t *selected,
                          size_t n, const outlier *outliers, size_t outlier_count, simclr_error *err)
{
    uint8_t *marks = simclr_checked_calloc(count, sizeof *marks, "plot marks", err);
    if (!marks) return -1;
    for (size_t i = 0; i < outlier_count; i++) marks[outliers[i].row] = 2;
    for (size_t i = 0; i < n; i++) marks[selected[i]] = 1;
    const char *names[2] = {"selected", "outliers"};
    char title[128];
    snprintf(title, sizeof title, "%zu images, %zu selected by k-center (PCA)", count, n);
    simclr_embedding_plot picture = {.title = title, .marks = marks, .mark_names = names,
                                     .mark_count = outlier_count ? 2 : 1};
    int status = cli_prepare_output_file("--plot", path, err) == 0 &&
                         simclr_embedding_plot_matrix_png(path, rows, count, dim, &picture, err) == 0
                     ? 0
                     : -1;
    free(marks);
    return status;
}

int command_select(int argc, char **argv)
{
    similarity_cli options;
    similarity_cli_defaults(&options);
    const char *in = NULL, *out = NULL, *labeled_path = NULL, *outliers_out = NULL, *sheet = NULL, *plot = NULL;
    long long n = 0, outlier_count = 0;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    similarity_cli_add_specs(&options, specs, &spec_count);
    specs[spec_count++] = (option_spec){"in", OPTION_TYPE_STRING, &in, 0, 0, NULL, "DIR",
                                        "the PNG/JPEG images under DIR (recursively) (required)", NULL};
    specs[spec_count++] = (option_spec){"n", OPTION_TYPE_INT, &n, 1, 1e9, NULL, "K",
                                        "how many images to select (required)", NULL};
    specs[spec_count++] = (option_spec){"out", OPTION_TYPE_STRING, &out, 0, 0, NULL, "FILE.csv",
                                        "the selected images in the order chosen: path,radius (the coverage radius "
                                        "once it is added) (required)",
                                        NULL};
    specs[spec_count++] = (option_spec){"labeled", OPTION_TYPE_STRING, &labeled_path, 0, 0, NULL, "FILE",
                                        "images already labeled, one path a line (or a subset.csv): the selection "
                                        "starts from them and covers what they do not",
                                        NULL};
    specs[spec_count++] = (option_spec){"outliers", OPTION_TYPE_INT, &outlier_count, 1, 1e9, NULL, "N",
                                        "also find the N images least similar to their nearest neighbour (with "
                                        "--outliers-out)",
                                        NULL};
    specs[spec_count++] = (option_spec){"outliers-out", OPTION_TYPE_STRING, &outliers_out, 0, 0, NULL, "FILE.csv",
                                        "where --outliers go: path,nearest,similarity, the least similar first", NULL};
    specs[spec_count++] = (option_spec){"sheet", OPTION_TYPE_STRING, &sheet, 0, 0, NULL, "FILE.png",
                                        "also draw the selected images (and the outliers), file names under the "
                                        "thumbnails",
                                        NULL};
    specs[spec_count++] = (option_spec){"plot", OPTION_TYPE_STRING, &plot, 0, 0, NULL, "FILE.png",
                                        "also draw the first two principal components of every image's features, "
                                        "the selected ones (and outliers) marked",
                                        NULL};
    option_parser parser = {.command = "select",
                            .usage = "simclr select --model CHECKPOINT --in DIR --n K --out subset.csv "
                                     "[--labeled FILE] [--outliers N --outliers-out FILE.csv]",
                            .summary = "Selects K diverse images of a folder by greedy k-center on the model's "
                                       "L2-normalised features: each next image is the one least similar to the "
                                       "images chosen so far (and to --labeled ones), so that every image ends "
                                       "close to one of them; prints the coverage radius reached (cosine "
                                       "distance, 1 - similarity, of the worst-covered image to its nearest "
                                       "center).",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    image_list files = {0}, labeled = {0};
    float *rows = NULL, *labeled_rows = NULL, *radii = NULL;
    int64_t *selected = NULL;
    outlier *outliers = NULL;
    sheet_plan plan = {0};
    int status = 0;
    if (!options.model.model || !in || !out || n == 0) {
        simclr_error_input(&err, "simclr select: --model CHECKPOINT, --in DIR, --n K and --out FILE.csv are required");
        goto fail;
    }
    if (!outlier_count != !outliers_out) {
        simclr_error_input(&err, "simclr select: --outliers N and --outliers-out FILE.csv go together");
        goto fail;
    }
    if (cli_check_output_file("--out", out, &err) != 0 ||
        (outliers_out && cli_check_output_file("--outliers-out", outliers_out, &err) != 0) ||
        (sheet && cli_check_output_file("--sheet", sheet, &err) != 0) ||
        (plot && cli_check_output_file("--plot", plot, &err) != 0))
        goto fail;
    if (similarity_cli_list_folder("--in", in, &files, &err) != 0) goto fail;
    if ((size_t)n > files.count) {
        simclr_error_input(&err, "--n %lld: larger than the %zu images under --in %s", n, files.count, in);
        goto fail;
    }
    if ((size_t)outlier_count > files.count) {
        simclr_error_input(&err, "--outliers %lld: larger than the %zu images under --in %s", outlier_count,
                           files.count, in);
        goto fail;
    }
    if (outlier_count && files.count < 2) {
        simclr_error_input(&err, "--outliers: --in %s holds one image; an outlier needs another to be compared with",
                           in);
        goto fail;
    }
    if (labeled_path && image_list_read_file(&labeled, labeled_path, "--labeled", &err) != 0) goto fail;
    if (similarity_cli_load(&options, "select", &err) != 0) goto fail;
    if (labeled.count > 0) {
        /* Every labeled image must be read: a center left out would be covered again. */
        image_embedding embedding = {.fx = &options.fx, .skip_unreadable = 0};
        if (image_list_embed_matrix(&embedding, &labeled, &labeled_rows, &err) != 0) {
            simclr_error_set(&err, err.kind, "--labeled %s: %s", labeled_path, simclr_error_message(&err));
            goto fail;
        }
    }
    size_t skipped = 0;
    double feature_seconds = 0.0;
    if (similarity_cli_embed_matrix(&options, &files, in, &rows, &skipped, &feature_seconds, &err) != 0) goto fail;
    if ((size_t)n > files.count || (size_t)outlier_count > files.count || (outlier_count && files.count < 2)) {
        simclr_error_input(&err, "--in %s: only %zu of its images could be read (the others reported above): too "
                                 "few for --n %lld%s",
                           in, files.count, n, outlier_count ? " and --outliers" : "");
        goto fail;
    }
    double start = simclr_progress_now();
    selected = simclr_checked_calloc((size_t)n, sizeof *selected, "selection", &err);
    radii = selected ? simclr_checked_calloc((size_t)n, sizeof *radii, "selection", &err) : NULL;
    if (!radii || simclr_select_k_center(rows, files.count, options.fx.dim, labeled_rows, labeled.count, (size_t)n,
                                         selected, radii, &err) != 0)
        goto fail;
    double select_seconds = simclr_progress_now() - start;
    if (write_subset(out, &files, selected, radii, (size_t)n, &err) != 0) goto fail;
    double outlier_seconds = 0.0;
    if (outlier_count) {
        start = simclr_progress_now();
        outliers = simclr_checked_calloc((size_t)outlier_count, sizeof *outliers, "outliers", &err);
        if (!outliers || find_outliers(rows, files.count, options.fx.dim, outliers, (size_t)outlier_count, &err) != 0 ||
            write_outliers(outliers_out, &files, outliers, (size_t)outlier_count, &err) != 0)
            goto fail;
        outlier_seconds = simclr_progress_now() - start;
    }
    similarity_cli_print_model(&options);
    printf("images    %zu under %s (features %.2f s)", files.count, in, feature_seconds);
    if (skipped) printf(", %zu skipped (reported above)", skipped);
    printf("\n");
    if (labeled.count) printf("labeled   %zu images of %s: the centers to start from\n", labeled.count, labeled_path);
    printf("selected  %lld by k-center (%.2f s): coverage radius %.4f (cosine distance: every image has a "
           "similarity of at least %.4f to a selected%s one)\n",
           n, select_seconds, (double)radii[n - 1], 1.0 - (double)radii[n - 1], labeled.count ? " or labeled" : "");
    printf("wrote     %s\n", out);
    if (outlier_count) {
        printf("outliers  %lld, nearest-neighbour similarity %.4f to %.4f (%.2f s)\n", outlier_count,
               (double)outliers[0].similarity, (double)outliers[outlier_count - 1].similarity, outlier_seconds);
        printf("wrote     %s\n", outliers_out);
    }
    if (sheet) {
        size_t shown = 0;
        plan.columns = SELECT_SHEET_COLUMNS;
        char title[128];
        snprintf(title, sizeof title, "%lld selected by k-center, in the order chosen", n);
        if (sheet_plan_section(&plan, title, &err) != 0) goto fail;
        for (long long i = 0; i < n; i++) {
            char detail[32];
            snprintf(detail, sizeof detail, "%lld", i + 1);
            if (sheet_plan_image(&plan, files.paths[selected[i]], detail, 0, &err) != 0) goto fail;
        }
        if (outlier_count) {
            snprintf(title, sizeof title, "%lld outliers, the least similar to their nearest neighbour first",
                     outlier_count);
            if (sheet_plan_section(&plan, title, &err) != 0) goto fail;
            for (long long i = 0; i < outlier_count; i++) {
                char detail[32];
                snprintf(detail, sizeof detail, "%.4f", (double)outliers[i].similarity);
                if (sheet_plan_image(&plan, files.paths[outliers[i].row], detail, 0, &err) != 0) goto fail;
            }
        }
        if (sheet_plan_write(&plan, "--sheet", sheet, &options.fx, &shown, &err) != 0) goto fail;
        printf("sheet     %s", sheet);
        if (shown < plan.image_count)
            printf(" (the first %zu of %zu images: a PNG is at most 32767 pixels high)", shown, plan.image_count);
        printf("\n");
    }
    if (plot) {
        if (plot_selection(plot, rows, files.count, options.fx.dim, selected, (size_t)n, outliers,
                           (size_t)outlier_count, &err) != 0)
            goto fail;
        printf("plot      %s\n", plot);
    }
    goto done;
fail:
    status = cli_report_error(&err);
done:
    sheet_plan_free(&plan);
    free(outliers);
    free(selected);
    free(radii);
    free(rows);
    free(labeled_rows);
    image_list_free(&files);
    image_list_free(&labeled);
    similarity_cli_free(&options);
    return status;
}
