/* simclr dedup: groups of duplicate images of a folder, as CSV. Byte-identical files first, by
 * SHA-256 of their contents, before any image is decoded (each content is embedded once); then
 * near-duplicates: the union of every pair of contents whose features have a cosine similarity of
 * at least --threshold (simclr_similarity_groups) or whose difference hashes are within
 * --hash-radius bits, the whole image of one against the whole image and the --hash-crops regions
 * of the other (simclr_similarity_join_region_hash_groups). Each group's most central image (the
 * highest mean similarity to the others) comes first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "contact_sheet_cli.h"
#include "csv_fields.h"
#include "download/download_internal.h" /* SHA-256 through OpenSSL */
#include "similarity_cli.h"
#include "simclr/atomic_file.h"
#include "simclr/image_hash.h"
#include "simclr/image_io.h"
#include "simclr/image_match.h"
#include "simclr/similarity.h"

/* The defaults: see "Choosing --threshold, --hash-radius, --hash-crops and --match-threshold" in the README (a tiny
 * CIFAR-10 model's flipped, 10%-cropped at a random place, JPEG-recompressed and colour-shifted
 * copies against its distinct images, chosen on training images). */
#define DEDUP_DEFAULT_THRESHOLD 0.99
#define DEDUP_DEFAULT_HASH_RADIUS 10
#define DEDUP_DEFAULT_HASH_CROPS "0.9"
#define DEDUP_DEFAULT_HASH_POSITIONS "9"
#define DEDUP_DEFAULT_MATCH_THRESHOLD 0.93
#define DEDUP_MAX_HASH_CROPS 4
#define DEDUP_SHEET_COLUMNS 8

typedef struct content_index {
    size_t file;      /* a file of this content (the first listed) */
    char sha256[SIMCLR_DIGEST_HEX_MAX];
} content_index;

static int compare_contents(const void *a, const void *b)
{
    const content_index *x = a, *y = b;
    int order = strcmp(x->sha256, y->sha256);
    if (order != 0) return order;
    return x->file < y->file ? -1 : x->file > y->file;
}

/* content[i]: the first file (in list order) with the same bytes as file i, or SIZE_MAX for a file
 * that could not be read (reported and skipped). */
static int hash_files(const image_list *files, size_t *content, size_t *unreadable, simclr_error *err)
{
    content_index *hashes = simclr_checked_calloc(files->count, sizeof *hashes, "content hashes", err);
    char **failures = hashes ? simclr_checked_calloc(files->count, sizeof *failures, "content hashes", err) : NULL;
    if (!failures) {
        free(hashes);
        return -1;
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < files->count; i++) {
        simclr_error local = {0};
        hashes[i].file = i;
        if (simclr_digest_file(files->paths[i], SIMCLR_DIGEST_SHA256, hashes[i].sha256, &local) != 0)
            failures[i] = strdup(simclr_error_message(&local));
        simclr_error_clear(&local);
    }
    *unreadable = 0;
    for (size_t i = 0; i < files->count; i++) {
        content[i] = SIZE_MAX;
        if (!failures[i]) continue;
        fflush(stdout);
        fprintf(stderr, "simclr: %s; skipped\n", failures[i]);
        free(failures[i]);
        (*unreadable)++;
        hashes[i].sha256[0] = '\0'; /* sorts first, ignored below */
    }
    qsort(hashes, files->count, sizeof *hashes, compare_contents);
    for (size_t i = 0; i < files->count;) {
        size_t end = i + 1;
        while (end < files->count && strcmp(hashes[end].sha256, hashes[i].sha256) == 0) end++;
        if (hashes[i].sha256[0])
            for (size_t j = i; j < end; j++) content[hashes[j].file] = hashes[i].file; /* the lowest file */
        i = end;
    }
    free(hashes);
    free(failures);
    return 0;
}

/* One image of the output: its file, feature row and similarity to its group's center. */
typedef struct member {
    size_t file;
    int64_t row;
    double similarity;
} member;

static int compare_members(const void *a, const void *b)
{
    const member *x = a, *y = b;
    if (x->similarity != y->similarity) return x->similarity > y->similarity ? -1 : 1;
    return x->file < y->file ? -1 : x->file > y->file;
}

typedef struct dedup_result {
    size_t groups;        /* of two images or more */
    size_t images;        /* in them */
    member *members;      /* group by group, each center first */
    size_t *group_start;  /* (groups + 1) offsets into members */
} dedup_result;

static void dedup_result_free(dedup_result *result)
{
    free(result->members);
    free(result->group_start);
    memset(result, 0, sizeof *result);
}

/* Gathers the groups of two or more images (byte copies counted), numbered in the order of their
 * first file; in each, the first file of the center row leads with similarity 1, the others follow
 * by similarity to the center, then in file order. */
static int gather_groups(const image_list *files, const size_t *row_of_file, const float *rows, int dim,
                         const int64_t *group, size_t group_count, const int64_t *center, dedup_result *result,
                         simclr_error *err)
{
    size_t groups = group_count ? group_count : 1;
    size_t *size = simclr_checked_calloc(groups, sizeof *size, "groups", err);
    size_t *number = size ? simclr_checked_calloc(groups, sizeof *number, "groups", err) : NULL;
    size_t *placed = number ? simclr_checked_calloc(groups, sizeof *placed, "groups", err) : NULL;
    if (!placed) {
        free(size);
        free(number);
        return -1;
    }
    for (size_t f = 0; f < files->count; f++)
        if (row_of_file[f] != SIZE_MAX) size[group[row_of_file[f]]]++;
    /* number[g]: the output group + 1 (0: a group of one image, left out). */
    for (size_t f = 0; f < files->count; f++) {
        if (row_of_file[f] == SIZE_MAX) continue;
        int64_t g = group[row_of_file[f]];
        if (size[g] >= 2 && number[g] == 0) {
            number[g] = ++result->groups;
            result->images += size[g];
        }
    }
    result->members =
        simclr_checked_calloc(result->images ? result->images : 1, sizeof *result->members, "groups", err);
    result->group_start =
        result->members ? simclr_checked_calloc(result->groups + 1, sizeof(size_t), "groups", err) : NULL;
    int status = result->group_start ? 0 : -1;
    for (size_t g = 0; status == 0 && g < group_count; g++)
        if (number[g]) result->group_start[number[g]] = size[g];
    for (size_t g = 1; status == 0 && g <= result->groups; g++)
        result->group_start[g] += result->group_start[g - 1];
    for (size_t f = 0; status == 0 && f < files->count; f++) {
        if (row_of_file[f] == SIZE_MAX || number[group[row_of_file[f]]] == 0) continue;
        size_t row = row_of_file[f];
        int64_t g = group[row];
        size_t out = number[g] - 1, slot = result->group_start[out] + placed[g]++;
        const float *a = rows + row * (size_t)dim, *b = rows + (size_t)center[g] * (size_t)dim;
        double similarity = 0.0;
        for (int d = 0; d < dim; d++) similarity += (double)a[d] * (double)b[d];
        result->members[slot] = (member){f, (int64_t)row, fmin(1.0, similarity)};
        /* Files come in order: the center row's first file leads. */
        member *first = result->members + result->group_start[out];
        if ((int64_t)row == center[g] && first->row != center[g]) {
            member t = *first;
            *first = result->members[slot];
            result->members[slot] = t;
        }
    }
    for (size_t g = 0; status == 0 && g < result->groups; g++) {
        member *first = result->members + result->group_start[g];
        first->similarity = 1.0;
        qsort(first + 1, result->group_start[g + 1] - result->group_start[g] - 1, sizeof *first, compare_members);
    }
    free(size);
    free(number);
    free(placed);
    return status;
}

static int write_groups(const char *path, const image_list *files, const dedup_result *result, simclr_error *err)
{
    simclr_atomic_file csv;
    if (cli_prepare_output_file("--out", path, err) != 0 || simclr_atomic_file_open(&csv, path, err) != 0) return -1;
    fprintf(csv.stream, "group,path,similarity\n");
    for (size_t g = 0; g < result->groups; g++)
        for (size_t i = result->group_start[g]; i < result->group_start[g + 1]; i++) {
            fprintf(csv.stream, "%zu,", g + 1);
            csv_write_field(csv.stream, files->paths[result->members[i].file]);
            fprintf(csv.stream, ",%.6f\n", result->members[i].similarity);
        }
    return simclr_atomic_file_commit(&csv, err);
}

static int plan_sheet(sheet_plan *plan, const image_list *files, const size_t *content, const dedup_result *result,
                      simclr_error *err)
{
    plan->columns = DEDUP_SHEET_COLUMNS;
    for (size_t g = 0; g < result->groups; g++) {
        const member *first = result->members + result->group_start[g];
        size_t count = result->group_start[g + 1] - result->group_start[g];
        char title[96];
        snprintf(title, sizeof title, "group %zu: %zu images", g + 1, count);
        if (sheet_plan_section(plan, title, err) != 0) return -1;
        for (size_t i = 0; i < count; i++) {
            char detail[64];
            if (i == 0) snprintf(detail, sizeof detail, "center");
            else if (content[first[i].file] == content[first[0].file]) snprintf(detail, sizeof detail, "byte copy");
            else snprintf(detail, sizeof detail, "%.4f", first[i].similarity);
            if (sheet_plan_image(plan, files->paths[first[i].file], detail, i == 0, err) != 0) return -1;
        }
    }
    return 0;
}

/* --hash-crops "none" or a comma-separated list of fractions in (0, 1), and --hash-crop-positions,
 * into the regions each image is hashed in (the whole image first). Returns their count or -1. */
static int parse_hash_regions(const char *crops, const char *positions, simclr_hash_region *regions,
                              simclr_error *err)
{
    double scales[DEDUP_MAX_HASH_CROPS];
    int scale_count = 0;
    if (strcmp(crops, "none") != 0) {
        const char *p = crops;
        for (;;) {
            char *end = NULL;
            double scale = strtod(p, &end);
            if (end == p || !(scale > 0.0 && scale < 1.0) || (*end != ',' && *end != '\0'))
                return simclr_error_input(err,
                                          "--hash-crops %s: expected none or fractions of the side in (0, 1), "
                                          "comma-separated (0.9,0.8)",
                                          crops);
            if (scale_count == DEDUP_MAX_HASH_CROPS)
                return simclr_error_input(err, "--hash-crops %s: at most %d scales", crops, DEDUP_MAX_HASH_CROPS);
            scales[scale_count++] = scale;
            if (*end == '\0') break;
            p = end + 1;
        }
    }
    return simclr_hash_regions_layout(scales, scale_count, atoi(positions), regions, SIMCLR_HASH_REGIONS_MAX, err);
}

/* The difference hashes of each embedded image's regions (hashes: (count, 2 * region_count), each
 * region as it is and mirrored), from the image fitted to the model's input as the model saw it;
 * decoded in parallel. A file that cannot be read again (it changed since it was embedded) hashes
 * as 0 and its regions as all ones, as before regions: it can join a flat image (hash 0) or a
 * left-to-right ramp (all ones), nothing else. hashes (may be NULL: not hashed) and thumbnails
 * (may be NULL): each image's simclr_image_match_thumbnail. */
static int hash_images(const image_list *list, const simclr_feature_extractor *fx, const simclr_hash_region *regions,
                       int region_count, uint64_t *hashes, uint8_t *thumbnails, simclr_error *err)
{
    const simclr_tensor_shape *input = &fx->info.model.input;
    size_t image_bytes = (size_t)input->height * (size_t)input->width * (size_t)input->channels;
    int failed = 0;
#pragma omp parallel
    {
        uint8_t *pixels = malloc(image_bytes);
        if (!pixels) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < list->count; i++) {
            simclr_error local = {0};
            uint64_t *row = hashes ? hashes + i * 2 * (size_t)region_count : NULL;
            int hashed = pixels &&
                         simclr_image_load_fitted(list->paths[i], pixels, input->height, input->width,
                                                  input->channels, fx->info.resize, &local) == 0 &&
                         (!row || simclr_image_region_hashes(pixels, input->height, input->width, input->channels,
                                                             regions, region_count, row, &local) == 0);
            if (!hashed && row) {
                row[0] = 0;
                for (int r = 1; r < 2 * region_count; r++) row[r] = ~(uint64_t)0;
            }
            /* With --match-threshold: the thumbnail the pairs are checked on (flat when the file
             * could not be read again: it matches nothing). */
            if (thumbnails)
                simclr_image_match_thumbnail(hashed ? pixels : NULL, input->height, input->width, input->channels,
                                             thumbnails + i * SIMCLR_MATCH_THUMBNAIL_BYTES);
            simclr_error_clear(&local);
        }
        free(pixels);
    }
    return failed ? simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (image hashes)") : 0;
}

/* --match-threshold's check of a pair the features or the hashes found: the thumbnails' best alignment. */
typedef struct match_check {
    const uint8_t *thumbnails;
    double threshold;
} match_check;

static int thumbnails_match(void *context, size_t a, size_t b)
{
    const match_check *check = context;
    return simclr_image_match(check->thumbnails + a * SIMCLR_MATCH_THUMBNAIL_BYTES,
                              check->thumbnails + b * SIMCLR_MATCH_THUMBNAIL_BYTES) >= check->threshold;
}

int command_dedup(int argc, char **argv)
{
    similarity_cli options;
    similarity_cli_defaults(&options);
    const char *in = NULL, *out = NULL, *sheet = NULL;
    double threshold = DEDUP_DEFAULT_THRESHOLD;
    long long hash_radius = DEDUP_DEFAULT_HASH_RADIUS;
    double match_threshold = DEDUP_DEFAULT_MATCH_THRESHOLD;
    const char *hash_crops = DEDUP_DEFAULT_HASH_CROPS, *hash_positions = DEDUP_DEFAULT_HASH_POSITIONS;
    option_spec specs[CLI_MAX_SPECS];
    size_t spec_count = 0;
    similarity_cli_add_specs(&options, specs, &spec_count);
    specs[spec_count++] = (option_spec){"in", OPTION_TYPE_STRING, &in, 0, 0, NULL, "DIR",
                                        "the PNG/JPEG images under DIR (recursively) (required)", NULL};
    specs[spec_count++] = (option_spec){"out", OPTION_TYPE_STRING, &out, 0, 0, NULL, "FILE.csv",
                                        "the groups of two or more images: group,path,similarity, each group's "
                                        "most central image first with similarity 1 (required)",
                                        NULL};
    specs[spec_count++] = (option_spec){"threshold", OPTION_TYPE_FLOAT, &threshold, -1.0, 1.0, NULL, "T",
                                        "images whose features have a cosine similarity of at least T are "
                                        "near-duplicates (byte-identical files always are)",
                                        "0.99"};
    specs[spec_count++] = (option_spec){"hash-radius", OPTION_TYPE_INT, &hash_radius, -1, 64, NULL, "R",
                                        "images are near-duplicates too when the difference hash (64 bits) of "
                                        "one is within R bits of the other's, or of one of its --hash-crops "
                                        "regions, as it is or mirrored; -1: features only",
                                        "10"};
    specs[spec_count++] = (option_spec){"hash-crops", OPTION_TYPE_STRING, &hash_crops, 0, 0, NULL, "S[,S...]",
                                        "also hash the regions of each image whose sides are these fractions of "
                                        "its own (at --hash-crop-positions places), to find cropped copies; none: "
                                        "the whole image only",
                                        DEDUP_DEFAULT_HASH_CROPS};
    specs[spec_count++] = (option_spec){"hash-crop-positions", OPTION_TYPE_CHOICE, &hash_positions, 0, 0, "5|9",
                                        "N", "where the --hash-crops regions lie: 5 (centre and corners) or 9 (3 x 3)",
                                        DEDUP_DEFAULT_HASH_POSITIONS};
    specs[spec_count++] = (option_spec){"match-threshold", OPTION_TYPE_FLOAT, &match_threshold, 0.0, 1.0, NULL, "M",
                                        "join a pair the features or hashes find only when the two images correlate at M "
                                        "or more once aligned: the whole of one against regions of the other (1 to "
                                        "0.85 of its side, 5 x 5 places, mirrored or not), 12 x 12 cells of a 32 x "
                                        "32 luma thumbnail (image_match.h), the features' pairs too; 0: join every "
                                        "pair found",
                                        "0.93"};
    specs[spec_count++] = (option_spec){"sheet", OPTION_TYPE_STRING, &sheet, 0, 0, NULL, "FILE.png",
                                        "also draw each group, file names under the thumbnails", NULL};
    option_parser parser = {.command = "dedup",
                            .usage = "simclr dedup --model CHECKPOINT --in DIR --out groups.csv [--threshold T]",
                            .summary = "Finds the duplicate images of a folder: byte-identical files by SHA-256, "
                                       "before any image is decoded, then near-duplicates, the union of every pair "
                                       "of images whose features have a cosine similarity of at least --threshold "
                                       "(blocked matrix products) or whose difference hashes differ in at most "
                                       "--hash-radius bits (the whole image of one against the whole image and the "
                                       "--hash-crops regions of the other), each pair kept only when the two images "
                                       "still correlate at --match-threshold once aligned. Writes each group of two or more, its "
                                       "most central image (the highest mean similarity to the others) first.",
                            .specs = specs,
                            .spec_count = spec_count};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) return parsed > 0 ? 0 : cli_report_error(&err);
    image_list files = {0}, contents = {0};
    size_t *content = NULL, *content_file = NULL, *row_of_file = NULL, *copies = NULL;
    int64_t *group = NULL, *center = NULL;
    uint64_t *hashes = NULL;
    uint8_t *thumbnails = NULL;
    float *rows = NULL;
    dedup_result result = {0};
    sheet_plan plan = {0};
    int status = 0;
    if (!options.model.model || !in || !out) {
        simclr_error_input(&err, "simclr dedup: --model CHECKPOINT, --in DIR and --out FILE.csv are required");
        goto fail;
    }
    if (cli_check_output_file("--out", out, &err) != 0 || (sheet && cli_check_output_file("--sheet", sheet, &err) != 0))
        goto fail;
    simclr_hash_region regions[SIMCLR_HASH_REGIONS_MAX];
    int region_count = parse_hash_regions(hash_crops, hash_positions, regions, &err);
    if (region_count < 0) goto fail;
    if (similarity_cli_list_folder("--in", in, &files, &err) != 0) goto fail;
    double start = simclr_progress_now();
    size_t unreadable = 0;
    content = simclr_checked_calloc(files.count, sizeof *content, "contents", &err);
    if (!content || hash_files(&files, content, &unreadable, &err) != 0) goto fail;
    double hash_seconds = simclr_progress_now() - start;
    /* One image per content: the first file of each. */
    content_file = simclr_checked_calloc(files.count, sizeof *content_file, "contents", &err);
    if (!content_file) goto fail;
    size_t content_count = 0, byte_copies = 0;
    for (size_t f = 0; f < files.count; f++) {
        if (content[f] == f) {
            content_file[content_count++] = f;
            if (image_list_add(&contents, files.paths[f], &err) != 0) goto fail;
        } else if (content[f] != SIZE_MAX) {
            byte_copies++;
        }
    }
    if (similarity_cli_load(&options, "dedup", &err) != 0) goto fail;
    double feature_seconds = 0.0;
    size_t undecodable = 0;
    if (similarity_cli_embed_matrix(&options, &contents, in, &rows, &undecodable, &feature_seconds, &err) != 0) goto fail;
    if (contents.count == 0) {
        simclr_error_input(&err, "--in %s: none of its %zu images could be read (reported above)", in, files.count);
        goto fail;
    }
    /* Feature row of every file: the row of its content (SIZE_MAX: left out). The embedded list
     * kept its order, so its paths are matched in step. */
    row_of_file = simclr_checked_calloc(files.count, sizeof *row_of_file, "contents", &err);
    copies = row_of_file ? simclr_checked_calloc(contents.count, sizeof *copies, "contents", &err) : NULL;
    if (!copies) goto fail;
    size_t *row_of_content = content_file; /* reused in place: content u -> row, or SIZE_MAX */
    for (size_t u = 0, kept = 0; u < content_count; u++) {
        size_t f = content_file[u];
        int embedded = kept < contents.count && strcmp(contents.paths[kept], files.paths[f]) == 0;
        row_of_content[u] = embedded ? kept++ : SIZE_MAX;
        row_of_file[f] = row_of_content[u];
    }
    for (size_t f = 0; f < files.count; f++) {
        if (content[f] == f) continue;
        row_of_file[f] = content[f] == SIZE_MAX ? SIZE_MAX : row_of_file[content[f]];
    }
    for (size_t f = 0; f < files.count; f++)
        if (row_of_file[f] != SIZE_MAX) copies[row_of_file[f]]++;
    start = simclr_progress_now();
    size_t group_count = 0;
    group = simclr_checked_calloc(contents.count, sizeof *group, "groups", &err);
    center = group ? simclr_checked_calloc(contents.count, sizeof *center, "groups", &err) : NULL;
    if (!center) goto fail;
    /* The hashes and, with --match-threshold, the thumbnails every pair is checked on, features'
     * pairs and hashes' alike. */
    double image_hash_seconds = 0.0;
    size_t checked_pairs = 0, checked_feature_pairs = 0;
    if (hash_radius >= 0 || match_threshold > 0.0) {
        double hash_start = simclr_progress_now();
        if (hash_radius >= 0) { /* without: the thumbnails alone */
            hashes = simclr_checked_calloc(contents.count * 2 * (size_t)region_count, sizeof *hashes, "image hashes",
                                           &err);
            if (!hashes) goto fail;
        }
        if (match_threshold > 0.0) {
            thumbnails = simclr_checked_calloc(contents.count, SIMCLR_MATCH_THUMBNAIL_BYTES, "image thumbnails", &err);
            if (!thumbnails) goto fail;
        }
        if (hash_images(&contents, &options.fx, regions, region_count, hashes, thumbnails, &err) != 0) goto fail;
        image_hash_seconds = simclr_progress_now() - hash_start;
    }
    match_check check = {thumbnails, match_threshold};
    simclr_similarity_pair_check pair_check = thumbnails ? thumbnails_match : NULL;
    if (simclr_similarity_groups_checked(rows, contents.count, options.fx.dim, (float)threshold, pair_check, &check,
                                         group, &group_count, &checked_feature_pairs, &err) != 0)
        goto fail;
    if (hash_radius >= 0 &&
        simclr_similarity_join_region_hash_groups_checked(hashes, contents.count, 2 * region_count, (int)hash_radius,
                                                          pair_check, &check, group, &group_count, &checked_pairs,
                                                          &err) != 0)
        goto fail;
    if (
        simclr_similarity_group_centers(rows, contents.count, options.fx.dim, group, group_count, copies, center,
                                        &err) != 0 ||
        gather_groups(&files, row_of_file, rows, options.fx.dim, group, group_count, center, &result, &err) != 0)
        goto fail;
    double group_seconds = simclr_progress_now() - start;
    if (write_groups(out, &files, &result, &err) != 0) goto fail;
    size_t skipped = unreadable + undecodable;
    for (size_t f = 0; f < files.count; f++)
        if (content[f] != SIZE_MAX && content[f] != f && row_of_file[f] == SIZE_MAX) skipped++;
    similarity_cli_print_model(&options);
    printf("images    %zu under %s", files.count, in);
    if (skipped) printf(", %zu skipped (reported above)", skipped);
    printf("\n");
    printf("exact     %zu byte %s of another file (SHA-256, %.2f s): %zu distinct images embedded (%.2f s)\n",
           byte_copies, byte_copies == 1 ? "copy" : "copies", hash_seconds, contents.count, feature_seconds);
    if (hash_radius >= 0 && region_count > 1)
        printf("groups    %zu of two or more images, %zu images in all (cosine similarity >= %g or difference "
               "hashes within %lld bits, whole images against whole images and %d regions (%s of the side), "
               "%.2f s, the hashes %.2f s of it)\n",
               result.groups, result.images, threshold, hash_radius, region_count - 1, hash_crops, group_seconds,
               image_hash_seconds);
    else if (hash_radius >= 0)
        printf("groups    %zu of two or more images, %zu images in all (cosine similarity >= %g or difference "
               "hashes within %lld bits, %.2f s, the hashes %.2f s of it)\n",
               result.groups, result.images, threshold, hash_radius, group_seconds, image_hash_seconds);
    else
        printf("groups    %zu of two or more images, %zu images in all (cosine similarity >= %g, %.2f s)\n",
               result.groups, result.images, threshold, group_seconds);
    if (thumbnails)
        printf("checked   %zu pairs the features found and %zu the hashes found, each joined only when the images "
               "correlate at %g or more once aligned (--match-threshold)\n",
               checked_feature_pairs, checked_pairs, match_threshold);
    printf("wrote     %s\n", out);
    if (sheet) {
        size_t shown = 0;
        if (result.groups == 0) {
            printf("sheet     not drawn: no group of duplicates\n");
        } else {
            if (plan_sheet(&plan, &files, content, &result, &err) != 0 ||
                sheet_plan_write(&plan, "--sheet", sheet, &options.fx, &shown, &err) != 0)
                goto fail;
            printf("sheet     %s", sheet);
            if (shown < plan.image_count)
                printf(" (the first %zu of %zu images: a PNG is at most 32767 pixels high)", shown, plan.image_count);
            printf("\n");
        }
    }
    goto done;
fail:
    status = cli_report_error(&err);
done:
    sheet_plan_free(&plan);
    dedup_result_free(&result);
    free(rows);
    free(group);
    free(hashes);
    free(thumbnails);
    free(center);
    free(copies);
    free(row_of_file);
    free(content_file);
    free(content);
    image_list_free(&contents);
    image_list_free(&files);
    similarity_cli_free(&options);
    return status;
}
