/*
 * Contrastive losses over two batches of projections z1, z2 (B, D).
 *
 * Both start from L2-normalised rows p = z * rsqrt(max(|z|^2, 1e-14)) and cosine similarities
 * divided by the temperature, computed with one sgemm. Gradients are those of the SUM of the
 * per-image losses (the seed differentiates the per-sample loss vector), taken back through the
 * similarity product (two more sgemms) and the normalisation.
 *
 * Workspace layout (floats): p (2B x D: p1 rows then p2 rows), the similarity matrix (B x B for
 * the seed's loss, 2B x 2B for NT-Xent, overwritten by its gradient), then 2B log-sum-exps.
 */
#include "simclr/loss.h"

#include "contrastive_internal.h"

#include <cblas.h>
#include <math.h>

#define CONTRASTIVE_NORM_EPSILON 1e-14f
/* Columns handled together in the column pass of the seed's loss: contiguous loads in each row. */
#define CONTRASTIVE_COLUMN_BLOCK 64
/* Fewer rows than this run on the calling thread. */
#define CONTRASTIVE_PARALLEL_MIN 32

size_t simclr_contrastive_workspace_floats(simclr_contrastive_kind kind, int batch, int dim)
{
    size_t b = (size_t)batch;
    size_t similarity = kind == SIMCLR_CONTRASTIVE_KIND_NT_XENT ? 4 * b * b : b * b;
    /* then 2B log-sum-exps: the seed's row and column ones, or NT-Xent's per anchor */
    return 2 * b * (size_t)dim + similarity + 2 * b;
}

/* p (rows, dim) = z scaled to unit length (unless its squared norm is below the epsilon). */
void simclr_contrastive_normalize_rows(float *p, const float *z, int rows, int dim)
{
#pragma omp parallel for schedule(static) if (rows > CONTRASTIVE_PARALLEL_MIN)
    for (int r = 0; r < rows; r++) {
        const float *z_row = z + (size_t)r * dim;
        float squares = 0.0f;
        for (int k = 0; k < dim; k++) squares += z_row[k] * z_row[k];
        float inverse_norm = 1.0f / sqrtf(fmaxf(squares, CONTRASTIVE_NORM_EPSILON));
        for (int k = 0; k < dim; k++) p[(size_t)r * dim + k] = z_row[k] * inverse_norm;
    }
}

/* On entry d_z holds the gradient w.r.t. p; on return the gradient w.r.t. z. With
 * r = rsqrt(|z|^2): d_z = r (d_p - p (p . d_p)); where the norm was clamped r is a constant and
 * d_z = r d_p. As TensorFlow's maximum, the gradient takes the |z|^2 branch at equality. */
void simclr_contrastive_normalize_backward(float *d_z, const float *p, const float *z, int rows, int dim)
{
#pragma omp parallel for schedule(static) if (rows > CONTRASTIVE_PARALLEL_MIN)
    for (int r = 0; r < rows; r++) {
        const float *z_row = z + (size_t)r * dim;
        const float *p_row = p + (size_t)r * dim;
        float *d_row = d_z + (size_t)r * dim;
        float squares = 0.0f;
        for (int k = 0; k < dim; k++) squares += z_row[k] * z_row[k];
        int clamped = squares < CONTRASTIVE_NORM_EPSILON;
        float inverse_norm = 1.0f / sqrtf(fmaxf(squares, CONTRASTIVE_NORM_EPSILON));
        float projection = 0.0f;
        if (!clamped)
            for (int k = 0; k < dim; k++) projection += p_row[k] * d_row[k];
        for (int k = 0; k < dim; k++)
            d_row[k] = inverse_norm * (d_row[k] - p_row[k] * projection);
    }
}

/* log sum_j exp(row_j) over the row except `skip` (-1: none); *best = first argmax. */
static float row_log_sum_exp(const float *row, int count, int skip, int *best)
{
    int best_index = skip == 0 ? 1 : 0;
    for (int j = best_index + 1; j < count; j++)
        if (j != skip && row[j] > row[best_index]) best_index = j;
    float max_value = row[best_index];
    float sum = 0.0f;
    for (int j = 0; j < count; j++)
        if (j != skip) sum += expf(row[j] - max_value);
    *best = best_index;
    return max_value + logf(sum);
}

/* The seed's loss: S = p1 p2^T / T (B x B); loss_i = (CE(S_i, i) + CE(S^T_i, i)) / 2. */
static void seed_loss(const float *p1, const float *p2, int batch, int dim, float temperature,
                      float *similarity, float *row_lse, float *column_lse, double *loss_sum,
                      int *correct)
{
    const int b = batch;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, b, dim, 1.0f / temperature, p1, dim,
                p2, dim, 0.0f, similarity, b);
    double row_loss = 0.0, column_loss = 0.0;
    int row_correct = 0, column_correct = 0;
#pragma omp parallel for schedule(static) reduction(+ : row_loss, row_correct) \
    if (b > CONTRASTIVE_PARALLEL_MIN)
    for (int i = 0; i < b; i++) {
        const float *row = similarity + (size_t)i * b;
        int best;
        row_lse[i] = row_log_sum_exp(row, b, -1, &best);
        row_loss += (double)(row_lse[i] - row[i]);
        row_correct += best == i;
    }
    /* Columns in blocks, walking down the rows, so that every load is contiguous. */
    int blocks = (b + CONTRASTIVE_COLUMN_BLOCK - 1) / CONTRASTIVE_COLUMN_BLOCK;
#pragma omp parallel for schedule(static) reduction(+ : column_loss, column_correct) \
    if (b > CONTRASTIVE_PARALLEL_MIN)
    for (int block = 0; block < blocks; block++) {
        int first = block * CONTRASTIVE_COLUMN_BLOCK;
        int width = b - first < CONTRASTIVE_COLUMN_BLOCK ? b - first : CONTRASTIVE_COLUMN_BLOCK;
        float max_value[CONTRASTIVE_COLUMN_BLOCK], sum[CONTRASTIVE_COLUMN_BLOCK];
        int best[CONTRASTIVE_COLUMN_BLOCK];
        for (int j = 0; j < width; j++) {
            max_value[j] = similarity[first + j];
            best[j] = 0;
            sum[j] = 0.0f;
        }
        for (int i = 1; i < b; i++) {
            const float *row = similarity + (size_t)i * b + first;
            for (int j = 0; j < width; j++)
                if (row[j] > max_value[j]) {
                    max_value[j] = row[j];
                    best[j] = i;
                }
        }
        for (int i = 0; i < b; i++) {
            const float *row = similarity + (size_t)i * b + first;
            for (int j = 0; j < width; j++) sum[j] += expf(row[j] - max_value[j]);
        }
        for (int j = 0; j < width; j++) {
            int column = first + j;
            column_lse[column] = max_value[j] + logf(sum[j]);
            column_loss += (double)(column_lse[column] - similarity[(size_t)column * b + column]);
            column_correct += best[j] == column;
        }
    }
    *loss_sum = 0.5 * (row_loss + column_loss);
    *correct = row_correct + column_correct;
}

/* Gradient of the seed's summed loss w.r.t. p1 and p2 (either may be NULL), through
 * dL/dS_ij = (simclr_softmax_row(S)_ij + softmax_column(S)_ij) / 2 - [i == j], computed in place of S. */
static void seed_gradient(float *d_p1, float *d_p2, const float *p1, const float *p2, int batch,
                          int dim, float temperature, float *similarity, const float *row_lse,
                          const float *column_lse)
{
    const int b = batch;
#pragma omp parallel for schedule(static) if (b > CONTRASTIVE_PARALLEL_MIN)
    for (int i = 0; i < b; i++) {
        float *row = similarity + (size_t)i * b;
        for (int j = 0; j < b; j++)
            row[j] = 0.5f * (expf(row[j] - row_lse[i]) + expf(row[j] - column_lse[j]));
        row[i] -= 1.0f;
    }
    /* S = p1 p2^T / T: d_p1 = G p2 / T, d_p2 = G^T p1 / T. */
    if (d_p1)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, dim, b, 1.0f / temperature,
                    similarity, b, p2, dim, 0.0f, d_p1, dim);
    if (d_p2)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b, dim, b, 1.0f / temperature,
                    similarity, b, p1, dim, 0.0f, d_p2, dim);
}

/* NT-Xent over the 2B views p = [p1; p2]: anchor a's positive is a +- B, its candidates all
 * 2B - 1 other views; per image loss = mean of its two anchors' CE. */
static void nt_xent_loss(const float *p, int batch, int dim, float temperature, float *similarity,
                         float *lse, double *loss_sum, int *correct)
{
    const int views = 2 * batch;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, views, views, dim, 1.0f / temperature, p,
                dim, p, dim, 0.0f, similarity, views);
    double loss = 0.0;
    int correct_count = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, correct_count) \
    if (views > CONTRASTIVE_PARALLEL_MIN)
    for (int a = 0; a < views; a++) {
        const float *row = similarity + (size_t)a * views;
        int positive = (a + batch) % views;
        int best;
        lse[a] = row_log_sum_exp(row, views, a, &best);
        loss += (double)(lse[a] - row[positive]);
        correct_count += best == positive;
    }
    *loss_sum = 0.5 * loss;
    *correct = correct_count;
}

/* Gradient of the summed NT-Xent loss w.r.t. p1, p2 (either may be NULL): G_ab =
 * (softmax_a(b) - [b positive]) / 2 off the diagonal, 0 on it; Sim = P P^T / T, so
 * d_P = (G + G^T) P / T. */
static void nt_xent_gradient(float *d_p1, float *d_p2, const float *p, int batch, int dim,
                             float temperature, float *similarity, const float *lse)
{
    const int views = 2 * batch;
#pragma omp parallel for schedule(static) if (views > CONTRASTIVE_PARALLEL_MIN)
    for (int a = 0; a < views; a++) {
        float *row = similarity + (size_t)a * views;
        for (int b = 0; b < views; b++) row[b] = 0.5f * expf(row[b] - lse[a]);
        row[a] = 0.0f;
        row[(a + batch) % views] -= 0.5f;
    }
    /* Symmetrise in place: row a's thread owns (a, b) and (b, a) for every b > a. */
#pragma omp parallel for schedule(dynamic, 16) if (views > CONTRASTIVE_PARALLEL_MIN)
    for (int a = 0; a < views; a++)
        for (int b = a + 1; b < views; b++) {
            float sum = similarity[(size_t)a * views + b] + similarity[(size_t)b * views + a];
            similarity[(size_t)a * views + b] = sum;
            similarity[(size_t)b * views + a] = sum;
        }
    if (d_p1)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dim, views,
                    1.0f / temperature, similarity, views, p, dim, 0.0f, d_p1, dim);
    if (d_p2)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dim, views,
                    1.0f / temperature, similarity + (size_t)batch * views, views, p, dim, 0.0f,
                    d_p2, dim);
}

void simclr_contrastive_loss(simclr_contrastive_kind kind, const float *z1, const float *z2, int batch, int dim,
                      float temperature, float *d_z1, float *d_z2, float *workspace,
                      simclr_contrastive_result *result)
{
    const size_t b = (size_t)batch;
    float *p1 = workspace;           /* (B, D) */
    float *p2 = p1 + b * dim;        /* (B, D), right after p1: together the (2B, D) views */
    float *similarity = p2 + b * dim; /* (B, B) or (2B, 2B) */
    float *stats = similarity + (kind == SIMCLR_CONTRASTIVE_KIND_NT_XENT ? 4 * b * b : b * b);
    simclr_contrastive_normalize_rows(p1, z1, batch, dim);
    simclr_contrastive_normalize_rows(p2, z2, batch, dim);

    double loss_sum = 0.0;
    int correct = 0;
    if (kind == SIMCLR_CONTRASTIVE_KIND_NT_XENT) {
        float *lse = stats; /* (2B) */
        nt_xent_loss(p1, batch, dim, temperature, similarity, lse, &loss_sum, &correct);
        if (d_z1 || d_z2)
            nt_xent_gradient(d_z1, d_z2, p1, batch, dim, temperature, similarity, lse);
    } else {
        float *row_lse = stats;        /* (B) */
        float *column_lse = stats + b; /* (B) */
        seed_loss(p1, p2, batch, dim, temperature, similarity, row_lse, column_lse, &loss_sum,
                  &correct);
        if (d_z1 || d_z2)
            seed_gradient(d_z1, d_z2, p1, p2, batch, dim, temperature, similarity, row_lse,
                          column_lse);
    }
    if (d_z1) simclr_contrastive_normalize_backward(d_z1, p1, z1, batch, dim);
    if (d_z2) simclr_contrastive_normalize_backward(d_z2, p2, z2, batch, dim);
    if (result) {
        result->loss = (float)(loss_sum / batch);
        result->correct = correct;
        result->total = 2 * batch;
    }
}

const char *simclr_contrastive_kind_name(simclr_contrastive_kind kind)
{
    return kind == SIMCLR_CONTRASTIVE_KIND_NT_XENT ? "nt-xent" : "seed";
}
